"""Point-in-time snapshots of upcoming and live meetings, one file per snapshot."""

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from dagster import AssetExecutionContext

from assets._dagster import API_POOL, conservation_check, conservation_spec, result, scoped, sync_context
from assets._reach import corp_or_own
from assets._refusals import shape_check_spec

from assets._sync import (
    Derived,
    Landed,
    PageData,
    PageTally,
    SyncContext,
    Tally,
    account_for,
    archive_page,
    combine_by_page,
    page_tallies,
    quarantined_of,
    tally_of,
    write_quarantine,
)
from assets.normalize._common import empty
from assets.partitions import account_only_partitions
from assets.normalize.snapshots import TABLES, USER_STATUS, normalize_snapshot
from assets.schemas import SCHEMAS
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.raw_archive import RawArchive, RawWriter
from resources.tencent.client import TencentMeetingClient
from resources.tencent.pagination import Page
from assets.tags import endpoint_metadata, table_tags
from resources.tencent.scopes import E_CORP_MEETINGS, E_USER_MEETINGS, VIEW_ALL_MEETINGS, VIEW_MEETING

ASSET = "meeting_snapshots"
ENDPOINTS = endpoint_metadata((E_CORP_MEETINGS,), user=(E_USER_MEETINGS,))
TAGS = table_tags("snapshot", warehouse="optional", scope=VIEW_ALL_MEETINGS, user_scope=VIEW_MEETING, archive=ASSET)
LIVE, UPCOMING = 2, 3
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
        carried = _carry_over(ctx.raw, local.date(), raw)
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
    return land_snapshot(ctx, derive_snapshots(pages, ctx.tz, first_index=carried), snapshot_at)


def _corp_snapshot(client: TencentMeetingClient, snapshot_at: datetime) -> Iterator[Page]:
    for state, start, end in (
        (UPCOMING, snapshot_at, snapshot_at + UPCOMING_HORIZON),
        (LIVE, snapshot_at - LIVE_LOOKBACK, snapshot_at),
    ):
        yield from client.iter_corp_meetings(state, start, end)


def _carry_over(archive: RawArchive, day: date, raw: RawWriter) -> int:
    """Keep the day's earlier snapshots in its archive file: each one must stay replayable.

    Returns how many pages were carried over (the new snapshot's pages follow them)."""
    if not archive.has_pages(ASSET, day):
        return 0
    carried = 0
    for page in archive.iter_pages(ASSET, day):
        raw.append(page.envelope, page.body if isinstance(page.body, (dict, bytes)) else {})
        carried += 1
    return carried


def derive_snapshots(pages: Sequence[PageData], tz: str, first_index: int = 0) -> Derived:
    """One snapshot's pages (``snapshot_at`` in their context) -> upcoming and live meetings.

    ``first_index`` is the first page's number in the day's archive, which holds earlier snapshots too.
    """
    frames: dict[str, list[pd.DataFrame]] = {table: [] for table in TABLES.values()}
    received: dict[str, list[int]] = {table: [] for table in TABLES.values()}
    quarantined: dict[str, list[int]] = {table: [] for table in TABLES.values()}
    repeats: dict[str, list[int]] = {table: [] for table in TABLES.values()}
    quarantine: list[pd.DataFrame] = []
    for page in pages:
        snapshot_at = datetime.fromisoformat(page.context["snapshot_at"])
        if page.endpoint == E_CORP_MEETINGS:
            kind = "upcoming" if int(page.params["meeting_state"]) == UPCOMING else "live"
            kinds, source = [kind], "corp"
        else:
            # The user's own list mixes upcoming and live meetings; the normalizer splits them.
            kinds, source = list(TABLES), "user"
        for kind, table in TABLES.items():
            if kind not in kinds:
                frames[table].append(empty(table))
                for counts in (received, quarantined, repeats):
                    counts[table].append(0)
                continue
            normalized = normalize_snapshot(page.records, kind, snapshot_at, source, tz)
            frames[table].append(normalized.frame)
            quarantine.append(normalized.quarantine)
            received[table].append(_received(page.records, kind, source))
            quarantined[table].append(quarantined_of(table, normalized.quarantine))
            repeats[table].append(normalized.deduplicated)
    combined: dict[str, pd.DataFrame] = {}
    tallies: dict[str, Tally] = {}
    ledgers: dict[str, list[PageTally]] = {}
    for table, parts in frames.items():
        combined[table], origin, across = combine_by_page(table, parts)
        ledgers[table] = page_tallies(pages, origin, quarantined[table], np.add(repeats[table], across).tolist(),
                                      received=received[table], first_index=first_index)
        tallies[table] = tally_of(table, sum(received[table]), combined[table], quarantine,
                                  sum(repeats[table]) + int(across.sum()))
    return Derived(combined, quarantine, tallies, ledgers)


def _received(records: Sequence[Any], kind: str, source: str) -> int:
    """The records of a page that are the table's to account for: a user's own list holds both
    states (and ended meetings, which are no snapshot's), so each table receives its own state's."""
    if source == "corp":
        return len(records)
    status = USER_STATUS[kind]
    return sum(1 for record in records if not isinstance(record, dict) or record.get("status") == status)


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
        account_for(ctx, landed[table], derived, local.date(), ASSET)
    if landed:
        first = next(iter(landed.values()))
        first.quarantined = write_quarantine(ctx, "meeting_snapshots", local.date(), derived.quarantine)
    return landed


@dg.multi_asset(
    can_subset=True,
    specs=[
        dg.AssetSpec("upcoming_meetings", skippable=True, group_name="snapshots", kinds={"api", "pandas", "parquet"},
                     tags=TAGS, metadata=ENDPOINTS,
                     description="Meetings scheduled in the next 31 days, as of each snapshot."),
        dg.AssetSpec("live_meetings", skippable=True, group_name="snapshots", kinds={"api", "pandas", "parquet"},
                     tags=TAGS, metadata=ENDPOINTS,
                     description="Meetings in progress at each snapshot, with how many people are in."),
    ],
    check_specs=[shape_check_spec("upcoming_meetings"), shape_check_spec("live_meetings"),
                 conservation_spec("upcoming_meetings"), conservation_spec("live_meetings")],
    pool=API_POOL,
    partitions_def=account_only_partitions,
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
            checks = [conservation_check(table, landed[table].tally, landed[table].unbalanced_pages)]
            yield result(table, landed[table], stats, checks)
            stats = None
