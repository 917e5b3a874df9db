"""recordings and recording_files (E8/E11), and the access tables (E12–E14)."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from assets.normalize import (
    normalize_record_events,
    normalize_record_metrics,
    normalize_recordings,
    normalize_view_details,
)
from tests.normalize.fixtures import MEETING_ID, METRIC, RECORD_EVENT, RECORDING, SHANGHAI_MIDNIGHT_15, VIEW_DETAIL, utc
from tests.normalize.helpers import assert_order_independent, assert_well_formed, row, rows

DAY = dt.date(2023, 11, 15)


def _corp(recording: dict) -> dict:
    corp = copy.deepcopy(recording)
    corp["userid"] = corp.pop("host_user_id")
    return corp


def _recordings() -> list[dict]:
    two_files = copy.deepcopy(RECORDING)
    two_files.update(meeting_record_id="2", media_start_time=(SHANGHAI_MIDNIGHT_15 - 1) * 1000 + 500)
    two_files["record_files"] = [
        dict(RECORDING["record_files"][0], record_file_id="21", record_size=10),
        dict(RECORDING["record_files"][0], record_file_id="22", record_size=32, record_start_time=1700000000000,
             record_end_time=1700000001500, allow_download=False, sharing_state=1),
    ]
    transcoding = {k: v for k, v in RECORDING.items() if k != "record_files"}
    transcoding.update(meeting_record_id="3", state=2)
    return [RECORDING, two_files, transcoding]


def test_recordings_and_files():
    recordings, files = normalize_recordings(_recordings(), source="user")
    assert_well_formed("recordings", recordings.frame)
    assert_well_formed("recording_files", files.frame)
    assert recordings.quarantine.empty and files.quarantine.empty
    assert row(recordings.frame, meeting_record_id="1354331232099323242") == {
        "meeting_record_id": "1354331232099323242", "meeting_id": MEETING_ID, "meeting_code": "445999969",
        "subject": "Weekly sync", "host_userid": "alice", "media_start_time": utc(1700000012),
        "business_date": DAY, "state": 3, "record_type": 0, "file_count": 1, "total_size_bytes": 123456789,
    }
    # Half a second before local midnight: still the 14th.
    second = row(recordings.frame, meeting_record_id="2")
    assert (second["business_date"], second["file_count"], second["total_size_bytes"]) == (dt.date(2023, 11, 14), 2, 42)
    assert second["media_start_time"] == utc(SHANGHAI_MIDNIGHT_15 - 0.5)
    pending = row(recordings.frame, meeting_record_id="3")
    assert (pending["state"], pending["file_count"], pending["total_size_bytes"]) == (2, 0, 0)
    assert row(files.frame, record_file_id="1354331232099323243") == {
        "record_file_id": "1354331232099323243", "meeting_record_id": "1354331232099323242", "meeting_id": MEETING_ID,
        "business_date": DAY, "record_start_time": utc(1700000020), "record_end_time": utc(1700003500),
        "duration_seconds": 3480.0, "record_size_bytes": 123456789, "sharing_state": 0, "allow_download": True,
        "required_same_corp": False, "required_participant": False,
    }
    short = row(files.frame, record_file_id="22")
    assert (short["duration_seconds"], short["business_date"], short["allow_download"]) == (1.5, dt.date(2023, 11, 14), False)
    assert "sharing_url" not in files.frame.columns and "password" not in files.frame.columns


def test_corp_source_reads_userid():
    recordings, _ = normalize_recordings([_corp(RECORDING)], source="corp")
    assert recordings.frame["host_userid"].tolist() == ["alice"]
    with pytest.raises(ValueError, match="source must be"):
        normalize_recordings([], source="admin")  # type: ignore[arg-type]


def test_recording_quarantine_takes_its_files():
    bad_file = copy.deepcopy(RECORDING)
    bad_file.update(meeting_record_id="9")
    bad_file["record_files"] = [dict(RECORDING["record_files"][0], record_file_id="91"), {"record_size": 1}]
    no_start = dict(copy.deepcopy(RECORDING), meeting_record_id="8", media_start_time="")
    recordings, files = normalize_recordings(_recordings() + [bad_file, no_start, "junk"], source="user")
    assert sorted(recordings.frame["meeting_record_id"]) == ["1354331232099323242", "2", "3"]
    assert sorted(files.frame["record_file_id"]) == ["1354331232099323243", "21", "22"]
    assert sorted(recordings.quarantine["reason"]) == [
        "missing media_start_time", "record is not a JSON object", "record_files item: missing record_file_id",
    ]


def test_recordings_order_independent():
    assert_order_independent(lambda r: normalize_recordings(r, source="user")[0].frame, _recordings())
    assert_order_independent(lambda r: normalize_recordings(r, source="user")[1].frame, _recordings())


def test_daily_metrics():
    records = [METRIC, {"date": "2023-11-16", "view_counts": "3", "download_counts": 0}, {"date": "16/11/2023"}]
    result = normalize_record_metrics(records, "1354331232099323242", DAY)
    assert_well_formed("recording_daily_metrics", result.frame)
    assert rows(result.frame) == [
        ["1354331232099323242", dt.date(2023, 11, 15), DAY, 12, 1],
        ["1354331232099323242", dt.date(2023, 11, 16), DAY, 3, 0],
    ]
    assert result.quarantine["reason"].tolist() == ["malformed date"]
    assert result.quarantine["business_date"].tolist() == [DAY]


def test_record_events():
    download = dict(RECORD_EVENT, event_type=1, operate_time=str(RECORD_EVENT["operate_time"] + 1))
    anonymous = dict(RECORD_EVENT, userid="", user_name="", operate_time=RECORD_EVENT["operate_time"] + 2)
    result = normalize_record_events([RECORD_EVENT, download, anonymous, {"userid": "x"}], "r1", 2, DAY)
    assert_well_formed("recording_events", result.frame)
    assert rows(result.frame) == [
        ["r1", 2, "view", utc(1700001000.123), "bob", "Bob", "Weekly sync", DAY],
        ["r1", 2, "view", utc(1700001000.124), "bob", "Bob", "Weekly sync", DAY],
        ["r1", 2, "view", utc(1700001000.125), "", None, "Weekly sync", DAY],
    ]
    assert result.quarantine["reason"].tolist() == ["missing operate_time"]
    downloads = normalize_record_events([RECORD_EVENT], "r1", 1, DAY).frame
    assert downloads[["event_type", "event_kind"]].values.tolist() == [[1, "download"]]
    with pytest.raises(ValueError, match="event_type"):
        normalize_record_events([], "r1", 3, DAY)
    assert_order_independent(lambda r: normalize_record_events(r, "r1", 2, DAY).frame, [RECORD_EVENT, download, anonymous])


def test_view_details():
    other = dict(VIEW_DETAIL, userid="carol", view_time="1000", total_view_progress="12.5")
    bad = dict(VIEW_DETAIL, userid="dan", total_view_progress="most")
    result = normalize_view_details([VIEW_DETAIL, other, bad], "f1", "r1", DAY)
    assert_well_formed("recording_view_details", result.frame)
    assert rows(result.frame) == [
        ["f1", "r1", "bob", "Bob", "Weekly sync.mp4", utc(1700001000.123), utc(1700001600.123), 540.5, 90.0, DAY],
        ["f1", "r1", "carol", "Bob", "Weekly sync.mp4", utc(1700001000.123), utc(1700001600.123), 1.0, 12.5, DAY],
    ]
    assert result.quarantine["reason"].tolist() == ["malformed total_view_progress"]
    assert_order_independent(lambda r: normalize_view_details(r, "f1", "r1", DAY).frame, [VIEW_DETAIL, other])
