"""Daily partitions in the account's time zone.

The one documented exception to "no setting is read at import time": Dagster needs a partitions
definition's start date and time zone, a schedule's cron and time zone, and an asset's retry policy
while the code location loads. They are read once, here, through the settings model
(:data:`DEFINITION_SETTINGS`: ``TMEET_TIMEZONE``, ``TMEET_START_DATE``, ``TMEET_DAILY_CRON``,
``TMEET_STEP_RETRIES``, ``TMEET_STEP_RETRY_DELAY``); a change takes effect when the code location
reloads. Everything else, including the time zone a run normalizes with, is read when it is used.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from resources.settings import DefinitionSettings

DEFINITION_SETTINGS: DefinitionSettings = DefinitionSettings.from_env()


# The daily schedule starts at 01:30 local time; a 90-day backfill or a quota wait can run long.
DAILY_RUN_AT = timedelta(hours=1, minutes=30)


def account_timezone() -> str:
    """The account's business-date time zone now (``TMEET_TIMEZONE`` when this is called)."""
    return DefinitionSettings.from_env().timezone


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=DEFINITION_SETTINGS.start_date.isoformat(),
    timezone=DEFINITION_SETTINGS.timezone,
    end_offset=0,
)

# Unlike the pull, events describe meetings still in progress, so today is a partition too.
webhook_partitions = dg.DailyPartitionsDefinition(
    start_date=DEFINITION_SETTINGS.start_date.isoformat(),
    timezone=DEFINITION_SETTINGS.timezone,
    end_offset=1,
)


def daily_freshness_policy() -> dg.FreshnessPolicy:
    """Dagster's own freshness state for the daily tables, beside the partition-level check: a
    materialization within the day before the daily run's deadline (01:30 plus the grace)."""
    minutes = int((DAILY_RUN_AT + timedelta(hours=DEFINITION_SETTINGS.freshness_grace_hours)).total_seconds() // 60)
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"{minutes % 60} {(minutes // 60) % 24} * * *",
        lower_bound_delta=timedelta(hours=24),
        timezone=DEFINITION_SETTINGS.timezone,
    )
