"""Webhook signature and AES vectors, the URL check, delivery, redelivery and the app's pusher."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from emulator.testing import running_emulator, serving
from emulator.webhooks import WebhookSender, decrypt, encrypt, signature
from tests.emulator.edge_fakes import FakeEnterprise, fake_world

TOKEN = "bVPU6F8Htxl5XkAbp3jGV2xWp"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
DOC_DATA = (
    "eyJldmVudCI6Im1lZXRpbmcuY3JlYXRlZCIsInVuaXF1ZV9zZXF1ZW5jZSI6ImYyMDA5NmVlLThhYzgt"
    "NGRmMi1hN2RlLTA1NzQ2NDlmMjExYiIsInBheWxvYWQiOlt7Im9wZXJhdGVfdGltZSI6IjIwMjAtMTIt"
    "MjkgMTc6NDE6MDYiLCJvcGVyYXRvciI6eyJ1c2VyaWQiOiJ0ZXN0ZXIwMDAwNmJhNWJhYjMzOTg1OGMx"
    "M2M5MzBjY2E5NTY4NCJ9LCJtZWV0aW5nX2luZm8iOnsibWVldGluZ19pZCI6IjYwNTg4OTAzODU0ODA5"
    "MjEwNTIiLCJtZWV0aW5nX2NvZGUiOiI1MzA4MTI0NTIiLCJzdWJqZWN0IjoibWVkaWEgdGVzdGVyIG1l"
    "ZXRpbmciLCJjcmVhdG9yX2lkIjoidGVzdGVyMDAwMDZiYTViYWIzMzk4NThjMTNjOTMwY2NhOTU2ODQi"
    "LCJob3N0cyI6WyJ0ZXN0ZXIwMDAwNmJhNWJhYjMzOTg1OGMxM2M5MzBjY2E5NTY4NCJdLCJtZWV0aW5n"
    "X3R5cGUiOjAsInN0YXJ0X3RpbWUiOiIyMDIwLTEyLTI5IDE3OjQxOjA0IiwiZW5kX3RpbWUiOiIyMDIw"
    "LTEyLTI5IDE4OjAxOjA0In19XX0"
)


def test_signature_matches_the_official_vector() -> None:
    assert signature(TOKEN, "1609239040864", "14964161", DOC_DATA) == "b11e507817336a91d7df0c8536ee2aca18bbbae8"


def test_aes_matches_the_contract_vector() -> None:
    assert encrypt(AES_KEY, b"hello-check") == "YnHy14NsKhY55Rz1BYrElA=="
    assert decrypt(AES_KEY, "YnHy14NsKhY55Rz1BYrElA==") == b"hello-check"


def test_bad_aes_key_is_refused() -> None:
    with pytest.raises(ValueError, match="43"):
        encrypt("short", b"x")


class Receiver:
    """A subscriber that checks signatures, decodes payloads and can fail the first deliveries."""

    def __init__(self, aes_key: str | None, fail_first: int = 0, echo_wrong: bool = False) -> None:
        self.aes_key = aes_key
        self.fail_left = fail_first
        self.echo_wrong = echo_wrong
        self.posts = 0
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.timestamps: list[int] = []

    def _decode(self, value: str) -> bytes:
        return decrypt(self.aes_key, value) if self.aes_key else base64.b64decode(value)

    def _signed(self, request: Request, value: str) -> bool:
        h = request.headers
        ok = signature(TOKEN, h["timestamp"], h["nonce"], value) == h["signature"]
        self.bad_signatures += not ok
        self.timestamps.append(int(h["timestamp"]))
        return ok

    async def endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            check_str = request.query_params["check_str"]
            if not self._signed(request, check_str):
                return PlainTextResponse("bad signature", status_code=403)
            plain = self._decode(check_str).decode()
            return PlainTextResponse(plain + ("x" if self.echo_wrong else ""))
        self.posts += 1
        data = (await request.json())["data"]
        if not self._signed(request, data):
            return PlainTextResponse("bad signature", status_code=403)
        if self.fail_left > 0:
            self.fail_left -= 1
            return PlainTextResponse("busy", status_code=503)
        self.events.append(json.loads(self._decode(data)))
        return PlainTextResponse("successfully received callback")


@contextmanager
def receiver(aes_key: str | None = AES_KEY, **kwargs: Any) -> Iterator[tuple[Receiver, str]]:
    rec = Receiver(aes_key, **kwargs)
    app = Starlette(routes=[Route("/hook", rec.endpoint, methods=["GET", "POST"])])
    with serving(app) as base_url:
        yield rec, f"{base_url}/hook"


def _event(n: int, operate_ms: int = 1_700_000_000_000) -> dict[str, Any]:
    return {"event": "meeting.participant-joined", "trace_id": f"t-{n}",
            "payload": [{"operate_time": operate_ms + n, "operator": {"userid": "alice"},
                         "meeting_info": {"meeting_id": "1", "subject": "周会"}}]}


@pytest.mark.parametrize("aes_key", [AES_KEY, None], ids=["aes", "plain"])
def test_url_check_and_signed_delivery(aes_key: str | None) -> None:
    with receiver(aes_key) as (rec, url):
        sender = WebhookSender(url, TOKEN, aes_key, seed=1, duplicate_rate=0)
        assert sender.verify_url()
        assert sender.deliver(_event(1))
        assert rec.events == [_event(1)]
        assert rec.bad_signatures == 0
        # The header timestamp is in milliseconds.
        assert abs(rec.timestamps[-1] - time.time() * 1000) < 60_000


def test_url_check_fails_when_the_echo_is_wrong() -> None:
    with receiver(echo_wrong=True) as (_, url):
        assert not WebhookSender(url, TOKEN, AES_KEY, seed=1).verify_url()


def test_redelivers_after_non_200_answers() -> None:
    with receiver(fail_first=2) as (rec, url):
        sender = WebhookSender(url, TOKEN, AES_KEY, seed=1, backoff_seconds=0.01, duplicate_rate=0)
        assert sender.deliver(_event(2))
        assert rec.posts == 3 and rec.events == [_event(2)]


def test_gives_up_after_bounded_attempts_on_connection_errors() -> None:
    sender = WebhookSender("http://127.0.0.1:9/hook", TOKEN, None, seed=1, max_attempts=3, backoff_seconds=0.01)
    assert not sender.deliver(_event(3))
    assert sender.stats() == {"sent": 3, "delivered": 0, "failed": 1, "duplicates": 0}


def test_sometimes_sends_a_duplicate_deterministically() -> None:
    with receiver() as (rec, url):
        sender = WebhookSender(url, TOKEN, AES_KEY, seed=5, backoff_seconds=0.01)
        for n in range(300):
            sender.deliver(_event(n))
        traces = [e["trace_id"] for e in rec.events]
        duplicates = len(traces) - len(set(traces))
        assert set(traces) == {f"t-{n}" for n in range(300)}
        assert 1 <= duplicates <= 20
        assert duplicates == sender.duplicates


def test_app_pushes_events_as_the_data_clock_advances() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    base_ms = int(start.timestamp() * 1000)
    events = [_event(n, base_ms) for n in (-5, 1000, 2000, 90_000)]
    enterprise = FakeEnterprise(events)
    with receiver() as (rec, url):
        world = fake_world(now=start, webhook_url=url, webhook_token=TOKEN, webhook_aes_key=AES_KEY,
                           webhook_poll_seconds=0.05)
        world["enterprise"] = enterprise
        with running_emulator(**world) as emu:
            emu.advance(10)
            _wait_for(lambda: len(_unique(rec)) >= 2)
            assert _unique(rec) == ["t-1000", "t-2000"]
            emu.advance(100)
            _wait_for(lambda: len(_unique(rec)) >= 3)
            assert _unique(rec) == ["t-1000", "t-2000", "t-90000"]
            assert emu.stats()["webhooks"]["delivered"] >= 3


def _unique(rec: Receiver) -> list[str]:
    """Trace ids in arrival order, duplicates (which real senders produce) dropped."""
    return list(dict.fromkeys(e["trace_id"] for e in rec.events))


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
