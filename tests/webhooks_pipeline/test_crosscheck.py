"""compare_sessions: what counts as the same session in the pull and in the events, and what is reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from assets.session_crosscheck import TIME_TOLERANCE, compare_sessions

T = datetime(2026, 6, 16, 2, 0, tzinfo=UTC)


def _sessions(*rows: tuple[str, str, datetime, datetime | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "meeting_id": [r[0] for r in rows],
            "sub_meeting_id": ["" for _ in rows],
            "person_key": [r[1] for r in rows],
            "join_time": pd.to_datetime([r[2] for r in rows], utc=True),
            "left_time": pd.to_datetime([r[3] for r in rows], utc=True),
        }
    )


def s(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_milliseconds_against_whole_seconds_match_within_the_tolerance() -> None:
    pulled = _sessions(("m1", "alice", s(0), s(600)), ("m1", "bob", s(30), s(500)))
    events = _sessions(("m1", "alice", s(0.731), s(600.402)), ("m1", "bob", s(31.9), s(499.2)))
    result = compare_sessions(pulled, events)
    assert result.consistent
    assert (result.matched, result.pulled, result.from_events, result.meetings_compared) == (2, 2, 2, 1)


def test_what_each_side_lacks_is_reported() -> None:
    beyond = TIME_TOLERANCE.total_seconds() + 1
    pulled = _sessions(("m1", "alice", s(0), s(600)), ("m1", "carol", s(100), s(200)))
    events = _sessions(
        ("m1", "alice", s(beyond), s(600)),  # too far from the pulled join to be the same session
        ("m1", "dave", s(50), s(70)),  # the pull does not have dave
        ("m2", "erin", s(0), s(10)),  # a meeting the pull does not cover (still running): not compared
    )
    result = compare_sessions(pulled, events)
    assert not result.consistent
    assert sorted(result.only_in_pull["person_key"]) == ["alice", "carol"]
    assert sorted(result.only_in_events["person_key"]) == ["alice", "dave"]
    assert result.from_events == 2 and result.meetings_compared == 1


def test_a_reused_meeting_id_on_another_day_is_not_compared() -> None:
    pulled = _sessions(("pmi", "alice", s(0), s(600)))
    events = _sessions(("pmi", "alice", s(0), s(600)), ("pmi", "bob", s(86_400), s(87_000)))
    result = compare_sessions(pulled, events)
    assert result.consistent and result.from_events == 1


def test_leave_times_are_compared_once_joins_match() -> None:
    pulled = _sessions(("m1", "alice", s(0), s(600)), ("m1", "bob", s(10), s(300)), ("m1", "carol", s(20), s(900)))
    events = _sessions(("m1", "alice", s(0), None), ("m1", "bob", s(10), s(300.9)), ("m1", "carol", s(20), s(960)))
    result = compare_sessions(pulled, events)
    assert result.matched == 3 and result.only_in_pull.empty and result.only_in_events.empty
    differs = result.left_time_differs
    assert sorted(differs["person_key"]) == ["alice", "carol"]
    assert differs.set_index("person_key").loc["alice", "event_left_time"] is pd.NaT


def test_nothing_in_common_compares_nothing() -> None:
    result = compare_sessions(_sessions(("m1", "alice", s(0), s(60))), _sessions(("m9", "zoe", s(0), s(60))))
    assert result.consistent and result.meetings_compared == 0 and result.matched == 0
