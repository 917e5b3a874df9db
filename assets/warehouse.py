"""The DuckDB warehouse: every lake table plus the reporting tables, published atomically."""

import logging
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster import AssetExecutionContext

from assets import registry
from assets._dagster import DUCKDB_POOL, SINGLE_RUN, account_metadata, check
from assets.schemas import KEYS, PARTITION_COLUMN, SCHEMAS
from assets.partitions import MULTI_ACCOUNT, account_timezone, beside_daily_partitions
from assets.report.data import ReportDataError
from assets.report.metadata import ui_charts_markdown
from assets.tags import table_tags
from resources.dagster_resources import StorageResource
from resources.warehouse import PublishResult, Warehouse, WarehousePublishError, quote_identifier

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).parent / "sql"
CELERY_QUEUE_TAG = "dagster-celery/queue"
WAREHOUSE_QUEUE = "tmeet-warehouse"
# One report per SQL file, named after it: `40_recording_engagement.sql` is `report_recording_engagement`.
REPORTS = tuple(path.stem.split("_", 1)[1] for path in sorted(SQL_DIR.glob("*.sql")))
LAKE_TABLES = registry.lake_tables()
WAREHOUSE_TABLES = {table: SCHEMAS[table] for table in LAKE_TABLES}
REPORT_COMMAND = "tmeet-etl report"
UI_CHARTS_FILE = "ui_charts.json"


def report_description(name: str) -> str:
    """The leading comment of the report's SQL file: what the table holds and how it is computed."""
    (sql_file,) = SQL_DIR.glob(f"*_{name}.sql")
    lines = []
    for line in sql_file.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines) + f" Also in the lake as lake/report_{name}/data.parquet; columns in docs/tables.md."

# Published when present but never required: an account may have no webhook subscription and no
# snapshot schedule on. As declared dependencies they made "Materialize all" warn about them.
OPTIONAL_TABLES = registry.tables(warehouse="optional")
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
            deps=list(registry.tables(warehouse="required")),
            group_name="warehouse",
            tags=table_tags("publish", warehouse="built"),
            kinds={"duckdb"},
            description="warehouse.duckdb: every lake table, rebuilt and published atomically (the snapshot "
            "and webhook tables too, when present; `warehouse_publish_sensor` publishes after their runs).",
        ),
        *[
            dg.AssetSpec(f"report_{name}", deps=["warehouse"], group_name="reporting", kinds={"duckdb", "sql"},
                         tags=table_tags("report", warehouse="built"), description=report_description(name))
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
    partitions_def=beside_daily_partitions,
    backfill_policy=SINGLE_RUN if MULTI_ACCOUNT else None,
    # Read by the Celery executor alone: the DuckDB file must be written on the host that holds it,
    # so its step goes to a queue only that host's worker serves (deploy/README.md, "Celery").
    op_tags={CELERY_QUEUE_TAG: WAREHOUSE_QUEUE},
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
    columns = report_columns(storage.warehouse())
    yield dg.MaterializeResult(
        asset_key="warehouse",
        metadata={
            "path": dg.MetadataValue.path(str(published.path)),
            "publish_seconds": dg.MetadataValue.float(round(published.duration_seconds, 3)),
            "publish_mode": dg.MetadataValue.text(published.mode),
            "reloaded_partitions": dg.MetadataValue.json(dict(published.reloaded)),
            "row_counts": dg.MetadataValue.json(counts),
            # Plain numbers, so the UI plots them across materializations.
            "dagster/row_count": dg.MetadataValue.int(sum(n for t, n in counts.items() if t in WAREHOUSE_TABLES)),
            "meetings": dg.MetadataValue.int(counts.get("meetings", 0)),
            "participant_sessions": dg.MetadataValue.int(counts.get("participant_sessions", 0)),
            "quarantined_rows": dg.MetadataValue.int(counts.get("quarantine", 0)),
            **usage_metadata(storage, published),
            **account_metadata(),
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
        table = f"report_{name}"
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(counts.get(table, 0)),
                "dagster/column_schema": dg.TableSchema(columns=columns.get(table, [])),
                "lake_path": dg.MetadataValue.path(storage.lake().location_of(table, None, "data.parquet")),
                **account_metadata(),
            },
        )


def usage_metadata(storage: StorageResource, published: PublishResult) -> dict[str, dg.MetadataValue]:
    """Two small charts of the published data and where the full report is drawn."""
    report = storage.root() / "report" / "index.html"
    metadata: dict[str, dg.MetadataValue] = {
        "report": dg.MetadataValue.path(str(report.resolve())),
        "report_hint": dg.MetadataValue.text(
            f"`{REPORT_COMMAND}` draws the full dashboard at that path"
            + ("" if report.exists() else " (not drawn yet)")
        ),
    }
    try:
        # Kept beside the report: a publish that changed nothing the charts show reuses them.
        charts = ui_charts_markdown(published.path, account_timezone(), published.report_as_of,
                                    cache=report.parent / UI_CHARTS_FILE)
    except (ReportDataError, duckdb.Error, OSError, ValueError, RuntimeError) as exc:
        # The warehouse is published either way; a chart that cannot be drawn is not a failed run.
        log.warning("could not draw the usage charts for the Dagster UI: %s", exc)
        charts = f"The usage charts could not be drawn ({exc}); `{REPORT_COMMAND}` shows the data."
    metadata["usage_charts"] = dg.MetadataValue.md(charts)
    return metadata


def report_columns(store: Warehouse) -> dict[str, list[dg.TableColumn]]:
    """Each report table's columns, types and DuckDB COMMENTs, for the UI's column schema."""
    columns: dict[str, list[dg.TableColumn]] = {}
    with duckdb.connect(str(store.path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
            "WHERE table_name LIKE 'report\\_%' ESCAPE '\\' ORDER BY table_name, column_index"
        ).fetchall()
    for table, column, data_type, comment in rows:
        columns.setdefault(table, []).append(
            dg.TableColumn(name=column, type=data_type.lower(), description=comment or None)
        )
    return columns


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
