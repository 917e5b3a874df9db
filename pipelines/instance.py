"""The deployment's one Dagster instance: where every run — CLI, schedule, sensor, UI — is recorded.

``DAGSTER_HOME`` when it is set, else ``$TMEET_DATA_DIR/dagster_home``. A new home gets the
project's ``dagster.yaml`` (pools, run limits, retries); an existing one is never overwritten, so
an operator's Postgres configuration stays as it is.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from resources.file_modes import make_dirs, restrict, restricted_umask
from resources.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Shipped inside the package, so an installed wheel has it too; the repository's root
# dagster.yaml is kept equal to it (a test checks) for `dagster dev` run from the checkout.
INSTANCE_CONFIG = Path(__file__).resolve().parent / "dagster.yaml"
HOME_DIR_NAME = "dagster_home"
# Tags on runs started from the command line: how a later command tells a killed run from a live one.
HOST_TAG = "tmeet/host"
PID_TAG = "tmeet/pid"
LAUNCHED_BY_TAG = "tmeet/launched_by"
ACCOUNT_TAG = "tmeet/account"


def dagster_home(data_dir: Path | None = None) -> Path:
    """The instance directory: ``DAGSTER_HOME``, else ``dagster_home`` under the data directory."""
    explicit = os.environ.get("DAGSTER_HOME", "").strip()
    if explicit:
        return Path(explicit).expanduser().resolve()
    return ((data_dir or Settings.from_env().data_dir) / HOME_DIR_NAME).resolve()


def prepare_home(home: Path, *, replace_config: bool = False) -> Path:
    """Create ``home`` with the project's instance configuration unless it already has one."""
    make_dirs(home)
    target = home / "dagster.yaml"
    if replace_config or not target.exists():
        shutil.copyfile(INSTANCE_CONFIG, target)
        restrict(target)
    return home


@contextmanager
def deployment_instance(data_dir: Path | None = None) -> Iterator[dg.DagsterInstance]:
    """The deployment's persistent instance, with runs killed mid-way by a signal marked failed."""
    home = prepare_home(dagster_home(data_dir))
    # Run records and event logs hold previews of the data: as private as the lake itself.
    with restricted_umask(), dg.DagsterInstance.from_config(str(home)) as instance:
        release_dead_cli_runs(instance)
        yield instance


def cli_run_tags(command: str) -> dict[str, str]:
    tags = {LAUNCHED_BY_TAG: command, HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    # Each account of a multi-account deployment runs under its own environment; the UI filters by this tag.
    account = os.environ.get(Settings.env_name("account_id"), "").strip()
    return {**tags, ACCOUNT_TAG: account} if account else tags


def add_account_partitions(instance: dg.DagsterInstance, account_ids: list[str]) -> list[str]:
    """Add the accounts the instance's ``tmeet_accounts`` partitions lack; returns those added."""
    from assets.partitions import ACCOUNT_PARTITIONS_NAME

    known = set(instance.get_dynamic_partitions(ACCOUNT_PARTITIONS_NAME))
    missing = [account for account in account_ids if account not in known]
    if missing:
        instance.add_dynamic_partitions(ACCOUNT_PARTITIONS_NAME, missing)
    return missing


def release_dead_cli_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail this host's CLI runs whose process is gone and free their pool slots.

    A command-line run executes in its own process; killed, it can neither end its run nor
    return the ``tencent_api``/``duckdb`` slots it holds, and with a pool limit of 1 every later
    run would wait on them for ever. No daemon watches these runs, so the next command does.
    A run the killed command had created but not yet started (``NOT_STARTED``, e.g. waiting for
    room under the run limits) is failed too: nothing else would ever start or end it.
    """
    running = instance.get_runs(
        RunsFilter(
            statuses=[DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED],
            tags={HOST_TAG: socket.gethostname()},
        )
    )
    released = []
    for run in running:
        pid = run.tags.get(PID_TAG, "")
        # Our own pid on an unfinished run can only be a dead process's, reused.
        if not pid.isdigit() or (int(pid) != os.getpid() and _alive(int(pid))):
            continue
        # Slots first: a command killed between the two steps leaves the run in progress, and the
        # next command repeats both.
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        instance.report_run_failed(run, f"process {pid} ended without finishing the run (killed or crashed)")
        released.append(run.run_id)
    free_slots_of_finished_runs(instance)
    return released


def free_slots_of_finished_runs(instance: dg.DagsterInstance) -> list[str]:
    """Free pool slots still claimed (or waited for) by runs that have ended.

    A run failed by an older release, killed after failing the run but before freeing its
    slots, would otherwise keep them for ever, and every later run would wait on them.
    """
    storage = instance.event_log_storage
    holders: set[str] = set()
    for pool in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(pool)
        holders.update(slot.run_id for slot in info.claimed_slots)
        holders.update(step.run_id for step in info.pending_steps)
    freed = []
    for run_id in sorted(holders):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
