"""Alerts: a failed run, and a daily table whose latest partition is older than the schedule allows.

Both go to ``TMEET_ALERT_WEBHOOK_URL`` (WeCom, Feishu/Lark or Slack). Staleness is also a failed
``partition_fresh`` check on the table, visible in the UI beside its other checks. With several
accounts, freshness is judged per account and table, each account's due date in its own time
zone, and an alert names the account.
"""

# No `from __future__ import annotations`: Dagster reads the context annotations at definition time.

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import AssetCheckExecutionContext, RunFailureSensorContext, SensorEvaluationContext

from assets import registry
from assets.partitions import DAILY_RUN_AT, MULTI_ACCOUNT, account_timezone, split_key
from resources.account_scope import account_environs
from resources.alerts import AlertSettings, send_alert
from resources.settings import DefinitionSettings, Settings

# The daily pull's tables (those that carry a freshness policy); each is expected up to yesterday
# once the daily run has had its time.
FRESH_TABLES: tuple[str, ...] = tuple(
    registry.name(spec) for spec in registry.table_specs() if spec.freshness_policy is not None
)
FRESH_CHECK = "partition_fresh"
FRESHNESS_INTERVAL_SECONDS = 300


def grace() -> timedelta:
    """How long after the daily schedule's start yesterday's partition may still be missing."""
    return timedelta(hours=DefinitionSettings.from_env().freshness_grace_hours)


def expected_day(now: datetime, tz: str) -> date:
    """The newest business date that must be in the lake at ``now``: yesterday, once the daily run is due."""
    local = now.astimezone(ZoneInfo(tz))
    return (local - DAILY_RUN_AT - grace()).date() - timedelta(days=1)


def latest_partitions_by_account(
    instance: dg.DagsterInstance, tables: Iterable[str]
) -> dict[str | None, dict[str, date]]:
    """Account (None with one account) → each table's newest materialized business date; a table
    never materialized for an account is left out."""
    latest: dict[str | None, dict[str, date]] = {}
    for table in tables:
        for key in instance.get_materialized_partitions(dg.AssetKey(table)):
            account, day = split_key(key)
            newest = latest.setdefault(account, {})
            newest[table] = max(newest.get(table, date.min), date.fromisoformat(day))
    return latest


def latest_partitions(instance: dg.DagsterInstance, tables: Iterable[str]) -> dict[str, date | None]:
    """Each table's newest materialized business date (None when it was never materialized), over every account."""
    tables = list(tables)
    by_account = latest_partitions_by_account(instance, tables)
    return {t: max((newest[t] for newest in by_account.values() if t in newest), default=None) for t in tables}


def freshness(instance: dg.DagsterInstance, now: datetime, tz: str) -> tuple[date, dict[str, date | None]]:
    """The expected date, and each watched table's newest date. A table never materialized is not
    watched: its scope may be missing, or the deployment has not run yet."""
    due = expected_day(now, tz)
    return due, {t: d for t, d in latest_partitions(instance, FRESH_TABLES).items() if d is not None}


def freshness_by_account(instance: dg.DagsterInstance, now: datetime) -> dict[str, tuple[date, dict[str, date]]]:
    """Account → its due date (in its own time zone) and its watched tables' newest dates."""
    found = account_environs()
    latest = latest_partitions_by_account(instance, FRESH_TABLES)
    judged: dict[str, tuple[date, dict[str, date]]] = {}
    for account, environ in found.environs.items():
        if account in latest:
            judged[account] = (expected_day(now, Settings.from_env(environ).timezone), latest[account])
    return judged


def describe(table: str, latest: date, due: date, account: str | None = None) -> str:
    label = f"{account}: {table}" if account else table
    fix = f"tmeet-etl sync {f'--account {account} ' if account else ''}--start {latest + timedelta(days=1)} --end {due}"
    if latest >= due:
        return f"{label}: newest partition {latest}, due {due}"
    return (f"{label}: newest partition {latest}, but {due} was due by now; check the daily_job runs, "
            f"or fill the gap with `{fix}`")


