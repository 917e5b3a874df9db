"""Pipeline settings from the environment and `.env`, validated once, with secrets kept opaque."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from assets.normalize.pii import PiiPolicyError, parse_pii_policy
from resources.file_modes import FILE_MODE_ENV, parse_file_mode

AuthMode = Literal["oauth", "aksk"]
AppType = Literal["account", "user"]

DEFAULT_API_BASE_URL = "https://api.meeting.qq.com"
DEFAULT_OAUTH_BASE_URL = "https://meeting.tencent.com"

# Documented per-route limits stricter than the corp-wide 100/min (docs/platform.md, "Limits").
DEFAULT_ROUTE_LIMITS: dict[str, int] = {"/v1/corp/records": 10, "/v1/corp/user-roles": 10}


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and the fix."""


class Secret:
    """A value that never shows itself in ``repr``/``str``/f-strings; call :meth:`reveal` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # Settings are sent to spawned worker processes; pickling keeps the value, never prints it.
        return (Secret, (self._value,))


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(value: str, variable: str) -> str:
    """Refuse anything but https, or plain http to a loopback host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{variable} must be an absolute http(s) URL; set it to e.g. https://host/path")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"{variable} uses plain http to a non-loopback host; use https:// "
            "(plain http is only allowed to 127.0.0.0/8, ::1 or localhost)"
        )
    return value.rstrip("/") if variable != "TMEET_REDIRECT_URI" else value


@dataclass(frozen=True)
class Settings:
    """Everything the client needs; build with :meth:`from_env`."""

    api_base_url: str = DEFAULT_API_BASE_URL
    oauth_base_url: str = DEFAULT_OAUTH_BASE_URL
    auth_mode: AuthMode = "oauth"
    app_type: AppType = "account"
    sdk_id: str = ""
    secret: Secret | None = None
    corp_id: str = ""
    redirect_uri: str = ""
    app_id: str = ""
    secret_id: str = ""
    secret_key: Secret | None = None
    operator_id: str = ""
    data_dir: Path = Path("./data")
    timezone: str = "Asia/Shanghai"
    token_key: Secret | None = None
    per_minute_limit: int = 300
    corp_per_minute_limit: int = 100
    route_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_ROUTE_LIMITS))
    daily_limit: int = 200_000
    quota_window_seconds: float = 60.0
    # PostgreSQL holding the quota budget for every host; None keeps it in the host's SQLite file.
    quota_url: Secret | None = None
    max_workers: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    call_deadline: float = 120.0
    retry_attempts: int = 5
    retry_max_seconds: float = 300.0
    retry_max_wait: float = 30.0
    # A refused or timed-out connection is retried only this long, so an unreachable API is named quickly.
    connect_retry_seconds: float = 8.0
    # Transient token-endpoint failures (5xx, lost answers) are retried this long under the refresh lock.
    refresh_retry_seconds: float = 60.0
    quota_wait_attempts: int = 10
    refresh_skew_seconds: float = 300.0
    refresh_warn_days: int = 5
    file_mode: str = "private"
    pii_policy: Mapping[str, str] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require(self, *names: str) -> None:
        """Raise one ConfigError listing every named setting that is empty."""
        missing = [n for n in names if not _present(getattr(self, n))]
        if missing:
            env = ", ".join(ENV_OF[n] for n in missing)
            raise ConfigError(f"missing setting(s) {env}: set them in the environment or in .env")

    def require_for_client(self) -> None:
        if self.auth_mode == "aksk":
            self.require("app_id", "secret_id", "secret_key", "operator_id")
        else:
            # TMEET_SECRET is checked where it is used (login, and a refresh that is actually due), so a
            # stored, unexpired token keeps working without it.
            self.require("sdk_id")

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env"
    ) -> Settings:
        """Read ``env`` (default ``os.environ``) over the values of ``.env``; validate everything."""
        merged: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        merged.update(os.environ if env is None else env)
        return cls._parse(merged)

    @classmethod
    def _parse(cls, raw: Mapping[str, str]) -> Settings:
        def get(name: str, default: str = "") -> str:
            return raw.get(name, default).strip()

        mode = get("TMEET_AUTH_MODE", "oauth").lower()
        if mode not in ("oauth", "aksk"):
            raise ConfigError("TMEET_AUTH_MODE must be 'oauth' or 'aksk'")
        app_type = get("TMEET_APP_TYPE", "account").lower()
        if app_type not in ("account", "user"):
            raise ConfigError("TMEET_APP_TYPE must be 'account' (account-level app) or 'user' (user-level app)")
        tz_name = get("TMEET_TIMEZONE", "Asia/Shanghai")
        try:
            ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"TMEET_TIMEZONE={tz_name!r} is not an IANA time zone; use e.g. Asia/Shanghai") from exc
        redirect = get("TMEET_REDIRECT_URI")
        if redirect:
            check_url(redirect, "TMEET_REDIRECT_URI")
        token_key = get("TMEET_TOKEN_KEY")
        route_limits = dict(DEFAULT_ROUTE_LIMITS)
        for item in filter(None, get("TMEET_ROUTE_LIMITS").split(",")):
            route, _, limit = item.partition("=")
            route_limits[route.strip()] = _int("TMEET_ROUTE_LIMITS", limit, minimum=1)
        return cls(
            api_base_url=check_url(get("TMEET_API_BASE_URL", DEFAULT_API_BASE_URL), "TMEET_API_BASE_URL"),
            oauth_base_url=check_url(get("TMEET_OAUTH_BASE_URL", DEFAULT_OAUTH_BASE_URL), "TMEET_OAUTH_BASE_URL"),
            auth_mode=mode,  # type: ignore[arg-type]
            app_type=app_type,  # type: ignore[arg-type]
            sdk_id=get("TMEET_SDK_ID"),
            secret=_secret(get("TMEET_SECRET")),
            corp_id=get("TMEET_CORP_ID"),
            redirect_uri=redirect,
            app_id=get("TMEET_APP_ID"),
            secret_id=get("TMEET_SECRET_ID"),
            secret_key=_secret(get("TMEET_SECRET_KEY")),
            operator_id=get("TMEET_OPERATOR_ID"),
            data_dir=Path(get("TMEET_DATA_DIR", "./data")),
            timezone=tz_name,
            token_key=_secret(token_key),
            per_minute_limit=_int("TMEET_PER_MINUTE_LIMIT", get("TMEET_PER_MINUTE_LIMIT", "300"), 1),
            corp_per_minute_limit=_int("TMEET_CORP_PER_MINUTE_LIMIT", get("TMEET_CORP_PER_MINUTE_LIMIT", "100"), 1),
            route_limits=route_limits,
            daily_limit=_int("TMEET_DAILY_LIMIT", get("TMEET_DAILY_LIMIT", "200000"), 1),
            quota_window_seconds=_float("TMEET_QUOTA_WINDOW_SECONDS", get("TMEET_QUOTA_WINDOW_SECONDS", "60")),
            quota_url=_quota_url(get("TMEET_QUOTA_URL")),
            max_workers=_int("TMEET_MAX_WORKERS", get("TMEET_MAX_WORKERS", "4"), 1),
            connect_timeout=_float("TMEET_CONNECT_TIMEOUT", get("TMEET_CONNECT_TIMEOUT", "10")),
            read_timeout=_float("TMEET_READ_TIMEOUT", get("TMEET_READ_TIMEOUT", "30")),
            write_timeout=_float("TMEET_WRITE_TIMEOUT", get("TMEET_WRITE_TIMEOUT", "30")),
            call_deadline=_float("TMEET_CALL_DEADLINE", get("TMEET_CALL_DEADLINE", "120")),
            retry_attempts=_int("TMEET_RETRY_ATTEMPTS", get("TMEET_RETRY_ATTEMPTS", "5"), 1),
            retry_max_seconds=_float("TMEET_RETRY_MAX_SECONDS", get("TMEET_RETRY_MAX_SECONDS", "300")),
            retry_max_wait=_float("TMEET_RETRY_MAX_WAIT", get("TMEET_RETRY_MAX_WAIT", "30")),
            connect_retry_seconds=_float("TMEET_CONNECT_RETRY_SECONDS", get("TMEET_CONNECT_RETRY_SECONDS", "8")),
            refresh_retry_seconds=_float("TMEET_REFRESH_RETRY_SECONDS", get("TMEET_REFRESH_RETRY_SECONDS", "60")),
            quota_wait_attempts=_int("TMEET_QUOTA_WAIT_ATTEMPTS", get("TMEET_QUOTA_WAIT_ATTEMPTS", "10"), 1),
            refresh_skew_seconds=_float("TMEET_REFRESH_SKEW_SECONDS", get("TMEET_REFRESH_SKEW_SECONDS", "300")),
            refresh_warn_days=_int("TMEET_REFRESH_WARN_DAYS", get("TMEET_REFRESH_WARN_DAYS", "5"), 0),
            file_mode=_file_mode(get(FILE_MODE_ENV, "private")),
            pii_policy=_pii_policy(get("TMEET_PII_POLICY")),
        )


