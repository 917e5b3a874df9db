"""The DuckDB warehouse: built beside the published file and published with one rename.

The published ``warehouse.duckdb`` is never opened for writing. Each publish prepares a complete
new database beside it, checkpoints and fsyncs it, then ``os.replace``-s it over the target, so an
analyst holding the old file open keeps a consistent snapshot and never blocks or breaks a run,
and a killed publish leaves the previous database as it was. An inter-process file lock keeps
publishers one at a time.

A publish costs what changed, not the whole lake: the new database starts as a copy of the
published one (a reflink where the file system offers one), only the lake partitions that changed
since are deleted and reloaded, and the reporting SQL runs over the result. The first publish, a
change of schema or SQL, or a file grown well past its fully built size builds from scratch.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import secrets
import shutil
import time
from collections.abc import Mapping, Sequence
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
from resources.settings import DefinitionSettings
from resources.warehouse_reports import EVERYTHING, ReportPlan, plan_report
from resources.warehouse_changes import (
    MANIFEST_TABLE,
    LakeFile,
    Manifest,
    TableChange,
    attach_lake,
    fingerprint,
    lake_file_digest,
    plan_changes,
    scan_lake,
)

log = logging.getLogger(__name__)

BUILD_SUFFIX = ".building"
DEFAULT_LOCK_TIMEOUT_SECONDS = 1800.0
# The file is written in the oldest storage format of DuckDB 1.x, so the DuckDB 1.x CLI and the
# DuckDB 1.x drivers embedded in BI tools open it, not only the DuckDB this project runs.
STORAGE_COMPATIBILITY_VERSION = "v1.0.0"
# Tables the reporting SQL creates; they are also written to the lake for BI tools that read Parquet.
REPORT_PREFIX = "report_"
# Deleted rows leave free blocks behind; past this growth over the last full build, build afresh.
MAX_GROWTH_FACTOR = 2.0
MIN_GROWTH_BYTES = 64 * 2**20
# Past this share of the lake's bytes changed, a full build is cheaper than patching.
MAX_RELOAD_SHARE = 0.5
_FICLONE = 0x40049409


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
    # "full" (built from the whole lake) or "incremental" (the previous file with changed partitions replaced).
    mode: str = "full"
    # Lake partitions reloaded, table -> business dates; a table reloaded whole maps to ["*"].
    reloaded: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Report files re-run: name -> "full" or "from <date>" (a recomputed slice); unchanged ones are absent.
    reports: Mapping[str, str] = field(default_factory=dict)
    # Rows beyond the first per key, for each keyed table that has any.
    duplicate_keys: Mapping[str, int] = field(default_factory=dict)
    # Wall seconds per publish step (copy, load, reports, checkpoint, ...), to show where the time goes.
    step_seconds: Mapping[str, float] = field(default_factory=dict)


def quote_identifier(name: str) -> str:
    """Quote a SQL identifier (DuckDB doubles embedded quotes)."""
    return '"' + name.replace('"', '""') + '"'


def default_report_date() -> dt.date:
    """Today in the account's time zone, the date 'inactive for 30 days' is measured from."""
    zone = ZoneInfo(DefinitionSettings.from_env().timezone)
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
        partition_columns: Mapping[str, str] | None = None,
        incremental: bool = True,
        keys: Mapping[str, Sequence[str]] | None = None,
    ) -> PublishResult:
        """Bring the warehouse up to date with ``lake`` plus the reporting SQL and publish it atomically.

        ``partition_columns`` names, per table, the column that holds each row's lake partition (a
        date, or an instant whose local date in ``TMEET_TIMEZONE`` is the partition); such a table is
        updated partition by partition. ``incremental=False`` builds from scratch. ``keys`` names
        each table's key columns (never null); the result counts the rows beyond the first per key
        (``duplicate_keys``), at the cost of the change too.
        """
        as_of = report_as_of or default_report_date()
        sql_files = sorted(Path(sql_dir).glob("*.sql"))
        for table in tables:
            check_table_name(table)
        by_partition = {
            table: column
            for table, column in (partition_columns or {}).items()
            if table in tables
            and column in tables[table].names
            and (pa.types.is_date(tables[table].field(column).type)
                 or pa.types.is_timestamp(tables[table].field(column).type))
        }
        partition_keys = {table: _partition_key(tables[table].field(column)) for table, column in by_partition.items()}
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
            clock = _Clock()
            plan = _Plan(
                lake=lake,
                tables=tables,
                partition_columns=by_partition,
                partition_keys=partition_keys,
                sql_files=sql_files,
                as_of=as_of,
                fingerprint=fingerprint(tables, partition_keys, sql_files, keys),
                keys={t: tuple(k) for t, k in (keys or {}).items() if t in tables and k},
                current=scan_lake(lake, tables),
                clock=clock,
            )
            clock.lap("scan lake")
            try:
                outcome = None
                if incremental:
                    try:
                        outcome = self._build_incrementally(build, plan)
                    except WarehousePublishError as exc:
                        # A full build is always sound; it also reports the error again if it is real.
                        log.warning("%s; building the warehouse from scratch instead", exc)
                        plan.reports.clear()
                        plan.duplicates.clear()
                if outcome is None:
                    _remove_database_files(build)
                    outcome = self._build(build, plan, None)
                self._swap_in(build)
                clock.lap("fsync and rename")
                self._export_reports(lake)
                clock.lap("reports to the lake")
            finally:
                _remove_database_files(build)
            published_at = time.time()
        finally:
            lock.release()
        duration = time.monotonic() - started
        row_counts, mode, reloaded = outcome
        log.info("published %s (%s) in %.2f s: %s", self.path, mode, duration, row_counts)
        return PublishResult(
            path=self.path,
            row_counts=row_counts,
            duration_seconds=duration,
            report_as_of=as_of,
            lock_acquired_at=lock_acquired_at,
            published_at=published_at,
            mode=mode,
            reloaded=reloaded,
            reports=dict(plan.reports),
            duplicate_keys={t: n for t, n in sorted(plan.duplicates.items()) if n},
            step_seconds=clock.laps,
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

    def _build_incrementally(self, build: Path, plan: _Plan) -> _Outcome | None:
        """Patch a copy of the published database; None when only a full build is sound."""
        if not self.path.exists():
            return None
        # Read-only, like any analyst: we hold the publish lock, so nobody writes it meanwhile.
        manifest = _read_manifest(self.path)
        plan.clock.lap("read manifest")
        if manifest is None or manifest.fingerprint != plan.fingerprint:
            return None
        published_bytes = self.path.stat().st_size
        if published_bytes > max(manifest.full_build_bytes * MAX_GROWTH_FACTOR,
                                 manifest.full_build_bytes + MIN_GROWTH_BYTES):
            log.info("%s grew to %d bytes through incremental publishes; building it afresh", self.path,
                     published_bytes)
            return None
        changes, files = plan_changes(plan.current, manifest, plan.partition_columns)
        plan.clock.lap("compare with manifest")
        reloading = sum(
            f.size for table, change in changes.items() for f in plan.current[table]
            if change.reload_all or f.partition in change.partitions
        )
        lake_bytes = sum(f.size for listed in plan.current.values() for f in listed)
        if reloading > max(lake_bytes * MAX_RELOAD_SHARE, MIN_GROWTH_BYTES):
            # Most of the lake changed (a rebuild of the archive): deleting and re-inserting it would
            # cost more than building afresh and leave a file full of free blocks.
            log.info("%d of the lake's %d bytes changed; building the warehouse from scratch", reloading, lake_bytes)
            return None
        try:
            _clone_file(self.path, build)
        except OSError as exc:
            log.warning("could not copy %s (%s); building the warehouse from scratch", self.path, exc)
            return None
        plan.clock.lap("copy previous file")
        return self._build(build, plan, manifest, (changes, files))

    def _build(
        self,
        build: Path,
        plan: _Plan,
        previous: Manifest | None,
        planned: tuple[dict[str, TableChange], dict[str, list[int | str | None]]] | None = None,
    ) -> _Outcome:
        """Fill ``build`` from scratch (``previous`` None) or apply the lake's changes since ``previous``."""
        step = f"opening {build}"
        try:
            con = duckdb.connect(
                str(build), config={"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION}
            )
        except duckdb.Error as exc:
            raise WarehousePublishError(self._failure(step, exc)) from exc
        try:
            attach_lake(con, plan.lake)
            # Reports compare UTC instants and local business dates; never depend on the host zone.
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET VARIABLE report_as_of = CAST(? AS DATE)", [plan.as_of.isoformat()])
            if previous is None:
                changes = {table: TableChange(reload_all=True) for table in plan.tables}
                files: dict[str, list[int | str | None]] = {}
                exact: set[str] = set()
                for table, schema in plan.tables.items():
                    step = f"creating table {table!r}"
                    _create_table(con, table, schema)
                step = "creating the publish manifest"
                con.execute(f"CREATE TABLE {MANIFEST_TABLE} (manifest VARCHAR)")
            else:
                step = "comparing the lake with the published warehouse"
                changes, files = planned or plan_changes(plan.current, previous, plan.partition_columns)
                exact = set(previous.exact_tables)
                plan.duplicates.update(previous.duplicates)
                for table in plan.keys:
                    if table not in plan.duplicates:
                        changes[table] = TableChange(reload_all=True)
            reloaded: dict[str, list[str]] = {}
            reports: dict[str, str] = {}
            for table, change in changes.items():
                step = f"loading lake table {table!r}"
                reloaded[table] = self._apply(con, plan, table, change, files, exact, hash_files=previous is not None)
                plan.clock.lap("load lake tables")
            changed: dict[str, list[str]] = {t: d for t, d in reloaded.items() if d}
            # Reports slice by a date column; instants partitioned by their local date do not qualify.
            date_columns = {
                t: c for t, c in plan.partition_columns.items() if plan.partition_keys[t] == quote_identifier(c)
            }
            existing = {
                name for (name,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                    "AND schema_name = 'main'"
                ).fetchall()
            }
            for sql_file in plan.sql_files:
                step = f"running {sql_file}"
                text = sql_file.read_text(encoding="utf-8")
                report = plan_report(text, existing, changed, date_columns, exact)
                if report.action == "slice" and not _refresh_slice(con, text, report):
                    report = ReportPlan("full", report.creates)
                if report.action == "full":
                    for name in report.creates:
                        con.execute(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
                    con.execute(text)
                if report.action != "skip":
                    changed.update({name: [EVERYTHING] for name in report.creates})
                    existing.update(report.creates)
                    reports[sql_file.stem] = report.action if report.start is None else f"from {report.start}"
                plan.clock.lap(f"report {sql_file.stem}")
            step = "counting rows"
            row_counts = {
                name: con.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchone()[0]
                for (name,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                    "AND schema_name = 'main' ORDER BY table_name"
                ).fetchall()
                if name != MANIFEST_TABLE
            }
            plan.clock.lap("count rows")
            step = "recording the publish manifest"
            manifest = Manifest(
                fingerprint=plan.fingerprint,
                full_build_bytes=previous.full_build_bytes if previous else 0,
                exact_tables=exact,
                files=files,
                duplicates=dict(plan.duplicates),
            )
            con.execute(f"DELETE FROM {MANIFEST_TABLE}")
            con.execute(f"INSERT INTO {MANIFEST_TABLE} VALUES (?)", [manifest.to_json()])
            step = "checkpointing"
            con.execute("CHECKPOINT")
            if previous is None:
                # The size the growth limit is measured against; recorded after the checkpoint sized the file.
                manifest.full_build_bytes = build.stat().st_size
                con.execute(f"UPDATE {MANIFEST_TABLE} SET manifest = ?", [manifest.to_json()])
                con.execute("CHECKPOINT")
            plan.clock.lap("checkpoint")
        except duckdb.Error as exc:
            raise WarehousePublishError(self._failure(step, exc)) from exc
        finally:
            con.close()
        mode = "full" if previous is None else "incremental"
        plan.reports.update(reports)
        return row_counts, mode, {t: d for t, d in reloaded.items() if d}

    def _apply(
        self,
        con: duckdb.DuckDBPyConnection,
        plan: _Plan,
        table: str,
        change: TableChange,
        files: dict[str, list[int | str | None]],
        exact: set[str],
        *,
        hash_files: bool,
    ) -> list[str]:
        """Replace the changed rows of ``table``; returns the partitions reloaded (``["*"]``: all)."""
        target = quote_identifier(table)
        key = plan.partition_keys.get(table)
        current = plan.current[table]
        if change.reload_all:
            loading = current
            con.execute(f"DELETE FROM {target}")
        else:
            days = sorted(change.partitions)
            loading = [f for f in current if f.partition in change.partitions]
            listed = ", ".join(f"DATE '{day.isoformat()}'" for day in days)
            counted = _KeyCount(con, table, plan.keys.get(table), f"{key} IN ({listed})", loading)
            con.execute(f"DELETE FROM {target} WHERE {key} IN ({listed})")
        # Directory tables are small and rewritten by every sync: knowing their bytes from the
        # start lets the next publish skip an identical rewrite.
        digests = [
            lake_file_digest(f) if hash_files or f.partition is None or f.digest else None for f in loading
        ]
        _insert_files(con, table, plan.tables[table], loading)
        for lake_file, digest in zip(loading, digests, strict=True):
            files[lake_file.relpath] = _manifest_entry(lake_file, digest)
        if table in plan.keys:
            if change.reload_all:
                plan.duplicates[table] = _extra_rows(con, table, plan.keys[table], None)
            else:
                plan.duplicates[table] = counted.updated(plan.duplicates.get(table, 0))
        if key is not None and loading:
            stray = _rows_outside_their_partition(con, key, loading)
            if stray and not change.reload_all:
                # The new files break the partition property: rows of other dates may now be
                # mixed in, so only a reload of the whole table is sound.
                log.warning("%s has %d row(s) whose %s is not their partition's date; reloading it whole",
                            table, stray, key)
                exact.discard(table)
                return self._apply(con, plan, table, TableChange(reload_all=True), files, exact,
                                   hash_files=hash_files)
            if change.reload_all:
                if stray:
                    exact.discard(table)
                else:
                    exact.add(table)
        elif key is not None and change.reload_all:
            exact.add(table)
        if change.reload_all:
            return [EVERYTHING]
        return [day.isoformat() for day in sorted(change.partitions)]

    def _export_reports(self, lake: Lake) -> None:
        """Write the published report tables to the lake too, for BI tools that read Parquet."""
        try:
            with duckdb.connect(str(self.path), read_only=True) as con:
                names = [name for (name,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                    "AND schema_name = 'main' AND starts_with(table_name, ?) ORDER BY table_name",
                    [REPORT_PREFIX],
                ).fetchall()]
                reports = {name: _plain_arrow(con.sql(f"SELECT * FROM {quote_identifier(name)}").to_arrow_table())
                           for name in names}
        except duckdb.Error as exc:
            raise WarehousePublishError(f"{self.path} was published, but reading its report tables failed: {exc}") from exc
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


@dataclass(frozen=True)
class _Plan:
    lake: Lake
    tables: Mapping[str, pa.Schema]
    partition_columns: Mapping[str, str]
    # Per partitioned table, the SQL expression giving a row's partition date.
    partition_keys: Mapping[str, str]
    sql_files: list[Path]
    as_of: dt.date
    fingerprint: str
    current: Mapping[str, list[LakeFile]]
    clock: _Clock
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Filled by the build: report file -> "full" or "from <date>" (skipped files are absent).
    reports: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)


class _Clock:
    """Wall seconds per named step, summed when a step recurs."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self._last, 4)
        self._last = now


_Outcome = tuple[dict[str, int], str, dict[str, list[str]]]


def _create_table(con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema) -> None:
    """Create ``table`` with exactly the schema's columns and types."""
    con.register("__schema_template", schema.empty_table())
    try:
        con.execute(f"CREATE TABLE {quote_identifier(table)} AS SELECT * FROM __schema_template")
    finally:
        con.unregister("__schema_template")


def _insert_files(con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema, files: list[LakeFile]) -> None:
    if not files:
        return
    columns = ", ".join(quote_identifier(name) for name in schema.names)
    con.execute(
        f"INSERT INTO {quote_identifier(table)} ({columns}) SELECT {columns} "
        "FROM read_parquet(?, hive_partitioning = false, union_by_name = true)",
        [[f.source for f in files]],
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


_TOUCHED_KEYS = "__publish_touched_keys"
# Matches no file: the next publish reloads whatever carries it.
_UNKNOWN = [-1, -1, -1, None]


def _manifest_entry(lake_file: LakeFile, digest: str | None) -> list[int | str | None]:
    """What the manifest records for a loaded file, unless a sync replaced it while it was loaded.

    Lake writers do not take the publish lock; a file replaced between the scan and the load may
    have been read in either version, so it is recorded as unknown and reloaded next time.
    An object named by its digest cannot change.
    """
    if lake_file.digest is not None:
        return [*lake_file.stat_key(), lake_file.digest]
    try:
        stat = lake_file.path.stat()
    except FileNotFoundError:
        return list(_UNKNOWN)
    if [stat.st_size, stat.st_mtime_ns, stat.st_ino] != lake_file.stat_key():
        return list(_UNKNOWN)
    return [*lake_file.stat_key(), digest]


def _extra_rows(
    con: duckdb.DuckDBPyConnection, table: str, key: Sequence[str], among: str | None
) -> int:
    """Rows beyond the first per key in ``table``, over every key or only those in ``among``."""
    columns = ", ".join(quote_identifier(c) for c in key)
    semi = f" SEMI JOIN temp.main.{among} USING ({columns})" if among else ""
    (extra,) = con.execute(
        f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM main.{quote_identifier(table)}{semi} "
        f"GROUP BY {columns})"
    ).fetchone()
    return int(extra)


class _KeyCount:
    """Duplicate keys kept current through a partition replacement without a full count.

    Only keys in the replaced rows or in the new files can change their count; their duplicates
    are counted before the delete and after the insert, the rest carry over.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        key: Sequence[str] | None,
        replaced: str,
        files: list[LakeFile],
    ) -> None:
        self._con, self._table, self._key = con, table, key
        if not key:
            return
        columns = ", ".join(quote_identifier(c) for c in key)
        incoming = ""
        if files:
            listed = ", ".join("'" + f.source.replace("'", "''") + "'" for f in files)
            incoming = (f" UNION SELECT {columns} FROM read_parquet([{listed}], hive_partitioning = false, "
                        "union_by_name = true)")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_TOUCHED_KEYS} AS SELECT {columns} "
            f"FROM main.{quote_identifier(table)} WHERE {replaced}{incoming}"
        )
        self._before = _extra_rows(con, table, key, _TOUCHED_KEYS)

    def updated(self, previous: int) -> int:
        """The table's duplicate count after the insert, from its count before the replacement."""
        if not self._key:
            return previous
        after = _extra_rows(self._con, self._table, self._key, _TOUCHED_KEYS)
        self._con.execute(f"DROP TABLE temp.main.{_TOUCHED_KEYS}")
        return previous - self._before + after


def _partition_key(column: pa.Field) -> str:
    """SQL giving a row's partition date: the date itself, or an instant's local date."""
    name = quote_identifier(column.name)
    if pa.types.is_date(column.type):
        return name
    if column.type.tz is None:
        return f"CAST({name} AS DATE)"
    zone = ZoneInfo(DefinitionSettings.from_env().timezone).key
    return f"CAST(timezone('{zone.replace(chr(39), '')}', {name}) AS DATE)"


def _rows_outside_their_partition(con: duckdb.DuckDBPyConnection, key: str, files: list[LakeFile]) -> int:
    """Rows of ``files`` whose partition ``key`` is not the date of the partition they are stored in."""
    partitioned = [f for f in files if f.partition is not None]
    if len(partitioned) < len(files):
        return len(files) - len(partitioned)
    (stray,) = con.execute(
        f"SELECT count(*) FROM read_parquet(?, filename = true, hive_partitioning = false, union_by_name = true) "
        f"WHERE {key} IS DISTINCT FROM "
        r"CAST(regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})/(?:_objects/)?[^/]*$', 1) AS DATE)",
        [[f.source for f in partitioned]],
    ).fetchone()
    return int(stray)


def _refresh_slice(con: duckdb.DuckDBPyConnection, text: str, report: ReportPlan) -> bool:
    """Recompute ``report``'s rows from its start date on; False when its tables lack the column."""
    column, start = quote_identifier(str(report.column)), f"DATE '{report.start}'"
    for name in report.creates:
        described = [row[0] for row in con.execute(f"DESCRIBE {quote_identifier(name)}").fetchall()]
        if report.column not in described:
            return False
    (database,) = con.execute("SELECT current_database()").fetchone()
    kept = {name: quote_identifier(f"__published_{name}") for name in report.creates}
    for name, old in kept.items():
        con.execute(f"ALTER TABLE {quote_identifier(name)} RENAME TO {old}")
    # Temporary views shadow the sliced tables, so the file runs as written over the slice only.
    for table in report.sliced:
        con.execute(
            f"CREATE TEMP VIEW {quote_identifier(table)} AS SELECT * FROM "
            f"{quote_identifier(database)}.main.{quote_identifier(table)} WHERE {column} >= {start}"
        )
    try:
        con.execute(text)
    finally:
        for table in report.sliced:
            con.execute(f"DROP VIEW IF EXISTS temp.main.{quote_identifier(table)}")
    for name, old in kept.items():
        con.execute(f"DELETE FROM {old} WHERE {column} >= {start}")
        con.execute(f"INSERT INTO {old} SELECT * FROM {quote_identifier(name)}")
        con.execute(f"DROP TABLE {quote_identifier(name)}")
        con.execute(f"ALTER TABLE {old} RENAME TO {quote_identifier(name)}")
    return True


def _read_manifest(database: Path) -> Manifest | None:
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            row = con.execute(f"SELECT manifest FROM {MANIFEST_TABLE}").fetchone()
    except duckdb.Error as exc:
        log.info("%s has no usable publish manifest (%s); building the warehouse from scratch", database, exc)
        return None
    return Manifest.from_json(row[0]) if row else None


def _clone_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``: a reflink sharing blocks where supported, else a byte copy."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            return
        except OSError:
            pass
    shutil.copyfile(source, target)


def _remove_database_files(database: Path) -> None:
    for path in (database, Path(f"{database}.wal")):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove %s: %s; the next publish removes it", path, exc)
