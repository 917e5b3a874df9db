"""`tmeet-etl sync` over the accounts of ``TMEET_ACCOUNTS_FILE``: one ordinary sync per account.

Each account's sync is its own process with the account's environment (resources/accounts.py), so
one Dagster run per account, tagged ``tmeet/account=<id>`` in the deployment's one instance, over
that account's partitions ``<id>|<date>`` of the account-partitioned definitions. An
account that fails, or is killed, leaves every other account's lake and warehouse as they were;
the next sync of that account resumes it like any interrupted single-account sync.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from pipelines.combined_warehouse import build_combined_warehouse
from resources.accounts import Account, Accounts, AccountsFileError
from resources.tencent.redact import scrub


@dataclass(frozen=True)
class AccountSync:
    account: Account
    returncode: int
    output: str
    seconds: float

    @property
    def success(self) -> bool:
        return self.returncode == 0


def sync_command(start: date | None, end: date | None, *, snapshots: bool = False, debug: bool = False) -> list[str]:
    """The single-account sync, as a child command of this interpreter.

    Without dates each account defaults to its own yesterday, in its own time zone.
    """
    command = [sys.executable, "-m", "pipelines.cli", *(["--debug"] if debug else []), "sync"]
    command += ["--start", start.isoformat()] if start else []
    command += ["--end", end.isoformat()] if end else []
    return [*command, "--snapshots"] if snapshots else command


def sync_account(account: Account, command: list[str]) -> AccountSync:
    started = time.monotonic()
    try:
        env = account.environ()
    except AccountsFileError as exc:
        return AccountSync(account, 2, f"error: {exc}\n", time.monotonic() - started)
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return AccountSync(account, done.returncode, done.stdout, time.monotonic() - started)


def sync_accounts(
    accounts: Accounts,
    ids: list[str] | None,
    start: date | None,
    end: date | None,
    *,
    snapshots: bool = False,
    parallel: int = 1,
    debug: bool = False,
    report: Callable[[AccountSync], None] = lambda _result: None,
) -> list[AccountSync]:
    """Sync each selected account (``parallel`` at a time); ``report`` sees each one as it ends."""
    selected = accounts.select(ids)
    command = sync_command(start, end, snapshots=snapshots, debug=debug)
    prepare_instance(accounts.ids)

    def one(account: Account) -> AccountSync:
        result = sync_account(account, command)
        report(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        results = list(pool.map(one, selected))
    if accounts.combined_warehouse is not None:
        build_combined_warehouse(accounts, accounts.combined_warehouse)
    return results


def prepare_instance(account_ids: list[str] | None = None) -> None:
    """Open the deployment's instance once before the accounts' syncs do, with every account a partition.

    Several processes creating a new SQLite instance at the same moment each run its schema
    migrations and leave it with two schema versions, after which every run fails. Opening it here
    also fails the runs of a sync that was killed, so the UI does not show them as still running.
    A run of an account partition the instance does not know would be refused, so new accounts of
    the file are added first (``account_partitions_sensor`` does the same for the daemon).
    """
    from pipelines.instance import add_account_partitions, deployment_instance
    from resources.settings import Settings

    with deployment_instance(Settings.from_env().data_dir) as instance:
        add_account_partitions(instance, account_ids or [])


def print_account(result: AccountSync) -> None:
    state = "succeeded" if result.success else f"failed (exit {result.returncode})"
    title = result.account.id if result.account.display_name == result.account.id else (
        f"{result.account.id} ({result.account.display_name})")
    print(f"== account {title}: {state} in {result.seconds:.0f} s", flush=True)
    # The child already keeps secrets out of what it prints; scrubbing again costs nothing.
    print(scrub(result.output).rstrip(), flush=True)
