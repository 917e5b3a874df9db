"""The receiver's settings (``TMEET_WEBHOOK_*``), validated before the server binds a port.

A model of the pipeline's one settings system (:mod:`resources.settings`): the same sources, the
same error messages, the same data directory default.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from resources.webhooks.inbox import inbox_path

from resources.settings import DEFAULT_DATA_DIR, ConfigError, Settings, TmeetSettings

_TOKEN_RE = re.compile(r"[A-Za-z0-9]{25}")
_AES_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")


class WebhookConfigError(ConfigError):
    """A setting is missing or malformed; the message names the variable and the fix, never the value."""


class WebhookSettings(TmeetSettings):
    """Everything the receiver needs; secrets are ``SecretStr`` so they never reach a log."""

    model_config = SettingsConfigDict(env_prefix="TMEET_WEBHOOK_")
    error_type: ClassVar[type[ConfigError]] = WebhookConfigError

    token: SecretStr | None = Field(default=None, validate_default=True)
    aes_key: SecretStr | None = None
    # The pipeline's data directory, where the inbox lives beside the lake.
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, validation_alias=Settings.env_name("data_dir"))
    tolerance_s: float = Field(default=300.0, gt=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    nonce_cache_size: int = Field(default=500_000, ge=1, validation_alias="TMEET_WEBHOOK_NONCE_CACHE")
    # A client gets this long to send a request's line and headers, and then its body; a stalled
    # connection is dropped instead of holding a socket (slowloris).
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    body_timeout_s: float = Field(default=10.0, gt=0, le=300)
    keep_alive_s: int = Field(default=5, gt=0, le=300)
    max_header_bytes: int = Field(default=32_768, ge=1024)
    max_connections: int = Field(default=1000, ge=2)

    @property
    def inbox_path(self) -> Path:
        return inbox_path(self.data_dir)

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        variable = cls.env_name(info.field_name or "")
        if value is None or not value.get_secret_value():
            raise ValueError(f"{variable} is not set: export the 'Token' from the app's event subscription settings")
        if not _TOKEN_RE.fullmatch(value.get_secret_value()):
            raise ValueError(
                f"{variable} must be the 25 letters or digits shown as 'Token' in the app's event "
                "subscription settings; copy it again without spaces or quotes"
            )
        return value

    @field_validator("aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not _AES_KEY_RE.fullmatch(value.get_secret_value()):
            raise ValueError(
                f"{cls.env_name(info.field_name or '')} must be the 43-character 'EncodingAESKey' from the "
                "app's event subscription settings, or unset when encryption is off"
            )
        return value
