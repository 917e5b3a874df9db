"""`tmeet-etl sync`: every asset for a date range, in one process, with progress and a summary."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assets._progress import NullProgress, install_progress
from assets._refusals import NOT_RUN
from assets import registry
from assets.partitions import MULTI_ACCOUNT, range_tags
from pipelines.definitions import ASSETS
from pipelines.jobs import SNAPSHOT
from pipelines.instance import cli_run_tags, dagster_home, deployment_instance
from pipelines.instance_sqlite import quick_instance_commits
from pipelines.recorded import materialize_as
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.lake import Lake
from resources.settings import ConfigError, Settings

# The CLI shows its own progress and summary; Dagster's per-event debug lines would drown it, and
# a failed step is reported once, as the product's own message (see ``StepError``), not as a trace.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
DEBUG_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
log = logging.getLogger(__name__)

SYNC_JOB_NAME = "tmeet_etl_sync"
SYNC_SELECTION = dg.AssetSelection.all() - SNAPSHOT


@dataclass(frozen=True)
class FailedCheck:
    """One asset check that did not pass: ``asset.check``, its severity and what it found."""

    name: str
    severity: str
    description: str

    @property
    def blocking(self) -> bool:
        return self.severity == dg.AssetCheckSeverity.ERROR.value


@dataclass(frozen=True)
class StepError:
    """A failed step's underlying error: the product's class name and message, and Dagster's full trace."""

    step: str
    cls_name: str
    message: str
    trace: str


@dataclass
class SyncSummary:
    """``success`` is False when a step failed or an ERROR-severity check did not pass."""

    start: date
    end: date
    success: bool
    data_dir: Path
    row_counts: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    skipped_assets: dict[str, str] = field(default_factory=dict)
    # Steps Dagster did not start because an upstream asset was skipped or refused.
    not_run_steps: list[str] = field(default_factory=list)
    check_failures: list[FailedCheck] = field(default_factory=list)
    errors: list[StepError] = field(default_factory=list)


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
    debug: bool = False,
) -> SyncSummary:
    """Materialize the pull assets for ``start``..``end`` (one run, one process) and publish."""
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    settings = Settings.from_env()
    account = sync_account_id(settings)
    tencent = TencentMeetingResource()
    plan = tencent.plan(registry.scope_needs())
    # With several accounts the snapshots are partitioned by account alone, and a run targets one
    # partitions definition: they get a run of their own after the dates'.
    together = include_snapshots and account is None
    selection = dg.AssetSelection.all() if together else SYNC_SELECTION
    # Assets the scopes do not allow stay out of the run, so the warehouse still publishes.
    selection = selection - dg.AssetSelection.assets(*plan.skipped)
    partitions = range_tags(account, start, end)
    with ExitStack() as stack:
        if instance is None:
            stack.enter_context(quick_instance_commits(dagster_home(settings.data_dir)))
        # The deployment's instance, so the UI shows the run and the pools and run limits hold.
        target = instance or stack.enter_context(deployment_instance(settings.data_dir))
        with live_progress(console):
            outcome = materialize_as(
                SYNC_JOB_NAME,
                ASSETS,
                selection=selection,
                resources={"tencent": tencent, "storage": StorageResource()},
                instance=target,
                run_config=DEBUG_RUN_CONFIG if debug else QUIET_RUN_CONFIG,
                tags={**partitions, **cli_run_tags("sync")},
            )
        summary = _summarize(outcome, start, end, settings.data_dir)
        if summary.skipped_assets and WAREHOUSE_STEP in summary.not_run_steps:
            # Assets the platform refused at run time held the warehouse back; publish what was read,
            # as a scope skip (decided before the run) would.
            _publish_after_refusals(summary, tencent, target, partitions)
        if include_snapshots and account is not None:
            _snapshot_account(summary, account, tencent, target, plan.skipped, debug)
    summary.skipped_assets = {**summary.skipped_assets, **plan.skipped}
    return summary


WAREHOUSE_STEP = "warehouse"


def sync_account_id(settings: Settings) -> str | None:
    """The account this sync runs for, with several accounts (a child of `tmeet-etl sync`); else None."""
    if not MULTI_ACCOUNT:
        return None
    if not settings.account_id:
        raise ConfigError(
            "TMEET_ACCOUNTS_FILE declares several accounts, but this sync names none (TMEET_ACCOUNT_ID); "
            "run `tmeet-etl sync` (every account) or `tmeet-etl sync --account ID`"
        )
    return settings.account_id


