"""The DuckDB warehouse: every lake table plus the reporting tables, published atomically."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster import AssetExecutionContext

from assets._dagster import DUCKDB_POOL, check
from assets.schemas import KEYS, PARTITION_COLUMN, SCHEMAS
from resources.dagster_resources import StorageResource
from resources.warehouse import PublishResult, Warehouse, WarehousePublishError, quote_identifier

SQL_DIR = Path(__file__).parent / "sql"
REPORTS = ("daily_usage", "usage_by_department", "meeting_attendance", "recording_engagement", "user_activity")
LAKE_TABLES = (
    "users", "user_departments", "roles", "meetings", "participant_sessions", "attendance", "recordings",
    "recording_files", "recording_daily_metrics", "recording_events", "recording_view_details",
    "upcoming_meetings", "live_meetings", "webhook_events", "live_attendance", "sync_log", "quarantine",
)
WAREHOUSE_TABLES = {table: SCHEMAS[table] for table in LAKE_TABLES}
# Tables whose lake partition is a date column can be republished one partition at a time.
WAREHOUSE_KEYS = {table: KEYS[table] for table in LAKE_TABLES if KEYS.get(table)}
PARTITION_COLUMNS = {table: column for table in LAKE_TABLES if (column := PARTITION_COLUMN[table]) is not None}


def publish(storage: StorageResource) -> PublishResult:
    """Bring the warehouse up to date and swap it in; the only code that ever writes the DuckDB file."""
    return storage.warehouse().publish(
        storage.lake(), WAREHOUSE_TABLES, SQL_DIR, partition_columns=PARTITION_COLUMNS, keys=WAREHOUSE_KEYS
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "warehouse",
            deps=[t for t in LAKE_TABLES if t not in ("sync_log", "quarantine")],
            group_name="warehouse",
            kinds={"duckdb"},
            description="warehouse.duckdb: every lake table, rebuilt and published atomically.",
        ),
        *[
            dg.AssetSpec(f"report_{name}", deps=["warehouse"], group_name="reporting", kinds={"duckdb", "sql"},
                         description=f"Reporting table report_{name} (assets/sql).")
            for name in REPORTS
        ],
    ],
    check_specs=[
        dg.AssetCheckSpec("keys_unique", asset="warehouse",
                          description="Every table's key is unique across all partitions."),
        dg.AssetCheckSpec("recordings_have_meetings", asset="warehouse",
                          description="Every transcoded recording's meeting is in `meetings`."),
    ],
    pool=DUCKDB_POOL,
)
def warehouse(context: AssetExecutionContext, storage: StorageResource) -> Iterator[dg.MaterializeResult]:
    """Publish the lake and the reporting tables to warehouse.duckdb."""
    try:
        published = publish(storage)
    except WarehousePublishError as exc:
        raise dg.Failure(str(exc)) from None
    counts = dict(published.row_counts)
    # Counted by the publish itself, over the keys its change touched (a full count costs the lake).
    duplicates = dict(published.duplicate_keys)
    orphans = orphan_recordings(storage.warehouse())
    yield dg.MaterializeResult(
        asset_key="warehouse",
        metadata={
            "path": dg.MetadataValue.path(str(published.path)),
            "publish_seconds": dg.MetadataValue.float(round(published.duration_seconds, 3)),
            "publish_mode": dg.MetadataValue.text(published.mode),
            "reloaded_partitions": dg.MetadataValue.json(dict(published.reloaded)),
            "row_counts": dg.MetadataValue.json(counts),
        },
        check_results=[
            check("warehouse", "keys_unique", not duplicates, f"duplicate keys: {duplicates or 'none'}",
                  metadata={"duplicates": duplicates}),
            check("warehouse", "recordings_have_meetings", orphans == 0,
                  f"{orphans} transcoded recording(s) whose meeting is not in the warehouse "
                  "(sync the meeting's date to resolve)", warn=True),
        ],
    )
    for name in REPORTS:
        yield dg.MaterializeResult(
            asset_key=f"report_{name}",
            metadata={"dagster/row_count": dg.MetadataValue.int(counts.get(f"report_{name}", 0))},
        )


def duplicate_keys(store: Warehouse) -> dict[str, int]:
    """Rows beyond the first per key, for each keyed table that has any, counted over the whole
    published database (the publish keeps the same figure current incrementally)."""
    found: dict[str, int] = {}
    with duckdb.connect(str(store.path), read_only=True) as con:
        for table in LAKE_TABLES:
            key = KEYS.get(table)
            if not key:
                continue
            columns = ", ".join(quote_identifier(c) for c in key)
            (extra,) = con.execute(
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {quote_identifier(table)} "
                f"GROUP BY {columns})"
            ).fetchone()
            if int(extra):
                found[table] = int(extra)
    return found


def orphan_recordings(store: Warehouse) -> int:
    return int(store.query(
        "SELECT count(*) AS n FROM recordings r WHERE r.state = 3 AND NOT EXISTS "
        "(SELECT 1 FROM meetings m WHERE m.meeting_id = r.meeting_id)"
    )["n"].iloc[0])
