"""Two accounts in one deployment, end to end on local disk: each lands its own truth, apart from the other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from pipelines.accounts_sync import prepare_instance
from pipelines.cli import main
from pipelines.instance import ACCOUNT_TAG
from tests.accounts.world import AKSK_ID, OAUTH_ID, TwoAccounts, two_accounts
from tests.pipeline.conftest import FIRST, LAST

SYNC = ["sync", "--start", FIRST.isoformat(), "--end", LAST.isoformat()]


def account_runs(world: TwoAccounts, account_id: str) -> list[dg.DagsterRun]:
    """The account's runs in the deployment's one instance, oldest first."""
    home = Path(os.environ.get("DAGSTER_HOME") or world.data_dir / "dagster_home")
    if not (home / "dagster.yaml").is_file():
        return []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(reversed(instance.get_runs(RunsFilter(tags={ACCOUNT_TAG: account_id}))))


def materialized(world: TwoAccounts, table: str) -> set[str]:
    """The partitions of ``table`` the deployment's instance records as materialized."""
    home = Path(os.environ.get("DAGSTER_HOME") or world.data_dir / "dagster_home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return set(instance.get_materialized_partitions(dg.AssetKey(table)))


def account_days(*accounts: str) -> set[str]:
    """``account|date`` for every synced business date of each account."""
    days = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
    return {f"{account}|{day.isoformat()}" for account in accounts for day in days}


def table_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'main' and table_type = 'BASE TABLE'").fetchall()]
        return {n: int(con.execute(f'select count(*) from "{n}"').fetchone()[0]) for n in names}  # type: ignore[index]


@pytest.mark.timeout(1800)
def test_two_accounts_each_land_their_own_truth_with_their_own_runs_and_a_combined_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with two_accounts(tmp_path, monkeypatch, combined=True) as world:
        assert main(["doctor"]) == 0, capsys.readouterr().out
        doctor = capsys.readouterr().out
        assert f"== account {AKSK_ID}" in doctor and f"== account {OAUTH_ID}" in doctor
        assert doctor.count("[ok] connectivity") == 2
        # The OAuth account's login is in its own token store, shown by `auth status --account`.
        assert main(["auth", "status", "--account", OAUTH_ID]) == 0
        assert "VIEW_ALL_MEETINGS" in capsys.readouterr().out

        assert main([*SYNC, "--parallel", "2"]) == 0, capsys.readouterr()
        printed = capsys.readouterr().out
        assert f"== account {AKSK_ID}" in printed and f"== account {OAUTH_ID}" in printed

        for account_id in (AKSK_ID, OAUTH_ID):
            world.assert_lake_is_its_truth(account_id, monkeypatch)
            runs = account_runs(world, account_id)
            assert runs and all(r.status == DagsterRunStatus.SUCCESS for r in runs)
        # Each account is a partition dimension: the UI shows each account's dates, and only those synced.
        for table in ("meetings", "participant_sessions", "warehouse"):
            assert materialized(world, table) == account_days(AKSK_ID, OAUTH_ID), table
        # Each account's own token store, quota budget and warehouse; nothing of one in the other's directory.
        north, south = world.account_dir(AKSK_ID), world.account_dir(OAUTH_ID)
        assert (north / "state" / "quota.sqlite").is_file() and (south / "state" / "quota.sqlite").is_file()
        assert not list((north / "state").glob("tokens*")) and list((south / "state").glob("tokens*"))
        # The combined warehouse holds exactly each account's tables, told apart by account_id.
        counts = {a: table_counts(world.account_dir(a) / "warehouse.duckdb") for a in (AKSK_ID, OAUTH_ID)}
        with duckdb.connect(str(tmp_path / "combined.duckdb"), read_only=True) as con:
            for table in ("meetings", "participant_sessions", "users", "recordings"):
                got = dict(con.execute(f"select account_id, count(*) from {table} group by 1").fetchall())
                assert got == {a: counts[a][table] for a in (AKSK_ID, OAUTH_ID)}, table


@pytest.mark.timeout(1800)
def test_an_account_with_broken_credentials_fails_alone_and_the_other_lands_its_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with two_accounts(tmp_path, monkeypatch) as world:
        # The AK/SK account signs with a key the platform does not know.
        monkeypatch.setenv("NORTH_SECRET_KEY", "not-the-secret-key-of-this-app")
        assert main([*SYNC, "--parallel", "2"]) != 0
        printed = capsys.readouterr()
        assert f"sync failed for account(s) {AKSK_ID}" in printed.out + printed.err

        world.assert_lake_is_its_truth(OAUTH_ID, monkeypatch)
        assert [r.status for r in account_runs(world, OAUTH_ID)] == [DagsterRunStatus.SUCCESS]
        failed = account_runs(world, AKSK_ID)
        assert failed and all(r.status == DagsterRunStatus.FAILURE for r in failed)
        assert materialized(world, "meetings") == account_days(OAUTH_ID)


def started(world: TwoAccounts) -> bool:
    return any(r.status == DagsterRunStatus.STARTED for r in account_runs(world, OAUTH_ID))


@pytest.mark.timeout(1800)
def test_killing_the_sync_during_one_account_leaves_the_other_intact_and_a_rerun_completes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with two_accounts(tmp_path, monkeypatch) as world:
        raw = world.account_dir(OAUTH_ID) / "raw"
        kill_during_the_second_account_then_rerun_it(
            world, monkeypatch, pulling=lambda: any(p.is_file() for p in raw.rglob("*"))
        )


def kill_during_the_second_account_then_rerun_it(
    world: TwoAccounts, monkeypatch: pytest.MonkeyPatch, *, pulling: Callable[[], bool]
) -> None:
    """SIGKILL the whole sync once the second account's run has started and ``pulling()`` holds."""
    # The instance exists before the sync starts, as the command makes it: this test reads it while
    # the sync runs, and two processes creating a new SQLite instance at once race its schema.
    prepare_instance()
    # Accounts run in file order: north first, then south, which is killed mid-way.
    sync = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *SYNC], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 900
        while not (started(world) and pulling()):
            assert sync.poll() is None, "the sync ended before the second account's pull started"
            assert time.monotonic() < deadline, "the second account's pull never started"
            time.sleep(0.2)
    finally:
        os.killpg(sync.pid, signal.SIGKILL)
        sync.wait()

    (killed,) = account_runs(world, OAUTH_ID)
    assert killed.status != DagsterRunStatus.SUCCESS, "the run ended before the kill; the test proves nothing"
    world.assert_lake_is_its_truth(AKSK_ID, monkeypatch)
    north_warehouse = world.account_dir(AKSK_ID) / "warehouse.duckdb"
    assert table_counts(north_warehouse)["meetings"] == len(world.truth(AKSK_ID)["meetings"])

    before = north_warehouse.stat().st_mtime_ns
    assert main([*SYNC, "--account", OAUTH_ID]) == 0
    world.assert_lake_is_its_truth(OAUTH_ID, monkeypatch)
    # The re-run of one account leaves the other's warehouse untouched, and ends the killed run.
    assert north_warehouse.stat().st_mtime_ns == before
    runs = account_runs(world, OAUTH_ID)
    assert runs[0].status == DagsterRunStatus.FAILURE and runs[-1].status == DagsterRunStatus.SUCCESS
