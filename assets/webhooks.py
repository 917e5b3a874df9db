"""Pushed events in Dagster: `webhook_events` and `live_attendance` from the inbox, and their cross-check with the pull."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations at definition time.

import warnings
from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import pandas as pd
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from assets._dagster import SINGLE_RUN, account_metadata, check, partition_days
from assets._sync import Landed
from assets.normalize._common import empty
from assets.schemas import KEYS
from assets.tags import table_tags
from assets.session_crosscheck import SAMPLE_ROWS, TIME_TOLERANCE, SessionComparison, compare_sessions
from assets.webhook_inbox import Rebuilt, rebuild_days
from assets.partitions import account_timezone, daily_partitions, key_date, webhook_partitions
from resources.dagster_resources import StorageResource
from resources.pii_policy import redact_preview
from resources.webhooks.inbox import inbox_path

# A per-date check is what "compare that date" means; partitioned checks are preview in 1.13, a known trade.
warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*", category=dg.PreviewWarning)

# Rebuilt from the webhook inbox (not the raw-page archive); published when present.
TAGS = table_tags("webhook", warehouse="optional")


def _landed(table: str, frames: dict[date, pd.DataFrame]) -> Landed:
    landed = Landed(table)
    for day, frame in sorted(frames.items()):
        landed.add(day, frame)
    return landed


def _metadata(landed: Landed, extra: dict[str, dg.MetadataValue]) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "dagster/row_count": dg.MetadataValue.int(landed.rows),
        "rows_by_date": dg.MetadataValue.json({str(day): rows for day, rows in sorted(landed.rows_by_partition.items(), key=str)}),
    }
    if landed.preview is not None and len(landed.preview):
        preview = redact_preview(landed.table, landed.preview)
        metadata["preview"] = dg.MetadataValue.md(preview.astype(str).to_markdown(index=False))
    metadata.update(extra)
    metadata.update(account_metadata())
    return metadata


def event_checks(events: pd.DataFrame) -> list[dg.AssetCheckResult]:
    duplicated = events[events.duplicated(subset=["trace_id"], keep=False)]
    return [
        check("webhook_events", "trace_id_unique", duplicated.empty,
              f"{duplicated['trace_id'].nunique()} trace_id(s) appear more than once",
              metadata={"duplicates": sorted(map(str, duplicated["trace_id"].unique()))[:20]}),
    ]


def session_checks(sessions: pd.DataFrame) -> list[dg.AssetCheckResult]:
    closed = sessions.dropna(subset=["left_time"])
    return [
        check("live_attendance", "key_unique", not sessions.duplicated(subset=list(KEYS["live_attendance"])).any(),
              "session key is unique"),
        check("live_attendance", "left_after_join", bool((closed["left_time"] >= closed["join_time"]).all()),
              "left_time >= join_time for every closed session"),
    ]


@dg.multi_asset(
    specs=[
        dg.AssetSpec("webhook_events", group_name="webhooks", kinds={"sqlite", "pandas", "parquet"}, tags=TAGS,
                     partitions_def=webhook_partitions,
                     description="One row per pushed event from the webhook inbox, by the event's business date."),
        dg.AssetSpec("live_attendance", deps=["webhook_events"], group_name="webhooks", kinds={"pandas", "parquet"},
                     tags=TAGS,
                     partitions_def=webhook_partitions,
                     description="Join and leave events paired into sessions per person and device; open until the leave."),
    ],
    check_specs=[
        dg.AssetCheckSpec("trace_id_unique", asset="webhook_events",
                          description="Each event is stored once, however often it was delivered."),
        dg.AssetCheckSpec("key_unique", asset="live_attendance"),
        dg.AssetCheckSpec("left_after_join", asset="live_attendance",
                          description="No session leaves before it joins."),
    ],
    backfill_policy=SINGLE_RUN,
)
def webhook_tables(context: AssetExecutionContext, storage: StorageResource) -> Iterator[dg.MaterializeResult]:
    """Rebuild the run's business dates of both tables from every event in the inbox."""
    days = partition_days(context)
    lake = storage.lake()
    path = inbox_path(storage.root())
    if not path.exists():
        context.log.warning(f"No webhook inbox at {path} yet: the dates are landed empty. Start `tmeet-etl webhook serve`.")
    rebuilt: Rebuilt = rebuild_days(lake, path, days, account_timezone())
    first, last = min(days), max(days)
    events = lake.read("webhook_events", start=first, end=last)
    sessions = lake.read("live_attendance", start=min([first, *rebuilt.sessions]), end=last)
    landed_sessions = _landed("live_attendance", rebuilt.sessions)
    open_sessions = int(sum(int(frame["is_open"].sum()) for frame in rebuilt.sessions.values()))
    yield dg.MaterializeResult(
        asset_key="webhook_events",
        metadata=_metadata(_landed("webhook_events", rebuilt.events), {
            "inbox_rows": dg.MetadataValue.int(rebuilt.inbox_rows),
            "quarantined": dg.MetadataValue.int(rebuilt.quarantined),
            "quarantined_without_date": dg.MetadataValue.int(rebuilt.undated_quarantined),
        }),
        check_results=event_checks(events),
    )
    yield dg.MaterializeResult(
        asset_key="live_attendance",
        metadata=_metadata(landed_sessions, {
            "open_sessions": dg.MetadataValue.int(open_sessions),
            "also_rebuilt": dg.MetadataValue.json([str(day) for day in rebuilt.extra_session_dates]),
        }),
        check_results=session_checks(sessions),
    )


