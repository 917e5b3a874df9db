"""Webhook events (docs/platform.md, "Webhooks") as rows, and live attendance sessions paired from join/leave events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import DEFAULT_TZ
from assets.normalize.engine import REQUIRE, Field, Nested, Parser, Spec, objects_of, parse_fields
from assets.normalize.frames import Normalized, empty, empty_as, finish, finish_frame
from assets.normalize.identity import person_key, person_kind
from assets.normalize.parsers import Parsed, boolean, integer, text
from assets.normalize.quarantine import Issues, quarantine_issues, quarantine_rows, record_json
from assets.normalize.times import business_date, epoch, local_datetime

JOINED = "meeting.participant-joined"
LEFT = "meeting.participant-left"


def _flatten(events: Sequence[Any]) -> tuple[list[dict[str, Any]], list[Any], list[str]]:
    """One item per payload entry, carrying its envelope's event name and id."""
    items: list[dict[str, Any]] = []
    rejected: list[Any] = []
    reasons: list[str] = []
    for event in events:
        if not isinstance(event, dict):
            rejected.append(event)
            reasons.append("event is not a JSON object")
            continue
        payload = event.get("payload")
        if not isinstance(payload, list) or not payload:
            rejected.append(event)
            reasons.append("missing payload" if payload in (None, []) else "malformed payload")
            continue
        # The older format names the event id unique_sequence; the current one, trace_id.
        trace_id = event.get("trace_id", event.get("unique_sequence"))
        for item in payload:
            items.append({"event": event.get("event"), "trace_id": trace_id, "item": item})
    return items, rejected, reasons


