"""The callback endpoint for Tencent Meeting event subscription, as a Starlette ASGI app.

Order of checks on every request is deliberate: cheap shape checks, the body size cap, the signature
(constant time) and the replay window all run before a single byte of ``data`` is decoded, and the
event is committed to the inbox before the 200 goes out. Rejections carry a short generic body; the
specific reason goes to the log, which never holds the token, the AES key or a payload.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from resources.webhooks.crypto import AesCipher, WebhookDecodeError, decode_data, verify_signature
from resources.webhooks.inbox import EventNotStorableError, Inbox
from resources.webhooks.settings import WebhookSettings

log = logging.getLogger("tmeet.webhooks")

ACK_BODY = "successfully received callback"
CALLBACK_PATH = "/webhook"
_TIMESTAMP = re.compile(r"\d{13}|\d{10}")
_NONCE = re.compile(r"[\x21-\x7e]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_TRACE_ID = 256
_MAX_EVENT = 128


class _Rejected(Exception):
    """A request refused with ``status``; ``reason`` is for the log only, never the response."""

    _BODIES = {
        400: "malformed request",
        403: "forbidden",
        408: "request timeout",
        413: "payload too large",
        422: "unprocessable event",
        503: "try again later",
    }

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> Response:
        # After a timed-out body the connection's framing is unknown: uvicorn closes it on this header.
        headers = {"connection": "close"} if self.status == 408 else None
        return PlainTextResponse(self._BODIES[self.status], status_code=self.status, headers=headers)


class NonceCache:
    """Bounded memory of (timestamp, nonce) pairs seen inside the replay window.

    Entries live ``ttl_s`` from arrival, which outlasts the accepted timestamp range, so a replay is
    refused either here or by the timestamp check. When full the oldest entry goes: events stay
    idempotent by trace_id, so an evicted pair can at worst be stored once more as a duplicate no-op.
    """

    def __init__(self, max_entries: int, ttl_s: float, clock: Callable[[], float]) -> None:
        self._max = max_entries
        self._ttl = ttl_s
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def reserve(self, key: str) -> bool:
        """Remember ``key``; False when it is already remembered (a replay)."""
        now = self._clock()
        while self._seen:
            oldest_key, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[oldest_key]
        if key in self._seen:
            return False
        self._seen[key] = now + self._ttl
        if len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True

    def release(self, key: str) -> None:
        """Forget ``key`` so the platform's retry of an event we failed to store is not called a replay."""
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True, slots=True)
class _Signed:
    timestamp: str
    nonce: str
    signature: str


