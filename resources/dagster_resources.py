"""Dagster resources: the Tencent Meeting API and the storage, configured through the settings model.

A field left unset (``None``) is decided by :class:`~resources.settings.Settings` when the run
starts: its ``TMEET_*`` variable, else the documented default. Deployments bind fields to variables
with ``dg.EnvVar`` (see :func:`build_resources`), so the UI shows where each value comes from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from resources.account_scope import (
    RunSpansAccounts,
    account_of_run,
    current_account,
    enter_account,
    leave_account,
    several_accounts,
)
from resources.accounts import ACCOUNTS_FILE_ENV, AccountsFileError
from resources.lake import Lake
from resources.refusal_alerts import install_refresh_refused_alerts
from resources.raw_archive import RawArchive
from resources.settings import Settings
from resources.tencent.client import TencentMeetingClient
from resources.tencent.scopes import AssetPlan, ScopeNeed, plan_assets
from resources.tencent.stats import CallStats
from resources.tencent.token_store import TokenStore
from resources.warehouse import Warehouse

# The API settings a deployment binds on the resource; every other setting comes from the model.
API_FIELDS: tuple[str, ...] = (
    "api_base_url", "oauth_base_url", "auth_mode", "app_type", "sdk_id", "secret", "corp_id", "redirect_uri",
    "app_id", "secret_id", "secret_key", "operator_id", "token_key", "data_dir", "timezone", "max_workers",
)
INT_FIELDS = frozenset({"max_workers"})


class TencentMeetingResource(dg.ConfigurableResource):
    """The Tencent Meeting Open API (or the emulator); unset fields are decided by the settings model."""

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
    max_workers: int | None = None

    def settings(self) -> Settings:
        overrides = {name: value for name in API_FIELDS if (value := getattr(self, name)) is not None}
        return Settings.from_env(**overrides)

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
        # An account may sync less than its app is granted (TMEET_ENABLED_SCOPES, an accounts file's scopes).
        enabled = set(settings.enabled_scopes) or None
        if settings.auth_mode == "aksk":
            return plan_assets(needs, "aksk", enabled)
        store = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key)
        tokens = store.read_all().values()
        if not tokens:
            return plan_assets(needs, settings.app_type, enabled)
        # A user-level app's users may have consented to different scopes: an asset runs when
        # any of them allows it, and covers the users who do.
        granted = {scope for token in tokens for scope in token.scopes}
        return plan_assets(needs, settings.app_type, granted & enabled if enabled else granted)


class StorageResource(dg.ConfigurableResource):
    """Where the lake, the raw-page archive and the warehouse live (``TMEET_DATA_DIR``)."""

    data_dir: str | None = None

    def root(self) -> Path:
        return Path(self.data_dir) if self.data_dir is not None else Settings.from_env().data_dir

    def lake(self) -> Lake:
        return Lake.from_data_dir(self.root())

    def raw(self) -> RawArchive:
        return RawArchive.from_data_dir(self.root())

    def warehouse(self) -> Warehouse:
        return Warehouse(self.root() / "warehouse.duckdb")


class AccountScoped:
    """A resource that runs in its run's account's environment (``resources.account_scope``).

    Set up per run in the daemon's run worker, per step under the multiprocess executor, and once
    for ``execute_in_process``; both resources ask, counted, so the environment is restored after
    the last one is torn down. Outside a run (a schedule or sensor) nothing changes. Only a
    deployment with an accounts file gets these (:func:`build_resources`): the teardown makes a
    resource a context manager, which a single-account deployment has no need of.
    """

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.dagster_run
        if run is None:
            return
        try:
            account = account_of_run(run)
            if account is None and several_accounts() and current_account() is None:
                raise RunSpansAccounts(
                    f"run {run.run_id} names no account, but {ACCOUNTS_FILE_ENV} declares several: launch it for "
                    "one account partition (account|date in the UI), or use `tmeet-etl sync --account ID`"
                )
            enter_account(account)
        except (RunSpansAccounts, AccountsFileError) as exc:
            raise dg.Failure(str(exc), allow_retries=False) from None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # The same tags as at setup, so the same account; setup refused a run naming several.
        try:
            account = account_of_run(context.dagster_run)
        except RunSpansAccounts:
            return
        leave_account(account)


class AccountTencentMeetingResource(AccountScoped, TencentMeetingResource):
    """The Tencent Meeting API as the run's account (several accounts)."""


class AccountStorageResource(AccountScoped, StorageResource):
    """The run's account's storage (several accounts)."""


def build_resources(environ: Mapping[str, str] | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources, each field bound with ``dg.EnvVar`` to its variable where the deployment sets it.

    Dagster resolves an ``EnvVar`` when a run starts, so a value changed later is the one used; a
    variable unset here is left to the settings model at run time (a bound but unset one would fail).
    """
    present = os.environ if environ is None else environ
    if present.get(ACCOUNTS_FILE_ENV, "").strip():
        # Each run's settings are its account's, applied to the environment when the run starts;
        # a field bound to the deployment's variable would override them.
        return {"tencent": AccountTencentMeetingResource(), "storage": AccountStorageResource()}
    api_config: dict[str, object] = {}
    for name in API_FIELDS:
        variable = Settings.env_name(name)
        if present.get(variable):
            api_config[name] = dg.EnvVar.int(variable) if name in INT_FIELDS else dg.EnvVar(variable)
    data_dir = Settings.env_name("data_dir")
    storage_config = {"data_dir": dg.EnvVar(data_dir)} if present.get(data_dir) else {}
    return {
        "tencent": TencentMeetingResource(**api_config),
        "storage": StorageResource(**storage_config),
    }
