"""With an accounts file each account is a partition dimension: the code location, the schedules, a run per account.

The account-partitioned definitions are read when the code location is imported, so they are
loaded in a child process (``tests/accounts/partitions_probe.py``); this process keeps the
single-account ones, whose reviewed snapshot is unchanged (tests/pipeline/test_definitions.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus

from assets import registry
from assets.schemas import PARTITION_COLUMN
from pipelines.accounts_sync import prepare_instance
from pipelines.instance import PID_TAG, cli_run_tags, release_dead_cli_runs
from resources.account_scope import RunSpansAccounts, account_of_tags
from resources.lake import Lake
from resources.settings import Settings
from tests.accounts.world import AKSK_ID, OAUTH_ID, two_accounts
from tests.ops.alert_receiver import alert_receiver, text_of
from tests.ops.services import BIN, PROJECT_ROOT, service_env
from tests.pipeline.conftest import LAST, assert_tables_equal

ROOT = Path(__file__).resolve().parents[2]
PROBE_TIMEOUT_SECONDS = 900
ACCOUNT_DIMENSIONS = {"account": "dynamic:tmeet_accounts", "date": "DailyPartitionsDefinition"}


def probe(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``partitions_probe ARGS`` in a child process with ``env`` (default: this process's), its JSON answer."""
    environ = dict(os.environ if env is None else env)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "tests.accounts.partitions_probe", *args], env=environ, cwd=ROOT,
                          capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def accounts_env(tmp_path: Path) -> dict[str, str]:
    """A deployment with two AK/SK accounts declared, no emulator needed."""
    path = tmp_path / "accounts.toml"
    path.write_text("".join(
        f'[[accounts]]\nid = "{name}"\nauth_mode = "aksk"\napp_id = "2100000{n}"\nsecret_id = "AKID{n}"\n'
        f'secret_key_env = "KEY_{n}"\noperator_id = "admin"\n\n'
        for n, name in enumerate(("acme", "beta"))
    ))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMEET_") and k != "DAGSTER_HOME"}
    return {**env, "TMEET_ACCOUNTS_FILE": str(path), "TMEET_DATA_DIR": str(tmp_path / "data"),
            "KEY_0": "secret-0", "KEY_1": "secret-1"}


def test_with_an_accounts_file_every_asset_is_partitioned_by_account(accounts_env: dict[str, str]) -> None:
    loaded = probe("definitions", env=accounts_env)
    daily = set(registry.tables(partitioned=True))
    assert daily, "the single-account code location has daily tables"
    for name, partitions in loaded["assets"].items():
        if name in daily or name.startswith("report_") or name in ("warehouse", "users", "user_departments", "roles"):
            # Run together with the daily tables (the daily job, `sync`), so partitioned like them.
            assert partitions == ACCOUNT_DIMENSIONS, name
        else:
            assert partitions == "dynamic:tmeet_accounts", name
    assert set(loaded["assets"]) >= daily | {"warehouse", "users", "upcoming_meetings"}
    assert loaded["jobs"]["daily_job"] == ACCOUNT_DIMENSIONS
    assert loaded["jobs"]["snapshot_job"] == "dynamic:tmeet_accounts"
    assert loaded["mapping_warehouse_meetings"] == "IdentityPartitionMapping"
    assert {"daily_schedule", "recordings_lookback_schedule", "snapshot_schedule"} <= set(loaded["schedules"])
    assert "account_partitions_sensor" in loaded["sensors"]


def test_a_run_spanning_two_accounts_fails_before_any_step_naming_the_fix(accounts_env: dict[str, str]) -> None:
    day = LAST.isoformat()
    ran = probe("spanning", f"acme|{day}", f"beta|{day}", env=accounts_env)
    assert not ran["success"] and ran["materialized"] == []
    assert any("a run covers one account" in f and "tmeet-etl sync --account" in f for f in ran["failures"]), ran
    assert ran["environment_restored"]


def test_the_sensors_add_account_partitions_and_work_per_account(accounts_env: dict[str, str]) -> None:
    with alert_receiver("wecom") as receiver:
        seen = probe("sensors", env={**accounts_env, "TMEET_ALERT_WEBHOOK_URL": receiver.url,
                                     "TMEET_ALERT_FORMAT": "wecom"})
        alerts = [text_of("wecom", body) for body in receiver.received]
    assert seen["added"] == ["acme", "beta"]
    assert seen["publish_before"] == []
    (publish,) = seen["publish_after_one_account_landed"]
    assert publish["partition_key"].startswith("acme|"), "only the account whose tables changed publishes"
    assert seen["publish_after_its_publish"] == []

    # Only acme's inbox has an event: a run of acme's date, a cursor per account, then nothing new.
    first, second = seen["inbox"]["first"], seen["inbox"]["second"]
    (rebuild,) = first["requests"]
    assert rebuild["tags"]["dagster/asset_partition_range_start"] == "acme|2026-06-16"
    assert rebuild["tags"]["dagster/asset_partition_range_end"] == "acme|2026-06-16"
    assert json.loads(first["cursor"]) == {"acme": 1}
    assert second["requests"] == [] and json.loads(second["cursor"]) == {"acme": 1}

    # Freshness per account and table; the alert names the stale account only.
    assert seen["freshness"]["meetings"] == {"acme/meetings": False, "beta/meetings": True}
    (alert,) = alerts
    assert "acme: meetings" in alert and "tmeet-etl sync --account acme" in alert and "beta" not in alert, alert


