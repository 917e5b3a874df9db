"""A command-line run killed mid-way is failed and its pool slots freed by the next command on the host."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus

from pipelines.instance import HOST_TAG, PID_TAG, cli_run_tags, release_dead_cli_runs


@dg.op
def step() -> None:
    pass


@dg.job
def cli_job() -> None:
    step()


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_killed_cli_run_is_failed_and_frees_its_slots() -> None:
    with dg.instance_for_test() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb", 1)
        dead_tags = {**cli_run_tags("sync"), PID_TAG: str(_dead_pid())}
        dead = instance.create_run_for_job(cli_job, tags=dead_tags, status=DagsterRunStatus.STARTED)
        alive_tags = {**cli_run_tags("sync"), PID_TAG: str(os.getppid())}
        alive = instance.create_run_for_job(cli_job, tags=alive_tags, status=DagsterRunStatus.STARTED)
        assert storage.claim_concurrency_slot("duckdb", dead.run_id, "warehouse").is_claimed
        other_host = instance.create_run_for_job(
            cli_job, tags={**dead_tags, HOST_TAG: "another-host"}, status=DagsterRunStatus.STARTED)

        assert release_dead_cli_runs(instance) == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
        assert storage.get_concurrency_info("duckdb").active_slot_count == 0
        for untouched in (alive, other_host):
            assert instance.get_run_by_id(untouched.run_id).status == DagsterRunStatus.STARTED
