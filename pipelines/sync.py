"""`tmeet-etl sync`: every asset for a date range, in one process, with progress and a summary."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assets._progress import NullProgress, install_progress
from pipelines.definitions import ASSETS
from pipelines.instance import cli_run_tags, deployment_instance
from pipelines.recorded import materialize_as
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.settings import ConfigError, Settings

# The CLI shows its own progress and summary; Dagster's per-event debug lines would drown it.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
log = logging.getLogger(__name__)

SYNC_JOB_NAME = "tmeet_etl_sync"
SYNC_SELECTION = dg.AssetSelection.all() - dg.AssetSelection.assets("upcoming_meetings", "live_meetings")


@dataclass
class SyncSummary:
    start: date
    end: date
    success: bool
    data_dir: Path
    row_counts: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    skipped_assets: dict[str, str] = field(default_factory=dict)


class RichProgress:
    """A live progress display for the assets' fan-out loops."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def begin(self, label: str, total: int | None = None) -> None:
        self._tasks[label] = self._progress.add_task(label, total=total)

    def advance(self, label: str, amount: int = 1) -> None:
        task = self._tasks.get(label)
        if task is not None:
            self._progress.advance(task, amount)

    def end(self, label: str) -> None:
        task = self._tasks.pop(label, None)
        if task is not None:
            self._progress.remove_task(task)


@contextmanager
def live_progress(console: Console | None) -> Iterator[None]:
    """Show fan-out progress on ``console`` for the duration; silent when there is none."""
    if console is None or not console.is_terminal:
        previous = install_progress(NullProgress())
        try:
            yield
        finally:
            install_progress(previous)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        previous = install_progress(RichProgress(progress))
        try:
            yield
        finally:
            install_progress(previous)


def run_sync(
    start: date,
    end: date,
    *,
    include_snapshots: bool = False,
    instance: dg.DagsterInstance | None = None,
    console: Console | None = None,
) -> SyncSummary:
    """Materialize the pull assets for ``start``..``end`` (one run, one process) and publish."""
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    settings = Settings.from_env()
    tencent = TencentMeetingResource()
    plan = tencent.plan()
    selection = dg.AssetSelection.all() if include_snapshots else SYNC_SELECTION
    # Assets the scopes do not allow stay out of the run, so the warehouse still publishes.
    selection = selection - dg.AssetSelection.assets(*plan.skipped)
    with ExitStack() as stack:
        # The deployment's instance, so the UI shows the run and the pools and run limits hold.
        target = instance or stack.enter_context(deployment_instance(settings.data_dir))
        with live_progress(console):
            outcome = materialize_as(
                SYNC_JOB_NAME,
                ASSETS,
                selection=selection,
                resources={"tencent": tencent, "storage": StorageResource()},
                instance=target,
                run_config=QUIET_RUN_CONFIG,
                tags={
                    "dagster/asset_partition_range_start": start.isoformat(),
                    "dagster/asset_partition_range_end": end.isoformat(),
                    **cli_run_tags("sync"),
                },
            )
    summary = _summarize(outcome, start, end, settings.data_dir)
    summary.skipped_assets = dict(plan.skipped)
    return summary


def _summarize(outcome: dg.ExecuteInProcessResult, start: date, end: date, data_dir: Path) -> SyncSummary:
    summary = SyncSummary(start, end, outcome.success, data_dir)
    # A range run repeats a step's metadata on every partition it materializes: count each step once.
    calls_by_step: dict[str, int] = {}
    for event in outcome.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        name = materialization.asset_key.to_user_string()
        metadata = materialization.metadata
        if "row_counts" in metadata and name == "warehouse":
            summary.row_counts = {k: int(v) for k, v in metadata["row_counts"].value.items()}  # type: ignore[union-attr]
        calls = metadata.get("api_calls")
        if calls is not None and event.step_key is not None:
            calls_by_step[event.step_key] = int(calls.value)  # type: ignore[arg-type]
    summary.api_calls = sum(calls_by_step.values())
    for event in outcome.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            summary.failures.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
        evaluation = event.event_specific_data
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not getattr(evaluation, "passed", True):
            summary.failed_checks.append(f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}")
    return summary


def print_summary(summary: SyncSummary, console: Console) -> None:
    state = "[green]succeeded[/green]" if summary.success else "[red]failed[/red]"
    console.print(f"Sync {summary.start} .. {summary.end} {state}; {summary.api_calls} API calls.")
    if summary.row_counts:
        table = Table(title="Warehouse tables", show_edge=False)
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, rows in sorted(summary.row_counts.items()):
            table.add_row(name, f"{rows:,}")
        console.print(table)
    for asset, reason in sorted(summary.skipped_assets.items()):
        console.print(f"[yellow]skipped[/yellow] {asset}: {reason}")
    for failure in summary.failures:
        console.print(f"[red]failed[/red] {failure}")
    for name in summary.failed_checks:
        console.print(f"[yellow]check failed[/yellow] {name}")
    console.print(f"Lake: {summary.data_dir / 'lake'}   Warehouse: {summary.data_dir / 'warehouse.duckdb'}")


def default_range(settings: Settings, days: int) -> tuple[date, date]:
    yesterday = datetime.now(ZoneInfo(settings.timezone)).date() - timedelta(days=1)
    return yesterday - timedelta(days=days - 1), yesterday
