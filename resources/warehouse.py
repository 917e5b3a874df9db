"""The DuckDB warehouse: rebuilt from the lake in a temp file and published with one rename.

The published ``warehouse.duckdb`` is never opened for writing. Each publish builds a complete new
database beside it, checkpoints and fsyncs it, then ``os.replace``-s it over the target, so an
analyst holding the old file open keeps a consistent snapshot and never blocks or breaks a run,
and a killed publish leaves the previous database as it was. An inter-process file lock keeps
publishers one at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import filelock
import pandas as pd
import pyarrow as pa

from resources.atomic_files import describe_write_failure, fsync_dir
from resources.file_modes import current_modes, make_dirs, restrict
from resources.lake import Lake, check_table_name

log = logging.getLogger(__name__)

BUILD_SUFFIX = ".building"
DEFAULT_LOCK_TIMEOUT_SECONDS = 1800.0
DEFAULT_TIMEZONE = "Asia/Shanghai"
# The file is written in the oldest storage format of DuckDB 1.x, so the DuckDB 1.x CLI and the
# DuckDB 1.x drivers embedded in BI tools open it, not only the DuckDB this project runs.
STORAGE_COMPATIBILITY_VERSION = "v1.0.0"
# Tables the reporting SQL creates; they are also written to the lake for BI tools that read Parquet.
REPORT_PREFIX = "report_"


class WarehousePublishError(RuntimeError):
    """A publish failed; the previously published database is unchanged."""


@dataclass(frozen=True)
class PublishResult:
    """What a publish produced: row counts per table (lake and report tables), timing, path."""

    path: Path
    row_counts: Mapping[str, int]
    duration_seconds: float
    report_as_of: dt.date
    lock_acquired_at: float = field(repr=False)
    published_at: float = field(repr=False)


def quote_identifier(name: str) -> str:
    """Quote a SQL identifier (DuckDB doubles embedded quotes)."""
    return '"' + name.replace('"', '""') + '"'


def default_report_date() -> dt.date:
    """Today in the account's time zone, the date 'inactive for 30 days' is measured from."""
    zone = ZoneInfo(os.environ.get("TMEET_TIMEZONE", DEFAULT_TIMEZONE))
    return dt.datetime.now(zone).date()