def test_a_run_names_its_one_account_by_its_partition_tags() -> None:
    assert account_of_tags({"dagster/partition": "acme|2026-06-16", "dagster/partition/account": "acme"}) == "acme"
    assert account_of_tags({"dagster/partition": "acme"}) == "acme"
    assert account_of_tags({"dagster/asset_partition_range_start": "acme|2026-06-01",
                            "dagster/asset_partition_range_end": "acme|2026-06-16"}) == "acme"
    assert account_of_tags({}) is None
    with pytest.raises(RunSpansAccounts, match="Launch the backfill per account"):
        account_of_tags({"dagster/asset_partition_range_start": "acme|2026-06-16",
                         "dagster/asset_partition_range_end": "beta|2026-06-16"})


@dg.op
def _step() -> None:
    pass


@dg.job
def _cli_job() -> None:
    _step()


def test_a_run_a_killed_command_created_but_never_started_is_failed() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    with dg.instance_for_test() as instance:
        tags = {**cli_run_tags("sync"), PID_TAG: dead.stdout.strip()}
        never_started = instance.create_run_for_job(_cli_job, tags=tags, status=DagsterRunStatus.NOT_STARTED)
        assert release_dead_cli_runs(instance) == [never_started.run_id]
        assert instance.get_run_by_id(never_started.run_id).status == DagsterRunStatus.FAILURE


@pytest.mark.timeout(1800)
def test_the_daily_schedule_asks_one_run_per_account_and_a_run_lands_only_its_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with two_accounts(tmp_path, monkeypatch) as world:
        # The tick of the day after LAST, 01:30 in the accounts' (default) time zone: yesterday is LAST.
        at = datetime.combine(LAST + timedelta(days=1), time(1, 30), tzinfo=ZoneInfo("Asia/Shanghai")).isoformat()
        ran = probe("schedule", at, AKSK_ID)

        keys = {r["partition_key"] for r in ran["requests"]}
        assert keys == {f"{AKSK_ID}|{LAST}", f"{OAUTH_ID}|{LAST}"}
        assert len({r["run_key"] for r in ran["requests"]}) == 2
        for request in ran["requests"]:
            assert "warehouse" in request["assets"] and "meetings" in request["assets"]
        # The look-back: one range run per account over that account's dates before yesterday.
        lookback = {r["tags"]["dagster/asset_partition_range_start"]: r["tags"]["dagster/asset_partition_range_end"]
                    for r in ran["lookback"]}
        first = LAST - timedelta(days=Settings().lookback_days)
        assert lookback == {f"{a}|{first}": f"{a}|{LAST - timedelta(days=1)}" for a in (AKSK_ID, OAUTH_ID)}
        assert sorted(r["partition_key"] for r in ran["snapshots"]) == [AKSK_ID, OAUTH_ID]
        # An account whose secret cannot be read is left out; the other still gets its run.
        assert [r["partition_key"] for r in ran["requests_without_north_secret"]] == [f"{OAUTH_ID}|{LAST}"]

        assert ran["success"], ran["failures"]
        assert ran["environment_restored"]
        assert ran["materialized"] == [f"{AKSK_ID}|{LAST}"]
        assert set(ran["account_ids"].values()) == {AKSK_ID} and "meetings" in ran["account_ids"]
        # The run landed the account's own day, in its own lake, and nothing in the other account's directory.
        env = world.account(AKSK_ID).environ()
        monkeypatch.setenv("TMEET_LAKE_URL", env["TMEET_LAKE_URL"])
        lake = Lake.from_data_dir(Path(env["TMEET_DATA_DIR"]))
        truth = world.truth(AKSK_ID)["meetings"]
        day = truth[truth[PARTITION_COLUMN["meetings"]] == LAST].reset_index(drop=True)
        assert len(day) > 0, "the emulator produced no meeting that day; the test proves nothing"
        assert_tables_equal("meetings", lake.read("meetings", start=LAST, end=LAST), day)
        assert not (world.account_dir(OAUTH_ID) / "lake").exists()


@pytest.mark.timeout(1800)
def test_a_daily_run_on_the_multiprocess_executor_runs_every_step_as_its_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the daemon launches it: the run in a process of its own, each step forked from the deployment's
    environment, so each step must take on its account's when its resources are set up."""
    with two_accounts(tmp_path, monkeypatch) as world:
        prepare_instance([AKSK_ID, OAUTH_ID])
        home = Path(os.environ.get("DAGSTER_HOME") or world.data_dir / "dagster_home")
        command = [str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions", "-j", "daily_job",
                   "-c", str(PROJECT_ROOT / "deploy" / "executors" / "multiprocess.yaml"),
                   "--tags", json.dumps({"dagster/partition": f"{AKSK_ID}|{LAST}"})]
        done = subprocess.run(command, env=service_env(home), cwd=tmp_path, capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_SECONDS, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert set(instance.get_materialized_partitions(dg.AssetKey("meetings"))) == {f"{AKSK_ID}|{LAST}"}
            assert set(instance.get_materialized_partitions(dg.AssetKey("warehouse"))) == {f"{AKSK_ID}|{LAST}"}
        env = world.account(AKSK_ID).environ()
        monkeypatch.setenv("TMEET_LAKE_URL", env["TMEET_LAKE_URL"])
        lake = Lake.from_data_dir(Path(env["TMEET_DATA_DIR"]))
        truth = world.truth(AKSK_ID)["participant_sessions"]
        day = truth[truth[PARTITION_COLUMN["participant_sessions"]] == LAST].reset_index(drop=True)
        assert len(day) > 0, "the emulator produced no session that day; the test proves nothing"
        assert_tables_equal("participant_sessions", lake.read("participant_sessions", start=LAST, end=LAST), day)
        assert (world.account_dir(AKSK_ID) / "warehouse.duckdb").is_file()
        # Nothing in the deployment's own data directory or the other account's.
        assert not (world.data_dir / "lake").exists() and not (world.account_dir(OAUTH_ID) / "lake").exists()
