"""Dagster resources: the Tencent Meeting API and the storage, configured from ``TMEET_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from resources.lake import Lake
from resources.refusal_alerts import install_refresh_refused_alerts
from resources.raw_archive import RawArchive
from resources.settings import ENV_OF, Settings
from resources.tencent.client import TencentMeetingClient
from resources.tencent.scopes import AssetPlan, ScopeNeed, plan_assets
from resources.tencent.stats import CallStats
from resources.tencent.token_store import TokenStore
from resources.warehouse import Warehouse

# Resource field -> environment variable (the settings' own map). Values set on the resource win.
API_FIELDS = ENV_OF


class TencentMeetingResource(dg.ConfigurableResource):
    """The Tencent Meeting Open API (or the emulator). Unset fields fall back to ``TMEET_*`` variables."""

    api_base_url: str | None = None
    oauth_base_url: str | None = None
    auth_mode: str | None = None
    app_type: str | None = None
    sdk_id: str | None = None
    secret: str | None = None
    corp_id: str | None = None
    redirect_uri: str | None = None
    app_id: str | None = None
    secret_id: str | None = None
    secret_key: str | None = None
    operator_id: str | None = None
    token_key: str | None = None
    data_dir: str | None = None
    timezone: str | None = None
    max_workers: str | None = None

    def settings(self) -> Settings:
        overrides = {env: str(value) for name, env in API_FIELDS.items() if (value := getattr(self, name))}
        return Settings.from_env({**os.environ, **overrides})

    def clients(self, stats: CallStats | None = None) -> list[TencentMeetingClient]:
        """One client for AK/SK and account-level apps, one per authorized user for user-level apps.

        All clients of one asset run share ``stats`` so the run's cost is counted once.
        """
        settings = self.settings()
        # A run launched by the daemon or the UI has no command line to say a login is needed.
        install_refresh_refused_alerts()
        shared = stats or CallStats()
        clients = TencentMeetingClient.for_all_principals(settings, stats=shared)
        if not clients:
            raise dg.Failure(
                "No authorized user is stored for this OAuth app: run `tmeet-etl auth login` "
                "(each user of a user-level app signs in once)."
            )
        return clients


    def plan(self, needs: Mapping[str, ScopeNeed]) -> AssetPlan:
        """Which of ``needs`` (asset → scope) the granted scopes allow, and for each one left out, the missing scope.

        AK/SK apps report no scopes, so everything is planned and a refusal names the gap. An
        OAuth app with no stored login plans everything too: its first call says to log in.
        """
        settings = self.settings()
        if settings.auth_mode == "aksk":
            return plan_assets(needs, "aksk", None)
        store = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key)
        tokens = store.read_all().values()
        if not tokens:
            return plan_assets(needs, settings.app_type, None)
        # A user-level app's users may have consented to different scopes: an asset runs when
        # any of them allows it, and covers the users who do.
        granted = {scope for token in tokens for scope in token.scopes}
        return plan_assets(needs, settings.app_type, granted)


class StorageResource(dg.ConfigurableResource):
    """Where the lake, the raw-page archive and the warehouse live (``TMEET_DATA_DIR``)."""

    data_dir: str | None = None

    def root(self) -> Path:
        return Path(self.data_dir or os.environ.get("TMEET_DATA_DIR", "./data"))

    def lake(self) -> Lake:
        return Lake.from_data_dir(self.root())

    def raw(self) -> RawArchive:
        return RawArchive.from_data_dir(self.root())

    def warehouse(self) -> Warehouse:
        return Warehouse(self.root() / "warehouse.duckdb")


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources bound to the variables present at load time, so the UI shows them as env-backed."""
    api_config = {name: dg.EnvVar(env) for name, env in API_FIELDS.items() if os.environ.get(env)}
    storage_config = {"data_dir": dg.EnvVar("TMEET_DATA_DIR")} if os.environ.get("TMEET_DATA_DIR") else {}
    return {
        "tencent": TencentMeetingResource(**api_config),
        "storage": StorageResource(**storage_config),
    }