class Warehouse:
    """The published DuckDB file at ``path`` (normally ``$TMEET_DATA_DIR/warehouse.duckdb``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Warehouse:
        return cls(Path(data_dir) / "warehouse.duckdb")

    def publish(
        self,
        lake: Lake,
        tables: Mapping[str, pa.Schema],
        sql_dir: Path,
        *,
        report_as_of: dt.date | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    ) -> PublishResult:
        """Rebuild the warehouse from ``lake`` plus the reporting SQL and publish it atomically."""
        as_of = report_as_of or default_report_date()
        sql_files = sorted(Path(sql_dir).glob("*.sql"))
        for table in tables:
            check_table_name(table)
        make_dirs(self.path.parent)
        lock = filelock.FileLock(str(self.lock_path), timeout=lock_timeout, mode=current_modes().file)
        started = time.monotonic()
        try:
            lock.acquire()
        except filelock.Timeout as exc:
            raise WarehousePublishError(
                f"another publish of {self.path} has held {self.lock_path} for over "
                f"{lock_timeout:.0f} s; wait for it to finish (or end it) and publish again"
            ) from exc
        try:
            lock_acquired_at = time.time()
            self._remove_abandoned_builds()
            build = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(6)}{BUILD_SUFFIX}")
            try:
                row_counts, reports = self._build(build, lake, tables, sql_files, as_of)
                self._swap_in(build)
                self._export_reports(lake, reports)
            finally:
                _remove_database_files(build)
            published_at = time.time()
        finally:
            lock.release()
        duration = time.monotonic() - started
        log.info("published %s in %.2f s: %s", self.path, duration, row_counts)
        return PublishResult(
            path=self.path,
            row_counts=row_counts,
            duration_seconds=duration,
            report_as_of=as_of,
            lock_acquired_at=lock_acquired_at,
            published_at=published_at,
        )

    def query(self, sql: str, parameters: list[object] | None = None) -> pd.DataFrame:
        """Run one read-only query against the published database (for checks and tests)."""
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(sql, parameters or []).df()
        finally:
            con.close()

    def _remove_abandoned_builds(self) -> None:
        # We hold the publish lock, so any build file left here belongs to a killed publisher.
        for stale in self.path.parent.glob(f".{self.path.name}.*{BUILD_SUFFIX}*"):
            log.warning("removing %s left by an interrupted publish", stale)
            stale.unlink(missing_ok=True)

    def _build(
        self,
        build: Path,
        lake: Lake,
        tables: Mapping[str, pa.Schema],
        sql_files: list[Path],
        as_of: dt.date,
    ) -> tuple[dict[str, int], dict[str, pa.Table]]:
        step = f"opening {build}"
        try:
            con = duckdb.connect(
                str(build), config={"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION}
            )
        except duckdb.Error as exc:
            raise WarehousePublishError(self._failure(step, exc)) from exc
        try:
            # Reports compare UTC instants and local business dates; never depend on the host zone.
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET VARIABLE report_as_of = CAST(? AS DATE)", [as_of.isoformat()])
            for table, schema in tables.items():
                step = f"loading lake table {table!r}"
                _load_table(con, lake, table, schema)
            for sql_file in sql_files:
                step = f"running {sql_file}"
                con.execute(sql_file.read_text(encoding="utf-8"))
            step = "counting rows"
            row_counts = {
                name: con.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchone()[0]
                for (name,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                    "ORDER BY table_name"
                ).fetchall()
            }
            step = "reading the report tables"
            with con.cursor() as reader:
                reports = {
                    name: _plain_arrow(reader.sql(f"SELECT * FROM {quote_identifier(name)}").to_arrow_table())
                    for name in row_counts
                    if name.startswith(REPORT_PREFIX)
                }
            step = "checkpointing"
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise WarehousePublishError(self._failure(step, exc)) from exc
        finally:
            con.close()
        return row_counts, reports

    def _export_reports(self, lake: Lake, reports: Mapping[str, pa.Table]) -> None:
        for name, data in reports.items():
            try:
                lake.write_unpartitioned_arrow(name, data)
            except OSError as exc:
                raise WarehousePublishError(
                    f"{self.path} was published, but writing {name} to the lake failed: {exc}"
                ) from exc

    def _swap_in(self, build: Path) -> None:
        wal = Path(f"{build}.wal")
        if wal.exists():
            raise WarehousePublishError(
                f"{build} still has a write-ahead log after CHECKPOINT; the previous warehouse "
                "is unchanged; publish again"
            )
        try:
            fd = os.open(build, os.O_RDONLY)
            try:
                # DuckDB created the file with the umask's mode; fix it before anyone can open it.
                restrict(fd)
                os.fsync(fd)
            finally:
                os.close(fd)
            # A WAL beside the target belongs to the file being replaced; DuckDB would replay it
            # onto the new database when the next connection opens it.
            Path(f"{self.path}.wal").unlink(missing_ok=True)
            os.replace(build, self.path)
            fsync_dir(self.path.parent)
        except OSError as exc:
            raise WarehousePublishError(describe_write_failure(self.path, exc)) from exc

    def _failure(self, step: str, exc: BaseException) -> str:
        return (
            f"publishing {self.path} failed while {step}: {exc}. The previously published "
            "warehouse is unchanged; fix the cause and publish again"
        )


def _load_table(con: duckdb.DuckDBPyConnection, lake: Lake, table: str, schema: pa.Schema) -> None:
    """Create ``table`` with exactly the schema's columns and types, then fill it from the lake."""
    target = quote_identifier(table)
    con.register("__schema_template", schema.empty_table())
    try:
        con.execute(f"CREATE TABLE {target} AS SELECT * FROM __schema_template")
    finally:
        con.unregister("__schema_template")
    if not lake.has_files(table):
        return
    columns = ", ".join(quote_identifier(name) for name in schema.names)
    con.execute(
        f"INSERT INTO {target} ({columns}) SELECT {columns} "
        "FROM read_parquet(?, hive_partitioning = false, union_by_name = true)",
        [lake.glob(table)],
    )


def _plain_arrow(data: pa.Table) -> pa.Table:
    """The lake's own types (docs/tables.md): plain ``string`` and timestamps in ``UTC``.

    Every BI Parquet reader understands plain strings, not every one string views; DuckDB names
    the UTC zone ``Etc/UTC`` while the lake's tables say ``UTC``.
    """
    return data.cast(pa.schema([_plain_field(field) for field in data.schema], metadata=data.schema.metadata))


def _plain_field(field: pa.Field) -> pa.Field:
    if pa.types.is_string_view(field.type) or pa.types.is_large_string(field.type):
        return field.with_type(pa.string())
    if pa.types.is_timestamp(field.type) and field.type.tz is not None:
        return field.with_type(pa.timestamp(field.type.unit, tz="UTC"))
    return field


def _remove_database_files(database: Path) -> None:
    for path in (database, Path(f"{database}.wal")):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove %s: %s; the next publish removes it", path, exc)
