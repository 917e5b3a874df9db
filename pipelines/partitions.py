"""Daily partitions in the account's time zone."""

from __future__ import annotations

import os

import dagster as dg

DEFAULT_TIMEZONE = "Asia/Shanghai"
# The first business date the schedule and the UI offer; older dates can still be synced
# from the command line. Configurable because accounts differ in how much history they keep.
DEFAULT_START_DATE = "2025-01-01"


def account_timezone() -> str:
    return os.environ.get("TMEET_TIMEZONE", DEFAULT_TIMEZONE)


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("TMEET_START_DATE", DEFAULT_START_DATE),
    timezone=account_timezone(),
    end_offset=0,
)
