"""Snapshots of upcoming and live meetings: account-level (E7 states 3 and 2) or user-level (E3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import DEFAULT_TZ
from assets.normalize.engine import REQUIRE, Field, Spec, land, parse_fields
from assets.normalize.frames import Normalized, fill
from assets.normalize.parsers import integer, text
from assets.normalize.quarantine import Issues
from assets.normalize.records import split_objects
from assets.normalize.times import business_date, epoch_seconds, to_utc_scalar
from assets.schemas import TS

State = Literal["upcoming", "live"]
Source = Literal["corp", "user"]

TABLES: dict[str, str] = {"upcoming": "upcoming_meetings", "live": "live_meetings"}
MEETING_STATE: dict[str, int] = {"live": 2, "upcoming": 3}
# E3 mixes upcoming and in-progress meetings and reports E1's string status; anything else is not a snapshot row.
USER_STATUS: dict[str, str] = {"upcoming": "MEETING_STATE_INIT", "live": "MEETING_STATE_STARTED"}

ITEM_FIELDS: tuple[Spec, ...] = (
    Field("meeting_id", text, rule=REQUIRE),
    Field("meeting_code", text),
    Field("subject", text),
    Field("meeting_type", integer),
    Field("start_time", epoch_seconds),
    Field("end_time", epoch_seconds),
)
# Only the account-level list names the creator and the state; only a live meeting has a head count.
CORP_FIELDS: tuple[Spec, ...] = (
    Field("userid", text, "creator_userid"),
    Field("nick_name", text, "creator_name"),
    Field("meeting_state", integer),
)
LIVE_FIELDS: tuple[Spec, ...] = (Field("online_member_num", integer),)
_NULLS: dict[str, pa.DataType] = {"creator_userid": pa.string(), "creator_name": pa.string(), "online_member_num": pa.int64()}


def normalize_snapshot(
    records: Sequence[Any],
    state: State,
    snapshot_at: dt.datetime | pd.Timestamp,
    source: Source = "corp",
    tz: str = DEFAULT_TZ,
) -> Normalized:
    """Meeting list items → upcoming_meetings or live_meetings rows stamped with `snapshot_at` (tz-aware).

    corp: `GET /v1/corp/meetings?meeting_state=3|2` items; user: `GET /v1/meetings` `meeting_info_list[]`,
    filtered on `status` to the requested state. Scheduled times are seconds.
    """
    if state not in TABLES:
        raise ValueError(f"state must be 'upcoming' or 'live', got {state!r}")
    if source not in ("corp", "user"):
        raise ValueError(f"source must be 'corp' or 'user', got {source!r}")
    table = TABLES[state]
    stamp = to_utc_scalar(snapshot_at, "snapshot_at")
    items, non_objects = split_objects(records)
    if source == "user":
        items = [item for item in items if item.get("status") == USER_STATUS[state]]
    n = len(items)
    issues = Issues(n)
    table_fields = ITEM_FIELDS
    if source == "corp":
        table_fields += CORP_FIELDS + (LIVE_FIELDS if state == "live" else ())
    columns = {name: fill(None, n, type_) for name, type_ in _NULLS.items()}
    columns.update(parse_fields(items, table_fields, issues).columns)
    # The state is the one asked for unless the item says otherwise.
    columns["meeting_state"] = (
        pc.fill_null(columns["meeting_state"], MEETING_STATE[state]) if source == "corp"
        else fill(MEETING_STATE[state], n, pa.int64())
    )
    columns["snapshot_at"] = fill(stamp.value, n, TS)
    # Rejected items are filed under the snapshot's own partition: the local date of snapshot_at.
    dates = business_date(columns["snapshot_at"], tz)
    return land(table, items, issues, columns, dates=dates, non_objects=non_objects)
