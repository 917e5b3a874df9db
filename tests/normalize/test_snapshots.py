"""upcoming_meetings and live_meetings snapshots from E7 (corp) and E3 (user) shapes."""

from __future__ import annotations

import datetime as dt

import pytest

from assets.normalize import normalize_snapshot
from tests.normalize.fixtures import LIVE_CORP, MEETING_ID, USER_MEETING_INFO, utc
from tests.normalize.helpers import assert_order_independent, assert_well_formed, row

SNAPSHOT_AT = dt.datetime(2023, 11, 14, 22, 30, 5, tzinfo=dt.timezone.utc)


def test_corp_live_snapshot():
    other = dict(LIVE_CORP, meeting_id="8", online_member_num="12", start_time=str(LIVE_CORP["start_time"]))
    result = normalize_snapshot([LIVE_CORP, other], "live", SNAPSHOT_AT)
    assert_well_formed("live_meetings", result.frame)
    assert row(result.frame, meeting_id=MEETING_ID) == {
        "snapshot_at": SNAPSHOT_AT, "meeting_id": MEETING_ID, "meeting_code": "445999969", "subject": "Weekly sync",
        "creator_userid": "alice", "creator_name": "Alice", "meeting_type": 0, "start_time": utc(1700000000),
        "end_time": utc(1700003600), "online_member_num": 4, "meeting_state": 2,
    }
    assert row(result.frame, meeting_id="8")["online_member_num"] == 12


def test_corp_upcoming_snapshot_has_no_member_count():
    upcoming = dict(LIVE_CORP, meeting_state=3, online_member_num=0)
    result = normalize_snapshot([upcoming], "upcoming", SNAPSHOT_AT, "corp")
    assert_well_formed("upcoming_meetings", result.frame)
    got = row(result.frame, meeting_id=MEETING_ID)
    assert (got["online_member_num"], got["meeting_state"]) == (None, 3)


def test_user_snapshot_filters_on_status():
    live = dict(USER_MEETING_INFO, meeting_id="2", status="MEETING_STATE_STARTED")
    cancelled = dict(USER_MEETING_INFO, meeting_id="3", status="MEETING_STATE_CANCELLED")
    broken = dict(USER_MEETING_INFO, meeting_id="4", start_time="tomorrow")
    records = [USER_MEETING_INFO, live, cancelled, broken]
    upcoming = normalize_snapshot(records, "upcoming", SNAPSHOT_AT, "user")
    assert_well_formed("upcoming_meetings", upcoming.frame)
    got = row(upcoming.frame, meeting_id=MEETING_ID)
    assert (got["creator_userid"], got["meeting_state"], got["start_time"]) == (None, 3, utc(1700000000))
    assert "password" not in upcoming.frame.columns
    assert upcoming.quarantine["reason"].tolist() == ["malformed start_time"]
    # Filed under the snapshot's local date (06:30 on the 15th in Shanghai).
    assert upcoming.quarantine["business_date"].tolist() == [dt.date(2023, 11, 15)]
    live_frame = normalize_snapshot(records, "live", SNAPSHOT_AT, "user").frame
    assert live_frame[["meeting_id", "meeting_state"]].values.tolist() == [["2", 2]]


def test_snapshot_dedupes_and_is_order_independent():
    records = [dict(LIVE_CORP, meeting_id=str(10**19 + i)) for i in range(10)]
    assert_order_independent(lambda r: normalize_snapshot(r, "live", SNAPSHOT_AT).frame, records)


def test_snapshot_arguments_are_checked():
    with pytest.raises(ValueError, match="timezone-aware"):
        normalize_snapshot([LIVE_CORP], "live", dt.datetime(2023, 11, 14))
    with pytest.raises(ValueError, match="state must be"):
        normalize_snapshot([LIVE_CORP], "ended", SNAPSHOT_AT)  # type: ignore[arg-type]
