"""Webhook sender (docs/platform.md, "Webhooks"): signature, AES-256-CBC payloads, URL check and event delivery."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from tenacity import RetryError, Retrying, retry_if_result, stop_after_attempt, wait_exponential

from emulator.clock import Clock

log = logging.getLogger("emulator.webhooks")

DUPLICATE_RATE = 0.02


def signature(token: str, timestamp: str, nonce: str, data: str) -> str:
    """sha1 hex of the lexicographically sorted concatenation (DOC-51612)."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, data])).encode("utf-8")).hexdigest()


def _aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 base64 characters (32 bytes once decoded)")
    return key


def encrypt(aes_key: str, plaintext: bytes) -> str:
    """base64(AES-256-CBC(PKCS#7(plaintext))) with IV = key[:16] (DOC-54658)."""
    key = _aes_key(aes_key)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def decrypt(aes_key: str, data: str) -> bytes:
    """Inverse of :func:`encrypt`."""
    key = _aes_key(aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(base64.b64decode(data)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def encode_payload(aes_key: str | None, plaintext: bytes) -> str:
    """The ``data`` / ``check_str`` value: base64, AES-encrypted first when a key is configured."""
    if aes_key:
        return encrypt(aes_key, plaintext)
    return base64.b64encode(plaintext).decode("ascii")


class WebhookSender:
    """Pushes events to one subscriber the way the platform does, duplicates included."""

    def __init__(
        self,
        url: str,
        token: str,
        aes_key: str | None,
        seed: int,
        *,
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 8.0,
        timeout_seconds: float = 3.0,
        duplicate_rate: float = DUPLICATE_RATE,
        client: httpx.Client | None = None,
    ) -> None:
        if not token:
            raise ValueError("a webhook needs a Token (--webhook-token), as configured in the console")
        if aes_key:
            _aes_key(aes_key)
        self.url = url
        self._token = token
        self._aes_key = aes_key or None
        self._rnd = random.Random(f"webhooks:{seed}")
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._duplicate_rate = duplicate_rate
        self._client = client or httpx.Client(timeout=timeout_seconds)
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self.duplicates = 0

    def close(self) -> None:
        self._client.close()

    def _headers(self, data: str) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        nonce = str(secrets.randbelow(10**9) + 1)
        return {"timestamp": timestamp, "nonce": nonce, "signature": signature(self._token, timestamp, nonce, data)}

    def verify_url(self) -> bool:
        """The GET ``?check_str=`` handshake: the subscriber must answer the exact plaintext."""
        plaintext = secrets.token_hex(8)
        check_str = encode_payload(self._aes_key, plaintext.encode("ascii"))
        try:
            response = self._client.get(self.url, params={"check_str": check_str}, headers=self._headers(check_str))
        except httpx.HTTPError as exc:
            log.warning("webhook URL check failed: %s", type(exc).__name__)
            return False
        ok = response.status_code == 200 and response.text == plaintext
        if not ok:
            log.warning("webhook URL check failed: HTTP %s, body did not echo the plaintext", response.status_code)
        return ok

    def deliver(self, event: dict[str, Any]) -> bool:
        """POST one event, redelivering on a non-200 answer or a connection error; sometimes twice."""
        plaintext = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        data = encode_payload(self._aes_key, plaintext)
        delivered = self._post_with_retries(data)
        if delivered and self._rnd.random() < self._duplicate_rate:
            self.duplicates += 1
            self._post_with_retries(data)
        return delivered

    def _post_with_retries(self, data: str) -> bool:
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_exponential(multiplier=self._backoff, max=self._max_backoff),
            retry=retry_if_result(lambda ok: not ok),
        )
        try:
            delivered = bool(retrying(self._post_once, data))
        except RetryError:
            delivered = False
        if delivered:
            self.delivered += 1
        else:
            self.failed += 1
            log.warning("webhook delivery gave up after %d attempts", self._max_attempts)
        return delivered

    def _post_once(self, data: str) -> bool:
        self.sent += 1
        try:
            response = self._client.post(self.url, json={"data": data}, headers=self._headers(data))
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def stats(self) -> dict[str, int]:
        return {"sent": self.sent, "delivered": self.delivered, "failed": self.failed, "duplicates": self.duplicates}


class EventSource(Protocol):
    def webhook_events(self, start_ms: int, end_ms: int) -> list[dict[str, Any]]: ...


async def push_events(
    source: EventSource,
    clock: Clock,
    sender: WebhookSender,
    stop: asyncio.Event,
    *,
    poll_seconds: float = 0.5,
    on_batch: Callable[[Iterable[dict[str, Any]]], None] | None = None,
) -> None:
    """Deliver the events of every data-clock interval, from the clock's now at start-up onwards."""
    last_ms = clock.ms()
    verified = False
    while not stop.is_set():
        if not verified:
            verified = await asyncio.to_thread(sender.verify_url)
        if verified:
            now_ms = clock.ms()
            if now_ms > last_ms:
                events = await asyncio.to_thread(source.webhook_events, last_ms, now_ms)
                for event in events:
                    await asyncio.to_thread(sender.deliver, event)
                if on_batch is not None:
                    on_batch(events)
                last_ms = now_ms
            elif now_ms < last_ms:
                # The data clock was moved back: start over from the new present.
                last_ms = now_ms
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
