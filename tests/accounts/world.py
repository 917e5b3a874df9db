"""Two accounts, each its own enterprise on its own emulator: an AK/SK app and an account-level OAuth app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from emulator.testing import EmulatorHandle, running_emulator
from emulator.truth import Viewer, compute_viewer_truth
from pipelines.auth_cli import login
from resources.accounts import Account, load_accounts
from resources.lake import Lake
from tests.ports import free_port
from tests.pipeline.conftest import FIRST, LAST, NOW, TRUTH_TABLES, assert_tables_equal
from tests.pipeline.test_platform_sync import ACCOUNT_SDK, ACCOUNT_SECRET, CORP, _account_apps

AKSK_ID, OAUTH_ID = "north", "south"
# Both accounts at once on a loaded machine: quota bursts cost a short window, not a real minute.
FAST = 'step_retries = 0\nquota_window_seconds = 1\n'


@dataclass
class TwoAccounts:
    emulators: dict[str, EmulatorHandle]
    viewers: dict[str, Viewer]
    accounts_file: Path
    data_dir: Path

    def account(self, account_id: str) -> Account:
        accounts = load_accounts()
        assert accounts is not None
        return next(a for a in accounts.accounts if a.id == account_id)

    def account_dir(self, account_id: str) -> Path:
        return self.account(account_id).data_dir()

    def truth(self, account_id: str) -> dict[str, pd.DataFrame]:
        return compute_viewer_truth(self.emulators[account_id].enterprise, start=FIRST, end=LAST,
                                    viewer=self.viewers[account_id])

    def assert_lake_is_its_truth(self, account_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
        truth = self.truth(account_id)
        env = self.account(account_id).environ()
        # The account's lake, found the way its own sync finds it; the deployment's variable is restored after.
        with monkeypatch.context() as scoped:
            scoped.setenv("TMEET_LAKE_URL", env["TMEET_LAKE_URL"])
            lake = Lake.from_data_dir(Path(env["TMEET_DATA_DIR"]))
            for table in TRUTH_TABLES:
                assert len(truth[table]) > 0, f"{account_id}: the emulator produced no {table}; the test proves nothing"
                assert_tables_equal(table, lake.read(table), truth[table])


def accounts_toml(
    aksk: EmulatorHandle, oauth: EmulatorHandle, secret_file: Path, combined: Path | None, redirect: str
) -> str:
    app = aksk.default_app
    head = f'combined_warehouse = "{combined}"\n\n' if combined else ""
    return head + f'''
[[accounts]]
id = "{AKSK_ID}"
display_name = "North Ltd (AK/SK)"
auth_mode = "aksk"
app_id = "{app.app_id}"
secret_id = "{app.secret_id}"
secret_key_env = "NORTH_SECRET_KEY"
operator_id = "{app.admin_userid or aksk.enterprise.super_admin}"
api_base_url = "{aksk.base_url}"
oauth_base_url = "{aksk.base_url}"

[accounts.settings]
{FAST}
[[accounts]]
id = "{OAUTH_ID}"
display_name = "South Co (OAuth, account-level)"
auth_mode = "oauth"
app_type = "account"
sdk_id = "{ACCOUNT_SDK}"
secret_file = "{secret_file}"
corp_id = "{CORP}"
redirect_uri = "{redirect}"
api_base_url = "{oauth.base_url}"
oauth_base_url = "{oauth.base_url}"
scopes = ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"]

[accounts.settings]
{FAST}'''


@contextmanager
def two_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, combined: bool = False
) -> Iterator[TwoAccounts]:
    """Both emulators running, the accounts file in ``TMEET_ACCOUNTS_FILE``, the OAuth account logged in."""
    for name in [n for n in os.environ if n.startswith("TMEET_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # A free port for the login's callback: tests running side by side must not race for one.
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    with ExitStack() as stack:
        # Two different enterprises, so one account's rows can never pass for the other's.
        aksk = stack.enter_context(running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off",
                                                    platform="api-reference"))
        oauth = stack.enter_context(running_emulator(
            seed=23, scale="small", days=6, now=NOW, rate_limit="off", platform="scope-table",
            apps_path=str(_account_apps(tmp_path, redirect)),
        ))
        secret_file = tmp_path / "south.secret"
        secret_file.write_text(ACCOUNT_SECRET + "\n")
        secret_file.chmod(0o600)
        path = tmp_path / "accounts.toml"
        path.write_text(accounts_toml(aksk, oauth, secret_file, tmp_path / "combined.duckdb" if combined else None,
                                     redirect))
        data_dir = tmp_path / "data"
        monkeypatch.setenv("TMEET_ACCOUNTS_FILE", str(path))
        monkeypatch.setenv("TMEET_DATA_DIR", str(data_dir))
        monkeypatch.setenv("NORTH_SECRET_KEY", str(aksk.default_app.secret_key))
        monkeypatch.chdir(tmp_path)
        world = TwoAccounts(
            emulators={AKSK_ID: aksk, OAUTH_ID: oauth},
            viewers={AKSK_ID: Viewer(platform="api-reference", auth_mode="aksk"),
                     OAUTH_ID: Viewer(platform="scope-table", auth_mode="oauth", app_type="account")},
            accounts_file=path,
            data_dir=data_dir,
        )
        login(world.account(OAUTH_ID).resolved(),
              open_browser=lambda url: httpx.get(url, follow_redirects=True, trust_env=False),
              out=lambda _line: None, timeout=30)
        yield world
