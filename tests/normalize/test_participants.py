"""participant_sessions from E5 pages and the attendance built from them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.normalize import InstanceRef, build_attendance, normalize_participants
from assets.normalize.participants import normalize_participant_batches
from tests.normalize.fixtures import MEETING_ID, SHANGHAI_MIDNIGHT_15, b64, participant, utc
from tests.normalize.helpers import assert_order_independent, assert_well_formed, row, rows

# A media room that opened at 23:00:00.250 local on the 14th and closed at 01:00 on the 15th.
START = SHANGHAI_MIDNIGHT_15 - 3600
END = SHANGHAI_MIDNIGHT_15 + 3600
INSTANCE = InstanceRef(MEETING_ID, "", utc(START + 0.25), utc(END), dt.date(2023, 11, 14))


def _sessions() -> list[dict]:
    s = str
    return [
        # Alice on a PC for the whole meeting, crossing local midnight.
        participant(join_time=s(START), left_time=s(END - 100)),
        # Alice's phone overlaps the PC: attendance must not count it twice.
        participant(instanceid=3, join_time=s(START + 600), left_time=s(START + 1200)),
        # Bob rejoins: two sessions with a gap, Chinese and emoji in the name.
        participant(userid="bob", uuid="uuid-bob", ms_open_id="ms-bob", user_name=b64("鲍勃 🚀"),
                    is_enterprise_user=True, join_time=s(START + 60), left_time=s(START + 660)),
        participant(userid="bob", uuid="uuid-bob", ms_open_id="ms-bob", user_name=b64("鲍勃 🚀"),
                    is_enterprise_user=True, join_time=s(START + 1260), left_time=s(START + 1860)),
        # A phone dial-in: no userid or uuid, identified by ms_open_id.
        participant(userid="", uuid="", open_id="", ms_open_id="ms-pstn-1", user_name=b64("138****0000"),
                    phone="", instanceid=0, join_type=0, user_role=0, is_enterprise_user=False,
                    join_time=s(START + 120), left_time=s(START + 420)),
        # A guest from outside: uuid only, still in the meeting.
        participant(userid="", uuid="uuid-guest", open_id="oid-guest", ms_open_id="ms-guest", user_name=b64("Guest 访客"),
                    user_role=4, is_enterprise_user=False, join_time=s(START + 3000), left_time=""),
        # A Rooms device.
        participant(userid="rooms-01", uuid="", ms_open_id="ms-rooms", user_name=b64("会议室 A"), instanceid=20,
                    is_enterprise_user=True, join_time=s(START + 30), left_time=s(END - 30)),
    ]


def test_session_rows():
    result = normalize_participants(_sessions(), INSTANCE)
    assert_well_formed("participant_sessions", result.frame)
    assert result.quarantine.empty
    assert len(result.frame) == 7
    alice_pc = row(result.frame, person_key="alice", instanceid=1)
    assert alice_pc == {
        "meeting_id": MEETING_ID, "sub_meeting_id": "", "meeting_start_time": utc(START + 0.25),
        "business_date": dt.date(2023, 11, 14), "person_key": "alice", "person_kind": "enterprise",
        "userid": "alice", "uuid": "WMfgHRYj6m36mcDGtK", "open_id": None, "ms_open_id": "ms-1a2b3c",
        "user_name": "Alice", "phone_hash": "9f86d081884c7d659a2feaa0c55ad015", "instanceid": 1, "join_type": 1,
        "user_role": 3, "is_enterprise_user": True, "join_time": utc(START), "left_time": utc(END - 100),
        "session_seconds": 7100.0,
    }
    pstn = row(result.frame, person_key="ms-pstn-1")
    assert (pstn["person_kind"], pstn["userid"], pstn["uuid"], pstn["phone_hash"], pstn["user_name"]) == (
        "pstn", None, None, None, "138****0000")
    guest = row(result.frame, person_key="uuid-guest")
    assert (guest["person_kind"], guest["left_time"], guest["session_seconds"], guest["user_name"]) == (
        "external", None, None, "Guest 访客")
    assert row(result.frame, person_key="rooms-01")["person_kind"] == "rooms"
    assert row(result.frame, person_key="bob", join_time=utc(START + 60))["user_name"] == "鲍勃 🚀"


def test_session_quarantine_keeps_good_rows():
    records = _sessions() + [
        participant(userid="x1", user_name="not base64!"),
        participant(userid="x2", join_time=""),
        participant(userid="x3", join_time=str(START + 100), left_time=str(START + 50)),
        participant(userid="", uuid="", ms_open_id="", join_time=str(START + 5)),
        participant(userid="x5", instanceid="one"),
        None,
    ]
    result = normalize_participants(records, INSTANCE)
    assert len(result.frame) == 7
    assert sorted(result.quarantine["reason"]) == sorted([
        "invalid base64 in user_name", "missing join_time", "left_time before join_time",
        "no person identity (userid, uuid and ms_open_id all empty)", "malformed instanceid",
        "record is not a JSON object",
    ])
    assert set(result.quarantine["business_date"].dropna()) == {dt.date(2023, 11, 14)}
    assert_well_formed("quarantine", result.quarantine)


def test_sessions_outside_their_instance_are_quarantined():
    # Listed for this media room but joined two hours after it closed, or at the epoch: contradictory.
    later = participant(userid="zed", join_time=str(END + 7200), left_time=str(END + 7300))
    epoch_zero = participant(userid="zero", join_time="0", left_time=str(START + 5))
    # Joined in the same second the room opened (the room's start has milliseconds).
    first = participant(userid="first", join_time=str(START), left_time=str(START + 10))
    result = normalize_participants([later, epoch_zero, first], INSTANCE)
    assert result.frame["person_key"].tolist() == ["first"]
    assert len(result.quarantine) == 2
    assert result.quarantine["reason"].str.contains("is outside meeting instance").all()
    assert result.deduplicated == 0


def test_session_of_a_sibling_instance_counts_as_a_repeat():
    # Listed for the first room as well as for the later room of the same meeting, which lands it.
    session = participant(userid="zed", join_time=str(END + 7200), left_time=str(END + 7300))
    later_room = InstanceRef(INSTANCE.meeting_id, "", utc(END + 7000), utc(END + 8000), None)
    result = normalize_participant_batches([(INSTANCE, [session]), (later_room, [session])])
    assert result.frame["person_key"].tolist() == ["zed"]
    assert result.quarantine.empty
    assert result.deduplicated == 1


def test_recurring_sub_meeting_and_computed_business_date():
    instance = InstanceRef(MEETING_ID, "1699977600", utc(START), None)
    result = normalize_participants([participant(join_time=str(SHANGHAI_MIDNIGHT_15 + 5))], instance)
    got = row(result.frame, person_key="alice")
    # No business date given: it is the local date of the instance start (23:00 on the 14th).
    assert (got["sub_meeting_id"], got["business_date"]) == ("1699977600", dt.date(2023, 11, 14))


def test_instance_from_meeting_row_and_naive_times_rejected():
    meeting = {"meeting_id": MEETING_ID, "sub_meeting_id": "", "start_time": pd.Timestamp(utc(START)),
               "end_time": pd.NaT, "business_date": dt.date(2023, 11, 14)}
    assert InstanceRef.from_meeting(meeting) == InstanceRef(MEETING_ID, "", pd.Timestamp(utc(START)), None, dt.date(2023, 11, 14))
    with pytest.raises(ValueError, match="timezone-aware"):
        normalize_participants([], InstanceRef(MEETING_ID, "", dt.datetime(2023, 11, 14), None))


def test_sessions_order_independent_and_idempotent():
    assert_order_independent(lambda r: normalize_participants(r, INSTANCE).frame, _sessions())


def test_duplicate_open_and_closed_copies_keep_the_closed_one():
    closed = participant(join_time=str(START + 10), left_time=str(START + 20))
    still_open = participant(join_time=str(START + 10), left_time="")
    for records in ([closed, still_open], [still_open, closed]):
        frame = normalize_participants(records, INSTANCE).frame
        assert frame["left_time"].tolist() == [pd.Timestamp(utc(START + 20))]


def test_attendance():
    sessions = normalize_participants(_sessions(), INSTANCE).frame
    attendance = build_attendance(sessions)
    assert_well_formed("attendance", attendance)
    assert rows(attendance, ["person_key", "person_kind", "userid", "user_name", "sessions", "first_join_time",
                             "last_left_time", "attended_seconds", "has_open_session"]) == [
        # PC [0, 7100] contains the phone [600, 1200]: the union is the PC alone.
        ["alice", "enterprise", "alice", "Alice", 2, utc(START), utc(END - 100), 7100.0, False],
        # Two sessions with a gap: 600 + 600.
        ["bob", "enterprise", "bob", "鲍勃 🚀", 2, utc(START + 60), utc(START + 1860), 1200.0, False],
        ["ms-pstn-1", "pstn", None, "138****0000", 1, utc(START + 120), utc(START + 420), 300.0, False],
        ["rooms-01", "rooms", "rooms-01", "会议室 A", 1, utc(START + 30), utc(END - 30), 7140.0, False],
        # Only an open session: nothing closed to count yet, and no last leave.
        ["uuid-guest", "external", None, "Guest 访客", 1, utc(START + 3000), None, 0.0, True],
    ]
    assert set(attendance["meeting_start_time"]) == {pd.Timestamp(utc(START + 0.25))}
    assert set(attendance["business_date"]) == {dt.date(2023, 11, 14)}


def test_attendance_mixed_open_and_closed():
    records = [
        participant(join_time=str(START), left_time=str(START + 100)),
        participant(join_time=str(START + 50), left_time=str(START + 300)),
        participant(join_time=str(START + 400), left_time=""),
    ]
    attendance = build_attendance(normalize_participants(records, INSTANCE).frame)
    got = row(attendance, person_key="alice")
    assert (got["sessions"], got["attended_seconds"], got["last_left_time"], got["has_open_session"]) == (3, 300.0, None, True)


def test_attendance_of_nothing_is_an_empty_table():
    empty = normalize_participants([], INSTANCE).frame
    assert_well_formed("participant_sessions", empty)
    assert_well_formed("attendance", build_attendance(empty))


def _union_length(intervals: list[tuple[int, int]]) -> int:
    """Reference: walk the sorted intervals one by one."""
    total, current_start, current_end = 0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


_interval = st.tuples(st.integers(0, 7000), st.integers(0, 3000), st.booleans())


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["p1", "p2", "p3"]), st.lists(_interval, min_size=1, max_size=8), min_size=1))
def test_attendance_properties(people):
    records = []
    for person, intervals in people.items():
        for offset, length, is_open in intervals:
            records.append(participant(userid=person, join_time=str(START + offset),
                                       left_time="" if is_open else str(START + offset + length)))
    sessions = normalize_participants(records, INSTANCE).frame
    attendance = build_attendance(sessions)
    assert_well_formed("attendance", attendance)
    for person_key, group in sessions.groupby("person_key"):
        got = row(attendance, person_key=person_key)
        closed = group[group["left_time"].notna()]
        intervals = [(int(j.timestamp()), int(l.timestamp())) for j, l in zip(closed["join_time"], closed["left_time"], strict=True)]
        assert got["sessions"] == len(group)
        assert got["attended_seconds"] == _union_length(intervals)
        if intervals:
            assert got["attended_seconds"] <= max(e for _, e in intervals) - min(s for s, _ in intervals)
            assert got["attended_seconds"] >= max(e - s for s, e in intervals)
        assert got["has_open_session"] == bool(group["left_time"].isna().any())

