"""Receiver configuration read from the environment, validated before the server binds a port."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from resources.webhooks.inbox import inbox_path

TOKEN_ENV = "TMEET_WEBHOOK_TOKEN"
AES_KEY_ENV = "TMEET_WEBHOOK_AES_KEY"
DATA_DIR_ENV = "TMEET_DATA_DIR"
TOLERANCE_ENV = "TMEET_WEBHOOK_TOLERANCE_S"
MAX_BODY_ENV = "TMEET_WEBHOOK_MAX_BODY_BYTES"
NONCE_CACHE_ENV = "TMEET_WEBHOOK_NONCE_CACHE"
HEADER_TIMEOUT_ENV = "TMEET_WEBHOOK_HEADER_TIMEOUT_S"
BODY_TIMEOUT_ENV = "TMEET_WEBHOOK_BODY_TIMEOUT_S"
KEEP_ALIVE_ENV = "TMEET_WEBHOOK_KEEP_ALIVE_S"
MAX_HEADER_ENV = "TMEET_WEBHOOK_MAX_HEADER_BYTES"
MAX_CONNECTIONS_ENV = "TMEET_WEBHOOK_MAX_CONNECTIONS"

_Num = TypeVar("_Num", int, float)

_TOKEN_RE = re.compile(r"[A-Za-z0-9]{25}")
_AES_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")


class WebhookConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix, never the value."""


@dataclass(frozen=True)
class WebhookSettings:
    """Everything the receiver needs; secrets are kept out of ``repr`` so they never reach a log."""

    token: str = field(repr=False)
    aes_key: str | None = field(default=None, repr=False)
    data_dir: Path = Path("data")
    tolerance_s: float = 300.0
    max_body_bytes: int = 1_048_576
    nonce_cache_size: int = 500_000
    # A client gets this long to send a request's line and headers, and then its body; a stalled
    # connection is dropped instead of holding a socket (slowloris).
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    keep_alive_s: int = 5
    max_header_bytes: int = 32_768
    max_connections: int = 1000

    def __post_init__(self) -> None:
        if not _TOKEN_RE.fullmatch(self.token):
            raise WebhookConfigError(
                f"{TOKEN_ENV} must be the 25 letters or digits shown as 'Token' in the app's event "
                "subscription settings; copy it again without spaces or quotes"
            )
        if self.aes_key is not None and not _AES_KEY_RE.fullmatch(self.aes_key):
            raise WebhookConfigError(
                f"{AES_KEY_ENV} must be the 43-character 'EncodingAESKey' from the app's event "
                "subscription settings, or unset when encryption is off"
            )
        if self.tolerance_s <= 0:
            raise WebhookConfigError(f"{TOLERANCE_ENV} must be a positive number of seconds")
        if self.max_body_bytes < 1024:
            raise WebhookConfigError(f"{MAX_BODY_ENV} must be at least 1024 bytes")
        if self.nonce_cache_size < 1:
            raise WebhookConfigError(f"{NONCE_CACHE_ENV} must be a positive number of entries")
        for name, seconds in (
            (HEADER_TIMEOUT_ENV, self.header_timeout_s),
            (BODY_TIMEOUT_ENV, self.body_timeout_s),
            (KEEP_ALIVE_ENV, self.keep_alive_s),
        ):
            if not 0 < seconds <= 300:
                raise WebhookConfigError(f"{name} must be a number of seconds between 0 and 300")
        if self.max_header_bytes < 1024:
            raise WebhookConfigError(f"{MAX_HEADER_ENV} must be at least 1024 bytes")
        if self.max_connections < 2:
            raise WebhookConfigError(f"{MAX_CONNECTIONS_ENV} must be at least 2 connections")

    @property
    def inbox_path(self) -> Path:
        return inbox_path(self.data_dir)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookSettings:
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV, "").strip()
        if not token:
            raise WebhookConfigError(
                f"{TOKEN_ENV} is not set: export the 'Token' from the app's event subscription settings"
            )
        aes_key = env.get(AES_KEY_ENV, "").strip() or None
        return cls(
            token=token,
            aes_key=aes_key,
            data_dir=Path(env.get(DATA_DIR_ENV, "").strip() or "data"),
            tolerance_s=_number(env, TOLERANCE_ENV, 300.0, float),
            max_body_bytes=_number(env, MAX_BODY_ENV, 1_048_576, int),
            nonce_cache_size=_number(env, NONCE_CACHE_ENV, 500_000, int),
            header_timeout_s=_number(env, HEADER_TIMEOUT_ENV, 10.0, float),
            body_timeout_s=_number(env, BODY_TIMEOUT_ENV, 10.0, float),
            keep_alive_s=_number(env, KEEP_ALIVE_ENV, 5, int),
            max_header_bytes=_number(env, MAX_HEADER_ENV, 32_768, int),
            max_connections=_number(env, MAX_CONNECTIONS_ENV, 1000, int),
        )


def _number(env: Mapping[str, str], name: str, default: _Num, kind: type[_Num]) -> _Num:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise WebhookConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
