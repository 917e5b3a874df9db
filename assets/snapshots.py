"""Point-in-time snapshots of upcoming and live meetings, one file per snapshot."""

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets._dagster import API_POOL, result, scoped, sync_context
from assets._reach import corp_or_own
from assets._refusals import shape_check_spec

from assets._sync import Derived, Landed, PageData, SyncContext, archive_page, combine, write_quarantine
from assets.normalize.snapshots import normalize_snapshot
from assets.schemas import SCHEMAS
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.raw_archive import RawArchive, RawWriter
from resources.tencent.client import TencentMeetingClient
from resources.tencent.pagination import Page
from resources.tencent.scopes import E_CORP_MEETINGS, E_USER_MEETINGS

ASSET = "meeting_snapshots"
LIVE, UPCOMING = 2, 3
TABLES = {"upcoming": "upcoming_meetings", "live": "live_meetings"}
# How far ahead "upcoming" looks, and how far back a still-running meeting may have been
# scheduled to start (long webinars and meetings that overrun).
UPCOMING_HORIZON = timedelta(days=31)
LIVE_LOOKBACK = timedelta(days=2)


def snapshot_meetings(ctx: SyncContext) -> dict[str, Landed]:
    """Write one snapshot of ``upcoming_meetings`` and one of ``live_meetings`` taken now."""
    snapshot_at = ctx.now().replace(microsecond=0)
    local = snapshot_at.astimezone(ctx.tz_info)
    context = {"snapshot_at": snapshot_at.isoformat()}
    pages: list[PageData] = []
    with ctx.raw.writer(ASSET, local.date()) as raw:
        _carry_over(ctx.raw, local.date(), raw)
        for client in ctx.clients:
            if client.app_type in ("account", "aksk"):
                pages.extend(archive_page(raw, page, context) for page in corp_or_own(
                    client, lambda c=client: _corp_snapshot(c, snapshot_at), client.iter_user_meetings,
                    corp_endpoint=E_CORP_MEETINGS, resource="upcoming and live meetings", own_endpoint=E_USER_MEETINGS))
            else:
                pages.extend(archive_page(raw, page, context) for page in client.iter_user_meetings())
    if any(client.shape_errors for client in ctx.clients):
        # A walk cut short by a page in an unknown shape is not a snapshot of the account: a
        # partial one would show meetings as gone. The pages are quarantined; no snapshot is added.
        return {}
    return land_snapshot(ctx, derive_snapshots(pages, ctx.tz), snapshot_at)


def _corp_snapshot(client: TencentMeetingClient, snapshot_at: datetime) -> Iterator[Page]:
    for state, start, end in (
        (UPCOMING, snapshot_at, snapshot_at + UPCOMING_HORIZON),
        (LIVE, snapshot_at - LIVE_LOOKBACK, snapshot_at),
    ):
        yield from client.iter_corp_meetings(state, start, end)


def _carry_over(archive: RawArchive, day: date, raw: RawWriter) -> None:
    """Keep the day's earlier snapshots in its archive file: each one must stay replayable."""
    if not archive.path(ASSET, day).exists():
        return
    for page in archive.iter_pages(ASSET, day):
        raw.append(page.envelope, page.body if isinstance(page.body, (dict, bytes)) else {})


def derive_snapshots(pages: Iterable[PageData], tz: str) -> Derived:
    """One snapshot's pages (``snapshot_at`` in their context) -> upcoming and live meetings."""
    frames: dict[str, list[pd.DataFrame]] = {table: [] for table in TABLES.values()}
    quarantine: list[pd.DataFrame] = []
    for page in pages:
        snapshot_at = datetime.fromisoformat(page.context["snapshot_at"])
        if page.endpoint == E_CORP_MEETINGS:
            kind = "upcoming" if int(page.params["meeting_state"]) == UPCOMING else "live"
            kinds, source = [kind], "corp"
        else:
            # The user's own list mixes upcoming and live meetings; the normalizer splits them.
            kinds, source = list(TABLES), "user"
        for kind in kinds:
            normalized = normalize_snapshot(page.records, kind, snapshot_at, source, tz)
            frames[TABLES[kind]].append(normalized.frame)
            quarantine.append(normalized.quarantine)
    return Derived({table: combine(table, parts) for table, parts in frames.items()}, quarantine)


def land_snapshot(
    ctx: SyncContext, derived: Derived, snapshot_at: datetime, tables: Iterable[str] | None = None
) -> dict[str, Landed]:
    """Add the snapshot's files, named by its local time, under its local date."""
    local = snapshot_at.astimezone(ctx.tz_info)
    name = local.strftime("%H%M%S")
    chosen = set(TABLES.values()) if tables is None else set(tables)
    landed: dict[str, Landed] = {}
    for table, frame in derived.frames.items():
        if table not in chosen:
            continue
        ctx.lake.write_snapshot(table, SCHEMAS[table], local.date(), name, frame)
        landed[table] = Landed(table)
        landed[table].add(local.date(), frame)
    if landed:
        first = next(iter(landed.values()))
        first.quarantined = write_quarantine(ctx, "meeting_snapshots", local.date(), derived.quarantine)
    return landed


@dg.multi_asset(
    can_subset=True,
    specs=[
        dg.AssetSpec("upcoming_meetings", skippable=True, group_name="snapshots", kinds={"api", "pandas", "parquet"},
                     description="Meetings scheduled in the next 31 days, as of each snapshot."),
        dg.AssetSpec("live_meetings", skippable=True, group_name="snapshots", kinds={"api", "pandas", "parquet"},
                     description="Meetings in progress at each snapshot, with how many people are in."),
    ],
    check_specs=[shape_check_spec("upcoming_meetings"), shape_check_spec("live_meetings")],
    pool=API_POOL,
)
@scoped
def meeting_snapshots(
    context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
) -> Iterator[dg.MaterializeResult]:
    """Snapshot the upcoming and live meetings now (the hourly schedule runs this)."""
    with sync_context(context, tencent, storage, ASSET) as ctx:
        landed = snapshot_meetings(ctx)
    stats = ctx.stats()
    for table in ("upcoming_meetings", "live_meetings"):
        if table in landed:
            yield result(table, landed[table], stats)
            stats = None
