"""Signed events that are not storable text, and clients that never finish a request."""

from __future__ import annotations

import json
import selectors
import socket
import statistics
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.webhooks.conftest import Receiver, ReceiverFactory
from tests.webhooks.platform import event

UNPROCESSABLE = 422

# Plaintexts as the platform's JSON encoder could send them: escapes written out, not Python strings.
INVALID_TEXT: dict[str, bytes] = {
    "lone surrogate in trace_id": b'{"event": "meeting.end", "trace_id": "t-\\ud800", "payload": []}',
    "lone low surrogate in trace_id": b'{"event": "meeting.end", "trace_id": "t-\\udc00x", "payload": []}',
    "lone surrogate in event": b'{"event": "meeting.\\ud800", "trace_id": "t-ev", "payload": []}',
    "lone surrogate in unique_sequence": b'{"event": "meeting.end", "unique_sequence": "\\ud800", "payload": []}',
    "lone surrogate in a payload value": b'{"event": "e", "trace_id": "t-pv", "payload": [{"name": "a\\ud83d"}]}',
    "lone surrogate in a payload key": b'{"event": "e", "trace_id": "t-pk", "payload": [{"\\udfff": 1}]}',
    "NaN in the payload": b'{"event": "e", "trace_id": "t-nan", "payload": [{"duration": NaN}]}',
    "Infinity in the payload": b'{"event": "e", "trace_id": "t-inf", "payload": [{"duration": Infinity}]}',
    "-Infinity in the payload": b'{"event": "e", "trace_id": "t-ninf", "payload": [{"duration": -Infinity}]}',
    "overflowing number in the payload": b'{"event": "e", "trace_id": "t-big", "payload": [{"duration": 1e999}]}',
    "NUL in trace_id": b'{"event": "meeting.end", "trace_id": "t-\\u0000", "payload": []}',
    "NUL in event": b'{"event": "meeting.end\\u0000", "trace_id": "t-nul-ev", "payload": []}',
    "escape character in trace_id": b'{"event": "meeting.end", "trace_id": "t-\\u001b[2J", "payload": []}',
    "C1 control in trace_id": b'{"event": "meeting.end", "trace_id": "t-\\u0085", "payload": []}',
}


@pytest.mark.parametrize("case", list(INVALID_TEXT))
def test_signed_invalid_text_is_refused_for_good(shared_receiver: Receiver, case: str) -> None:
    rx = shared_receiver
    before = rx.inbox.count()
    response = rx.post(*rx.platform.post(INVALID_TEXT[case]))
    assert response.status_code == UNPROCESSABLE, response.text
    assert rx.inbox.count() == before
    # Redelivered (new nonce, same event), the answer is the same 4xx: no retry loop.
    assert rx.post(*rx.platform.post(INVALID_TEXT[case])).status_code == UNPROCESSABLE


def test_nul_and_controls_inside_payload_text_are_stored_as_received(receiver: Receiver) -> None:
    evt = event("trace-nul-payload", subject="before\x00after\x1b", nickname="😀 pair ok")
    response = receiver.post(*receiver.platform.post(evt))
    assert response.status_code == 200
    rows, _ = receiver.inbox.read_since(0, 10)
    assert [json.loads(r.payload_json) for r in rows] == [evt]


