"""Ended meeting instances: account-level (E7, meeting_state=1) and user-level history (E4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from assets.normalize._common import DEFAULT_TZ
from assets.normalize.engine import REQUIRE, Check, Field, Parser, Spec, earlier, land, parse_fields
from assets.normalize.frames import Normalized, fill
from assets.normalize.parsers import integer, text
from assets.normalize.quarantine import Issues
from assets.normalize.records import split_objects
from assets.normalize.times import business_date, epoch_millis, epoch_seconds, ms_to_seconds


def _instance_fields(start_end: Parser) -> tuple[Spec, ...]:
    """Both lists' fields; only the unit of the scheduled times differs."""
    return (
        Field("meeting_id", text, rule=REQUIRE),
        Field("sub_meeting_id", text, null_as=""),
        Field("start_time", start_end, rule=REQUIRE),
        Field("end_time", start_end),
        Check("end_time before start_time", earlier("end_time", "start_time")),
        Field("meeting_code", text),
        Field("subject", text),
        Field("meeting_type", integer),
    )


CORP_FIELDS: tuple[Spec, ...] = (
    *_instance_fields(epoch_millis),
    Field("userid", text, "creator_userid"),
    Field("userid_type", integer, "creator_userid_type"),
    Field("nick_name", text, "creator_name"),
    Field("participants_num", integer),
    Field("meeting_duration", ms_to_seconds, "duration_seconds"),
    Field("user_meeting_duration", ms_to_seconds, "user_duration_seconds"),
)
# The user-level history has no creator, head count or durations: those columns stay null.
USER_FIELDS: tuple[Spec, ...] = _instance_fields(epoch_seconds)
_USER_NULLS: dict[str, pa.DataType] = {
    "creator_userid": pa.string(), "creator_userid_type": pa.int64(), "creator_name": pa.string(),
    "participants_num": pa.int64(), "duration_seconds": pa.float64(), "user_duration_seconds": pa.float64(),
}


def normalize_corp_ended_meetings(records: Sequence[Any], tz: str = DEFAULT_TZ) -> Normalized:
    """`GET /v1/corp/meetings?meeting_state=1` `meeting_info_list[]` → meetings (times in ms)."""
    return _normalize(records, CORP_FIELDS, {}, tz)


def normalize_user_ended_meetings(records: Sequence[Any], tz: str = DEFAULT_TZ) -> Normalized:
    """`GET /v1/history/meetings/{userid}` `meeting_info_list[]` → meetings (scheduled times in s; no creator or durations)."""
    return _normalize(records, USER_FIELDS, _USER_NULLS, tz)


def _normalize(records: Sequence[Any], table: Sequence[Spec], nulls: dict[str, pa.DataType], tz: str) -> Normalized:
    meetings, non_objects = split_objects(records)
    issues = Issues(len(meetings))
    columns = parse_fields(meetings, table, issues).columns
    columns.update({name: fill(None, len(meetings), type_) for name, type_ in nulls.items()})
    columns["business_date"] = business_date(columns["start_time"], tz)
    return land("meetings", meetings, issues, columns, dates=columns["business_date"], non_objects=non_objects)
