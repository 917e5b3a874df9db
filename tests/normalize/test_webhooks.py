"""webhook_events from decoded webhook events, and live_attendance paired from join/leave events."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from assets.normalize import build_live_attendance, normalize_webhook_events
from tests.normalize.fixtures import MEETING_ID, SHANGHAI_MIDNIGHT_15, webhook_event
from tests.normalize.helpers import assert_order_independent, assert_well_formed, row, rows

JOINED = "meeting.participant-joined"
LEFT = "meeting.participant-left"
T = SHANGHAI_MIDNIGHT_15 * 1000 - 60_000  # 23:59:00.000 local on the 14th


def _utc_ms(millis: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(millis / 1000, dt.timezone.utc)


def _events() -> list[dict]:
    return [
        webhook_event(JOINED, T, trace_id="t1"),
        webhook_event(LEFT, T + 120_000, trace_id="t2"),  # crosses local midnight
        webhook_event(JOINED, T + 180_000, trace_id="t3"),  # rejoin, still in
        # A phone dial-in: empty userid and uuid, identified by ms_open_id.
        webhook_event(JOINED, T + 5_000, trace_id="t4", userid="", uuid="", ms_open_id="ms-pstn", instance_id="0"),
        webhook_event(LEFT, T + 65_000, trace_id="t5", userid="", uuid="", ms_open_id="ms-pstn", instance_id="0"),
        # A Rooms device in a recurring sub-meeting.
        webhook_event(JOINED, T + 1_000, trace_id="t6", userid="rooms-9", instance_id="20", sub_meeting_id="1699977600"),
        webhook_event("meeting.end", T + 600_000, trace_id="t7"),
    ]


def test_webhook_event_rows():
    result = normalize_webhook_events(_events())
    assert_well_formed("webhook_events", result.frame)
    assert result.quarantine.empty
    first = row(result.frame, trace_id="t1")
    payload = json.loads(first.pop("payload_json"))
    assert first == {
        "trace_id": "t1", "event": JOINED, "operate_time": _utc_ms(T), "business_date": dt.date(2023, 11, 14),
        "meeting_id": MEETING_ID, "meeting_code": "445999969", "sub_meeting_id": "", "person_key": "tester",
        "person_kind": "enterprise", "userid": "tester", "user_name": "tester_name",
    }
    assert payload["operator"]["instance_id"] == "2" and payload["operate_time"] == T
    assert row(result.frame, trace_id="t2")["business_date"] == dt.date(2023, 11, 15)
    pstn = row(result.frame, trace_id="t4")
    assert (pstn["person_key"], pstn["person_kind"], pstn["userid"]) == ("ms-pstn", "pstn", None)
    rooms = row(result.frame, trace_id="t6")
    assert (rooms["person_kind"], rooms["sub_meeting_id"]) == ("rooms", "1699977600")


def test_redelivery_and_order_do_not_matter():
    assert_order_independent(lambda e: normalize_webhook_events(e).frame, _events())


def test_old_format_and_malformed_events():
    old = {"event": "meeting.created", "unique_sequence": "f20096ee",
           "payload": [{"operate_time": "2020-12-29 17:41:06", "operator": {"userid": "tester", "user_name": "t"},
                        "meeting_info": {"meeting_id": "1", "start_time": "2020-12-29 17:41:04"}}]}
    no_trace = webhook_event(JOINED, T, trace_id="")
    bad_time = webhook_event(JOINED, T, trace_id="t9")
    bad_time["payload"][0]["operate_time"] = "yesterday"
    result = normalize_webhook_events([old, no_trace, bad_time, {"event": "x"}, "junk"] + _events())
    assert len(result.frame) == 8
    got = row(result.frame, trace_id="f20096ee")
    assert (got["operate_time"], got["business_date"]) == (
        dt.datetime(2020, 12, 29, 9, 41, 6, tzinfo=dt.timezone.utc), dt.date(2020, 12, 29))
    assert sorted(result.quarantine["reason"]) == [
        "event is not a JSON object", "malformed operate_time", "missing payload", "missing trace_id",
    ]
    assert_well_formed("quarantine", result.quarantine)


def test_live_attendance_pairs_joins_with_next_leave():
    events = normalize_webhook_events(_events()).frame
    live = build_live_attendance(events)
    assert_well_formed("live_attendance", live)
    assert rows(live, ["sub_meeting_id", "person_key", "person_kind", "join_time", "left_time", "is_open", "business_date"]) == [
        ["", "ms-pstn", "pstn", _utc_ms(T + 5_000), _utc_ms(T + 65_000), False, dt.date(2023, 11, 14)],
        ["", "tester", "enterprise", _utc_ms(T), _utc_ms(T + 120_000), False, dt.date(2023, 11, 14)],
        ["", "tester", "enterprise", _utc_ms(T + 180_000), None, True, dt.date(2023, 11, 15)],
        ["1699977600", "rooms-9", "rooms", _utc_ms(T + 1_000), None, True, dt.date(2023, 11, 14)],
    ]


def test_live_attendance_edge_cases():
    events = [
        webhook_event(LEFT, T - 10_000, trace_id="a"),  # a leave with no join is ignored
        webhook_event(JOINED, T, trace_id="b"),
        webhook_event(LEFT, T, trace_id="c"),  # same instant as the join still closes it
        webhook_event(JOINED, T + 1, trace_id="d", userid="", uuid="", ms_open_id=""),  # nobody to pair
    ]
    live = build_live_attendance(normalize_webhook_events(events).frame)
    assert rows(live, ["person_key", "join_time", "left_time", "is_open"]) == [["tester", _utc_ms(T), _utc_ms(T), False]]
    assert_well_formed("live_attendance", build_live_attendance(normalize_webhook_events([]).frame))
    shuffled = normalize_webhook_events(list(reversed(_events()))).frame.sample(frac=1, random_state=3)
    pd.testing.assert_frame_equal(build_live_attendance(shuffled), build_live_attendance(normalize_webhook_events(_events()).frame))


def test_live_attendance_pairs_per_device():
    # One person on a PC (2) and, overlapping, on a phone (4): each leave closes its own device's join.
    events = [
        webhook_event(JOINED, T, trace_id="pc-in", instance_id="2"),
        webhook_event(JOINED, T + 60_000, trace_id="phone-in", instance_id="4"),
        webhook_event(LEFT, T + 120_000, trace_id="phone-out", instance_id="4"),
        webhook_event(LEFT, T + 300_000, trace_id="pc-out", instance_id="2"),
        webhook_event(JOINED, T + 400_000, trace_id="phone-again", instance_id="4"),
    ]
    live = build_live_attendance(normalize_webhook_events(events).frame)
    assert_well_formed("live_attendance", live)
    assert rows(live, ["person_key", "join_time", "left_time", "is_open"]) == [
        ["tester", _utc_ms(T), _utc_ms(T + 300_000), False],
        ["tester", _utc_ms(T + 60_000), _utc_ms(T + 120_000), False],
        ["tester", _utc_ms(T + 400_000), None, True],
    ]


def test_operator_kind_without_an_enterprise_flag():
    guest = webhook_event(JOINED, T, trace_id="g", userid="", uuid="WXguest")
    flagged = webhook_event(JOINED, T, trace_id="f", userid="partner-1")
    flagged["payload"][0]["operator"]["is_enterprise_user"] = False
    frame = normalize_webhook_events([guest, flagged, webhook_event(JOINED, T, trace_id="m")]).frame
    kinds = {r["trace_id"]: r["person_kind"] for r in frame[["trace_id", "person_kind"]].to_dict("records")}
    # Only a same-enterprise operator carries a userid; an explicit flag, where present, wins.
    assert kinds == {"g": "external", "f": "external", "m": "enterprise"}
