"""The emulator's independent webhook sender against the receiver: both sides of the contract agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emulator.clock import Clock
from emulator.enterprise.enterprise import Enterprise
from emulator.webhooks import WebhookSender
from tests.webhooks.conftest import ReceiverFactory
from tests.webhooks.platform import TOKEN


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
def test_emulator_events_arrive_once_each(make_receiver: ReceiverFactory, aes: bool) -> None:
    rx = make_receiver(aes=aes)
    clock = Clock(datetime.now(UTC))
    now_ms = clock.ms()
    events = Enterprise(7, "small", 2, clock).webhook_events(now_ms - 2 * 86_400_000, now_ms)[:60]
    assert events, "the synthetic enterprise produced no events to send"
    # Every delivery is sent twice, as the platform sometimes does.
    sender = WebhookSender(rx.url + "/webhook", TOKEN, rx.platform.aes_key, seed=7, duplicate_rate=1.0)
    try:
        assert sender.verify_url()
        assert all(sender.deliver(evt) for evt in events)
    finally:
        sender.close()
    rows, _ = rx.inbox.read_since(0, 1000)
    assert [json.loads(row.payload_json) for row in rows] == events
    assert [row.event for row in rows] == [evt["event"] for evt in events]
    assert sender.stats()["failed"] == 0
