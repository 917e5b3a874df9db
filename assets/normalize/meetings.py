"""Ended meeting instances: account-level (E7, meeting_state=1) and user-level history (E4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import (
    DEFAULT_TZ,
    Issues,
    Normalized,
    Unit,
    business_date,
    empty_as,
    epoch,
    field,
    fill,
    finish_counted,
    integer,
    ms_to_seconds,
    quarantine_issues,
    quarantine_repeats,
    split_objects,
    text,
)


def normalize_corp_ended_meetings(records: Sequence[Any], tz: str = DEFAULT_TZ) -> Normalized:
    """`GET /v1/corp/meetings?meeting_state=1` `meeting_info_list[]` → meetings (times in ms)."""
    meetings, non_objects = split_objects(records)
    issues = Issues(len(meetings))
    columns = _common_columns(meetings, issues, unit="ms", tz=tz)
    creator_userid = text(field(meetings, "userid"))
    creator_type = integer(field(meetings, "userid_type"))
    creator_name = text(field(meetings, "nick_name"))
    participants = integer(field(meetings, "participants_num"))
    duration = ms_to_seconds(field(meetings, "meeting_duration"))
    user_duration = ms_to_seconds(field(meetings, "user_meeting_duration"))
    for name, parsed in (
        ("userid", creator_userid),
        ("userid_type", creator_type),
        ("nick_name", creator_name),
        ("participants_num", participants),
        ("meeting_duration", duration),
        ("user_meeting_duration", user_duration),
    ):
        issues.check(parsed, name)
    columns.update(
        creator_userid=creator_userid.values,
        creator_userid_type=creator_type.values,
        creator_name=creator_name.values,
        participants_num=participants.values,
        duration_seconds=duration.values,
        user_duration_seconds=user_duration.values,
    )
    frame, repeats = finish_counted("meetings", columns, ~issues.bad)
    quarantine = quarantine_issues("meetings", meetings, issues, columns["business_date"], non_objects)
    return Normalized(frame, quarantine, repeats + quarantine_repeats(issues, quarantine, non_objects))


def normalize_user_ended_meetings(records: Sequence[Any], tz: str = DEFAULT_TZ) -> Normalized:
    """`GET /v1/history/meetings/{userid}` `meeting_info_list[]` → meetings (scheduled times in s; no creator or durations)."""
    meetings, non_objects = split_objects(records)
    n = len(meetings)
    issues = Issues(n)
    columns = _common_columns(meetings, issues, unit="s", tz=tz)
    null_text = fill(None, n, pa.string())
    null_int = fill(None, n, pa.int64())
    null_float = fill(None, n, pa.float64())
    columns.update(
        creator_userid=null_text,
        creator_userid_type=null_int,
        creator_name=null_text,
        participants_num=null_int,
        duration_seconds=null_float,
        user_duration_seconds=null_float,
    )
    frame, repeats = finish_counted("meetings", columns, ~issues.bad)
    quarantine = quarantine_issues("meetings", meetings, issues, columns["business_date"], non_objects)
    return Normalized(frame, quarantine, repeats + quarantine_repeats(issues, quarantine, non_objects))


def _common_columns(
    meetings: Sequence[dict[str, Any]], issues: Issues, *, unit: Unit, tz: str
) -> dict[str, pa.Array]:
    meeting_id = text(field(meetings, "meeting_id"))
    issues.require(meeting_id, "meeting_id")
    sub_meeting_id = text(field(meetings, "sub_meeting_id"))
    issues.check(sub_meeting_id, "sub_meeting_id")
    start = epoch(field(meetings, "start_time"), unit)
    issues.require(start, "start_time")
    end = epoch(field(meetings, "end_time"), unit)
    issues.check(end, "end_time")
    ends_first = pc.fill_null(pc.less(end.values, start.values), False).to_numpy(zero_copy_only=False)
    issues.add(np.asarray(ends_first, dtype=bool), "end_time before start_time")
    meeting_code = text(field(meetings, "meeting_code"))
    issues.check(meeting_code, "meeting_code")
    subject = text(field(meetings, "subject"))
    issues.check(subject, "subject")
    meeting_type = integer(field(meetings, "meeting_type"))
    issues.check(meeting_type, "meeting_type")
    columns = {
        "meeting_id": meeting_id.values,
        "sub_meeting_id": empty_as(sub_meeting_id.values, ""),
        "start_time": start.values,
        "end_time": end.values,
        "business_date": business_date(start.values, tz),
        "meeting_code": meeting_code.values,
        "subject": subject.values,
        "meeting_type": meeting_type.values,
    }
    return columns
