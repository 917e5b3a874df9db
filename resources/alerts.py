"""Alerts to a chat group's incoming webhook: WeCom (企业微信), Feishu/Lark (飞书) or Slack.

The URL carries the bot's key, so it is handled like a secret: never logged, never in an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from resources.settings import ConfigError, TmeetSettings, check_url

AlertFormat = Literal["wecom", "feishu", "slack"]
FORMATS: tuple[AlertFormat, ...] = ("wecom", "feishu", "slack")
# The hosts each platform's bots post from, so the common case needs no TMEET_ALERT_FORMAT.
KNOWN_HOSTS: dict[str, AlertFormat] = {
    "qyapi.weixin.qq.com": "wecom",
    "open.feishu.cn": "feishu",
    "open.larksuite.com": "feishu",
    "hooks.slack.com": "slack",
}
# WeCom rejects text longer than 2048 bytes; Feishu and Slack allow more, but an alert is a summary.
MAX_TEXT_BYTES = 2000
TIMEOUT_SECONDS = 10.0


class AlertError(Exception):
    """The alert could not be delivered; the message says why without the URL."""


class AlertSettings(TmeetSettings):
    """``TMEET_ALERT_WEBHOOK_URL``, ``TMEET_ALERT_FORMAT``, ``TMEET_ALERT_SECRET``, ``TMEET_UI_URL``.

    A model of the pipeline's one settings system (:mod:`resources.settings`).
    """

    model_config = SettingsConfigDict(env_prefix="TMEET_ALERT_")

    url: SecretStr | None = Field(default=None, validation_alias="TMEET_ALERT_WEBHOOK_URL")
    # Empty: guessed from the URL's host (KNOWN_HOSTS); see :attr:`format`.
    chosen_format: str = Field(default="", validation_alias="TMEET_ALERT_FORMAT")
    secret: SecretStr | None = None
    ui_url: str = Field(default="", validation_alias="TMEET_UI_URL")

    @property
    def enabled(self) -> bool:
        return self.url is not None

    @property
    def format(self) -> AlertFormat:
        chosen = self.chosen_format.lower()
        if chosen in FORMATS:
            return chosen  # type: ignore[return-value]
        host = urlsplit(self.url.get_secret_value()).hostname if self.url is not None else ""
        return KNOWN_HOSTS.get(host or "", "slack")

    @field_validator("ui_url")
    @classmethod
    def _ui_url(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _deliverable(self) -> AlertSettings:
        if self.url is None:
            return self
        url = self.url.get_secret_value()
        check_url(url, self.env_name("url"))
        chosen = self.chosen_format.lower()
        if chosen and chosen not in FORMATS:
            raise ConfigError(f"TMEET_ALERT_FORMAT={chosen!r} is not one of {', '.join(FORMATS)}; set it to one of them")
        if not chosen and urlsplit(url).hostname not in KNOWN_HOSTS:
            raise ConfigError(
                "TMEET_ALERT_FORMAT is needed for this TMEET_ALERT_WEBHOOK_URL host: set it to wecom, feishu or slack"
            )
        return self


def payload(fmt: AlertFormat, title: str, lines: Sequence[str], secret: SecretStr | None = None,
            now: float | None = None) -> dict[str, Any]:
    """The body each platform's incoming webhook accepts for a plain-text message."""
    text = _clip("\n".join([title, *lines]))
    if fmt == "wecom":
        return {"msgtype": "text", "text": {"content": text}}
    if fmt == "feishu":
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret is not None:
            timestamp = str(int(now if now is not None else time.time()))
            body.update(timestamp=timestamp, sign=feishu_sign(timestamp, secret.get_secret_value()))
        return body
    return {"text": text}


def feishu_sign(timestamp: str, secret: str) -> str:
    """Feishu's signature check: HMAC-SHA256 keyed by "timestamp\\nsecret" over nothing, base64."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def send_alert(settings: AlertSettings, title: str, lines: Sequence[str]) -> bool:
    """Post the alert; False when no URL is configured. Raises :class:`AlertError` when refused."""
    if settings.url is None:
        return False
    body = payload(settings.format, title, lines, settings.secret)
    try:
        response = httpx.post(settings.url.get_secret_value(), json=body, timeout=TIMEOUT_SECONDS, trust_env=False)
    except httpx.HTTPError as exc:
        raise AlertError(f"the {settings.format} alert webhook did not answer ({type(exc).__name__}); "
                         "check TMEET_ALERT_WEBHOOK_URL and the network") from None
    refusal = _refusal(settings.format, response)
    if refusal:
        raise AlertError(f"the {settings.format} alert webhook refused the alert: {refusal}; "
                         "check TMEET_ALERT_WEBHOOK_URL, TMEET_ALERT_FORMAT and TMEET_ALERT_SECRET")
    return True


def _refusal(fmt: AlertFormat, response: httpx.Response) -> str:
    """Each platform says no in its own way; an HTTP 200 can still carry an error code."""
    if response.status_code >= 400:
        return f"HTTP {response.status_code}"
    if fmt == "slack":
        return ""
    try:
        answer = response.json()
    except ValueError:
        return "an answer that is not JSON"
    code = answer.get("errcode") if fmt == "wecom" else answer.get("code", answer.get("StatusCode", 0))
    if code not in (0, None):
        message = answer.get("errmsg") or answer.get("msg") or ""
        return f"error {code} {message}".strip()
    return ""


def _clip(text: str) -> str:
    encoded = text.encode()
    if len(encoded) <= MAX_TEXT_BYTES:
        return text
    return encoded[: MAX_TEXT_BYTES - 3].decode(errors="ignore") + "..."
