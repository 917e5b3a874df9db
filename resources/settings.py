"""The pipeline's settings: one typed model per component, all read from ``TMEET_*`` variables.

Every setting has one default, declared on its field. Values come from keyword arguments (a Dagster
resource's fields), then the environment. Nothing here reads a ``.env`` file: the command line loads
one explicitly (``tmeet-etl --env-file PATH``, else ``./.env``) into the environment before any
command runs, and Dagster loads the ``.env`` of the directory it was started in.

A wrong value raises :class:`ConfigError` whose message names the variable and the fix, and never
shows the value of a secret.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from assets.normalize.pii import PiiPolicyError, parse_pii_policy
from resources.file_modes import parse_file_mode
from resources.objectstore import check_location
from resources.platform_constants import PLATFORM_TIMEZONE

AuthMode = Literal["oauth", "aksk"]
AppType = Literal["account", "user"]

DEFAULT_API_BASE_URL = "https://api.meeting.qq.com"
DEFAULT_OAUTH_BASE_URL = "https://meeting.tencent.com"
DEFAULT_DATA_DIR = Path("./data")

# Documented per-route limits stricter than the corp-wide 100/min (docs/platform.md, "Limits").
DEFAULT_ROUTE_LIMITS: dict[str, int] = {"/v1/corp/records": 10, "/v1/corp/user-roles": 10}

# When set, the variables a model reads instead of the process environment (``from_env(mapping)``).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("tmeet_settings_environ", default=None)


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable and the fix."""


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


class _MappingEnvSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class TmeetSettings(BaseSettings):
    """What every settings model here shares: the sources, the error messages, the variable names."""

    model_config = SettingsConfigDict(
        env_prefix="TMEET_",
        extra="ignore",
        frozen=True,
        # An empty variable (``TMEET_SDK_ID=`` in a copied .env.example) means "not set".
        env_ignore_empty=True,
        validate_by_name=True,
        validate_by_alias=True,
    )
    error_type: ClassVar[type[ConfigError]] = ConfigError

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise self.error_type(describe_errors(type(self), exc)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No dotenv source: a .env file is loaded once, by the command line, never behind its back.
        environ = _ENVIRON.get()
        return (init_settings, env_settings if environ is None else _MappingEnvSource(settings_cls, environ))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Validate ``env`` (default: the process environment) under ``overrides`` (field name -> value)."""
        with _reading(env):
            return cls(**overrides)

    @classmethod
    def env_name(cls, field: str) -> str:
        """The variable that sets ``field``."""
        alias = cls.model_fields[field].validation_alias
        if isinstance(alias, str):
            return alias
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Field -> variable, for every field."""
        return {name: cls.env_name(name) for name in cls.model_fields}

    @model_validator(mode="before")
    @classmethod
    def _strip(cls, data: Any) -> Any:
        # Values pasted with a trailing blank must not become a different secret or a bad URL.
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data


@contextmanager
def _reading(env: Mapping[str, str] | None) -> Iterator[None]:
    # Inside :func:`settings_environ`, "the environment" is that block's mapping.
    token = _ENVIRON.set(env if env is not None else _ENVIRON.get())
    try:
        yield
    finally:
        _ENVIRON.reset(token)


@contextmanager
def settings_environ(env: Mapping[str, str]) -> Iterator[None]:
    """Within the block, on this thread only, every ``from_env()`` reads ``env`` instead of ``os.environ``.

    How a schedule or sensor plans for one account of several without touching the process
    environment, which other evaluations in the same code server read at the same time.
    """
    token = _ENVIRON.set(env)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


class DefinitionSettings(TmeetSettings):
    """The settings that shape the Dagster definitions themselves, so they are read when the code loads.

    Partitions need their start date and time zone, schedules their cron and time zone, and the
    assets their retry policy before any run exists. Everything else is read when it is used.
    """

    timezone: str = PLATFORM_TIMEZONE
    # The first business date the schedule and the UI offer; older dates can still be synced from
    # the command line. Configurable because accounts differ in how much history they keep.
    start_date: date = date(2025, 1, 1)
    # When the daily pull starts (local time). The default leaves the platform an hour and a half to
    # settle the day's last meetings; a test deployment sets it to "* * * * *".
    daily_cron: str = "30 1 * * *"
    step_retries: int = Field(default=2, ge=0)
    step_retry_delay: float = Field(default=30.0, ge=0)
    # How long after the daily schedule's start (01:30) yesterday's partition may still be missing:
    # a 90-day backfill or a quota wait can run long.
    freshness_grace_hours: float = Field(default=4.0, gt=0, le=47)
    # Several accounts in one deployment (resources/accounts.py): the TOML file declaring them. Its
    # presence makes each account a partition dimension of every asset (assets/partitions.py).
    accounts_file: str = ""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str, info: ValidationInfo) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{cls.env_name(info.field_name or '')}={value!r} is not an IANA time zone; set it to e.g. {PLATFORM_TIMEZONE}"
            ) from None
        return value