# Setting -> the environment variable that sets it; error messages and the Dagster resource use it.
ENV_OF: dict[str, str] = {
    "api_base_url": "TMEET_API_BASE_URL",
    "oauth_base_url": "TMEET_OAUTH_BASE_URL",
    "auth_mode": "TMEET_AUTH_MODE",
    "app_type": "TMEET_APP_TYPE",
    "sdk_id": "TMEET_SDK_ID",
    "secret": "TMEET_SECRET",
    "corp_id": "TMEET_CORP_ID",
    "redirect_uri": "TMEET_REDIRECT_URI",
    "app_id": "TMEET_APP_ID",
    "secret_id": "TMEET_SECRET_ID",
    "secret_key": "TMEET_SECRET_KEY",
    "operator_id": "TMEET_OPERATOR_ID",
    "token_key": "TMEET_TOKEN_KEY",
    "data_dir": "TMEET_DATA_DIR",
    "timezone": "TMEET_TIMEZONE",
    "max_workers": "TMEET_MAX_WORKERS",
}
assert {f.name for f in fields(Settings)} >= set(ENV_OF)


def _file_mode(value: str) -> str:
    try:
        parse_file_mode(value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return value.lower() or "private"


def _pii_policy(value: str) -> dict[str, str]:
    try:
        return dict(parse_pii_policy(value))
    except PiiPolicyError as exc:
        raise ConfigError(str(exc)) from None


def _present(value: object) -> bool:
    if isinstance(value, Secret):
        return bool(value.reveal())
    return bool(value)


def _secret(value: str) -> Secret | None:
    return Secret(value) if value else None


def _quota_url(value: str) -> Secret | None:
    # The URL can carry the database password: kept opaque like the other secrets.
    if value and value.partition("://")[0].split("+")[0] not in ("postgresql", "postgres"):
        raise ConfigError("TMEET_QUOTA_URL must be a postgresql://user:password@host:port/database URL "
                          "(or empty, to keep the quota in this host's SQLite file)")
    return _secret(value)


def _int(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer (got {value!r})") from exc
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum} (got {number})")
    return number


def _float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds (got {value!r})") from exc
    if number <= 0:
        raise ConfigError(f"{name} must be positive (got {number})")
    return number
