"""The receiver over real loopback HTTP: handshake, acknowledgement, refusal of every bad request."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest

from tests.webhooks.conftest import Receiver, ReceiverFactory
from emulator.webhooks import encrypt
from tests.webhooks.platform import TOKEN, Platform, event
from tests.webhooks.test_crypto import DOC_DATA

ACK = "successfully received callback"


# -- URL verification ---------------------------------------------------------------------------


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
def test_url_verification_answers_the_exact_plaintext(make_receiver: ReceiverFactory, aes: bool) -> None:
    rx = make_receiver(aes=aes)
    headers, query = rx.platform.verify_url("check-7f3a9c")
    started = time.monotonic()
    response = rx.get(headers, query)
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    assert response.content == b"check-7f3a9c"


def test_url_verification_accepts_an_unescaped_plus(receiver: Receiver) -> None:
    check_str = base64.b64encode(b"\xfb\xef\xbe").decode()  # "++++": '+' is base64 here, not a space
    headers = receiver.platform.headers(check_str)
    response = receiver.get(headers, "check_str=" + check_str)
    assert response.status_code == 200 and response.content == b"\xfb\xef\xbe"


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
def test_url_verification_with_a_bad_signature_never_echoes(make_receiver: ReceiverFactory, aes: bool) -> None:
    rx = make_receiver(aes=aes)
    headers, query = Platform(token="X" * 25, aes_key=rx.platform.aes_key).verify_url("secret-echo-canary")
    response = rx.get(headers, query)
    assert response.status_code == 403
    assert "secret-echo-canary" not in response.text


def test_url_verification_needs_exactly_one_check_str(receiver: Receiver) -> None:
    headers, query = receiver.platform.verify_url("x")
    assert receiver.get(headers, query + "&" + query).status_code == 400
    assert receiver.get(headers, "other=1").status_code == 400


# -- accepted events ----------------------------------------------------------------------------


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
def test_event_is_stored_then_acknowledged(make_receiver: ReceiverFactory, aes: bool) -> None:
    rx = make_receiver(aes=aes)
    evt = event("trace-accepted", kind="meeting.participant-left")
    headers, body = rx.platform.post(evt)
    response = rx.post(headers, body)
    assert response.status_code == 200 and response.text == ACK
    rows, cursor = rx.inbox.read_since(0, 10)
    assert [(r.trace_id, r.event) for r in rows] == [("trace-accepted", "meeting.participant-left")]
    assert json.loads(rows[0].payload_json) == evt
    assert cursor == rows[0].seq


def test_published_legacy_sample_is_stored_under_unique_sequence(receiver: Receiver) -> None:
    response = receiver.post(receiver.platform.headers(DOC_DATA), json.dumps({"data": DOC_DATA}).encode())
    assert response.status_code == 200
    rows, _ = receiver.inbox.read_since(0, 10)
    assert [(r.trace_id, r.event) for r in rows] == [("f20096ee-8ac8-4df2-a7de-0574649f211b", "meeting.created")]


@pytest.mark.parametrize("skew_s", [-60, 60])
def test_modest_clock_skew_is_accepted(make_receiver: ReceiverFactory, skew_s: float) -> None:
    rx = make_receiver()
    rx.platform.clock_offset_s = skew_s
    assert rx.post(*rx.platform.post(event())).status_code == 200


def test_redelivery_is_stored_once(receiver: Receiver) -> None:
    evt = event("trace-dup")
    for _ in range(3):
        assert receiver.post(*receiver.platform.post(evt)).status_code == 200
    assert receiver.inbox.count() == 1


def test_concurrent_deliveries_of_one_event_are_stored_once(receiver: Receiver) -> None:
    evt = event("trace-concurrent")
    requests = [receiver.platform.post(evt) for _ in range(5)]
    barrier = threading.Barrier(5)
    statuses: list[int] = []

    def deliver(headers: dict[str, str], body: bytes) -> None:
        with httpx.Client(timeout=10) as client:
            barrier.wait()
            statuses.append(client.post(receiver.url + "/webhook", headers=headers, content=body).status_code)

    threads = [threading.Thread(target=deliver, args=req) for req in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 5
    assert receiver.inbox.count() == 1


def test_healthz(receiver: Receiver) -> None:
    response = receiver.client.get(receiver.url + "/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


# -- refused requests ---------------------------------------------------------------------------

Request = tuple[dict[str, str] | list[tuple[str, str]], bytes]


def _signed_data(p: Platform, data: str) -> Request:
    return p.headers(data), json.dumps({"data": data}).encode()


def _tamper_data(p: Platform) -> Request:
    headers, body = p.post(event())
    data = json.loads(body)["data"]
    return headers, json.dumps({"data": ("B" if data[0] != "B" else "C") + data[1:]}).encode()


def _stale(p: Platform, seconds: float) -> Request:
    return p.post(event(), timestamp=str(int((time.time() + seconds) * 1000)))


def _duplicate_header(p: Platform, name: str) -> Request:
    headers, body = p.post(event())
    return [*headers.items(), (name, headers[name])], body


def _replace_header(name: str, value: Callable[[str], str | None]) -> Callable[[Platform], Request]:
    """A valid delivery whose header ``name`` is changed (or dropped when ``value`` gives None)."""

    def build(p: Platform) -> Request:
        headers, body = p.post(event())
        changed = value(headers[name])
        rest = {k: v for k, v in headers.items() if k != name}
        return ({**rest, name: changed} if changed is not None else rest), body

    return build


FORBIDDEN, MALFORMED = 403, 400

BAD_REQUESTS: dict[str, tuple[int, Callable[[Platform], Request]]] = {
    "tampered data": (FORBIDDEN, _tamper_data),
    "wrong token": (FORBIDDEN, lambda p: Platform(token="Z" * 25).post(event())),
    "tampered nonce": (FORBIDDEN, _replace_header("nonce", lambda v: v + "1")),
    "tampered timestamp": (FORBIDDEN, _replace_header("timestamp", lambda v: str(int(v) + 1))),
    "non-hex signature": (FORBIDDEN, _replace_header("signature", lambda v: "g" * 40)),
    "short signature": (FORBIDDEN, _replace_header("signature", lambda v: v[:39])),
    "stale timestamp": (FORBIDDEN, lambda p: _stale(p, -301)),
    "future timestamp": (FORBIDDEN, lambda p: _stale(p, 301)),
    "missing timestamp": (MALFORMED, _replace_header("timestamp", lambda v: None)),
    "missing nonce": (MALFORMED, _replace_header("nonce", lambda v: None)),
    "missing signature": (MALFORMED, _replace_header("signature", lambda v: None)),
    "duplicate signature": (MALFORMED, lambda p: _duplicate_header(p, "signature")),
    "duplicate nonce": (MALFORMED, lambda p: _duplicate_header(p, "nonce")),
    "fractional timestamp": (MALFORMED, lambda p: p.post(event(), timestamp=f"{time.time():.3f}")),
    "body not json": (MALFORMED, lambda p: (p.headers("x"), b"data=x")),
    "body is a list": (MALFORMED, lambda p: (p.headers("x"), b'["x"]')),
    "data missing": (MALFORMED, lambda p: (p.headers(""), b'{"payload": "x"}')),
    "data not a string": (MALFORMED, lambda p: (p.headers("1"), b'{"data": 1}')),
    "duplicate data key": (MALFORMED, lambda p: (lambda h, b: (h, b[:-1] + b', "data": "eA=="}'))(*p.post(event()))),
    "signed data not base64": (MALFORMED, lambda p: _signed_data(p, "this is not base64!")),
    "signed base64 not json": (MALFORMED, lambda p: _signed_data(p, base64.b64encode(b"\xff\xfe no").decode())),
    "json without trace_id": (MALFORMED, lambda p: p.post(json.dumps({"event": "meeting.end", "payload": []}).encode())),
    "json without event": (MALFORMED, lambda p: p.post(json.dumps({"trace_id": "t", "payload": []}).encode())),
    "payload not a list": (MALFORMED, lambda p: p.post(json.dumps({"event": "e", "trace_id": "t", "payload": {}}).encode())),
    "json array event": (MALFORMED, lambda p: p.post(b"[1, 2]")),
}

AES_BAD_REQUESTS: dict[str, Callable[[Platform], Request]] = {
    "wrong aes key": lambda p: Platform(aes_key="Q" * 43).post(event()),
    "plain base64 to an aes receiver": lambda p: Platform().post(event()),
    "truncated ciphertext": lambda p: _signed_data(p, base64.b64encode(bytes(37)).decode()),
    "bad padding bytes": lambda p: _signed_data(p, base64.b64encode(bytes(32)).decode()),
    "valid aes, not json": lambda p: _signed_data(p, encrypt(p.aes_key or "", b"\x00\x01 not json")),
}


def _assert_refused(rx: Receiver, request: Request) -> httpx.Response:
    before = rx.inbox.count()
    response = rx.post(*request)
    assert 400 <= response.status_code < 500, response.text
    assert "Traceback" not in response.text and "Error" not in response.text
    assert rx.inbox.count() == before
    return response


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_are_refused_and_store_nothing(shared_receiver: Receiver, case: str) -> None:
    status, build = BAD_REQUESTS[case]
    assert _assert_refused(shared_receiver, build(shared_receiver.platform)).status_code == status


@pytest.mark.parametrize("case", list(AES_BAD_REQUESTS))
def test_bad_ciphertexts_are_refused_and_store_nothing(shared_aes_receiver: Receiver, case: str) -> None:
    response = _assert_refused(shared_aes_receiver, AES_BAD_REQUESTS[case](shared_aes_receiver.platform))
    assert response.status_code == MALFORMED


def test_replayed_request_is_refused(receiver: Receiver) -> None:
    request = receiver.platform.post(event("trace-replay"))
    assert receiver.post(*request).status_code == 200
    assert _assert_refused(receiver, request).status_code == 403
    assert receiver.inbox.count() == 1


def test_oversized_bodies_are_refused_before_reading(make_receiver: ReceiverFactory) -> None:
    rx = make_receiver(max_body_bytes=4096)
    headers, body = rx.platform.post(event(padding="x" * 5000))
    assert _assert_refused(rx, (headers, body)).status_code == 413

    def chunked() -> object:
        yield body[:3000]
        yield body[3000:]

    before = rx.inbox.count()
    response = rx.client.post(rx.url + "/webhook", headers=headers, content=chunked())  # type: ignore[arg-type]
    assert response.status_code == 413 and rx.inbox.count() == before


def test_storage_failure_is_not_acknowledged(receiver: Receiver) -> None:
    receiver.inbox.close()
    response = receiver.post(*receiver.platform.post(event()))
    assert response.status_code == 503 and response.text != ACK


# -- secrecy ------------------------------------------------------------------------------------


def test_logs_hold_no_token_key_or_payload(make_receiver: ReceiverFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rx = make_receiver(aes=True)
    canary = "payload-canary-5d1c"
    headers, query = rx.platform.verify_url(canary)
    assert rx.get(headers, query).status_code == 200
    assert rx.post(*rx.platform.post(event("trace-logged", subject=canary))).status_code == 200
    _assert_refused(rx, Platform(aes_key="Q" * 43).post(event(subject=canary)))
    _assert_refused(rx, rx.platform.post(event(subject=canary), timestamp="1"))
    text = caplog.text
    assert "trace-logged" in text  # the log is not simply empty
    for secret in (TOKEN, rx.platform.aes_key or "", canary, quote(canary)):
        assert secret not in text