class Settings(DefinitionSettings):
    """Everything the client, the storage and the Dagster definitions need; build with :meth:`from_env`."""

    # The platform and the app
    api_base_url: str = DEFAULT_API_BASE_URL
    oauth_base_url: str = DEFAULT_OAUTH_BASE_URL
    auth_mode: AuthMode = "oauth"
    app_type: AppType = "account"
    sdk_id: str = ""
    secret: SecretStr | None = None
    corp_id: str = ""
    redirect_uri: str = ""
    app_id: str = ""
    secret_id: str = ""
    secret_key: SecretStr | None = None
    operator_id: str = ""
    # Data
    data_dir: Path = DEFAULT_DATA_DIR
    # s3://bucket/prefix or a directory; empty: <data_dir>/lake and <data_dir>/raw.
    lake_url: str = ""
    archive_url: str = ""
    token_key: SecretStr | None = None
    file_mode: str = "private"
    pii_policy: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # The PII hashes' salt; unset: a random one kept in <data_dir>/state/pii.salt.
    pii_salt: SecretStr | None = None
    # Several accounts (the file is a definition setting above): the optional warehouse of every
    # account's tables, and, set per account, its id and the scopes it syncs.
    combined_warehouse: str = ""
    account_id: str = ""
    enabled_scopes: Annotated[tuple[str, ...], NoDecode] = ()
    # Dagster, read when a schedule runs
    # Transcoding can take days and views keep arriving for weeks; the platform keeps view details
    # for 31 days, so more than 30 buys nothing.
    lookback_days: int = Field(default=14, ge=0, le=30)
    # A publish rewrites the whole warehouse, so at most one per interval.
    publish_interval_seconds: int = Field(default=600, ge=30)
    # How long sync/rebuild/demo wait for room under dagster.yaml's run limits; a 90-day backfill can
    # hold a slot for a long while, and an hour outwaits a daily run.
    run_queue_timeout_seconds: float = Field(default=3600.0, ge=0)
    # Client limits and timeouts
    per_minute_limit: int = Field(default=300, ge=1)
    corp_per_minute_limit: int = Field(default=100, ge=1)
    route_limits: Annotated[dict[str, int], NoDecode] = Field(default_factory=lambda: dict(DEFAULT_ROUTE_LIMITS))
    daily_limit: int = Field(default=200_000, ge=1)
    quota_window_seconds: float = Field(default=60.0, gt=0)
    # PostgreSQL holding the quota budget for every host; None keeps it in the host's SQLite file.
    # The URL can carry the database password: kept opaque like the other secrets.
    quota_url: SecretStr | None = None
    max_workers: int = Field(default=4, ge=1)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    write_timeout: float = Field(default=30.0, gt=0)
    call_deadline: float = Field(default=120.0, gt=0)
    retry_attempts: int = Field(default=5, ge=1)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    retry_max_wait: float = Field(default=30.0, gt=0)
    # A refused or timed-out connection is retried only this long, so an unreachable API is named quickly.
    connect_retry_seconds: float = Field(default=8.0, gt=0)
    # Transient token-endpoint failures (5xx, lost answers) are retried this long under the refresh lock.
    refresh_retry_seconds: float = Field(default=60.0, gt=0)
    quota_wait_attempts: int = Field(default=10, ge=1)
    refresh_skew_seconds: float = Field(default=300.0, gt=0)
    refresh_warn_days: int = Field(default=5, ge=0)

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
            env = ", ".join(self.env_name(n) for n in missing)
            raise ConfigError(f"missing setting(s) {env}: set them in the environment or in .env")

    def require_for_client(self) -> None:
        if self.auth_mode == "aksk":
            self.require("app_id", "secret_id", "secret_key", "operator_id")
        else:
            # TMEET_SECRET is checked where it is used (login, and a refresh that is actually due), so a
            # stored, unexpired token keeps working without it.
            self.require("sdk_id")

    @field_validator("auth_mode", "app_type", mode="before")
    @classmethod
    def _choice(cls, value: Any, info: ValidationInfo) -> Any:
        allowed, fix = _CHOICES[info.field_name or ""]
        value = value.lower() if isinstance(value, str) else value
        if value not in allowed:
            raise ValueError(f"{cls.env_name(info.field_name or '')}={value!r} is not a choice; set it to {fix}")
        return value

    @field_validator("api_base_url", "oauth_base_url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        return _check(value, cls.env_name(info.field_name or ""))

    @field_validator("redirect_uri")
    @classmethod
    def _redirect(cls, value: str, info: ValidationInfo) -> str:
        return _check(value, cls.env_name(info.field_name or "")) if value else value

    @field_validator("quota_url")
    @classmethod
    def _quota_url(cls, value: SecretStr | None) -> SecretStr | None:
        url = value.get_secret_value() if value is not None else ""
        if url and url.partition("://")[0].split("+")[0] not in ("postgresql", "postgres"):
            raise ValueError("TMEET_QUOTA_URL must be a postgresql://user:password@host:port/database URL "
                             "(or empty, to keep the quota in this host's SQLite file)")
        return value

    @field_validator("lake_url", "archive_url")
    @classmethod
    def _location(cls, value: str, info: ValidationInfo) -> str:
        return check_location(value, cls.env_name(info.field_name or ""))

    @field_validator("pii_salt")
    @classmethod
    def _pii_salt(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("TMEET_PII_SALT must be at least 16 characters; generate one with `openssl rand -hex 32`")
        return value

    @field_validator("file_mode")
    @classmethod
    def _file_mode(cls, value: str) -> str:
        parse_file_mode(value)  # its ValueError names TMEET_FILE_MODE and both choices
        return value.lower() or "private"

    @field_validator("pii_policy", mode="before")
    @classmethod
    def _pii(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return dict(parse_pii_policy(value))
        except PiiPolicyError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("enabled_scopes", mode="before")
    @classmethod
    def _scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(filter(None, (part.strip() for part in value.split(","))))
        return value

    @field_validator("route_limits", mode="before")
    @classmethod
    def _routes(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return {**DEFAULT_ROUTE_LIMITS, **dict(value)}
        limits = dict(DEFAULT_ROUTE_LIMITS)
        for item in filter(None, (part.strip() for part in value.split(","))):
            route, _, limit = item.partition("=")
            if not route.strip() or not limit.strip().isdigit() or int(limit) < 1:
                raise ValueError(
                    f"{cls.env_name(info.field_name or '')} has {item!r}, not ROUTE=LIMIT; set it to e.g. "
                    "/v1/corp/records=10,/v1/corp/user-roles=10"
                )
            limits[route.strip()] = int(limit)
        return limits


_CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "auth_mode": (("oauth", "aksk"), "'oauth' (an OAuth app) or 'aksk' (enterprise self-built app)"),
    "app_type": (("account", "user"), "'account' (account-level app) or 'user' (user-level app)"),
}


def _check(value: str, variable: str) -> str:
    try:
        return check_url(value, variable)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _present(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)


_PHRASES: dict[str, str] = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "bool_parsing": "is not true or false",
    "date_from_datetime_parsing": "is not a date (YYYY-MM-DD)",
    "date_parsing": "is not a date (YYYY-MM-DD)",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
}


def describe_errors(model: type[TmeetSettings], exc: ValidationError) -> str:
    """One line per wrong setting, naming its variable and the fix; a secret's value is never shown."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        context = error.get("ctx") or {}
        if error["type"] == "value_error":
            lines.append(str(context.get("error", error["msg"])))
            continue
        variable = model.env_name(field) if field in model.model_fields else field
        info = model.model_fields.get(field)
        secret = info is not None and "SecretStr" in str(info.annotation)
        shown = "" if secret or error["type"] == "missing" else f"={error['input']!r}"
        if error["type"] == "greater_than":
            phrase = "must be positive" if context.get("gt") == 0 else f"must be more than {context.get('gt')}"
        elif error["type"] == "missing":
            phrase = "is not set"
        else:
            phrase = _PHRASES.get(error["type"], error["msg"].lower()).format(**context)
        default = info.get_default(call_default_factory=True) if info is not None else None
        fix = f"; set it to e.g. {default}" if default not in (None, "", {}) and not secret else ""
        lines.append(f"{variable}{shown} {phrase}{fix}")
    return "; ".join(lines)


def setting_now(field: str) -> Any:
    """One field of :class:`Settings` as the process environment sets it now, validated by the model.

    For the storage code that runs with no ``Settings`` at hand (file modes, the PII policy, the
    lake's and archive's location): it reads at use time, never at import, and the model stays the
    one place for each variable's default and validation. Cached per raw value, because file writes
    ask for the file mode every time.
    """
    variable = Settings.env_name(field)
    return _validated(field, os.environ.get(variable) or None)


@functools.lru_cache(maxsize=256)
def _validated(field: str, raw: str | None) -> Any:
    return getattr(Settings.from_env({} if raw is None else {Settings.env_name(field): raw}), field)
