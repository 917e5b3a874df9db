"""`tmeet-etl rebuild`: re-derive lake tables from the raw-page archive, without one API call.

Each asset's archived pages go through the same ``derive_*`` function the live pull uses and land
through the same partition writes, so a rebuilt lake is byte-for-byte what the pull wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from assets import registry
from assets._sync import Derived, Landed, PageData, SyncContext, land, replay_pages
from assets.meetings import derive_meetings
from assets.participants import derive_participants
from assets.recording_access import derive_recording_access
from assets.recordings import derive_recordings
from assets.snapshots import derive_snapshots, land_snapshot
from assets.users import derive_directory
import dagster as dg

from pipelines.recorded import run_recorded
from resources.dagster_resources import StorageResource
from resources.lake import Lake
from resources.raw_archive import RawArchive
from resources.settings import ConfigError
from resources.warehouse import PublishResult


Replace = Callable[[SyncContext, list[PageData], date | None, list[str]], dict[str, Landed]]


@dataclass(frozen=True)
class ArchivedAsset:
    """An asset whose raw pages are archived, the tables it derives, and how it lands them again."""

    name: str
    tables: tuple[str, ...]
    partitioned: bool
    replace: Replace


def _landing(name: str, derive: Callable[[list[PageData], date | None, str], Derived]) -> Replace:
    return lambda ctx, pages, day, tables: land(ctx, derive(pages, day, ctx.tz), day, name, tables)


# How each archive's pages land again: the same derive function its live pull uses. Which archives
# exist and the tables each derives are declared by the assets (their `tmeet/archive` tag).
REPLAYS: dict[str, Replace] = {
    "directory": _landing("directory", lambda pages, _day, tz: derive_directory(pages, tz)),
    "meetings": _landing("meetings", lambda pages, day, tz: derive_meetings(pages, _required(day), tz)),
    "participant_sessions": _landing("participant_sessions", lambda pages, _day, tz: derive_participants(pages, tz)),
    "recordings": _landing("recordings", lambda pages, _day, tz: derive_recordings(pages, tz)),
    "recording_access": _landing("recording_access", lambda pages, _day, _tz: derive_recording_access(pages)),
    "meeting_snapshots": lambda ctx, pages, _day, tables: _land_snapshots(ctx, pages, tables),
}


def archived_assets() -> tuple[ArchivedAsset, ...]:
    """Every archive the assets declare, with its replay; an archive without one is a wiring error."""
    found = registry.archives()
    missing = sorted({archive.name for archive in found} - REPLAYS.keys())
    if missing:
        raise RuntimeError(f"no replay for the raw archive(s) {', '.join(missing)}: add each to REPLAYS in {__name__}")
    return tuple(ArchivedAsset(a.name, a.tables, a.partitioned, REPLAYS[a.name]) for a in found)


ARCHIVED_ASSETS = archived_assets()
REBUILDABLE_TABLES: tuple[str, ...] = tuple(t for asset in ARCHIVED_ASSETS for t in asset.tables)


@dataclass
class RebuildSummary:
    rows_by_table: dict[str, int] = field(default_factory=dict)
    partitions_by_table: dict[str, int] = field(default_factory=dict)
    days_by_table: dict[str, list[date | None]] = field(default_factory=dict)
    published: PublishResult | None = None


def rebuild(
    data_dir: Path,
    tz: str,
    *,
    start: date | None = None,
    end: date | None = None,
    tables: Sequence[str] | None = None,
    publish_warehouse: bool = True,
) -> RebuildSummary:
    """Re-derive ``tables`` (default: all) for archived dates ``start``..``end`` (default: all) and publish.

    The rebuild is a run of the deployment's instance: the UI shows it with every partition it replaced.
    """
    if start is not None and end is not None and end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    chosen = _chosen_tables(tables)
    return run_recorded(
        "rebuild", lambda: _rebuild(data_dir, tz, start, end, chosen, publish_warehouse), rebuild_materializations,
        data_dir,
    )


def rebuild_materializations(summary: RebuildSummary) -> Iterator[dg.AssetMaterialization]:
    for table, days in sorted(summary.days_by_table.items()):
        for day in days:
            yield dg.AssetMaterialization(
                table, partition=None if day is None else day.isoformat(),
                description="re-derived from the raw archive by `tmeet-etl rebuild`",
            )
    if summary.published is not None:
        yield dg.AssetMaterialization(
            "warehouse", description="published by `tmeet-etl rebuild`",
            metadata={"row_counts": dg.MetadataValue.json(dict(summary.published.row_counts))},
        )


def _rebuild(
    data_dir: Path, tz: str, start: date | None, end: date | None, chosen: set[str], publish_warehouse: bool
) -> RebuildSummary:
    ctx = SyncContext(clients=(), lake=Lake.from_data_dir(data_dir), raw=RawArchive.from_data_dir(data_dir), tz=tz)
    summary = RebuildSummary()
    for asset in ARCHIVED_ASSETS:
        wanted = [t for t in asset.tables if t in chosen]
        if not wanted:
            continue
        for day in _archived_days(ctx.raw, asset, start, end):
            landed = asset.replace(ctx, list(replay_pages(ctx.raw, asset.name, day)), day, wanted)
            for table, item in landed.items():
                summary.rows_by_table[table] = summary.rows_by_table.get(table, 0) + item.rows
                summary.partitions_by_table[table] = summary.partitions_by_table.get(table, 0) + 1
                summary.days_by_table.setdefault(table, []).append(day)
    if publish_warehouse:
        from assets.warehouse import publish

        summary.published = publish(StorageResource(data_dir=str(data_dir)))
    return summary


def _land_snapshots(ctx: SyncContext, pages: list[PageData], tables: Iterable[str]) -> dict[str, Landed]:
    """Each snapshot of the day's archive lands as its own files, as when it was taken."""
    by_moment: dict[str, list[PageData]] = {}
    first_index: dict[str, int] = {}
    for index, page in enumerate(pages):
        by_moment.setdefault(page.context["snapshot_at"], []).append(page)
        first_index.setdefault(page.context["snapshot_at"], index)
    landed: dict[str, Landed] = {}
    for moment, own in by_moment.items():
        derived = derive_snapshots(own, ctx.tz, first_index[moment])
        landed.update(land_snapshot(ctx, derived, datetime.fromisoformat(moment), tables))
    return landed


def _archived_days(raw: RawArchive, asset: ArchivedAsset, start: date | None, end: date | None) -> list[date | None]:
    if not asset.partitioned:
        return [None] if raw.has_pages(asset.name, None) else []
    return [d for d in raw.partitions(asset.name) if (start is None or d >= start) and (end is None or d <= end)]


def _chosen_tables(tables: Sequence[str] | None) -> set[str]:
    if not tables:
        return set(REBUILDABLE_TABLES)
    unknown = sorted(set(tables) - set(REBUILDABLE_TABLES))
    if unknown:
        raise ConfigError(
            f"cannot rebuild {', '.join(unknown)} from the raw archive; choose from {', '.join(REBUILDABLE_TABLES)}"
        )
    return set(tables)


def _required(day: date | None) -> date:
    if day is None:
        raise ValueError("a partitioned asset's pages need their business date")
    return day
