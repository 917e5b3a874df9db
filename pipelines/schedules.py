"""When the jobs run, in the account's time zone; with several accounts, one run per account.

With an accounts file every tick asks for one run per account, over that account's partitions,
planned under that account's scopes and dated in its own time zone. An account whose settings are
broken is logged and left out; the others still get their runs.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from assets import registry
from assets.partitions import DEFINITION_SETTINGS, MULTI_ACCOUNT, daily_dates, daily_key, range_tags
from pipelines.instance import add_account_partitions
from pipelines.jobs import DAILY, RECORDINGS_LOOKBACK, SNAPSHOT, daily_job, recordings_lookback_job, selected, snapshot_job
from resources.account_scope import account_environs
from resources.dagster_resources import TencentMeetingResource
from resources.settings import ConfigError, Settings, settings_environ

# Schedules are fixed when the code location loads (see assets.partitions); the look-back is read per tick.
DAILY_CRON = DEFINITION_SETTINGS.daily_cron
SCHEDULE_TIMEZONE = DEFINITION_SETTINGS.timezone


def lookback_days() -> int:
    """How many days before yesterday the recordings are re-pulled (``TMEET_LOOKBACK_DAYS``, 0-30)."""
    return Settings.from_env().lookback_days


def planned_selection(tencent: TencentMeetingResource, selection: dg.AssetSelection) -> list[dg.AssetKey]:
    """The job's assets the granted scopes allow; the publish needs no scope, so a skipped one never stops it."""
    skipped = tencent.plan(registry.scope_needs()).skipped
    return [key for key in selected(selection) if key.to_user_string() not in skipped]


def account_yesterday(scheduled: datetime, timezone: str) -> date:
    """The day before the tick's date in ``timezone`` (the account's business dates)."""
    return scheduled.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def per_account(
    context: dg.ScheduleEvaluationContext, request: Callable[[str, Settings], dg.RunRequest | None],
) -> list[dg.RunRequest] | dg.SkipReason:
    """``request(account, its settings)`` for every account, evaluated in that account's environment.

    Accounts new in the file are added to the instance's account partitions first, so their runs are valid.
    """
    found = account_environs()
    add_account_partitions(context.instance, list(found.environs))
    requests: list[dg.RunRequest] = []
    problems = dict(found.errors)
    for account, environ in found.environs.items():
        try:
            with settings_environ(environ):
                made = request(account, Settings.from_env())
        except ConfigError as exc:
            problems[account] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - one account's trouble (its token store, say) must not cost the others their runs
            problems[account] = f"{type(exc).__name__}: {exc}"
            continue
        if made is not None:
            requests.append(made)
    for account, problem in sorted(problems.items()):
        context.log.warning(f"account {account}: no run this tick: {problem}")
    if not requests:
        reasons = "; ".join(f"{a}: {p}" for a, p in sorted(problems.items())) or "no account is due"
        return dg.SkipReason(f"no account has a run this tick ({reasons})")
    return requests


@dg.schedule(
    name="daily_schedule",
    job=daily_job,
    cron_schedule=DAILY_CRON,
    execution_timezone=SCHEDULE_TIMEZONE,
    description=f"Yesterday's data, at {DAILY_CRON!r} local time (TMEET_DAILY_CRON; default every day at 01:30); "
    "with several accounts, one run per account, each for its own yesterday.",
)
def daily_schedule(
    context: dg.ScheduleEvaluationContext, tencent: TencentMeetingResource
) -> dg.RunRequest | list[dg.RunRequest] | dg.SkipReason:
    if MULTI_ACCOUNT:
        return per_account(context, lambda account, settings: _daily_request(context, account, settings))
    yesterday = (context.scheduled_execution_time.date() - timedelta(days=1)).isoformat()
    return dg.RunRequest(
        run_key=f"daily-{yesterday}",
        partition_key=yesterday,
        asset_selection=planned_selection(tencent, DAILY),
    )


def _daily_request(context: dg.ScheduleEvaluationContext, account: str, settings: Settings) -> dg.RunRequest | None:
    yesterday = account_yesterday(context.scheduled_execution_time, settings.timezone)
    if not daily_dates.has_partition_key(yesterday.isoformat()):
        context.log.info(f"account {account}: {yesterday} is not a partition date yet (TMEET_START_DATE)")
        return None
    return dg.RunRequest(
        run_key=f"daily-{account}-{yesterday.isoformat()}",
        partition_key=daily_key(account, yesterday),
        asset_selection=planned_selection(TencentMeetingResource(), DAILY),
    )


@dg.schedule(
    name="recordings_lookback_schedule",
    job=recordings_lookback_job,
    cron_schedule="30 3 * * *",
    execution_timezone=SCHEDULE_TIMEZONE,
    description="Every day at 03:30: recordings of the look-back window before yesterday, in one run "
    "(one per account with several).",
)
def recordings_lookback_schedule(
    context: dg.ScheduleEvaluationContext, tencent: TencentMeetingResource
) -> dg.RunRequest | list[dg.RunRequest] | dg.SkipReason:
    if MULTI_ACCOUNT:
        return per_account(context, lambda account, settings: _lookback_request(context, account, settings))
    days = lookback_days()
    if days == 0:
        return dg.SkipReason("TMEET_LOOKBACK_DAYS is 0: no look-back")
    yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
    first, last = yesterday - timedelta(days=days), yesterday - timedelta(days=1)
    return dg.RunRequest(
        run_key=f"lookback-{first.isoformat()}-{last.isoformat()}",
        asset_selection=planned_selection(tencent, RECORDINGS_LOOKBACK),
        tags=range_tags(None, first, last),
    )


def _lookback_request(context: dg.ScheduleEvaluationContext, account: str, settings: Settings) -> dg.RunRequest | None:
    if settings.lookback_days == 0:
        return None
    yesterday = account_yesterday(context.scheduled_execution_time, settings.timezone)
    first, last = yesterday - timedelta(days=settings.lookback_days), yesterday - timedelta(days=1)
    first = max(first, DEFINITION_SETTINGS.start_date)
    if first > last:
        return None
    return dg.RunRequest(
        run_key=f"lookback-{account}-{first.isoformat()}-{last.isoformat()}",
        asset_selection=planned_selection(TencentMeetingResource(), RECORDINGS_LOOKBACK),
        tags=range_tags(account, first, last),
    )


def _snapshot_requests(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M")

    def request(account: str, _settings: Settings) -> dg.RunRequest | None:
        allowed = planned_selection(TencentMeetingResource(), SNAPSHOT)
        if not allowed:
            context.log.info(f"account {account}: its scopes allow no snapshot")
            return None
        return dg.RunRequest(run_key=f"snapshot-{account}-{stamp}", partition_key=account, asset_selection=allowed)

    return per_account(context, request)


if MULTI_ACCOUNT:
    @dg.schedule(
        name="snapshot_schedule",
        job=snapshot_job,
        cron_schedule="5 * * * *",
        execution_timezone=SCHEDULE_TIMEZONE,
        description="Every hour: upcoming and live meetings, one run per account.",
    )
    def snapshot_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
        return _snapshot_requests(context)
else:
    snapshot_schedule = dg.ScheduleDefinition(
        name="snapshot_schedule",
        job=snapshot_job,
        cron_schedule="5 * * * *",
        execution_timezone=SCHEDULE_TIMEZONE,
        description="Every hour: upcoming and live meetings.",
    )
