"""When the jobs run, in the account's time zone."""

import os
from datetime import timedelta

import dagster as dg

from assets import registry
from pipelines.jobs import DAILY, RECORDINGS_LOOKBACK, daily_job, recordings_lookback_job, selected, snapshot_job
from pipelines.partitions import account_timezone
from resources.dagster_resources import TencentMeetingResource

DEFAULT_LOOKBACK_DAYS = 14
# When the daily pull starts (local time). The default leaves the platform an hour and a half to
# settle the day's last meetings; a test deployment sets it to "* * * * *".
DAILY_CRON = os.environ.get("TMEET_DAILY_CRON", "30 1 * * *")


def lookback_days() -> int:
    """How many days before yesterday the recordings are re-pulled (``TMEET_LOOKBACK_DAYS``).

    Transcoding can take days and views keep arriving for weeks; the platform keeps view
    details for 31 days, so more than 30 buys nothing.
    """
    value = os.environ.get("TMEET_LOOKBACK_DAYS", str(DEFAULT_LOOKBACK_DAYS))
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"TMEET_LOOKBACK_DAYS={value!r} is not a whole number of days; use e.g. 14") from None
    if not 0 <= days <= 30:
        raise ValueError(f"TMEET_LOOKBACK_DAYS={days} is out of range; use 0 to 30")
    return days


def planned_selection(tencent: TencentMeetingResource, selection: dg.AssetSelection) -> list[dg.AssetKey]:
    """The job's assets the granted scopes allow; the publish needs no scope, so a skipped one never stops it."""
    skipped = tencent.plan(registry.scope_needs()).skipped
    return [key for key in selected(selection) if key.to_user_string() not in skipped]


@dg.schedule(
    name="daily_schedule",
    job=daily_job,
    cron_schedule=DAILY_CRON,
    execution_timezone=account_timezone(),
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
    execution_timezone=account_timezone(),
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
    execution_timezone=account_timezone(),
    description="Every hour: upcoming and live meetings.",
)
