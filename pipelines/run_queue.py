"""The instance's run limits for runs started from the command line.

The daemon's run queue holds back the runs it launches at ``max_concurrent_runs`` and the tag
limits of ``dagster.yaml``; a command-line run executes in its own process and never passes
through that queue, so it waits here instead, until the instance has room for it.

Check-and-start is made safe across processes by a lock: a process holds it from its check until
its run is recorded as started, so the next process's check counts that run. On a SQLite instance
the lock is a file in the instance's home; on a Postgres instance, shared by several hosts that
each have a home of their own, it is a PostgreSQL advisory lock in the instance's database, so
commands on every host take turns. (The daemon's own queue does not take it: a command and the
daemon starting in the same instant can still exceed the limit by the runs that raced.)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import ACTIVE_RUN_STATUSES, DagsterRun, RunsFilter
from dagster._core.utils import make_new_run_id
from dagster._utils.tags import TagConcurrencyLimitsCounter
from filelock import FileLock, Timeout

from pipelines.cli_errors import CommandFailed
from pipelines.instance import HOST_TAG, LAUNCHED_BY_TAG, PID_TAG, release_dead_cli_runs
from resources.file_modes import current_modes
from resources.settings import ConfigError, Settings

if TYPE_CHECKING:
    from pipelines.run_queue_lock import AdvisoryLock

T = TypeVar("T")

POLL_SECONDS = 2.0
LOCK_FILE = "tmeet_run_queue.lock"
# The events after which the run counts as in progress (or is over) in the run storage.
_STARTED_EVENTS = {
    DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE,
    DagsterEventType.RUN_CANCELED,
}


@dataclass(frozen=True)
class Blocked:
    """Why a run may not start now: the limit reached and the runs that hold it."""

    limit: str
    runs: Sequence[DagsterRun]


@dataclass(frozen=True)
class _Tagged:
    # Dagster's tag-limit counter only reads ``tags``; a run not created yet is its tags.
    tags: Mapping[str, str]


def queue_timeout(env: Mapping[str, str] | None = None) -> float:
    """``TMEET_RUN_QUEUE_TIMEOUT_SECONDS``: how long a command waits for room (0: do not wait)."""
    try:
        return float(Settings.from_env(env).run_queue_timeout_seconds)
    except ConfigError as exc:
        raise CommandFailed([str(exc)], exit_code=2) from None


def blocked_by(instance: dg.DagsterInstance, tags: Mapping[str, str]) -> Blocked | None:
    """The limit a new run with ``tags`` would exceed now, or None when it may start."""
    # Without a queued run coordinator Dagster launches every run at once: there is no limit to keep.
    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        return None
    config = instance.get_concurrency_config().run_queue_config
    if config is None:
        return None
    active = list(instance.get_runs(RunsFilter(statuses=ACTIVE_RUN_STATUSES)))
    # Dagster's own convention: a negative max_concurrent_runs means no limit.
    if 0 <= config.max_concurrent_runs <= len(active):
        return Blocked(f"max_concurrent_runs is {config.max_concurrent_runs}", active)
    limits = list(config.tag_concurrency_limits or [])
    if limits and TagConcurrencyLimitsCounter(limits, active).is_blocked(_Tagged(tags)):  # type: ignore[arg-type]
        keys = {limit["key"] for limit in limits} & set(tags)
        holders = [run for run in active if keys & set(run.tags)]
        described = ", ".join(f"{limit['key']}: {limit['limit']}" for limit in limits if limit["key"] in keys)
        return Blocked(f"the tag limit ({described})", holders)
    return None


def start_lock(instance: dg.DagsterInstance) -> AdvisoryLock | FileLock:
    """The lock that orders check-and-start: in the instance's Postgres database, else a file in its home."""
    postgres_url = getattr(instance.run_storage, "postgres_url", None)
    if isinstance(postgres_url, str) and postgres_url:
        # Only a Postgres instance has psycopg2 (dagster-postgres brings it).
        from pipelines.run_queue_lock import AdvisoryLock

        return AdvisoryLock(postgres_url)
    return FileLock(Path(instance.root_directory) / LOCK_FILE, thread_local=False, mode=current_modes().file)


def describe(run: DagsterRun) -> str:
    who = run.tags.get(LAUNCHED_BY_TAG)
    where = f"`tmeet-etl {who}`, pid {run.tags.get(PID_TAG, '?')} on {run.tags.get(HOST_TAG, '?')}" if who else (
        "launched by Dagster")
    return f"{run.run_id[:8]} {run.job_name} ({where})"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_within_limits(
    instance: dg.DagsterInstance,
    tags: Mapping[str, str],
    start: Callable[[str], T],
    *,
    timeout: float | None = None,
    say: Callable[[str], None] = _say,
) -> T:
    """Wait until the instance's run limits leave room, then ``start(run_id)`` with that run id.

    ``start`` must record the run under ``run_id`` (``execute_in_process(run_id=...)``): the lock
    is released when that run's start reaches the run storage, or when ``start`` returns.
    """
    wait = queue_timeout() if timeout is None else timeout
    deadline = time.monotonic() + wait
    lock = start_lock(instance)
    last: tuple[str, ...] = ()
    while True:
        try:
            lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        except Timeout:
            raise _timed_out(wait, None) from None
        blocked = blocked_by(instance, tags)
        if blocked is None:
            break
        lock.release()
        if time.monotonic() >= deadline:
            raise _timed_out(wait, blocked)
        shown = tuple(describe(run) for run in blocked.runs)
        if shown != last:
            say(f"waiting for room in the run queue ({blocked.limit}; {len(blocked.runs)} in progress): "
                + "; ".join(shown))
            last = shown
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        # A holder killed while we wait would otherwise hold its place for ever.
        release_dead_cli_runs(instance)

    run_id = make_new_run_id()

    def on_event(event: dg.EventLogEntry) -> None:
        if lock.is_locked and event.dagster_event_type in _STARTED_EVENTS:
            lock.release()

    instance.add_event_listener(run_id, on_event)
    try:
        return start(run_id)
    finally:
        if lock.is_locked:
            lock.release()


def _timed_out(waited: float, blocked: Blocked | None) -> CommandFailed:
    held = (f"{blocked.limit}, held by " + "; ".join(describe(run) for run in blocked.runs)) if blocked else (
        "another tmeet-etl command of this instance is starting its run")
    return CommandFailed([
        f"no room in the run queue after {waited:g}s: {held}",
        "wait for those runs to finish (or terminate them in the Dagster UI), or raise "
        "TMEET_RUN_QUEUE_TIMEOUT_SECONDS; the limits are the run_coordinator/concurrency settings of dagster.yaml",
    ])