def _operate_time(tz: str) -> Parser:
    """Epoch milliseconds (current format) or a local 'yyyy-MM-dd HH:mm:ss' string (older format)."""

    def parse(values: Sequence[Any]) -> Parsed:
        millis = epoch(values, "ms")
        local = local_datetime([v if isinstance(v, str) else None for v in values], tz)
        local_ok = ~np.asarray(local.values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        return Parsed(pc.coalesce(millis.values, local.values), millis.invalid & ~local_ok)

    return parse


ENVELOPE_FIELDS: tuple[Spec, ...] = (
    Field("event", text, rule=REQUIRE),
    Field("trace_id", text, rule=REQUIRE),
)


def _item_fields(tz: str) -> tuple[Spec, ...]:
    """A payload item's fields; the operator's and the meeting's are nested objects."""
    return (
        Field("operate_time", _operate_time(tz), rule=REQUIRE),
        Nested("operator"),
        Nested("meeting_info"),
        Field("operator.userid", text, "userid"),
        Field("operator.uuid", text),
        Field("operator.ms_open_id", text),
        Field("operator.user_name", text, "user_name"),
        Field("operator.instance_id", integer),
        Field("operator.is_enterprise_user", boolean),
        Field("meeting_info.meeting_id", text, "meeting_id"),
        Field("meeting_info.meeting_code", text, "meeting_code"),
        Field("meeting_info.sub_meeting_id", text, "sub_meeting_id", null_as=""),
    )


def _enterprise(flag: pa.Array, userid: pa.Array) -> pa.Array:
    """The operator's enterprise flag; events carry none, but only a same-enterprise operator has a userid."""
    return pc.coalesce(flag, pc.invert(pc.is_null(userid)))


def normalize_webhook_events(events: Sequence[Any], tz: str = DEFAULT_TZ) -> Normalized:
    """Decoded webhook events (`{"event","trace_id","payload":[...]}`) → webhook_events, one row per payload item.

    The operator's identity follows the participant rules; an operator with no userid, uuid or
    ms_open_id keeps '' as person_key because the column is part of the key. Events have no
    enterprise flag, so a non-empty ``operator.userid`` stands for it (so the pull and the events
    give one person the same kind).
    """
    flat, rejected, reasons = _flatten(events)
    issues = Issues(len(flat))
    items = objects_of([f["item"] for f in flat], issues, "payload item is not a JSON object")
    columns = parse_fields(flat, ENVELOPE_FIELDS, issues).columns
    columns.update(parse_fields(items, _item_fields(tz), issues).columns)
    key = person_key(columns["userid"], columns["operator.uuid"], columns["operator.ms_open_id"])
    columns.update(
        business_date=business_date(columns["operate_time"], tz),
        person_key=empty_as(key, ""),
        person_kind=person_kind(
            columns["operator.instance_id"], None,
            _enterprise(columns["operator.is_enterprise_user"], columns["userid"]),
        ),
        payload_json=pa.array([record_json(f["item"]) for f in flat], type=pa.string()),
    )
    frame = finish("webhook_events", columns, ~issues.bad)
    envelopes = [{"event": f["event"], "trace_id": f["trace_id"], "payload": [f["item"]]} for f in flat]
    quarantine = pd.concat(
        [
            quarantine_issues("webhook_events", envelopes, issues, columns["business_date"]),
            quarantine_rows("webhook_events", rejected, reasons),
        ],
        ignore_index=True,
    )
    return Normalized(frame, finish_frame("quarantine", quarantine))


def _device(payload_json: pd.Series) -> list[str]:
    """The operator's ``instance_id`` (terminal type) of each payload item; '' when it is not there."""
    devices: list[str] = []
    for text_value in payload_json:
        try:
            operator = json.loads(text_value).get("operator")
        except (TypeError, ValueError, AttributeError):
            operator = None
        value = operator.get("instance_id") if isinstance(operator, dict) else None
        devices.append("" if value is None else str(value))
    return devices


def build_live_attendance(events: pd.DataFrame) -> pd.DataFrame:
    """webhook_events → live_attendance: each join paired with the next leave of the same person and device.

    A person on two devices at once (a PC and a phone) has two overlapping sessions, so joins and
    leaves pair per (meeting, person, ``operator.instance_id``). Rows without a person_key cannot
    be paired and are left out; a join with no later leave is open.
    """
    moves = events[events["event"].isin([JOINED, LEFT]) & (events["person_key"] != "")]
    if len(moves) == 0:
        return empty("live_attendance")
    group_cols = ["meeting_id", "sub_meeting_id", "person_key", "_device"]
    moves = moves.assign(_is_left=(moves["event"] == LEFT).astype(bool), _device=_device(moves["payload_json"]))
    moves = moves[moves["meeting_id"].notna()]
    # A join and a leave at the same instant pair up, so joins sort first on ties.
    ordered = moves.sort_values(group_cols + ["operate_time", "_is_left"], kind="stable").reset_index(drop=True)
    if len(ordered) == 0:
        return empty("live_attendance")
    group = ordered.groupby(group_cols, sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)
    is_left = ordered["_is_left"].to_numpy(dtype=bool)
    position = np.arange(len(ordered), dtype=np.int64)
    sentinel = np.iinfo(np.int64).max
    left_position = np.where(is_left, position, sentinel)
    # The next leave at or after each row, within its group: a reversed running minimum.
    next_left = (
        pd.Series(left_position[::-1]).groupby(group[::-1]).cummin().to_numpy(dtype=np.int64)[::-1]
    )
    joins = ~is_left
    paired = next_left[joins]
    has_left = paired != sentinel
    operate = pa.array(ordered["operate_time"])
    left_times = operate.take(pa.array(np.where(has_left, paired, 0), mask=~has_left, type=pa.int64()))
    joined = ordered[joins]
    frame = pd.DataFrame(
        {
            "meeting_id": joined["meeting_id"].array,
            "sub_meeting_id": joined["sub_meeting_id"].array,
            "person_key": joined["person_key"].array,
            "person_kind": joined["person_kind"].array,
            "userid": joined["userid"].array,
            "user_name": joined["user_name"].array,
            "join_time": joined["operate_time"].array,
            "left_time": pd.array(left_times, dtype=pd.ArrowDtype(left_times.type)),
            "is_open": ~has_left,
            "business_date": joined["business_date"].array,
        }
    )
    return finish_frame("live_attendance", frame)
