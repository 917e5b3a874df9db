"""NORM-1: every normalizer is total over arbitrary JSON-ish records and its output is schema-exact."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from assets.normalize import (
    InstanceRef,
    build_attendance,
    build_live_attendance,
    normalize_corp_ended_meetings,
    normalize_corp_users,
    normalize_participants,
    normalize_record_events,
    normalize_record_metrics,
    normalize_recordings,
    normalize_roles,
    normalize_snapshot,
    normalize_user_ended_meetings,
    normalize_view_details,
    normalize_webhook_events,
)
from assets.schemas import conform
from tests.normalize.fixtures import MEETING_ID, T0, utc
from tests.normalize.helpers import assert_schema

_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["", "1700000000", "1700000000123", "QWxpY2U=", "2023-11-01 10:00:00", "90%"]),
)
_value = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=6)


def _records(keys: list[str]) -> st.SearchStrategy[list]:
    record = st.fixed_dictionaries({}, optional={key: _value for key in keys})
    return st.lists(st.one_of(record, _scalar), max_size=6)


def _check(table: str, normalized) -> None:
    assert_schema(table, normalized.frame)
    assert_schema("quarantine", normalized.quarantine)
    assert_frame_equal(conform(table, normalized.frame), normalized.frame)


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_INSTANCE = InstanceRef(MEETING_ID, "", utc(T0 - 10**6), None)
_PARTICIPANT_KEYS = ["userid", "uuid", "open_id", "ms_open_id", "user_name", "phone", "instanceid", "join_type",
                     "user_role", "is_enterprise_user", "join_time", "left_time"]


@_SETTINGS
@given(_records(_PARTICIPANT_KEYS))
def test_participants_total(records):
    result = normalize_participants(records, _INSTANCE)
    _check("participant_sessions", result)
    assert len(result.frame) + len(result.quarantine) <= len(records)
    assert_schema("attendance", build_attendance(result.frame))


@_SETTINGS
@given(_records(["meeting_id", "sub_meeting_id", "start_time", "end_time", "meeting_code", "subject", "meeting_type",
                 "userid", "userid_type", "nick_name", "participants_num", "meeting_duration", "user_meeting_duration"]))
def test_meetings_total(records):
    _check("meetings", normalize_corp_ended_meetings(records))
    _check("meetings", normalize_user_ended_meetings(records))


@_SETTINGS
@given(_records(["userid", "user_name", "email", "phone", "area", "status", "role_code", "role_name", "departments",
                 "enable_ai_account", "update_time", "role_member_nu", "role_desc"]))
def test_users_and_roles_total(records):
    users, departments = normalize_corp_users(records)
    _check("users", users)
    _check("user_departments", departments)
    _check("roles", normalize_roles(records))


@_SETTINGS
@given(_records(["meeting_record_id", "meeting_id", "meeting_code", "subject", "userid", "host_user_id",
                 "media_start_time", "state", "record_type", "record_files"]))
def test_recordings_total(records):
    recordings, files = normalize_recordings(records, source="corp")
    _check("recordings", recordings)
    _check("recording_files", files)


@_SETTINGS
@given(_records(["date", "view_counts", "download_counts", "operate_time", "userid", "user_name", "record_name",
                 "view_start_time", "view_end_time", "view_time", "total_view_progress", "record_file_name"]))
def test_recording_access_total(records):
    day = dt.date(2023, 11, 15)
    _check("recording_daily_metrics", normalize_record_metrics(records, "r", day))
    _check("recording_events", normalize_record_events(records, "r", 2, day))
    _check("recording_view_details", normalize_view_details(records, "f", "r", day))


@_SETTINGS
@given(_records(["meeting_id", "meeting_code", "subject", "userid", "nick_name", "meeting_type", "start_time",
                 "end_time", "online_member_num", "meeting_state", "status"]))
def test_snapshots_total(records):
    at = utc(T0)
    _check("live_meetings", normalize_snapshot(records, "live", at, "corp"))
    _check("upcoming_meetings", normalize_snapshot(records, "upcoming", at, "user"))


@_SETTINGS
@given(st.lists(st.one_of(_scalar, st.fixed_dictionaries(
    {"event": st.sampled_from(["meeting.participant-joined", "meeting.participant-left", "meeting.end"])},
    optional={"trace_id": _value, "unique_sequence": _value,
              "payload": st.lists(st.one_of(_scalar, st.fixed_dictionaries({}, optional={
                  "operate_time": _value,
                  "operator": st.one_of(_value, st.fixed_dictionaries({}, optional={k: _value for k in (
                      "userid", "uuid", "ms_open_id", "user_name", "instance_id")})),
                  "meeting_info": st.one_of(_value, st.fixed_dictionaries({}, optional={k: _value for k in (
                      "meeting_id", "meeting_code", "sub_meeting_id")})),
              })), max_size=3)})), max_size=6))
def test_webhooks_total(events):
    result = normalize_webhook_events(events)
    _check("webhook_events", result)
    assert_schema("live_attendance", build_live_attendance(result.frame))
