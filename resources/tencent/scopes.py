"""The platform's scope table as data: scope → endpoints, for both app types, and planning by scope.

The client speaks endpoints and scopes only: which pipeline asset needs which scope is declared on
the asset itself (``assets.tags``) and handed to :func:`plan_assets` as opaque names.

Source: the open platform's OAuth page (account-level and user-level scope tables). Self-built
AK/SK apps hold the equivalent enterprise permission points and plan like account-level apps.
Scope codes other than VIEW_USER_INFO / VIEW_VIDEO / MANAGE_VIDEO are not attested by the
platform, so every scope is also recognised by its Chinese name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

AppType = Literal["account", "user", "aksk"]

E_MEETING_BY_ID = "GET /v1/meetings/{meeting_id}"
E_MEETING_BY_CODE = "GET /v1/meetings?meeting_code"
E_USER_MEETINGS = "GET /v1/meetings"
E_USER_ENDED = "GET /v1/history/meetings/{userid}"
E_PARTICIPANTS = "GET /v1/meetings/{meeting_id}/participants"
E_CORP_MEETINGS = "GET /v1/corp/meetings"
E_RECORDS = "GET /v1/records"
E_ADDRESSES = "GET /v1/addresses"
E_ADDRESS = "GET /v1/addresses/{record_file_id}"
E_CORP_RECORDS = "GET /v1/corp/records"
E_RECORD_METRICS = "GET /v1/metrics/records"
E_RECORD_EVENTS = "GET /v1/records/events"
E_VIEW_DETAILS = "GET /v1/records/view-details"
E_USER = "GET /v1/users/{userid}"
E_USERS_LIST = "GET /v1/users/list"
E_CORP_USERS = "GET /v1/corp/users"
E_CORP_ROLES = "GET /v1/corp/user-roles"
E_USER_INFO = "GET /v1/users/info/basic"
E_LIVE_REPLAY = "GET /v1/meetings/{meeting_id}/live-play/replays"

# The "view" scopes the pipeline's data needs; assets name them in their tags.
VIEW_ALL_MEETINGS = "VIEW_ALL_MEETINGS"
VIEW_ALL_RECORDS = "VIEW_ALL_RECORDS"
VIEW_ALL_USERS = "VIEW_ALL_USERS"
VIEW_MEETING = "VIEW_MEETING"
VIEW_VIDEO = "VIEW_VIDEO"
VIEW_USER_INFO = "VIEW_USER_INFO"


@dataclass(frozen=True)
class Scope:
    code: str
    name: str  # the Chinese name shown on the platform
    app_types: tuple[AppType, ...]
    endpoints: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    manages: bool = False  # a "view and manage" scope includes its "view" twin


_ACCOUNT_MEETING_ENDPOINTS = (
    E_MEETING_BY_ID, E_MEETING_BY_CODE, E_PARTICIPANTS, E_USER_MEETINGS, E_USER_ENDED, E_CORP_MEETINGS,
)
_RECORD_ENDPOINTS = (E_RECORDS, E_ADDRESSES, E_ADDRESS, E_RECORD_METRICS, E_RECORD_EVENTS, E_VIEW_DETAILS)
_ACCOUNT_USER_ENDPOINTS = (E_USER, E_USERS_LIST, E_CORP_USERS, E_CORP_ROLES)
_USER_MEETING_ENDPOINTS = (E_MEETING_BY_ID, E_MEETING_BY_CODE, E_PARTICIPANTS, E_USER_MEETINGS, E_USER_ENDED)

ACCOUNT: tuple[AppType, ...] = ("account", "aksk")
USER: tuple[AppType, ...] = ("user",)

SCOPES: tuple[Scope, ...] = (
    # account-level apps (and self-built enterprise apps)
    Scope(VIEW_ALL_MEETINGS, "查看所有用户的会议", ACCOUNT, _ACCOUNT_MEETING_ENDPOINTS),
    Scope("MANAGE_ALL_MEETINGS", "查看和管理所有用户的会议", ACCOUNT, _ACCOUNT_MEETING_ENDPOINTS, manages=True),
    Scope(VIEW_ALL_RECORDS, "查看所有用户的录制", ACCOUNT, (*_RECORD_ENDPOINTS, E_CORP_RECORDS),
          aliases=("VIEW_ALL_VIDEO",)),
    Scope("MANAGE_ALL_RECORDS", "查看和管理所有用户的录制", ACCOUNT, (*_RECORD_ENDPOINTS, E_CORP_RECORDS),
          aliases=("MANAGE_ALL_VIDEO",), manages=True),
    Scope("VIEW_ALL_LIVE", "查看所有用户的直播", ACCOUNT, (E_LIVE_REPLAY,)),
    Scope("MANAGE_ALL_LIVE", "查看和管理所有用户的直播", ACCOUNT, (E_LIVE_REPLAY,), manages=True),
    Scope(VIEW_ALL_USERS, "查看所有用户信息", ACCOUNT, _ACCOUNT_USER_ENDPOINTS, aliases=("VIEW_ALL_USER_INFO",)),
    Scope("MANAGE_ALL_USERS", "查看和管理所有用户信息", ACCOUNT, _ACCOUNT_USER_ENDPOINTS,
          aliases=("MANAGE_ALL_USER_INFO",), manages=True),
    # user-level apps: only the authorizing user's own data
    Scope(VIEW_MEETING, "查看您的会议", USER, _USER_MEETING_ENDPOINTS),
    Scope("MANAGE_MEETING", "查看和管理您的会议", USER, _USER_MEETING_ENDPOINTS, manages=True),
    Scope(VIEW_VIDEO, "查看您的录制", USER, _RECORD_ENDPOINTS),
    Scope("MANAGE_VIDEO", "查看和管理您的录制", USER, _RECORD_ENDPOINTS, manages=True),
    Scope("VIEW_LIVE", "查看您的直播", USER, (E_LIVE_REPLAY,)),
    Scope("MANAGE_LIVE", "查看和管理您的直播", USER, (E_LIVE_REPLAY,), manages=True),
    Scope(VIEW_USER_INFO, "查看您的用户信息", USER, (E_USER, E_USERS_LIST, E_USER_INFO)),
    Scope("MANAGE_USER_INFO", "查看和管理您的用户信息", USER, (E_USER, E_USERS_LIST, E_USER_INFO),
          manages=True),
)
SCOPE_CODES = frozenset(scope.code for scope in SCOPES)


def normalize_app_type(app_type: str) -> AppType:
    value = app_type.lower()
    if value in ("account", "aksk", "user"):
        return value  # type: ignore[return-value]
    raise ValueError(f"unknown app type {app_type!r}; use 'account', 'user' or 'aksk'")


def resolve(granted: Iterable[str], app_type: str) -> set[str]:
    """Scope codes held, from codes, aliases or Chinese names (unknown values are ignored)."""
    kind = normalize_app_type(app_type)
    wanted = {g.strip() for g in granted if g and g.strip()}
    wanted_upper = {g.upper() for g in wanted}
    held = set()
    for scope in SCOPES:
        if kind not in scope.app_types:
            continue
        names = {scope.code, *scope.aliases}
        if names & wanted_upper or scope.name in wanted:
            held.add(scope.code)
    return held


def satisfies(scope: Scope, code: str) -> bool:
    """Whether holding ``scope`` grants ``code``: itself, or the "view and manage" twin of a "view" scope."""
    return scope.code == code or (scope.manages and scope.code == "MANAGE_" + code.removeprefix("VIEW_"))


def scope_for_endpoint(endpoint: str, app_type: str) -> str:
    """The weakest scope that unlocks an endpoint, named for error messages (code and Chinese name)."""
    kind = normalize_app_type(app_type)
    for scope in SCOPES:
        if kind in scope.app_types and endpoint in scope.endpoints and not scope.manages:
            return f"{scope.code} ({scope.name})"
    return ""


@dataclass(frozen=True)
class ScopeNeed:
    """The scope a piece of data needs: ``account`` for account-level and AK/SK apps, ``user`` for
    user-level apps (``None`` when no user-level endpoint reaches it)."""

    account: str
    user: str | None

    def __post_init__(self) -> None:
        unknown = sorted({self.account, self.user or self.account} - SCOPE_CODES)
        if unknown:
            raise ValueError(f"unknown scope code(s) {', '.join(unknown)}; use one of {', '.join(sorted(SCOPE_CODES))}")


@dataclass(frozen=True)
class AssetPlan:
    run: tuple[str, ...]
    skipped: dict[str, str]  # asset -> why (names the missing scope)


def plan_assets(needs: Mapping[str, ScopeNeed], app_type: str, granted_scopes: Iterable[str] | None) -> AssetPlan:
    """Which of ``needs`` (asset name → scope needed) can run with the granted scopes; for each
    skipped one, the missing scope.

    ``granted_scopes=None`` means the platform does not report scopes (self-built apps): plan
    everything and let the first call's 9042 name the gap.
    """
    kind = normalize_app_type(app_type)
    held = None if granted_scopes is None else resolve(granted_scopes, kind)
    run: list[str] = []
    skipped: dict[str, str] = {}
    for asset, need in needs.items():
        code = need.user if kind == "user" else need.account
        if code is None:
            skipped[asset] = (f"user-level apps have no endpoint for {asset}; an account-level or AK/SK app "
                              "reads it")
            continue
        options = [s for s in SCOPES if kind in s.app_types and satisfies(s, code)]
        if held is None or any(s.code in held for s in options):
            run.append(asset)
        else:
            weakest = next(s for s in options if s.code == code)
            skipped[asset] = f"missing scope {weakest.code} ({weakest.name})"
    return AssetPlan(tuple(run), skipped)