def compare_day(storage: StorageResource, day: date) -> SessionComparison:
    """``day``'s pulled sessions against event sessions of the day and its neighbours (meetings cross midnight)."""
    lake = storage.lake()
    pulled = lake.read("participant_sessions", start=day, end=day)
    events = lake.read("live_attendance", start=day - timedelta(days=1), end=day + timedelta(days=1))
    if pulled.empty or events.empty:
        return compare_sessions(empty("live_attendance"), empty("live_attendance"))
    return compare_sessions(pulled, events)


def _sample(frame: pd.DataFrame, day: date) -> list[dict[str, str]]:
    return [{"date": str(day), **{k: str(v) for k, v in row.items()}} for row in frame.head(SAMPLE_ROWS).to_dict("records")]


@dg.asset_check(
    asset="participant_sessions",
    name="matches_webhook_sessions",
    additional_deps=["live_attendance"],
    partitions_def=daily_partitions,
    description=(
        "Sessions paired from pushed join/leave events equal the pulled sessions, for the meetings both cover "
        f"(joins and leaves within {TIME_TOLERANCE.total_seconds():.0f} s). WARN: the pull is the source of truth."
    ),
)
def matches_webhook_sessions(context: AssetCheckExecutionContext, storage: StorageResource) -> dg.AssetCheckResult:
    """Report what each source has that the other lacks, per business date."""
    days = sorted({key_date(key) for key in context.partition_keys})
    outcomes = {day: compare_day(storage, day) for day in days}
    compared = {day: c for day, c in outcomes.items() if c.meetings_compared}
    by_date = {str(day): c.summary() for day, c in outcomes.items()}
    totals = {name: sum(s[name] for s in by_date.values()) for name in next(iter(by_date.values()), {})}
    lines = [
        f"{day}: {c.meetings_compared} meeting(s) in both, {c.matched} session(s) match, "
        f"{len(c.only_in_pull)} only in the pull, {len(c.only_in_events)} only in events, "
        f"{len(c.left_time_differs)} leave time(s) differ"
        for day, c in compared.items()
    ]
    return dg.AssetCheckResult(
        passed=all(c.consistent for c in compared.values()),
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(lines) or "no meeting is covered by both the pull and the events",
        metadata={
            "by_date": dg.MetadataValue.json(by_date),
            **{name: dg.MetadataValue.int(value) for name, value in totals.items()},
            "only_in_pull_sample": dg.MetadataValue.json(
                [r for day, c in compared.items() for r in _sample(c.only_in_pull, day)][:SAMPLE_ROWS]),
            "only_in_events_sample": dg.MetadataValue.json(
                [r for day, c in compared.items() for r in _sample(c.only_in_events, day)][:SAMPLE_ROWS]),
            "left_time_differs_sample": dg.MetadataValue.json(
                [r for day, c in compared.items() for r in _sample(c.left_time_differs, day)][:SAMPLE_ROWS]),
        },
    )


WEBHOOK_CHECKS = [matches_webhook_sessions]
