"""Webhook truth: what a loopback receiver is pushed equals compute_truth's webhook tables.

The receiver's rows are built here from the decoded events alone, with the pairing rule the
normalizer should follow: a join is closed by the next leave of the same person *on the same
device* (``operator.instance_id``) in the same meeting.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from emulator.testing import running_emulator
from emulator.truth import compute_truth
from tests.emulator.test_webhooks import AES_KEY, TOKEN, Receiver, receiver

TZ = ZoneInfo("Asia/Shanghai")
FIRST = date(2026, 11, 16)  # a Monday: its all-hands has > 100 sessions
LAST = date(2026, 11, 17)
JOINED, LEFT = "meeting.participant-joined", "meeting.participant-left"
ROOMS_INSTANCE_IDS = {20, 21, 22, 30, 32, 33}


def kind_from_operator(op: dict[str, Any]) -> str:
    """The proposed rule: the operator has no enterprise flag, so a non-empty userid stands for it."""
    instance_id = int(op["instance_id"])
    if instance_id == 0:
        return "pstn"
    if instance_id in ROOMS_INSTANCE_IDS:
        return "rooms"
    return "enterprise" if op["userid"] else "external"


def _ms(ts: Any) -> int:
    return int(pd.Timestamp(ts).value // 1_000_000)


@pytest.fixture(scope="module")
def pushed() -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """Every event pushed while the data clock runs over FIRST..LAST, and the truth at the end."""
    start = datetime.combine(FIRST, datetime.min.time(), tzinfo=TZ)
    with receiver(AES_KEY) as (rec, url), running_emulator(
        now=start, scale="small", days=6, faults="hostile", rate_limit="off", webhook_url=url,
        webhook_token=TOKEN, webhook_aes_key=AES_KEY, webhook_poll_seconds=0.05,
    ) as emu:
        _wait_until(lambda: bool(rec.timestamps))  # the URL check has passed
        emu.advance(timedelta(days=2).total_seconds() + 1)
        truth = compute_truth(emu.enterprise, start=FIRST, end=LAST)
        expected = len(truth["webhook_events"])
        _wait_until(lambda: len(_unique(rec)) >= expected, settle=0.5)
        events = _unique(rec)
    return events, truth


def _unique(rec: Receiver) -> list[dict[str, Any]]:
    return list({e["trace_id"]: e for e in rec.events}.values())


def _wait_until(condition: Any, timeout: float = 60.0, settle: float = 0.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            time.sleep(settle)
            return
        time.sleep(0.05)
    raise AssertionError("the emulator did not push the expected events in time")


def _rows(events: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for event in events:
        for item in event["payload"]:
            op, info = item["operator"], item["meeting_info"]
            when = item["operate_time"]
            rows.append({
                "trace_id": event["trace_id"], "event": event["event"], "operate_ms": when,
                "business_date": datetime.fromtimestamp(when / 1000, TZ).date(), "meeting_id": info["meeting_id"],
                "meeting_code": info["meeting_code"], "sub_meeting_id": info.get("sub_meeting_id") or "",
                "person_key": op["userid"] or op["uuid"] or op["ms_open_id"], "person_kind": kind_from_operator(op),
                "userid": op["userid"] or None, "user_name": op["user_name"], "instance_id": op["instance_id"],
                "payload_json": json.dumps(item, ensure_ascii=False, sort_keys=True),
            })
    return pd.DataFrame(rows)


def _pair(rows: pd.DataFrame, per_device: bool) -> set[tuple[str, str, str, int, int | None]]:
    """Each join closed by the next leave at or after it in its group; joins first on ties."""
    group = ["meeting_id", "sub_meeting_id", "person_key"] + (["instance_id"] if per_device else [])
    moves = rows[rows["event"].isin([JOINED, LEFT]) & (rows["person_key"] != "")]
    out: set[tuple[str, str, str, int, int | None]] = set()
    for key, part in moves.groupby(group):
        ordered = sorted(zip(part["operate_ms"], part["event"] == LEFT, strict=True))
        queue: list[int] = []
        for when, is_left in ordered:
            if not is_left:
                queue.append(when)
            elif queue:
                out.add((key[0], key[1], key[2], queue.pop(0), when))
        out.update((key[0], key[1], key[2], join, None) for join in queue)
    return out


def test_pushed_events_are_the_webhook_events_truth(pushed: tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]) -> None:
    events, truth = pushed
    rows = _rows(events)
    window = rows[rows["business_date"].between(FIRST, LAST)].sort_values("trace_id").reset_index(drop=True)
    expected = truth["webhook_events"].sort_values("trace_id").reset_index(drop=True)
    assert len(expected) > 300 and len(window) == len(expected)
    assert list(window["trace_id"]) == list(expected["trace_id"].astype(str))
    for column in ("event", "meeting_id", "meeting_code", "sub_meeting_id", "person_key", "person_kind",
                   "user_name", "payload_json"):
        assert list(window[column]) == list(expected[column].astype(str)), column
    assert list(window["userid"].fillna("")) == list(expected["userid"].fillna("").astype(str))
    assert [_ms(t) for t in expected["operate_time"]] == list(window["operate_ms"])
    assert list(window["business_date"]) == list(expected["business_date"])
    assert set(expected["person_kind"]) == {"enterprise", "external", "pstn", "rooms"}
    assert set(expected["event"]) >= {"meeting.started", "meeting.end", JOINED, LEFT}


def test_pairing_per_device_gives_live_attendance(pushed: tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]) -> None:
    events, truth = pushed
    rows = _rows(events)
    paired = _pair(rows, per_device=True)
    joined_in_window = {p for p in paired if datetime.fromtimestamp(p[3] / 1000, TZ).date() <= LAST}
    live = truth["live_attendance"]
    expected = {
        (m, s, k, _ms(j), None if pd.isna(lt) else _ms(lt))
        for m, s, k, j, lt in zip(live["meeting_id"], live["sub_meeting_id"], live["person_key"], live["join_time"],
                                  live["left_time"], strict=True)
    }
    assert joined_in_window == expected
    assert (live["is_open"] == live["left_time"].isna()).all()
    # Without the device, a person on two devices at once gets the wrong leave.
    assert _pair(rows, per_device=False) != paired


def test_live_attendance_equals_participant_sessions_for_ended_meetings(
    pushed: tuple[list[dict[str, Any]], dict[str, pd.DataFrame]],
) -> None:
    _, truth = pushed
    sessions, live = truth["participant_sessions"], truth["live_attendance"]
    sessions = sessions[sessions["business_date"].between(FIRST, LAST)]
    assert len(sessions) > 100
    meetings = set(zip(sessions["meeting_id"], sessions["sub_meeting_id"], strict=True))
    cols = ["meeting_id", "sub_meeting_id", "person_key", "person_kind", "userid", "user_name", "join_time", "left_time"]
    mine = live[[m in meetings for m in zip(live["meeting_id"], live["sub_meeting_id"], strict=True)]]
    key = ["meeting_id", "sub_meeting_id", "person_key", "join_time"]
    left = mine[cols].sort_values(key).reset_index(drop=True)
    right = sessions[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)
    # Someone was on two devices at once in these meetings, so the per-device rule is what made them equal.
    overlapping = False
    for _, part in right.groupby(["meeting_id", "sub_meeting_id", "person_key"]):
        spans = sorted(zip(part["join_time"], part["left_time"], strict=True))
        overlapping |= any(b[0] < a[1] for a, b in zip(spans, spans[1:]))
    assert overlapping
