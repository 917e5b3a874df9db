"""Snapshots of upcoming and live meetings: account-level (E7 states 3 and 2) or user-level (E3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import (
    DEFAULT_TZ,
    Issues,
    Normalized,
    business_date,
    epoch,
    field,
    fill,
    finish_counted,
    integer,
    quarantine_issues,
    split_objects,
    text,
    to_utc_scalar,
)
from assets.schemas import TS

State = Literal["upcoming", "live"]
Source = Literal["corp", "user"]

TABLES: dict[str, str] = {"upcoming": "upcoming_meetings", "live": "live_meetings"}
MEETING_STATE: dict[str, int] = {"live": 2, "upcoming": 3}
# E3 mixes upcoming and in-progress meetings and reports E1's string status; anything else is not a snapshot row.
USER_STATUS: dict[str, str] = {"upcoming": "MEETING_STATE_INIT", "live": "MEETING_STATE_STARTED"}


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
    meeting_id = text(field(items, "meeting_id"))
    issues.require(meeting_id, "meeting_id")
    start = epoch(field(items, "start_time"), "s")
    end = epoch(field(items, "end_time"), "s")
    parsed = {
        "meeting_code": text(field(items, "meeting_code")),
        "subject": text(field(items, "subject")),
        "meeting_type": integer(field(items, "meeting_type")),
        "start_time": start,
        "end_time": end,
    }
    if source == "corp":
        parsed["userid"] = text(field(items, "userid"))
        parsed["nick_name"] = text(field(items, "nick_name"))
        parsed["meeting_state"] = integer(field(items, "meeting_state"))
        if state == "live":
            parsed["online_member_num"] = integer(field(items, "online_member_num"))
        meeting_state = pc.fill_null(parsed["meeting_state"].values, MEETING_STATE[state])
    else:
        meeting_state = fill(MEETING_STATE[state], n, pa.int64())
    for name, value in parsed.items():
        issues.check(value, name)

    null_text = fill(None, n, pa.string())
    columns = {
        "snapshot_at": fill(stamp.value, n, TS),
        "meeting_id": meeting_id.values,
        "meeting_code": parsed["meeting_code"].values,
        "subject": parsed["subject"].values,
        "creator_userid": parsed["userid"].values if "userid" in parsed else null_text,
        "creator_name": parsed["nick_name"].values if "nick_name" in parsed else null_text,
        "meeting_type": parsed["meeting_type"].values,
        "start_time": start.values,
        "end_time": end.values,
        "online_member_num": (
            parsed["online_member_num"].values if "online_member_num" in parsed else fill(None, n, pa.int64())
        ),
        "meeting_state": meeting_state,
    }
    frame, repeats = finish_counted(table, columns, ~issues.bad)
    # Rejected items are filed under the snapshot's own partition: the local date of snapshot_at.
    dates = business_date(columns["snapshot_at"], tz)
    quarantine = quarantine_issues(table, items, issues, dates, non_objects)
    return Normalized(frame, quarantine, repeats)
