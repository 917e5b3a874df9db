"""Rebuilding dates from the inbox: late leaves close earlier dates' sessions, reruns change nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd

from assets.webhook_inbox import rebuild_days, touched_dates
from resources.webhooks.inbox import inbox_path
from pipelines.sensors import webhook_inbox_sensor
from resources.dagster_resources import StorageResource
from resources.lake import Lake
from resources.webhooks import Inbox
from tests.normalize.fixtures import webhook_event

TZ = "Asia/Shanghai"
JOINED, LEFT = "meeting.participant-joined", "meeting.participant-left"
BEFORE_MIDNIGHT = int(datetime(2026, 6, 16, 15, 50, tzinfo=UTC).timestamp() * 1000)  # 23:50 local on the 16th
AFTER_MIDNIGHT = int(datetime(2026, 6, 16, 16, 10, tzinfo=UTC).timestamp() * 1000)  # 00:10 local on the 17th
D16, D17 = date(2026, 6, 16), date(2026, 6, 17)


def _store(path: Path, *events: dict) -> None:
    with Inbox(path) as inbox:
        for event in events:
            inbox.append(event["trace_id"], event["event"], datetime.now(UTC), json.dumps(event))


def test_a_leave_after_midnight_closes_the_session_of_the_day_before(tmp_path: Path) -> None:
    lake, path = Lake.from_data_dir(tmp_path), inbox_path(tmp_path)
    _store(path, webhook_event(JOINED, BEFORE_MIDNIGHT, trace_id="in"))
    first = rebuild_days(lake, path, [D16], TZ)
    assert first.sessions[D16]["is_open"].tolist() == [True]

    _store(path, webhook_event(LEFT, AFTER_MIDNIGHT, trace_id="out"))
    with Inbox(path) as inbox:
        rows, _ = inbox.read_since(1)
    assert touched_dates(rows, TZ) == {D17}
    second = rebuild_days(lake, path, [D17], TZ)
    assert second.extra_session_dates == [D16]
    closed = lake.read("live_attendance", start=D16, end=D16)
    assert closed["is_open"].tolist() == [False] and closed["business_date"].tolist() == [D16]
    assert lake.read("webhook_events", start=D17, end=D17)["trace_id"].tolist() == ["out"]

    before = {table: lake.read(table) for table in ("webhook_events", "live_attendance")}
    rebuild_days(lake, path, [D16, D17], TZ)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(lake.read(table), frame)


def test_sensor_moves_past_events_outside_the_partitions(tmp_path: Path) -> None:
    path = inbox_path(tmp_path)
    no_inbox = webhook_inbox_sensor(
        dg.build_sensor_context(resources={"storage": StorageResource(data_dir=str(tmp_path))}))
    assert isinstance(no_inbox, dg.SkipReason) and "tmeet-etl webhook serve" in (no_inbox.skip_message or "")
    assert not path.exists(), "the sensor must not create the receiver's inbox"
    long_ago = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp() * 1000)
    _store(path, webhook_event(JOINED, long_ago, trace_id="old"))
    context = dg.build_sensor_context(cursor=None, resources={"storage": StorageResource(data_dir=str(tmp_path))})
    result = webhook_inbox_sensor(context)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    assert result.cursor == "1" and "no event falls on a partition date" in (result.skip_reason.skip_message or "")
