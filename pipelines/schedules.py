"""When the jobs run, in the account's time zone."""

from datetime import timedelta

import dagster as dg

from assets import registry
from assets.partitions import DEFINITION_SETTINGS
from pipelines.jobs import DAILY, RECORDINGS_LOOKBACK, daily_job, recordings_lookback_job, selected, snapshot_job
from resources.dagster_resources import TencentMeetingResource
from resources.settings import Settings

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


@dg.schedule(
    name="daily_schedule",
    job=daily_job,
    cron_schedule=DAILY_CRON,
    execution_timezone=SCHEDULE_TIMEZONE,
    description=f"Yesterday's data, at {DAILY_CRON!r} local time (TMEET_DAILY_CRON; default every day at 01:30).",
)
def daily_schedule(context: dg.ScheduleEvaluationContext, tencent: TencentMeetingResource) -> dg.RunRequest:
    yesterday = (context.scheduled_execution_time.date() - timedelta(days=1)).isoformat()
    return dg.RunRequest(
        run_key=f"daily-{yesterday}",
        partition_key=yesterday,
        asset_selection=planned_selection(tencent, DAILY),
    )


@dg.schedule(
    name="recordings_lookback_schedule",
    job=recordings_lookback_job,
    cron_schedule="30 3 * * *",
    execution_timezone=SCHEDULE_TIMEZONE,
    description="Every day at 03:30: recordings of the look-back window before yesterday, in one run.",
)
def recordings_lookback_schedule(
    context: dg.ScheduleEvaluationContext, tencent: TencentMeetingResource
) -> dg.RunRequest | dg.SkipReason:
    days = lookback_days()
    if days == 0:
        return dg.SkipReason("TMEET_LOOKBACK_DAYS is 0: no look-back")
    yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
    first, last = yesterday - timedelta(days=days), yesterday - timedelta(days=1)
    return dg.RunRequest(
        run_key=f"lookback-{first.isoformat()}-{last.isoformat()}",
        asset_selection=planned_selection(tencent, RECORDINGS_LOOKBACK),
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
    )


snapshot_schedule = dg.ScheduleDefinition(
    name="snapshot_schedule",
    job=snapshot_job,
    cron_schedule="5 * * * *",
    execution_timezone=SCHEDULE_TIMEZONE,
    description="Every hour: upcoming and live meetings.",
)
