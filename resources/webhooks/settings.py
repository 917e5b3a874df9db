"""Receiver configuration read from the environment, validated before the server binds a port."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

TOKEN_ENV = "TMEET_WEBHOOK_TOKEN"
AES_KEY_ENV = "TMEET_WEBHOOK_AES_KEY"
DATA_DIR_ENV = "TMEET_DATA_DIR"
TOLERANCE_ENV = "TMEET_WEBHOOK_TOLERANCE_S"
MAX_BODY_ENV = "TMEET_WEBHOOK_MAX_BODY_BYTES"
NONCE_CACHE_ENV = "TMEET_WEBHOOK_NONCE_CACHE"

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

    @property
    def inbox_path(self) -> Path:
        return self.data_dir / "inbox" / "webhooks.sqlite"

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
        )


def _number(env: Mapping[str, str], name: str, default: _Num, kind: type[_Num]) -> _Num:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise WebhookConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