def test_invalid_events_do_not_fail_valid_ones_delivered_with_them(receiver: Receiver) -> None:
    """A burst like the one that lost 9 of 200: bad events among good ones, all at once."""
    good = [event(f"trace-good-{i}") for i in range(120)]
    bad = list(INVALID_TEXT.values())
    requests = [receiver.platform.post(e) for e in good] + [receiver.platform.post(b) for b in bad]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def deliver(part: list[tuple[int, tuple[dict[str, str], bytes]]]) -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            for index, (headers, body) in part:
                status = client.post(receiver.url + "/webhook", headers=headers, content=body).status_code
                with lock:
                    statuses[index] = status

    numbered = list(enumerate(requests))
    threads = [threading.Thread(target=deliver, args=(numbered[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [statuses[i] for i in range(len(good))] == [200] * len(good)
    assert {statuses[i] for i in range(len(good), len(requests))} == {UNPROCESSABLE}
    assert receiver.inbox.count() == len(good)
    assert all(receiver.inbox.contains(e["trace_id"]) for e in good)


# -- stalled connections ------------------------------------------------------------------------

STALL_TIMEOUT_S = 3.0
STALLED_PER_KIND = 100


def _stalled_connections(url: str, body_headers: dict[str, str]) -> list[socket.socket]:
    """Three kinds of slowloris client: silent, half a header block, and headers with half a body."""
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    sockets: list[socket.socket] = []
    partial_body = json.dumps({"data": "x" * 400}).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in body_headers.items())
    stalls = [
        b"",
        b"POST /webhook HTTP/1.1\r\nHost: receiver\r\nX-Slow: ",
        (
            f"POST /webhook HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n{head}"
            f"Content-Length: {len(partial_body)}\r\n\r\n"
        ).encode()
        + partial_body[:40],
    ]
    for stall in stalls:
        for _ in range(STALLED_PER_KIND):
            sock = socket.create_connection((host, port), timeout=10)
            if stall:
                sock.sendall(stall)
            sockets.append(sock)
    return sockets


def _wait_until_closed(sockets: list[socket.socket], deadline: float) -> tuple[int, float]:
    """(how many the server closed, seconds until the last one) reading each to EOF before ``deadline``."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    started = time.monotonic()
    closed = 0
    last = 0.0
    while closed < len(sockets) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                selector.unregister(sock)
                closed += 1
                last = time.monotonic() - started
    selector.close()
    return closed, last


def test_stalled_connections_are_dropped_and_events_still_acknowledged(make_receiver: ReceiverFactory) -> None:
    rx = make_receiver(header_timeout_s=STALL_TIMEOUT_S, body_timeout_s=STALL_TIMEOUT_S)
    opened_at = time.monotonic()
    stalled = _stalled_connections(rx.url, rx.platform.headers("x"))
    opened_for = time.monotonic() - opened_at
    try:
        latencies: list[float] = []
        for i in range(100):
            headers, body = rx.platform.post(event(f"trace-under-siege-{i}"))
            started = time.perf_counter()
            response = rx.post(headers, body)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
        p99 = statistics.quantiles(latencies, n=100)[98]
        print(
            f"\n{len(stalled)} stalled connections (opened in {opened_for:.2f} s); 100 events acknowledged: "
            f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        )
        assert rx.inbox.count() == 100
        assert p99 < 2.0  # product target is 100 ms; generous here for a loaded test machine
        assert rx.client.get(rx.url + "/healthz").status_code == 200

        slack_s = 10.0
        closed, last = _wait_until_closed(stalled, opened_at + STALL_TIMEOUT_S + slack_s)
        print(f"server closed {closed}/{len(stalled)} stalled connections, the last {last:.2f} s into the wait")
        assert closed == len(stalled)
    finally:
        for sock in stalled:
            sock.close()


def test_header_block_over_the_limit_is_refused(make_receiver: ReceiverFactory) -> None:
    rx = make_receiver(max_header_bytes=4096)
    headers, body = rx.platform.post(event())
    with httpx.Client(timeout=10) as client:
        response = client.post(rx.url + "/webhook", headers={**headers, "X-Padding": "p" * 8192}, content=body)
    assert response.status_code == 400
    assert rx.inbox.count() == 0
    assert rx.post(headers, body).status_code == 200


def test_a_body_that_stops_arriving_gets_408_and_the_connection_closed(make_receiver: ReceiverFactory) -> None:
    rx = make_receiver(body_timeout_s=1.0)
    address = urlsplit(rx.url)
    headers, body = rx.platform.post(event())
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        sock.sendall(
            f"POST /webhook HTTP/1.1\r\nHost: r\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body[:10]
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 408 ")
    assert rx.inbox.count() == 0
