"""Point-in-time snapshots of upcoming and live meetings, one file per snapshot."""

from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets._dagster import API_POOL, result, sync_context

from assets._sync import Landed, SyncContext, archive_page, combine, write_quarantine
from assets.normalize.snapshots import normalize_snapshot
from assets.schemas import SCHEMAS
from resources.dagster_resources import StorageResource, TencentMeetingResource

ASSET = "meeting_snapshots"
LIVE, UPCOMING = 2, 3
# How far ahead "upcoming" looks, and how far back a still-running meeting may have been
# scheduled to start (long webinars and meetings that overrun).
UPCOMING_HORIZON = timedelta(days=31)
LIVE_LOOKBACK = timedelta(days=2)


def snapshot_meetings(ctx: SyncContext) -> dict[str, Landed]:
    """Write one snapshot of ``upcoming_meetings`` and one of ``live_meetings`` taken now."""
    snapshot_at = ctx.now().replace(microsecond=0)
    local = snapshot_at.astimezone(ctx.tz_info)
    frames: dict[str, list[pd.DataFrame]] = {"upcoming_meetings": [], "live_meetings": []}
    quarantine: list[pd.DataFrame] = []
    with ctx.raw.writer(ASSET, local.date()) as raw:
        for client in ctx.clients:
            if client.app_type in ("account", "aksk"):
                for state, table, start, end in (
                    (UPCOMING, "upcoming_meetings", snapshot_at, snapshot_at + UPCOMING_HORIZON),
                    (LIVE, "live_meetings", snapshot_at - LIVE_LOOKBACK, snapshot_at),
                ):
                    for page in client.iter_corp_meetings(state, start, end):
                        archive_page(raw, page, {"snapshot_at": snapshot_at.isoformat()})
                        kind = "upcoming" if state == UPCOMING else "live"
                        normalized = normalize_snapshot(page.records, kind, snapshot_at, "corp", ctx.tz)
                        frames[table].append(normalized.frame)
                        quarantine.append(normalized.quarantine)
            else:
                # The user's own list mixes upcoming and live meetings; the normalizer splits them.
                for page in client.iter_user_meetings():
                    archive_page(raw, page, {"snapshot_at": snapshot_at.isoformat()})
                    for kind, table in (("upcoming", "upcoming_meetings"), ("live", "live_meetings")):
                        normalized = normalize_snapshot(page.records, kind, snapshot_at, "user", ctx.tz)
                        frames[table].append(normalized.frame)
                        quarantine.append(normalized.quarantine)
    landed: dict[str, Landed] = {}
    name = local.strftime("%H%M%S")
    for table, parts in frames.items():
        frame = combine(table, parts)
        ctx.lake.write_snapshot(table, SCHEMAS[table], local.date(), name, frame)
        landed[table] = Landed(table)
        landed[table].add(local.date(), frame)
    landed["upcoming_meetings"].quarantined = write_quarantine(ctx, "meeting_snapshots", local.date(), quarantine)
    return landed


@dg.multi_asset(
    specs=[
        dg.AssetSpec("upcoming_meetings", group_name="snapshots", kinds={"api", "pandas", "parquet"},
                     description="Meetings scheduled in the next 31 days, as of each snapshot."),
        dg.AssetSpec("live_meetings", group_name="snapshots", kinds={"api", "pandas", "parquet"},
                     description="Meetings in progress at each snapshot, with how many people are in."),
    ],
    pool=API_POOL,
)
def meeting_snapshots(
    context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
) -> Iterator[dg.MaterializeResult]:
    """Snapshot the upcoming and live meetings now (the hourly schedule runs this)."""
    with sync_context(context, tencent, storage, ASSET) as ctx:
        landed = snapshot_meetings(ctx)
    yield result("upcoming_meetings", landed["upcoming_meetings"], ctx.stats())
    yield result("live_meetings", landed["live_meetings"], None)