def check_result(table: str, latest: date, due: date) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=table, check_name=FRESH_CHECK, passed=latest >= due, severity=dg.AssetCheckSeverity.ERROR,
        description=describe(table, latest, due),
        metadata={"newest_partition": latest.isoformat(), "due_partition": due.isoformat()},
    )


def accounts_check_result(table: str, judged: Mapping[str, tuple[date, Mapping[str, date]]]) -> dg.AssetCheckResult:
    """One table's check over every account that has it: passes when each account's newest date is due."""
    seen = {account: (due, latest[table]) for account, (due, latest) in sorted(judged.items()) if table in latest}
    stale = {account: pair for account, pair in seen.items() if pair[1] < pair[0]}
    lines = [describe(table, newest, due, account) for account, (due, newest) in (stale or seen).items()]
    return dg.AssetCheckResult(
        asset_key=table, check_name=FRESH_CHECK, passed=not stale, severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(lines),
        metadata={"stale_accounts": sorted(stale), "newest_partition_by_account":
                  {account: newest.isoformat() for account, (_due, newest) in seen.items()}},
    )


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(FRESH_CHECK, asset=table, description="The newest partition is no older than the "
                             "daily schedule allows (yesterday, from 01:30 plus TMEET_FRESHNESS_GRACE_HOURS).")
           for table in FRESH_TABLES],
    can_subset=True,
    name="partition_freshness",
)
def partition_freshness(context: AssetCheckExecutionContext) -> Iterable[dg.AssetCheckResult]:
    if MULTI_ACCOUNT:
        judged = freshness_by_account(context.instance, datetime.now(ZoneInfo("UTC")))
        for key in context.selected_asset_check_keys:
            table = key.asset_key.to_user_string()
            if not any(table in latest for _due, latest in judged.values()):
                yield dg.AssetCheckResult(asset_key=table, check_name=FRESH_CHECK, passed=True,
                                          severity=dg.AssetCheckSeverity.WARN,
                                          description=f"{table} was never materialized for any account")
            else:
                yield accounts_check_result(table, judged)
        return
    due, latest = freshness(context.instance, datetime.now(ZoneInfo("UTC")), account_timezone())
    for key in context.selected_asset_check_keys:
        table = key.asset_key.to_user_string()
        newest = latest.get(table)
        if newest is None:
            yield dg.AssetCheckResult(asset_key=table, check_name=FRESH_CHECK, passed=True,
                                      severity=dg.AssetCheckSeverity.WARN, description=f"{table} was never materialized")
        else:
            yield check_result(table, newest, due)


@dg.sensor(
    name="freshness_alert_sensor",
    minimum_interval_seconds=FRESHNESS_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 5 minutes: records the partition_fresh check of each daily table when it changes, "
    "and alerts TMEET_ALERT_WEBHOOK_URL when one goes stale.",
)
def freshness_alert_sensor(context: SensorEvaluationContext) -> dg.SkipReason:
    if MULTI_ACCOUNT:
        return freshness_per_account(context)
    due, latest = freshness(context.instance, datetime.now(ZoneInfo("UTC")), account_timezone())
    previous: Mapping[str, bool] = json.loads(context.cursor) if context.cursor else {}
    state = {table: newest >= due for table, newest in latest.items()}
    changed = [table for table, fresh in state.items() if previous.get(table) != fresh]
    for table in changed:
        context.instance.report_runless_asset_event(_evaluation(check_result(table, latest[table], due)))
    stale = [table for table in changed if not state[table]]
    if stale:
        settings = AlertSettings.from_env()
        send_alert(settings, f"[tmeet] {len(stale)} daily table(s) are stale",
                   [describe(t, latest[t], due) for t in stale] + _ui_line(settings, None))
    context.update_cursor(json.dumps(state, sort_keys=True))
    fresh = sum(state.values())
    return dg.SkipReason(f"{fresh} of {len(state)} watched table(s) fresh (due {due}); "
                         f"{len(stale)} newly stale, {len(changed) - len(stale)} newly fresh")


