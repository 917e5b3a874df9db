"""The field-table engine: reasons in table order, nested objects, derived sources, and conservation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.normalize.frames import Normalized
from assets.normalize.meetings import normalize_corp_ended_meetings, normalize_user_ended_meetings
from assets.normalize.participants import InstanceRef, normalize_participants
from assets.normalize.recording_access import normalize_record_events, normalize_record_metrics, normalize_view_details
from assets.normalize.recordings import normalize_recordings
from assets.normalize.snapshots import normalize_snapshot
from assets.normalize.users import normalize_roles
from assets.normalize.engine import FREE, REQUIRE, Check, Field, Nested, Rule, earlier, parse_fields
from assets.normalize.parsers import integer, text
from assets.normalize.quarantine import Issues
from assets.normalize.times import epoch_seconds
from tests.normalize.fixtures import CORP_ENDED_MEETING, LIVE_CORP, MEETING_ID, T0, utc

TABLE = (
    Field("id", text, rule=REQUIRE),
    Field("start", epoch_seconds, rule=REQUIRE),
    Field("end", epoch_seconds),
    Check("end before start", earlier("end", "start")),
    Nested("owner"),
    Field("owner.name", text, "owner_name"),
    Field("count", integer, "head_count", rule=Rule(malformed="odd {label}")),
    Field("note", integer, rule=FREE),
    Field("kind", text, null_as=""),
)


def _reasons(records: list[dict[str, Any]]) -> list[str]:
    issues = Issues(len(records))
    parse_fields(records, TABLE, issues)
    return [issues.reason(i) for i in range(len(records))]


def test_reasons_follow_the_table_order():
    records = [
        {"id": "a", "start": T0, "end": T0 + 1, "owner": {"name": "x"}, "count": 2, "note": "n/a"},
        {"start": "soon", "end": T0 - 5, "owner": "x", "count": "many"},
        {"id": "c", "start": T0, "end": T0 - 5, "owner": {"name": 7.5}},
    ]
    assert _reasons(records) == [
        "",
        "missing id; malformed start; malformed owner; odd count",
        "end before start; malformed owner.name",
    ]


def test_columns_are_named_by_the_table_and_keys_keep_their_empty_value():
    issues = Issues(2)
    parse = parse_fields([{"id": "a", "owner": {"name": "x"}, "kind": "k"}, {"id": "b"}], TABLE, issues)
    assert parse.columns["owner_name"].to_pylist() == ["x", None]
    assert parse.columns["kind"].to_pylist() == ["k", ""]
    assert parse.parsed["kind"].values.to_pylist() == ["k", None]
    assert parse.columns["head_count"].type == pa.int64()


def test_derived_values_replace_a_top_level_field():
    issues = Issues(2)
    table = (Field("picked", integer, "value", label="picked value"),)
    parse = parse_fields([{"picked": 1}, {"picked": 2}], table, issues, {"picked": ["3", "x"]})
    assert parse.columns["value"].to_pylist() == [3, None]
    assert [issues.reason(i) for i in range(2)] == ["", "malformed picked value"]


def _accounted(result: Normalized) -> int:
    return len(result.frame) + len(result.quarantine) + result.deduplicated


AT = dt.datetime(2023, 11, 14, 22, 30, tzinfo=dt.UTC)
DAY = dt.date(2023, 11, 15)
_PAGE_NORMALIZERS: dict[str, Callable[[list[Any]], Normalized]] = {
    "meetings (corp)": normalize_corp_ended_meetings,
    "meetings (user)": normalize_user_ended_meetings,
    "participant_sessions": lambda r: normalize_participants(r, InstanceRef(MEETING_ID, "", utc(T0 - 10**6), None)),
    "recordings": lambda r: normalize_recordings(r)[0],
    "roles": normalize_roles,
    "recording_daily_metrics": lambda r: normalize_record_metrics(r, "rec", DAY),
    "recording_events": lambda r: normalize_record_events(r, "rec", 2, DAY),
    "recording_view_details": lambda r: normalize_view_details(r, "file", "rec", DAY),
    "live_meetings": lambda r: normalize_snapshot(r, "live", AT, "corp"),
    "upcoming_meetings": lambda r: normalize_snapshot(r, "upcoming", AT, "corp"),
}
_KEYS = sorted({*CORP_ENDED_MEETING, *LIVE_CORP, "meeting_record_id", "media_start_time", "record_files", "role_code",
                "date", "view_counts", "operate_time", "view_start_time", "view_time", "userid", "join_time"})
_value = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-5, max_value=2 * T0 * 1000), st.text(max_size=4),
    st.sampled_from(["", str(T0), str(T0 * 1000), "2023-11-15", "90%", "x"]), st.lists(st.none(), max_size=2),
)
_record = st.one_of(st.fixed_dictionaries({}, optional={key: _value for key in _KEYS}), st.integers())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_record, max_size=8), st.integers(min_value=1, max_value=3))
def test_every_record_of_a_page_is_landed_quarantined_or_counted_as_a_repeat(records, copies):
    # A retried or overlapping page repeats records verbatim, rejected ones included.
    page = records * copies
    for name, normalize in _PAGE_NORMALIZERS.items():
        assert _accounted(normalize(page)) == len(page), name
