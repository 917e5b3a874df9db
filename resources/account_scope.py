"""The account of a run decides its settings: its partition names the account, whose environment it runs in.

Everything below the resources reads its settings from the process environment
(``Settings.from_env()``, ``setting_now``), so a run of account X executes with X's
:meth:`~resources.accounts.Account.environ` applied to ``os.environ`` while its resources are set
up, and the environment before it is restored when they are torn down.

A process-wide environment is sound because Dagster never runs two runs in one process: the
daemon launches each run in its own process, the multiprocess executor gives each step its own
process, and the in-process executor runs one run's steps one after another. Two accounts' steps
in one process at once would break it; the definitions never produce that, because every asset is
partitioned by account and a run spanning two accounts is refused before any step starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from resources.accounts import ACCOUNT_ID_ENV, ACCOUNTS_FILE_ENV, AccountsFileError, load_accounts
from resources.settings import ConfigError

PARTITION_TAG = "dagster/partition"
ACCOUNT_PARTITION_TAG = "dagster/partition/account"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


class RunSpansAccounts(ConfigError):
    """A run's partitions name more than one account; the message names the fix."""


def _account_part(key: str) -> str:
    # Every partition key of an account-partitioned asset starts with the account: `north|2026-06-16`, `north`.
    return key.partition("|")[0]


def account_of_tags(tags: Mapping[str, str]) -> str | None:
    """The one account a run's partition tags name (with an accounts file), or None when they name none."""
    if tags.get(ACCOUNT_PARTITION_TAG):
        return tags[ACCOUNT_PARTITION_TAG]
    if PARTITION_TAG in tags:
        return _account_part(tags[PARTITION_TAG])
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start is None or end is None:
        return None
    first, last = _account_part(start), _account_part(end)
    if first != last:
        raise RunSpansAccounts(
            f"this run covers the accounts {first}..{last}, but a run covers one account (each runs with its own "
            "credentials and data directory). Launch the backfill per account (filter the account dimension), "
            "or use `tmeet-etl sync --account ID --start DATE --end DATE`."
        )
    return first


def several_accounts(env: Mapping[str, str] | None = None) -> bool:
    """Whether the deployment declares its accounts in a file: then every partition key names its account."""
    return bool((os.environ if env is None else env).get(ACCOUNTS_FILE_ENV, "").strip())


def account_of_run(dagster_run: object | None) -> str | None:
    """The account of ``dagster_run`` from its partition tags; None without a run or with one account."""
    tags = getattr(dagster_run, "tags", None)
    return account_of_tags(tags) if tags and several_accounts() else None


def account_environ(account_id: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: the process environment) as the named account of the accounts file runs."""
    accounts = load_accounts(base)
    if accounts is None:
        raise AccountsFileError(
            f"a run of account {account_id!r} needs the accounts file: set {ACCOUNTS_FILE_ENV} where the "
            "code location and the daemon run"
        )
    (account,) = accounts.select([account_id])
    return account.environ(base)


_lock = threading.Lock()
_active: list[str] = []
_saved: dict[str, str | None] = {}


@contextmanager
def account_environment(account_id: str | None) -> Iterator[None]:
    """Run the block in ``account_id``'s environment, restored after; nested entries for the same
    account share it (both resources of a run ask). None, or a process that already is the
    account's (a ``tmeet-etl sync`` child), changes nothing."""
    enter_account(account_id)
    try:
        yield
    finally:
        leave_account(account_id)


def enter_account(account_id: str | None) -> None:
    if account_id is None:
        return
    with _lock:
        if _active:
            if _active[0] != account_id:
                raise RunSpansAccounts(
                    f"account {account_id!r} asked for while this process runs account {_active[0]!r}; "
                    "a process runs one account at a time"
                )
            _active.append(account_id)
            return
        own = os.environ.get(ACCOUNT_ID_ENV, "").strip()
        if own and own != account_id:
            raise RunSpansAccounts(
                f"a run of account {account_id!r} reached the process of account {own!r}; launch it "
                f"for account {own!r}, or from the deployment's code location"
            )
        changes = {} if own == account_id else account_environ(account_id)
        _saved.clear()
        for name, value in changes.items():
            if os.environ.get(name) != value:
                _saved[name] = os.environ.get(name)
                os.environ[name] = value
        _active.append(account_id)


def leave_account(account_id: str | None) -> None:
    if account_id is None:
        return
    with _lock:
        if not _active:
            return
        _active.pop()
        if _active:
            return
        for name, value in _saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _saved.clear()


def current_account() -> str | None:
    """The account this process runs as now, if any."""
    return (_active[0] if _active else None) or os.environ.get(ACCOUNT_ID_ENV, "").strip() or None


@dataclass(frozen=True)
class AccountEnvirons:
    """Every account of the file: the environment of each that resolves, the error of each that does not."""

    ids: list[str]
    environs: dict[str, dict[str, str]]
    errors: dict[str, str]


def account_environs(base: Mapping[str, str] | None = None) -> AccountEnvirons:
    """What a schedule or sensor evaluates per account (read each tick, so the file's edits count at once).

    An account whose secret cannot be read is reported, not raised: the others still run.
    """
    accounts = load_accounts(base)
    if accounts is None:
        return AccountEnvirons([], {}, {})
    environs: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    for account in accounts.accounts:
        try:
            account.resolved(base)
            environs[account.id] = account.environ(base)
        except ConfigError as exc:
            errors[account.id] = str(exc)
    return AccountEnvirons(accounts.ids, environs, errors)