def create_app(
    settings: WebhookSettings,
    inbox: Inbox | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The receiver app; it opens (and closes) the inbox under ``settings.data_dir`` unless one is given."""
    cipher = AesCipher(settings.aes_key.get_secret_value()) if settings.aes_key else None
    token = settings.token.get_secret_value() if settings.token else ""
    nonces = NonceCache(settings.nonce_cache_size, 2 * settings.tolerance_s, clock)
    state: dict[str, Inbox] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        owned = inbox is None
        state["inbox"] = Inbox(settings.inbox_path) if owned else inbox  # type: ignore[assignment]
        log.info("webhook receiver ready: inbox=%s aes=%s", state["inbox"].path, cipher is not None)
        try:
            yield
        finally:
            if owned:
                state["inbox"].close()

    def signed_headers(request: Request) -> _Signed:
        values: dict[str, str] = {}
        for name in ("timestamp", "nonce", "signature"):
            found = request.headers.getlist(name)
            if len(found) != 1:
                raise _Rejected(400, f"header {name!r} present {len(found)} times, expected once")
            values[name] = found[0]
        if not _TIMESTAMP.fullmatch(values["timestamp"]):
            raise _Rejected(400, "timestamp header is not 13-digit milliseconds (or 10-digit seconds)")
        if not _NONCE.fullmatch(values["nonce"]):
            raise _Rejected(400, "nonce header is empty, too long or not printable ASCII")
        return _Signed(values["timestamp"], values["nonce"], values["signature"])

    def check_fresh(signed: _Signed) -> None:
        raw = int(signed.timestamp)
        sent_at = raw / 1000 if len(signed.timestamp) == 13 else float(raw)
        skew = clock() - sent_at
        if abs(skew) > settings.tolerance_s:
            raise _Rejected(403, f"timestamp is {skew:+.0f} s off the receiver clock")

    def decode(data: str) -> bytes:
        try:
            return decode_data(data, cipher)
        except WebhookDecodeError as exc:
            raise _Rejected(400, str(exc)) from None

    async def verify_url(request: Request) -> Response:
        try:
            signed = signed_headers(request)
            candidates = _check_str_candidates(request.url.query)
            check_str = next(
                (c for c in candidates if verify_signature(token, signed.timestamp, signed.nonce, c, signed.signature)),
                None,
            )
            if check_str is None:
                raise _Rejected(403, "signature does not match check_str")
            check_fresh(signed)
            plaintext = decode(check_str)
        except _Rejected as rejected:
            _log_rejection(request, rejected)
            return rejected.response()
        log.info("url verification answered: %d bytes", len(plaintext))
        # The platform compares the body byte for byte: no quotes, no newline.
        return Response(plaintext, media_type="text/plain")

    async def receive_event(request: Request) -> Response:
        try:
            signed = signed_headers(request)
            body = await _read_capped(request, settings.max_body_bytes, settings.body_timeout_s)
            data = _envelope_data(body)
            if not verify_signature(token, signed.timestamp, signed.nonce, data, signed.signature):
                raise _Rejected(403, "signature does not match data")
            check_fresh(signed)
            key = f"{signed.timestamp}:{signed.nonce}"
            if not nonces.reserve(key):
                raise _Rejected(403, "timestamp and nonce already used (replay)")
            plaintext = decode(data)
            event, trace_id, event_json = _event_identity(plaintext)
        except _Rejected as rejected:
            _log_rejection(request, rejected)
            return rejected.response()
        try:
            is_new = await asyncio.wrap_future(
                state["inbox"].submit(trace_id, event, datetime.fromtimestamp(clock(), tz=UTC), event_json)
            )
        except EventNotStorableError:
            # Permanent for this event alone: a 4xx stops the platform's retries; the inbox is fine.
            log.warning("event %r refused by the inbox: its values cannot be stored", event)
            return _Rejected(422, "event cannot be stored").response()
        except Exception as exc:  # noqa: BLE001 - storage failure: no ack, so the platform redelivers
            nonces.release(key)
            log.error("inbox write failed for trace_id=%r event=%r: %s", trace_id, event, type(exc).__name__)
            return _Rejected(503, "inbox write failed").response()
        log.info(
            "event %r trace_id=%r data=%dB plaintext=%dB %s",
            event, trace_id, len(data), len(plaintext), "stored" if is_new else "duplicate",
        )
        return PlainTextResponse(ACK_BODY)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(CALLBACK_PATH, verify_url, methods=["GET"]),
            Route(CALLBACK_PATH, receive_event, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _check_str_candidates(raw_query: str) -> list[str]:
    """``check_str`` URL-decoded; a raw '+' is base64, not a space, so both readings are tried."""
    found = [v for k, v in parse_qsl(raw_query, keep_blank_values=True) if k == "check_str"]
    if len(found) != 1:
        raise _Rejected(400, f"check_str present {len(found)} times, expected once")
    candidates = [found[0]]
    raw = [part.split("=", 1)[1] for part in raw_query.split("&") if part.startswith("check_str=")]
    if raw and "+" in raw[0]:
        candidates.append(unquote(raw[0]))
    return candidates


async def _read_capped(request: Request, limit: int, timeout_s: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise _Rejected(400, "content-length is not a number")
        if int(declared) > limit:
            raise _Rejected(413, f"declared body of {declared} bytes exceeds {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        # The whole body, not each chunk, has one deadline: a byte every few seconds must not keep
        # a connection open for ever.
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _Rejected(413, f"body exceeds {limit} bytes")
                chunks.append(chunk)
    except ClientDisconnect:
        raise _Rejected(400, "client disconnected before the body was complete") from None
    except TimeoutError:
        raise _Rejected(408, f"body not complete within {timeout_s:g} s ({size} bytes read)") from None
    return b"".join(chunks)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def _envelope_data(body: bytes) -> str:
    try:
        envelope = json.loads(body, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError):
        raise _Rejected(400, "body is not a JSON object without duplicate keys") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), str) or not envelope["data"]:
        raise _Rejected(400, "body lacks a non-empty string 'data'")
    return envelope["data"]


class _NonFiniteNumberError(Exception):
    """NaN, Infinity or -Infinity in the decoded event (Python's json accepts them; JSON does not)."""


def _refuse_constant(_name: str) -> Any:
    raise _NonFiniteNumberError


def _finite_float(text: str) -> float:
    # 1e999 is valid JSON syntax but parses to inf, which would reach the tables as Infinity.
    value = float(text)
    if not math.isfinite(value):
        raise _NonFiniteNumberError
    return value


def _event_identity(plaintext: bytes) -> tuple[str, str, str]:
    """(event, trace_id, JSON text) of a decoded event; a legacy ``unique_sequence`` stands in for trace_id.

    Signed content that can never be stored as text is refused with 422, not 5xx: retrying it would
    fail the same way for ever. That covers NaN/Infinity (not JSON, RFC 8259 §6) and numbers that
    overflow a float (1e999, which Python would read as infinity), lone UTF-16
    surrogates anywhere (not Unicode text, cannot be written as UTF-8) and control characters in the
    identity fields (a trace_id with a NUL cannot be compared, logged or keyed on safely).
    """
    try:
        text = plaintext.decode("utf-8")
        decoded = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFiniteNumberError:
        raise _Rejected(422, "event holds NaN, Infinity or a number beyond the float range") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Rejected(400, "decoded data is not UTF-8 JSON") from None
    if not isinstance(decoded, dict):
        raise _Rejected(400, "decoded data is not a JSON object")
    event = decoded.get("event")
    trace_id = decoded.get("trace_id", decoded.get("unique_sequence"))
    if not isinstance(event, str) or not 0 < len(event) <= _MAX_EVENT:
        raise _Rejected(400, "event is missing or not a short string")
    if not isinstance(trace_id, str) or not 0 < len(trace_id) <= _MAX_TRACE_ID:
        raise _Rejected(400, "trace_id is missing or not a short string")
    if not isinstance(decoded.get("payload"), list):
        raise _Rejected(400, "payload is missing or not a list")
    try:
        # A \ud800 escape decodes to a lone surrogate, which no UTF-8 store accepts.
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _Rejected(422, "event holds a lone UTF-16 surrogate (\\ud800-\\udfff escape)") from None
    for name, value in (("event", event), ("trace_id", trace_id)):
        if _CONTROL.search(value):
            raise _Rejected(422, f"{name} holds a control character (NUL or other C0/C1)")
    return event, trace_id, text


def _log_rejection(request: Request, rejected: _Rejected) -> None:
    client = request.client.host if request.client else "?"
    log.warning("rejected %s %s from %s: %d %s", request.method, request.url.path, client, rejected.status, rejected.reason)
