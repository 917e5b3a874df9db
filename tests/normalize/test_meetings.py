"""meetings from the account-level ended list (ms) and the user-level history (s)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from assets.normalize import normalize_corp_ended_meetings, normalize_user_ended_meetings
from tests.normalize.fixtures import CORP_ENDED_MEETING, MEETING_ID, SHANGHAI_MIDNIGHT_15, USER_ENDED_MEETING, utc
from tests.normalize.helpers import assert_order_independent, assert_well_formed, row

RECURRING = dict(
    CORP_ENDED_MEETING, meeting_type=1, sub_meeting_id="1700000000", start_time=(SHANGHAI_MIDNIGHT_15 - 600) * 1000 + 999,
    end_time=(SHANGHAI_MIDNIGHT_15 + 600) * 1000,
)
NO_SUB = {k: v for k, v in CORP_ENDED_MEETING.items() if k != "sub_meeting_id"}


def test_corp_ended_meeting_fields():
    result = normalize_corp_ended_meetings([CORP_ENDED_MEETING, RECURRING])
    assert_well_formed("meetings", result.frame)
    assert result.quarantine.empty
    got = row(result.frame, sub_meeting_id="")
    assert got == {
        "meeting_id": MEETING_ID, "sub_meeting_id": "", "start_time": utc(1700000012), "end_time": utc(1700003590),
        "business_date": dt.date(2023, 11, 15), "meeting_code": "445999969", "subject": "Weekly sync",
        "meeting_type": 0, "creator_userid": "alice", "creator_userid_type": 1, "creator_name": "Alice",
        "participants_num": 3, "duration_seconds": 3578.0, "user_duration_seconds": 7000.0,
    }
    # Cross-midnight: starts 23:50 local on the 14th, so it belongs to the 14th; milliseconds are kept.
    recurring = row(result.frame, sub_meeting_id="1700000000")
    assert recurring["business_date"] == dt.date(2023, 11, 14)
    assert recurring["start_time"] == utc(SHANGHAI_MIDNIGHT_15 - 600) + dt.timedelta(milliseconds=999)


def test_absent_sub_meeting_id_is_empty_string_and_deduplicates():
    result = normalize_corp_ended_meetings([NO_SUB, CORP_ENDED_MEETING])
    assert result.frame["sub_meeting_id"].tolist() == [""]


def test_corp_ended_meetings_quarantine():
    records = [
        CORP_ENDED_MEETING,
        dict(CORP_ENDED_MEETING, meeting_id=None, meeting_code="1"),
        dict(CORP_ENDED_MEETING, meeting_code="2", start_time="soon"),
        dict(CORP_ENDED_MEETING, meeting_code="3", meeting_duration="3.5 hours", start_time=1700100000000,
             end_time=1700103000000),
        dict(CORP_ENDED_MEETING, meeting_code="4", meeting_id=1.3339451618278424e19),
        [1, 2],
    ]
    result = normalize_corp_ended_meetings(records)
    assert result.frame["meeting_code"].tolist() == ["445999969"]
    got = dict(zip(result.quarantine["reason"], result.quarantine["business_date"], strict=True))
    assert got.keys() == {"missing meeting_id", "malformed start_time", "malformed meeting_duration",
                          "malformed meeting_id", "record is not a JSON object"}
    # A record whose start parsed is filed under its own partition.
    assert got["malformed meeting_duration"] == dt.date(2023, 11, 16)
    assert pd.isna(got["malformed start_time"])
    assert_well_formed("quarantine", result.quarantine)


def test_user_ended_meetings_seconds_and_nulls():
    as_strings = dict(USER_ENDED_MEETING, meeting_id="99", start_time=str(T := 1700000000), end_time=str(T + 60))
    result = normalize_user_ended_meetings([USER_ENDED_MEETING, as_strings])
    assert_well_formed("meetings", result.frame)
    got = row(result.frame, meeting_id=MEETING_ID)
    assert (got["start_time"], got["end_time"], got["business_date"]) == (utc(1700000000), utc(1700003600), dt.date(2023, 11, 15))
    assert got["creator_userid"] is None and got["participants_num"] is None and got["duration_seconds"] is None
    assert row(result.frame, meeting_id="99")["end_time"] == utc(1700000060)


@pytest.mark.parametrize("normalize,base", [(normalize_corp_ended_meetings, CORP_ENDED_MEETING),
                                            (normalize_user_ended_meetings, USER_ENDED_MEETING)])
def test_order_independent(normalize, base):
    records = [dict(base, meeting_id=str(10**19 + i), start_time=base["start_time"] + i) for i in range(20)]
    assert_order_independent(lambda r: normalize(r).frame, records)
    assert_order_independent(lambda r: normalize(r + ["junk", {"x": 1}]).quarantine, records)


def test_timezone_changes_business_date_only():
    shanghai = normalize_corp_ended_meetings([CORP_ENDED_MEETING], "Asia/Shanghai").frame
    utc_frame = normalize_corp_ended_meetings([CORP_ENDED_MEETING], "UTC").frame
    assert shanghai["start_time"].tolist() == utc_frame["start_time"].tolist()
    assert (shanghai["business_date"].iloc[0], utc_frame["business_date"].iloc[0]) == (dt.date(2023, 11, 15), dt.date(2023, 11, 14))
