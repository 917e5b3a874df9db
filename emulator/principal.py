"""Who is calling: the authenticated app, acting user and granted scopes of one request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AuthMode = Literal["oauth", "aksk"]
AppType = Literal["account", "user"]


@dataclass(frozen=True, slots=True)
class Principal:
    sdk_id: str
    app_type: AppType
    mode: AuthMode
    # The enterprise userid the request acts as: the app's admin for account-level OAuth and
    # AK/SK, the authorizing user for user-level OAuth.
    userid: str
    open_id: str | None
    scopes: frozenset[str]
    # Quota is per app for self-built and account-level apps, per authorizing user for
    # user-level apps (docs/platform.md, "Limits").
    quota_key: str
    # Set under the API reference's reading for OAuth callers: they read only meetings created
    # through an OAuth app, and only as the user they act for (emulator/platform.py).
    oauth_created_only: bool = False

    @property
    def account_level(self) -> bool:
        """AK/SK enterprise apps and account-level OAuth apps (the scope-table's reach)."""
        return self.mode == "aksk" or self.app_type == "account"

    @property
    def reads_everyone(self) -> bool:
        """Whether meeting and recording reads reach every user's data, not only the acting user's."""
        return self.account_level and not self.oauth_created_only