def _snapshot_account(
    summary: SyncSummary, account: str, tencent: TencentMeetingResource, instance: dg.DagsterInstance,
    skipped: Mapping[str, str], debug: bool,
) -> None:
    outcome = materialize_as(
        SYNC_JOB_NAME,
        ASSETS,
        selection=SNAPSHOT - dg.AssetSelection.assets(*skipped),
        resources={"tencent": tencent, "storage": StorageResource()},
        instance=instance,
        run_config=DEBUG_RUN_CONFIG if debug else QUIET_RUN_CONFIG,
        tags={"dagster/partition": account, **cli_run_tags("sync")},
    )
    snapshots = _summarize(outcome, summary.start, summary.end, summary.data_dir)
    summary.success = summary.success and snapshots.success
    summary.api_calls += snapshots.api_calls
    summary.failures += snapshots.failures
    summary.errors += snapshots.errors
    summary.failed_checks += snapshots.failed_checks
    summary.check_failures += snapshots.check_failures


def _publish_after_refusals(
    summary: SyncSummary, tencent: TencentMeetingResource, instance: dg.DagsterInstance,
    partitions: Mapping[str, str],
) -> None:
    outcome = materialize_as(
        SYNC_JOB_NAME,
        ASSETS,
        selection=dg.AssetSelection.assets(WAREHOUSE_STEP).downstream(),
        resources={"tencent": tencent, "storage": StorageResource()},
        instance=instance,
        run_config=QUIET_RUN_CONFIG,
        # With several accounts the warehouse is partitioned like the dates it publishes.
        tags={**(partitions if MULTI_ACCOUNT else {}), **cli_run_tags("sync")},
    )
    published = _summarize(outcome, summary.start, summary.end, summary.data_dir)
    summary.success = summary.success and published.success
    summary.row_counts = published.row_counts or summary.row_counts
    summary.failures += published.failures
    summary.failed_checks += published.failed_checks
    summary.not_run_steps = [step for step in summary.not_run_steps if step != WAREHOUSE_STEP]


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
    for event in outcome.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            summary.failures.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
            summary.errors.append(step_error(str(event.step_key), error))
        evaluation = event.event_specific_data
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not getattr(evaluation, "passed", True):
            reason = refused_reason(evaluation.description or "")
            if reason:
                # An asset the platform refused at run time: reported like a scope skip.
                summary.skipped_assets.setdefault(evaluation.asset_key.to_user_string(), reason)
                calls = evaluation.metadata.get("api_calls")
                if calls is not None and event.step_key is not None:
                    calls_by_step.setdefault(event.step_key, int(calls.value))  # type: ignore[arg-type]
            else:
                name = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
                severity = getattr(evaluation, "severity", dg.AssetCheckSeverity.ERROR)
                summary.failed_checks.append(name)
                summary.check_failures.append(
                    FailedCheck(name, severity.value, (getattr(evaluation, "description", None) or "").strip())
                )
        if event.event_type_value == "STEP_SKIPPED" and event.step_key is not None:
            summary.not_run_steps.append(event.step_key)
    summary.api_calls = sum(calls_by_step.values())
    # A failed ERROR check means the data is wrong: the run must not read as a success.
    if any(failure.blocking for failure in summary.check_failures):
        summary.success = False
    return summary


def refused_reason(check_description: str) -> str:
    """The reason in a "not run: ..." check result, else empty."""
    return check_description[len(NOT_RUN):] if check_description.startswith(NOT_RUN) else ""
def step_error(step: str, error: Any) -> StepError:
    """The error a person should read: the innermost non-Dagster cause of a step's failure."""
    if error is None:
        return StepError(step, "Failure", "the step failed without an error", "")
    chain = []
    current = error
    while current is not None and len(chain) < 20:
        chain.append(current)
        current = current.cause or current.context
    from pipelines.cli_errors import product_error_names

    product = product_error_names()
    ours = [e for e in chain if str(e.cls_name) in product]
    others = [e for e in chain if not str(e.cls_name).startswith(("Dagster", "RetryRequested"))]
    chosen = (ours or others or chain)[0]
    return StepError(step, str(chosen.cls_name), str(chosen.message), error.to_string())


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
    for step in summary.not_run_steps:
        console.print(f"[yellow]not run[/yellow] {step}: an asset it depends on was skipped")
    for failure in summary.failures:
        console.print(f"[red]failed[/red] {failure}")
    for check in summary.check_failures:
        style = "red" if check.blocking else "yellow"
        console.print(
            f"[{style}]check failed ({check.severity})[/{style}] {escape(check.name)}: "
            f"{escape(check.description or 'no description')}",
            highlight=False, soft_wrap=True,
        )
    lake = Lake.from_data_dir(summary.data_dir).location
    console.print(f"Lake: {lake}   Warehouse: {summary.data_dir / 'warehouse.duckdb'}")


def default_range(settings: Settings, days: int) -> tuple[date, date]:
    yesterday = datetime.now(ZoneInfo(settings.timezone)).date() - timedelta(days=1)
    return yesterday - timedelta(days=days - 1), yesterday
