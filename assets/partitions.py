"""Daily partitions in the account's time zone, and with an accounts file, one more dimension: the account.

The one documented exception to "no setting is read at import time": Dagster needs a partitions
definition's start date and time zone, a schedule's cron and time zone, an asset's retry policy,
and whether the deployment serves several accounts while the code location loads. They are read
once, here, through the settings model (:data:`DEFINITION_SETTINGS`: ``TMEET_TIMEZONE``,
``TMEET_START_DATE``, ``TMEET_DAILY_CRON``, ``TMEET_STEP_RETRIES``, ``TMEET_STEP_RETRY_DELAY``,
``TMEET_ACCOUNTS_FILE``); a change takes effect when the code location reloads. Everything else,
including the time zone a run normalizes with, is read when it is used.

With an accounts file (:data:`MULTI_ACCOUNT`), every asset is partitioned by account too: the
daily tables by account × business date, the hourly snapshots by account alone. The account
dimension is dynamic (``tmeet_accounts``), kept equal to the file by ``account_partitions_sensor``
and by ``tmeet-etl sync``, so adding an account is an edit of the file, never a redeploy.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from resources.settings import DefinitionSettings

DEFINITION_SETTINGS: DefinitionSettings = DefinitionSettings.from_env()
MULTI_ACCOUNT: bool = bool(DEFINITION_SETTINGS.accounts_file)

ACCOUNT_DIMENSION = "account"
DATE_DIMENSION = "date"
ACCOUNT_PARTITIONS_NAME = "tmeet_accounts"

# The daily schedule starts at 01:30 local time; a 90-day backfill or a quota wait can run long.
DAILY_RUN_AT = timedelta(hours=1, minutes=30)


def account_timezone() -> str:
    """The account's business-date time zone now (``TMEET_TIMEZONE`` when this is called)."""
    return DefinitionSettings.from_env().timezone


# The business dates, whatever the accounts: what a date key is checked against.
daily_dates = dg.DailyPartitionsDefinition(
    start_date=DEFINITION_SETTINGS.start_date.isoformat(),
    timezone=DEFINITION_SETTINGS.timezone,
    end_offset=0,
)

# Unlike the pull, events describe meetings still in progress, so today is a partition too.
webhook_dates = dg.DailyPartitionsDefinition(
    start_date=DEFINITION_SETTINGS.start_date.isoformat(),
    timezone=DEFINITION_SETTINGS.timezone,
    end_offset=1,
)

# Dynamic rather than static keys: static ones would freeze the account list into the code
# location, so adding an account would need a redeploy of the definitions.
account_partitions = dg.DynamicPartitionsDefinition(name=ACCOUNT_PARTITIONS_NAME)


def _by_account(dates: dg.DailyPartitionsDefinition) -> dg.PartitionsDefinition:
    return dg.MultiPartitionsDefinition({ACCOUNT_DIMENSION: account_partitions, DATE_DIMENSION: dates})


# What the daily tables (and, with accounts, everything a daily run or `sync` runs with them) are partitioned by.
daily_partitions: dg.PartitionsDefinition = _by_account(daily_dates) if MULTI_ACCOUNT else daily_dates
webhook_partitions: dg.PartitionsDefinition = _by_account(webhook_dates) if MULTI_ACCOUNT else webhook_dates
# The assets a daily run or `sync` materializes beside the daily tables (the directory, the warehouse,
# the reports): unpartitioned with one account. With several they share the daily tables' account ×
# date partitions, because a Dagster run (and a job) targets one partitions definition only.
beside_daily_partitions: dg.PartitionsDefinition | None = daily_partitions if MULTI_ACCOUNT else None
# Assets that run on their own (the hourly snapshots): unpartitioned with one account, else by account.
account_only_partitions: dg.PartitionsDefinition | None = account_partitions if MULTI_ACCOUNT else None


def split_key(key: str | dg.MultiPartitionKey) -> tuple[str | None, str]:
    """(account, date key) of a partition key: ``north|2026-06-16`` or, with one account, ``2026-06-16``."""
    if isinstance(key, dg.MultiPartitionKey):
        return key.keys_by_dimension[ACCOUNT_DIMENSION], key.keys_by_dimension[DATE_DIMENSION]
    account, sep, day = str(key).partition("|")
    return (account, day) if sep else (None, account)


def key_date(key: str | dg.MultiPartitionKey) -> date:
    """The business date of a daily partition key, with or without the account dimension."""
    return date.fromisoformat(split_key(key)[1])


def daily_key(account: str | None, day: date | str) -> str | dg.MultiPartitionKey:
    """The daily partition key of ``day`` for ``account`` (just the date with one account)."""
    text = day if isinstance(day, str) else day.isoformat()
    if account is None:
        return text
    return dg.MultiPartitionKey({ACCOUNT_DIMENSION: account, DATE_DIMENSION: text})


def range_tags(account: str | None, first: date, last: date) -> dict[str, str]:
    """The run tags of one run over ``first``..``last`` (one account's dates, with several accounts)."""
    return {
        "dagster/asset_partition_range_start": str(daily_key(account, first)),
        "dagster/asset_partition_range_end": str(daily_key(account, last)),
    }


def daily_freshness_policy() -> dg.FreshnessPolicy:
    """Dagster's own freshness state for the daily tables, beside the partition-level check: a
    materialization within the day before the daily run's deadline (01:30 plus the grace)."""
    minutes = int((DAILY_RUN_AT + timedelta(hours=DEFINITION_SETTINGS.freshness_grace_hours)).total_seconds() // 60)
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"{minutes % 60} {(minutes // 60) % 24} * * *",
        lower_bound_delta=timedelta(hours=24),
        timezone=DEFINITION_SETTINGS.timezone,
    )
