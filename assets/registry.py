"""Every lake table, read from the tags its asset declares (``assets.tags``).

The warehouse's table list, the rebuild's archives, the scope plan and the jobs' selections come
from here; the code location (``pipelines.definitions``) holds exactly these assets plus the
warehouse that publishes them, which its tests check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from assets import tags as t
from assets._dagster import scope_needs_of
from assets.meetings import meetings_asset
from assets.participants import participants
from assets.recording_access import recording_access
from assets.recordings import recordings_assets
from assets.schemas import PARTITION_COLUMN
from assets.snapshots import meeting_snapshots
from assets.users import directory
from assets.webhooks import webhook_tables
from resources.tencent.scopes import ScopeNeed

# Each asset that lands lake tables; the warehouse reads them, so it is not among them.
TABLE_ASSETS: tuple[dg.AssetsDefinition, ...] = (
    directory, meetings_asset, participants, recordings_assets, recording_access, meeting_snapshots, webhook_tables,
)
# Written by every asset's run rather than by an asset of their own: the run log and rejected records.
BOOKKEEPING_TABLES: tuple[str, ...] = ("sync_log", "quarantine")


def table_specs(assets: Iterable[dg.AssetsDefinition] = TABLE_ASSETS) -> list[dg.AssetSpec]:
    return [spec for asset in assets for spec in asset.specs]


def name(spec: dg.AssetSpec) -> str:
    return spec.key.to_user_string()


def tables(
    *, kind: t.Kind | None = None, warehouse: t.Membership | None = None, lookback: bool | None = None,
    archived: bool | None = None, partitioned: bool | None = None,
) -> tuple[str, ...]:
    """The lake tables whose tags match every filter given, in declaration order."""
    chosen = []
    for spec in table_specs():
        tags = spec.tags
        if kind is not None and tags[t.KIND] != kind:
            continue
        if warehouse is not None and tags[t.WAREHOUSE] != warehouse:
            continue
        if lookback is not None and (tags.get(t.LOOKBACK) == t.TRUE) != lookback:
            continue
        if archived is not None and (t.ARCHIVE in tags) != archived:
            continue
        if partitioned is not None and (spec.partitions_def is not None) != partitioned:
            continue
        chosen.append(name(spec))
    return tuple(chosen)


def lake_tables() -> tuple[str, ...]:
    """Every table the warehouse publishes from the lake: the assets' tables, then the bookkeeping."""
    return (*tables(warehouse="required"), *tables(warehouse="optional"), *BOOKKEEPING_TABLES)


def pull_assets(assets: Iterable[dg.AssetsDefinition] = TABLE_ASSETS) -> list[dg.AssetsDefinition]:
    """The assets that call the API (what `tmeet-etl sync` runs); the webhook tables read the inbox."""
    return [asset for asset in assets if any(spec.tags[t.KIND] != "webhook" for spec in asset.specs)]


def endpoint_needs(caller: str) -> dict[str, tuple[str, ...]]:
    """Table → the endpoint families its run calls for ``caller`` (one of :data:`assets.tags.CALLERS`)."""
    if caller not in t.CALLERS:
        raise ValueError(f"unknown caller {caller!r}; one of {', '.join(t.CALLERS)}")
    return {name(spec): t.endpoints_of(spec.metadata, caller) for spec in table_specs()
            if t.ENDPOINTS in spec.metadata}


def scope_needs() -> dict[str, ScopeNeed]:
    """Asset name → the scope it needs, for the assets that call the API."""
    return scope_needs_of(table_specs())


@dataclass(frozen=True)
class Archive:
    """A raw-page archive: the tables derived from it and whether it is kept per date (as their lake files are)."""

    name: str
    tables: tuple[str, ...]
    partitioned: bool


def archives() -> tuple[Archive, ...]:
    grouped: dict[str, list[dg.AssetSpec]] = {}
    for spec in table_specs():
        if t.ARCHIVE in spec.tags:
            grouped.setdefault(spec.tags[t.ARCHIVE], []).append(spec)
    return tuple(
        Archive(archive, tuple(name(s) for s in specs), PARTITION_COLUMN[name(specs[0])] is not None)
        for archive, specs in grouped.items()
    )
