"""The demo's receiver thread and inbox summary, over real loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from resources.webhooks.inbox import inbox_path
from emulator.webhooks import WebhookSender
from pipelines.webhook_demo import recent_events_summary, run_receiver_in_thread
from tests.normalize.fixtures import webhook_event
from tests.webhooks_pipeline.conftest import TOKEN


def test_receiver_thread_stores_what_the_platform_sends(tmp_path: Path) -> None:
    assert recent_events_summary(inbox_path(tmp_path)).startswith("No webhook events received yet")
    url, stop = run_receiver_in_thread(tmp_path, TOKEN)
    try:
        sender = WebhookSender(url, TOKEN, None, seed=3, duplicate_rate=0.0)
        try:
            assert sender.verify_url()
            joined = webhook_event("meeting.participant-joined", 1_781_575_200_000, trace_id="j1")
            joined["payload"][0]["operator"]["user_name"] = "张三"
            assert sender.deliver(joined)
            assert sender.deliver(joined)  # a redelivery is acknowledged and stored once
            assert sender.deliver(webhook_event("meeting.end", 1_781_578_800_000, trace_id="e1"))
        finally:
            sender.close()
    finally:
        stop()
    summary = recent_events_summary(inbox_path(tmp_path), tz="Asia/Shanghai")
    assert summary.splitlines()[0] == "2 webhook event(s) received: meeting.participant-joined 1, meeting.end 1"
    assert "2026-06-16 10:00:00 meeting.participant-joined: 张三 in Weekly sync" in summary
    assert TOKEN not in summary
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1)
