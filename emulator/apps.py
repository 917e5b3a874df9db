"""The emulator's registered apps: OAuth (account- or user-level) and AK/SK credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

AppType = Literal["account", "user"]

ACCOUNT_SCOPES: frozenset[str] = frozenset(
    {
        "VIEW_ALL_MEETINGS",
        "MANAGE_ALL_MEETINGS",
        "VIEW_ALL_RECORDS",
        "MANAGE_ALL_RECORDS",
        "VIEW_ALL_LIVE",
        "MANAGE_ALL_LIVE",
        "VIEW_ALL_USERS",
        "MANAGE_ALL_USERS",
    }
)
USER_SCOPES: frozenset[str] = frozenset(
    {
        "VIEW_MEETING",
        "MANAGE_MEETING",
        "VIEW_VIDEO",
        "MANAGE_VIDEO",
        "VIEW_LIVE",
        "MANAGE_LIVE",
        "VIEW_USER_INFO",
        "MANAGE_USER_INFO",
    }
)
SCOPES_BY_TYPE: dict[str, frozenset[str]] = {"account": ACCOUNT_SCOPES, "user": USER_SCOPES}

# Fixed, documented demo credentials: fake values that only this emulator accepts.
DEMO_SDK_ID = "200000001"
DEMO_SECRET = "demo-oauth-secret-200000001"
DEMO_CORP_ID = "demo-corp"
DEMO_APP_ID = "210000001"
DEMO_SECRET_ID = "AKIDdemoSecretId0001"
DEMO_SECRET_KEY = "demoSecretKey0001"
DEMO_REDIRECT_URIS: tuple[str, ...] = (
    "http://127.0.0.1:8765/callback",
    "http://localhost:8765/callback",
)

_REQUIRED = ("sdk_id", "secret", "type", "corp_id", "redirect_uris", "scopes", "activated")
_AKSK_FIELDS = ("app_id", "secret_id", "secret_key")


class AppConfigError(ValueError):
    """The apps file is malformed; the message names the app and the field to fix."""


@dataclass(frozen=True, slots=True)
class App:
    sdk_id: str
    secret: str
    type: AppType
    corp_id: str
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    activated: bool
    app_id: str | None = None
    secret_id: str | None = None
    secret_key: str | None = None
    # None means "the enterprise's super admin", resolved when the enterprise is known.
    admin_userid: str | None = None
    name: str = ""

    @property
    def has_aksk(self) -> bool:
        return self.secret_id is not None

    def public_summary(self) -> dict[str, Any]:
        """Everything but the secrets, for stats and logs."""
        return {
            "sdk_id": self.sdk_id,
            "name": self.name,
            "type": self.type,
            "corp_id": self.corp_id,
            "scopes": sorted(self.scopes),
            "activated": self.activated,
            "aksk": self.has_aksk,
        }


class AppRegistry:
    """Apps by sdk_id and by AK/SK SecretId."""

    def __init__(self, apps: list[App]) -> None:
        if not apps:
            raise AppConfigError("the apps file lists no app; add at least one to \"apps\"")
        self._by_sdk: dict[str, App] = {}
        self._by_secret_id: dict[str, App] = {}
        for app in apps:
            if app.sdk_id in self._by_sdk:
                raise AppConfigError(f"duplicate sdk_id {app.sdk_id!r}; every app needs its own")
            self._by_sdk[app.sdk_id] = app
            if app.secret_id is not None:
                if app.secret_id in self._by_secret_id:
                    raise AppConfigError(
                        f"app {app.sdk_id!r} reuses the secret_id of app "
                        f"{self._by_secret_id[app.secret_id].sdk_id!r}; give each its own"
                    )
                self._by_secret_id[app.secret_id] = app
        self.default: App = apps[0]

    def __iter__(self) -> Iterator[App]:
        return iter(self._by_sdk.values())

    def __len__(self) -> int:
        return len(self._by_sdk)

    def get(self, sdk_id: str) -> App | None:
        return self._by_sdk.get(sdk_id)

    def by_secret_id(self, secret_id: str) -> App | None:
        return self._by_secret_id.get(secret_id)


def demo_app() -> App:
    """The one app the emulator registers when no apps file is given."""
    return App(
        sdk_id=DEMO_SDK_ID,
        secret=DEMO_SECRET,
        type="account",
        corp_id=DEMO_CORP_ID,
        redirect_uris=DEMO_REDIRECT_URIS,
        scopes=frozenset(s for s in ACCOUNT_SCOPES if s.startswith("VIEW_")),
        activated=True,
        app_id=DEMO_APP_ID,
        secret_id=DEMO_SECRET_ID,
        secret_key=DEMO_SECRET_KEY,
        name="demo",
    )


def load_apps(path: str | Path | None) -> AppRegistry:
    """Read an apps file (``{"apps": [...]}``), or give the demo registry when ``path`` is None."""
    if path is None:
        return AppRegistry([demo_app()])
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AppConfigError(f"apps file {file} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise AppConfigError(f"apps file {file} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    return parse_apps(document, source=str(file))


def parse_apps(document: Any, source: str = "apps") -> AppRegistry:
    if not isinstance(document, Mapping) or not isinstance(document.get("apps"), list):
        raise AppConfigError(f'{source}: expected an object {{"apps": [...]}}')
    return AppRegistry([_parse_app(raw, i, source) for i, raw in enumerate(document["apps"])])


def _parse_app(raw: Any, index: int, source: str) -> App:
    where = f"{source}: apps[{index}]"
    if not isinstance(raw, Mapping):
        raise AppConfigError(f"{where} must be an object")
    if "sdk_id" in raw:
        where = f"{source}: app {raw['sdk_id']!r}"
    missing = [field for field in _REQUIRED if field not in raw]
    if missing:
        raise AppConfigError(f"{where} is missing required field(s): {', '.join(missing)}")
    app_type = raw["type"]
    if app_type not in SCOPES_BY_TYPE:
        raise AppConfigError(f'{where}: type must be "account" or "user", not {app_type!r}')
    scopes = raw["scopes"]
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise AppConfigError(f"{where}: scopes must be a list of scope ids")
    unknown = sorted(set(scopes) - SCOPES_BY_TYPE[app_type])
    if unknown:
        allowed = ", ".join(sorted(SCOPES_BY_TYPE[app_type]))
        raise AppConfigError(
            f"{where}: scope(s) {', '.join(unknown)} are not valid for a {app_type}-level app; "
            f"use {allowed}"
        )
    uris = raw["redirect_uris"]
    if not isinstance(uris, list) or not all(isinstance(u, str) and u for u in uris):
        raise AppConfigError(f"{where}: redirect_uris must be a list of URLs")
    if not isinstance(raw["activated"], bool):
        raise AppConfigError(f"{where}: activated must be true or false")
    for field in ("sdk_id", "secret", "corp_id"):
        if not isinstance(raw[field], str) or not raw[field]:
            raise AppConfigError(f"{where}: {field} must be a non-empty string")
    aksk_given = [field for field in _AKSK_FIELDS if raw.get(field)]
    if aksk_given and len(aksk_given) != len(_AKSK_FIELDS):
        absent = [field for field in _AKSK_FIELDS if field not in aksk_given]
        raise AppConfigError(f"{where}: AK/SK needs app_id, secret_id and secret_key; add {', '.join(absent)}")
    if aksk_given and app_type != "account":
        raise AppConfigError(
            f"{where}: AK/SK credentials belong to enterprise self-built apps; set type to \"account\""
        )
    admin = raw.get("admin_userid")
    if admin is not None and (not isinstance(admin, str) or not admin):
        raise AppConfigError(f"{where}: admin_userid must be a non-empty string when given")
    return App(
        sdk_id=raw["sdk_id"],
        secret=raw["secret"],
        type=app_type,
        corp_id=raw["corp_id"],
        redirect_uris=tuple(uris),
        scopes=frozenset(scopes),
        activated=raw["activated"],
        app_id=raw.get("app_id") or None,
        secret_id=raw.get("secret_id") or None,
        secret_key=raw.get("secret_key") or None,
        admin_userid=admin,
        name=str(raw.get("name", "")),
    )
