"""Command-line runs keep to the instance's run limit: a second run waits, says for whom, then runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from emulator.testing import EmulatorHandle
from pipelines.instance import cli_run_tags
from pipelines.cli_errors import CommandFailed
from pipelines.run_queue import blocked_by, run_within_limits, start_lock
from pipelines.run_queue_lock import AdvisoryLock
from tests.ops.postgres import postgres_server
from tests.ops.services import PROJECT_ROOT
from tests.pipeline.conftest import LAST

# Each process records one run; "hold" keeps its run going until the test drops a file.
SCRIPT = """
import sys, time
from pathlib import Path
from pipelines.recorded import run_recorded
name, workdir = sys.argv[1], Path(sys.argv[2])
def work():
    (workdir / f"{name}.started").touch()
    deadline = time.monotonic() + 300
    while name == "hold" and not (workdir / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    return name
run_recorded(name, work, lambda _: [])
"""


def _wait_for(condition, seconds: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_second_cli_run_waits_for_the_run_limit_then_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nconcurrency:\n  runs:\n    max_concurrent_runs: 1\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "TMEET_DATA_DIR": str(tmp_path / "data"),
           "PYTHONPATH": str(PROJECT_ROOT), "TMEET_RUN_QUEUE_TIMEOUT_SECONDS": "600"}

    def start(name: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", SCRIPT, name, str(tmp_path)], env=env, cwd=tmp_path,
                                stderr=open(tmp_path / f"{name}.err", "w"), text=True)

    holder = start("hold")
    _wait_for(lambda: (tmp_path / "hold.started").exists())
    waiters = [start("second"), start("third")]
    # Both say they wait, and for which run, while the first holds the only place.
    _wait_for(lambda: all("waiting for room in the run queue" in (tmp_path / f"{n}.err").read_text()
                          for n in ("second", "third")))
    for name in ("second", "third"):
        said = (tmp_path / f"{name}.err").read_text()
        assert "max_concurrent_runs is 1" in said and "tmeet_etl_hold" in said and f"pid {holder.pid}" in said
        assert not (tmp_path / f"{name}.started").exists()
    (tmp_path / "release").touch()
    for process in (holder, *waiters):
        assert process.wait(timeout=300) == 0, (tmp_path / "second.err").read_text()

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.SUCCESS]))
        spans = sorted((r.start_time, r.end_time, r.dagster_run.job_name) for r in records)
    assert [job for *_, job in spans][0] == "tmeet_etl_hold" and len(spans) == 3
    # One at a time: the two that waited never overlapped each other or the first.
    for (_, end, _), (begin, _, _) in zip(spans, spans[1:], strict=False):
        assert end is not None and begin is not None and begin >= end - 0.05, spans


@pytest.mark.timeout(900)
def test_tmeet_etl_sync_waits_for_a_run_holding_the_limit(
    pipeline_env: tuple[EmulatorHandle, Path], tmp_path: Path
) -> None:
    _, data_dir = pipeline_env
    home = data_dir / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nconcurrency:\n  runs:\n    max_concurrent_runs: 1\n")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TMEET_STEP_RETRIES": "0"}
    env.pop("DAGSTER_HOME", None)
    holder = subprocess.Popen([sys.executable, "-c", SCRIPT, "hold", str(tmp_path)], env=env, cwd=tmp_path,
                              stderr=open(tmp_path / "hold.err", "w"), text=True)
    _wait_for(lambda: (tmp_path / "hold.started").exists())
    sync = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "sync", "--start", str(LAST), "--end", str(LAST)],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "sync.err", "w"))
    _wait_for(lambda: "waiting for room in the run queue" in (tmp_path / "sync.err").read_text())
    assert "tmeet_etl_hold" in (tmp_path / "sync.err").read_text()
    assert sync.poll() is None
    (tmp_path / "release").touch()
    assert holder.wait(timeout=300) == 0, (tmp_path / "hold.err").read_text()
    assert sync.wait(timeout=600) == 0, (tmp_path / "sync.err").read_text()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (held,) = instance.get_run_records(RunsFilter(job_name="tmeet_etl_hold"))
        (synced,) = instance.get_run_records(RunsFilter(job_name="tmeet_etl_sync"))
    assert synced.dagster_run.status == DagsterRunStatus.SUCCESS
    assert held.end_time is not None and synced.start_time is not None and synced.start_time >= held.end_time - 0.05


def test_a_run_that_cannot_get_room_fails_naming_the_setting(tmp_path: Path) -> None:
    from pipelines.cli_errors import CommandFailed

    (tmp_path / "dagster.yaml").write_text("concurrency:\n  runs:\n    max_concurrent_runs: 2\n    "
                                           "tag_concurrency_limits:\n      - key: dagster/backfill\n        limit: 1\n")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:

        @dg.op
        def step() -> None:
            pass

        @dg.job
        def busy() -> None:
            step()

        held = instance.create_run_for_job(busy, tags={"dagster/backfill": "b1"}, status=DagsterRunStatus.STARTED)
        # The tag limit holds back only runs carrying that tag; the run limit is not reached.
        assert blocked_by(instance, cli_run_tags("sync")) is None
        blocked = blocked_by(instance, {"dagster/backfill": "b2"})
        assert blocked is not None and [r.run_id for r in blocked.runs] == [held.run_id]
        with pytest.raises(CommandFailed, match="TMEET_RUN_QUEUE_TIMEOUT_SECONDS"):
            run_within_limits(instance, {"dagster/backfill": "b2"}, lambda run_id: run_id, timeout=0.5,
                              say=lambda _line: None)


def test_without_a_run_queue_nothing_waits(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text("run_coordinator:\n  module: dagster._core.run_coordinator\n"
                                           "  class: DefaultRunCoordinator\n")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:

        @dg.op
        def step() -> None:
            pass

        @dg.job
        def busy() -> None:
            step()

        for _ in range(12):  # more than Dagster's default queue limit of 10
            instance.create_run_for_job(busy, status=DagsterRunStatus.STARTED)
        assert blocked_by(instance, cli_run_tags("sync")) is None


HOST_CONFIG = """
telemetry:
  enabled: false
storage:
  postgres:
    postgres_url: {url}
concurrency:
  runs:
    max_concurrent_runs: 1
"""
HOLD_LOCK = """
import sys, time
import dagster as dg
from pipelines.run_queue import start_lock
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    lock = start_lock(instance)
    lock.acquire(timeout=60)
    print("held", flush=True)
    time.sleep(300)
"""


@pytest.mark.timeout(600)
def test_commands_on_two_hosts_take_turns_through_the_postgres_instance(tmp_path: Path) -> None:
    with postgres_server() as url:
        # Two hosts: one instance in Postgres, each host with a home (and a file lock) of its own.
        homes = [tmp_path / "host-a", tmp_path / "host-b"]
        for home in homes:
            home.mkdir()
            (home / "dagster.yaml").write_text(HOST_CONFIG.format(url=url))
        with dg.DagsterInstance.from_config(str(homes[0])) as host_a, \
                dg.DagsterInstance.from_config(str(homes[1])) as host_b:
            held = start_lock(host_a)
            assert isinstance(held, AdvisoryLock)
            held.acquire(timeout=30)
            # Host A is between its check and its run's start: host B's command waits for it.
            with pytest.raises(CommandFailed, match="another tmeet-etl command of this instance"):
                run_within_limits(host_b, {}, lambda run_id: run_id, timeout=1.0, say=lambda _: None)
            held.release()
            assert run_within_limits(host_b, {}, lambda run_id: "started", timeout=60) == "started"

            # A command killed while holding the lock frees it with its connection.
            env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
            holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(homes[0])], env=env,
                                      stdout=subprocess.PIPE, text=True)
            try:
                assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
                with pytest.raises(CommandFailed):
                    run_within_limits(host_b, {}, lambda run_id: run_id, timeout=1.0, say=lambda _: None)
            finally:
                holder.kill()
                holder.wait(60)
            assert run_within_limits(host_b, {}, lambda run_id: "started", timeout=60) == "started"