def freshness_per_account(context: SensorEvaluationContext) -> dg.SkipReason:
    """The single-account sensor's work per account: its state is keyed ``account/table``."""
    judged = freshness_by_account(context.instance, datetime.now(ZoneInfo("UTC")))
    previous: Mapping[str, bool] = json.loads(context.cursor) if context.cursor else {}
    state = {f"{account}/{table}": newest >= due
             for account, (due, latest) in judged.items() for table, newest in latest.items()}
    changed = [key for key, fresh in state.items() if previous.get(key) != fresh]
    for table in sorted({key.split("/", 1)[1] for key in changed}):
        context.instance.report_runless_asset_event(_evaluation(accounts_check_result(table, judged)))
    stale = [key for key in changed if not state[key]]
    if stale:
        settings = AlertSettings.from_env()
        accounts = sorted({key.split("/", 1)[0] for key in stale})
        lines = []
        for key in stale:
            account, table = key.split("/", 1)
            due, latest = judged[account]
            lines.append(describe(table, latest[table], due, account))
        send_alert(settings, f"[tmeet] {len(stale)} daily table(s) are stale for account(s) {', '.join(accounts)}",
                   lines + _ui_line(settings, None))
    context.update_cursor(json.dumps(state, sort_keys=True))
    fresh = sum(state.values())
    return dg.SkipReason(f"{fresh} of {len(state)} watched account table(s) fresh; "
                         f"{len(stale)} newly stale, {len(changed) - len(stale)} newly fresh")


def _evaluation(result: dg.AssetCheckResult) -> dg.AssetCheckEvaluation:
    assert result.asset_key is not None and result.check_name is not None
    return dg.AssetCheckEvaluation(
        asset_key=result.asset_key, check_name=result.check_name, passed=result.passed,
        severity=result.severity, description=result.description, metadata=result.metadata,
    )


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    # Command-line runs have no code location; they must alert too.
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts every failed run (schedules, sensors, the UI and the command line) to TMEET_ALERT_WEBHOOK_URL.",
)
def run_failure_alert_sensor(context: RunFailureSensorContext) -> None:
    settings = AlertSettings.from_env()
    if not settings.enabled:
        context.log.info("TMEET_ALERT_WEBHOOK_URL is not set: no alert sent")
        return
    send_alert(settings, *failure_message(context, settings))


def failure_message(context: RunFailureSensorContext, settings: AlertSettings) -> tuple[str, list[str]]:
    run = context.dagster_run
    partition = run.tags.get("dagster/partition") or "..".join(
        filter(None, (run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end")))
    )
    account = run.tags.get("tmeet/account") or run.tags.get("dagster/partition/account")
    title = (f"[tmeet] run failed: {_job_label(run.job_name, run.tags)}" + (f" for {partition}" if partition else "")
             + (f" (account {account})" if account and account not in partition else ""))
    lines = [f"run {run.run_id}"]
    for event in context.get_step_failure_events()[:5]:
        error = event.step_failure_data.error if event.step_failure_data else None
        reason = error.message.strip().splitlines()[0] if error and error.message.strip() else "failed"
        lines.append(f"{event.step_key}: {reason}")
    if len(lines) == 1:
        lines.append(context.failure_event.message or "the run failed before any step")
    return title, lines + _ui_line(settings, run.run_id)


def _job_label(job_name: str, tags: Mapping[str, str]) -> str:
    launched = tags.get("tmeet/launched_by")
    return f"`tmeet-etl {launched}`" if launched else job_name


def _ui_line(settings: AlertSettings, run_id: str | None) -> list[str]:
    if not settings.ui_url:
        return []
    return [f"{settings.ui_url}/runs/{run_id}" if run_id else f"{settings.ui_url}/assets"]
