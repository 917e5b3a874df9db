"""SIGKILL of the receiver process in the middle of a burst loses no acknowledged event."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from bench.webhook_bench import ReceiverProcess
from resources.webhooks import Inbox
from tests.webhooks.platform import TOKEN, Platform, event

BURST = 1000
KILL_AFTER_ACKS = 300
CLIENTS = 8


def test_sigkill_mid_burst_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    receiver = ReceiverProcess(tmp_path, token=TOKEN)
    platform = Platform()
    trace_ids = [f"burst-{n:04d}" for n in range(BURST)]
    deliveries = iter([(tid, *platform.post(event(tid))) for tid in trace_ids])
    acked: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=receiver.url, timeout=10) as http:
            while True:
                with lock:
                    item = next(deliveries, None)
                if item is None:
                    return
                trace_id, headers, body = item
                try:
                    response = http.post("/webhook", headers=headers, content=body)
                except httpx.TransportError:
                    continue
                with lock:
                    if response.status_code == 200:
                        acked.append(trace_id)
                        if len(acked) == KILL_AFTER_ACKS:
                            receiver.kill()

    receiver.start()
    try:
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert receiver.process is not None and receiver.process.returncode == -9
        assert KILL_AFTER_ACKS <= len(acked) < BURST

        receiver.start()
        with Inbox(receiver.inbox_path) as inbox:
            stored = {row.trace_id for row in inbox.read_since(0, BURST * 2)[0]}
            assert set(acked) <= stored

            # The platform redelivers what it never saw acknowledged; afterwards everything is there once.
            with httpx.Client(base_url=receiver.url, timeout=10) as http:
                for trace_id in sorted(set(trace_ids) - set(acked)):
                    headers, body = platform.post(event(trace_id))
                    assert http.post("/webhook", headers=headers, content=body).status_code == 200
            assert inbox.count() == BURST
    finally:
        receiver.stop()
