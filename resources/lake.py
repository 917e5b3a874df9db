"""The Parquet lake: ``<root>/<table>/date=YYYY-MM-DD/part-0.parquet``, written atomically.

Every write goes to a hidden temp file and is renamed over the partition's file only when it is
complete and fsynced, so a reader (BI tool, DuckDB glob) sees either the previous version or the
new one, never a half-written file; re-running a partition replaces it (idempotent).

On object storage (``TMEET_LAKE_URL=s3://bucket/prefix``) a file is an immutable object switched
by a pointer PUT instead (``resources/objectstore.py``); the same methods read and write it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from assets.normalize.pii import PiiPolicy, apply_pii_policy
from resources.atomic_files import (
    DEFAULT_SWEEP_GRACE_SECONDS,
    StorageWriteError,
    atomic_file,
    sweep_debris,
)
from resources.objectstore import (
    RECENT_VERSION_GRACE_SECONDS,
    VersionedTree,
    business_date_of,
    is_remote,
    storage_location,
)
from resources.pii_policy import load_pii_policy

PARTITION_FILE = "part-0.parquet"
UNPARTITIONED_FILE = "data.parquet"
PARTITION_KEY = "date"
LAKE_URL_ENV = "TMEET_LAKE_URL"

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Leaves room for the temp-file prefix and suffix within the 255-byte filename limit.
_SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,160}$")
_PARTITION_DIR = re.compile(rf"^{PARTITION_KEY}=(\d{{4}}-\d{{2}}-\d{{2}})$")


class SchemaMismatchError(ValueError):
    """A frame does not match the table's Arrow schema."""


def check_table_name(table: str) -> str:
    """Table names become directory names and SQL identifiers, so keep them plain."""
    if not _TABLE_NAME.match(table):
        raise ValueError(
            f"invalid table name {table!r}: use lowercase letters, digits and underscores, "
            "starting with a letter"
        )
    return table


def as_business_date(value: dt.date | str) -> dt.date:
    """Accept a ``date`` or a ``YYYY-MM-DD`` partition key; refuse datetimes (which zone?)."""
    if isinstance(value, dt.datetime):
        raise TypeError(
            f"business date must be a date, got the datetime {value!r}; convert it to the "
            "account's local date first"
        )
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"business date must be YYYY-MM-DD, got {value!r}") from exc


def _string_like(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _castable(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Representation differences that carry the same values (pandas picks its own flavour)."""
    if pa.types.is_null(actual):
        return True
    if _string_like(actual) and _string_like(expected):
        return True
    if pa.types.is_dictionary(actual):
        return _castable(actual.value_type, expected)
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        # Naive vs aware is a real bug (instants are UTC); only the unit may differ.
        return (actual.tz is None) == (expected.tz is None) and (
            actual.tz is None or actual.tz.upper() == expected.tz.upper()
        )
    if pa.types.is_date(actual) and pa.types.is_date(expected):
        return True
    if pa.types.is_integer(actual) and pa.types.is_integer(expected):
        return actual.bit_width <= expected.bit_width
    if pa.types.is_floating(actual) and pa.types.is_floating(expected):
        return True
    return False


def frame_to_table(df: pd.DataFrame, schema: pa.Schema, table: str = "") -> pa.Table:
    """Convert ``df`` to an Arrow table of exactly ``schema``, or fail naming the column."""
    where = f"table {table!r}: " if table else ""
    columns = [str(c) for c in df.columns]
    expected = list(schema.names)
    if columns != expected:
        missing = [c for c in expected if c not in columns]
        extra = [c for c in columns if c not in expected]
        if missing:
            raise SchemaMismatchError(f"{where}column {missing[0]!r} is missing (all missing: {missing})")
        if extra:
            raise SchemaMismatchError(f"{where}column {extra[0]!r} is not in the schema (all extra: {extra})")
        raise SchemaMismatchError(f"{where}columns are out of order: expected {expected}, got {columns}")
    arrays: list[pa.Array] = []
    for field in schema:
        arrays.append(_column_array(df[field.name], field, where))
    return pa.Table.from_arrays(arrays, schema=schema)


def _column_array(series: pd.Series, field: pa.Field, where: str) -> pa.Array:
    try:
        array = pa.Array.from_pandas(series)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaMismatchError(
            f"{where}column {field.name!r} cannot be converted to {field.type}: {exc}"
        ) from exc
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != field.type:
        if not _castable(array.type, field.type):
            raise SchemaMismatchError(
                f"{where}column {field.name!r} has type {array.type} (pandas {series.dtype}), "
                f"expected {field.type}"
            )
        try:
            array = array.cast(field.type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SchemaMismatchError(
                f"{where}column {field.name!r} does not fit {field.type}: {exc}"
            ) from exc
    if not field.nullable and array.null_count:
        raise SchemaMismatchError(
            f"{where}column {field.name!r} is part of the key and has {array.null_count} null(s)"
        )
    return array


class PartitionWriter:
    """Streams frames into one Parquet file as row groups; created by :meth:`Lake.partition_writer`."""

    def __init__(
        self, writer: pq.ParquetWriter, schema: pa.Schema, table: str, path: Path | str, pii: PiiPolicy | None = None
    ) -> None:
        self._writer = writer
        self._pii = pii
        self._schema = schema
        self._table = table
        self.path = path
        self.rows_written = 0

    def write(self, df: pd.DataFrame) -> None:
        """Validate ``df`` against the schema and append it as a row group."""
        if self._pii is not None:
            # Every frame reaches disk through here, so the PII policy cannot be bypassed.
            df = apply_pii_policy(self._table, df, self._pii)
        arrow_table = frame_to_table(df, self._schema, self._table)
        if arrow_table.num_rows:
            try:
                self._writer.write_table(arrow_table)
            except OSError as exc:
                raise StorageWriteError(Path(self.path), exc) from exc
            self.rows_written += arrow_table.num_rows

    def write_arrow(self, data: pa.Table) -> None:
        """Append an Arrow table that already has the writer's schema (no pandas round trip)."""
        if data.schema != self._schema:
            raise SchemaMismatchError(f"table {self._table!r}: Arrow schema {data.schema} is not {self._schema}")
        if data.num_rows:
            try:
                self._writer.write_table(data)
            except OSError as exc:
                raise StorageWriteError(Path(self.path), exc) from exc
            self.rows_written += data.num_rows


class Lake:
    """Hive-partitioned Parquet lake rooted at ``root`` (normally ``$TMEET_DATA_DIR/lake``).

    ``root`` is a local directory, or an ``s3://bucket/prefix`` URL for a lake on object storage
    (then :attr:`remote` is set and nothing of the lake touches the local disk).
    """

    def __init__(
        self,
        root: Path | str,
        pii: PiiPolicy | Callable[[], PiiPolicy] | None = None,
        *,
        gc_grace_seconds: float = RECENT_VERSION_GRACE_SECONDS,
    ) -> None:
        self.remote: VersionedTree | None = VersionedTree(str(root), gc_grace_seconds) if is_remote(root) else None
        self._root = None if self.remote else Path(root)
        self._pii = pii

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Lake:
        """The lake at ``TMEET_LAKE_URL``, else under ``data_dir``; writes follow ``TMEET_PII_POLICY``."""
        location = storage_location("lake_url", LAKE_URL_ENV, Path(data_dir) / "lake")
        return cls(location, pii=lambda: load_pii_policy(Path(data_dir)))

    @property
    def root(self) -> Path:
        """The local directory of the lake (a lake on object storage has none: see :attr:`location`)."""
        if self._root is None:
            raise ValueError(
                f"the lake is on object storage ({self.location}); it has no local path: read it "
                "through Lake.read or Lake.sources with Lake.filesystem"
            )
        return self._root

    @property
    def location(self) -> str:
        """Where the lake is: its directory, or its ``s3://`` URL."""
        return self.remote.url if self.remote else str(self._root)

    @property
    def filesystem(self) -> pafs.FileSystem:
        """Arrow's filesystem that :meth:`sources` are paths in."""
        return self.remote.filesystem if self.remote else pafs.LocalFileSystem()

    @property
    def pii(self) -> PiiPolicy | None:
        # Resolved at the first write: a reader never needs (or creates) the hashing salt.
        if callable(self._pii):
            self._pii = self._pii()
        return self._pii

    def table_dir(self, table: str) -> Path:
        return self.root / check_table_name(table)

    def partition_dir(self, table: str, business_date: dt.date | str) -> Path:
        day = as_business_date(business_date)
        return self.table_dir(table) / f"{PARTITION_KEY}={day.isoformat()}"

    def partition_path(self, table: str, business_date: dt.date | str) -> Path:
        return self.partition_dir(table, business_date) / PARTITION_FILE

    @staticmethod
    def relpath(table: str, business_date: dt.date | str | None, name: str) -> str:
        """A lake file's path below the root: ``<table>/date=D/<name>`` or ``<table>/<name>``."""
        if business_date is None:
            return f"{check_table_name(table)}/{name}"
        day = as_business_date(business_date)
        return f"{check_table_name(table)}/{PARTITION_KEY}={day.isoformat()}/{name}"

    def location_of(self, table: str, business_date: dt.date | str | None, name: str) -> str:
        """Where a lake file is, for people: its local path or its ``s3://`` URL."""
        relpath = self.relpath(table, business_date, name)
        return self.remote.uri(relpath) if self.remote else str(self.root / relpath)

    @contextmanager
    def partition_writer(
        self, table: str, schema: pa.Schema, business_date: dt.date | str
    ) -> Iterator[PartitionWriter]:
        """Stream a partition's rows; the partition is replaced only if the block exits cleanly."""
        with self._file_writer(self.relpath(table, business_date, PARTITION_FILE), schema, table) as writer:
            yield writer

    def write_partition(
        self, table: str, schema: pa.Schema, business_date: dt.date | str, df: pd.DataFrame
    ) -> Path | str:
        """Replace one partition with ``df`` (zero rows replaces it with an empty file)."""
        with self._file_writer(self.relpath(table, business_date, PARTITION_FILE), schema, table) as writer:
            writer.write(df)
        return writer.path

    def write_snapshot(
        self,
        table: str,
        schema: pa.Schema,
        business_date: dt.date | str,
        name: str,
        df: pd.DataFrame,
    ) -> Path | str:
        """Add ``date=D/snapshot-<name>.parquet`` (``name`` is usually the local HHMMSS)."""
        with self._file_writer(self._snapshot_relpath(table, business_date, name), schema, table) as writer:
            writer.write(df)
        return writer.path

    def has_snapshot(self, table: str, business_date: dt.date | str, name: str) -> bool:
        """Whether ``date=D/snapshot-<name>.parquet`` was written."""
        relpath = self._snapshot_relpath(table, business_date, name)
        if self.remote:
            return self.remote.pointer(relpath) is not None
        return (self.root / relpath).exists()

    @staticmethod
    def _snapshot_relpath(table: str, business_date: dt.date | str, name: str) -> str:
        if not _SNAPSHOT_NAME.match(name):
            raise ValueError(f"invalid snapshot name {name!r}: use letters, digits, '-' or '_'")
        return Lake.relpath(table, business_date, f"snapshot-{name}.parquet")

    def write_unpartitioned_arrow(self, table: str, data: pa.Table) -> Path | str:
        """Replace ``<table>/data.parquet`` with an Arrow table, keeping the table's own schema."""
        with self._file_writer(self.relpath(table, None, UNPARTITIONED_FILE), data.schema, table) as writer:
            writer.write_arrow(data)
        return writer.path

    def write_unpartitioned(self, table: str, schema: pa.Schema, df: pd.DataFrame) -> Path | str:
        """Replace a directory table's single file ``<table>/data.parquet``."""
        with self._file_writer(self.relpath(table, None, UNPARTITIONED_FILE), schema, table) as writer:
            writer.write(df)
        return writer.path

    @contextmanager
    def _file_writer(self, relpath: str, schema: pa.Schema, table: str) -> Iterator[PartitionWriter]:
        if self.remote:
            with self._object_writer(self.remote, relpath, schema, table) as writer:
                yield writer
            return
        with self._local_file_writer(self.root / relpath, schema, table) as writer:
            yield writer

    @contextmanager
    def _object_writer(
        self, remote: VersionedTree, relpath: str, schema: pa.Schema, table: str
    ) -> Iterator[PartitionWriter]:
        # Built in memory: the object's key is its SHA-256, known only once the file is complete.
        sink = pa.BufferOutputStream()
        parquet = pq.ParquetWriter(sink, schema, compression="zstd")
        try:
            yield PartitionWriter(parquet, schema, table, remote.uri(relpath), self.pii)
        except BaseException:
            _close_quietly(parquet)
            raise
        parquet.close()
        remote.commit(relpath, sink.getvalue())

    @contextmanager
    def _local_file_writer(self, path: Path, schema: pa.Schema, table: str) -> Iterator[PartitionWriter]:
        with atomic_file(path) as handle:
            # Arrow writes through its own native file, not the Python handle: a Python file
            # raising inside Arrow's C++ writer (disk full) can trip a CPython 3.11 AST bug
            # later in the process. The Python handle keeps the lock and does the fsync.
            try:
                sink = _open_sink(handle.name)
                parquet = pq.ParquetWriter(sink, schema, compression="zstd")
            except OSError as exc:
                raise StorageWriteError(path, exc) from exc
            try:
                yield PartitionWriter(parquet, schema, table, path, self.pii)
            except BaseException:
                _close_quietly(parquet)
                _close_quietly(sink)
                raise
            try:
                # Closing writes the footer; an empty partition still gets a valid file with the schema.
                parquet.close()
                sink.close()
            except OSError as exc:
                _close_quietly(sink)
                raise StorageWriteError(path, exc) from exc

    def partitions(self, table: str) -> list[dt.date]:
        """Business dates that have at least one Parquet file, oldest first."""
        if self.remote:
            found = {business_date_of(relpath.rsplit("/", 1)[0]) for relpath in self._committed(table)}
            return sorted(day for day in found if day is not None)
        table_dir = self.table_dir(table)
        if not table_dir.is_dir():
            return []
        days: list[dt.date] = []
        for entry in os.scandir(table_dir):
            match = _PARTITION_DIR.match(entry.name)
            if match and entry.is_dir() and any(Path(entry.path).glob("*.parquet")):
                days.append(dt.date.fromisoformat(match.group(1)))
        return sorted(days)

    def files(self, table: str, start: dt.date | str | None = None, end: dt.date | str | None = None) -> list[Path]:
        """The table's Parquet files, in partition then name order; ``start``/``end`` inclusive."""
        table_dir = self.table_dir(table)
        if not table_dir.is_dir():
            return []
        first = as_business_date(start) if start is not None else None
        last = as_business_date(end) if end is not None else None
        found: list[Path] = []
        if first is None and last is None:
            found.extend(sorted(table_dir.glob("*.parquet")))
        for day in self.partitions(table):
            if (first is None or day >= first) and (last is None or day <= last):
                found.extend(sorted(self.partition_dir(table, day).glob("*.parquet")))
        return found

    def _committed(self, table: str) -> list[str]:
        assert self.remote is not None
        return [r for r in self.remote.committed(check_table_name(table)) if r.endswith(".parquet")]

    def sources(
        self, table: str, start: dt.date | str | None = None, end: dt.date | str | None = None
    ) -> list[str]:
        """Paths in :attr:`filesystem` of the table's current files, in :meth:`files` order."""
        if not self.remote:
            return [str(path) for path in self.files(table, start, end)]
        remote = self.remote
        first = as_business_date(start) if start is not None else None
        last = as_business_date(end) if end is not None else None
        chosen: list[tuple[dt.date | None, str]] = []
        for relpath in self._committed(table):
            day = business_date_of(relpath.rsplit("/", 1)[0])
            if day is None and (first is not None or last is not None):
                continue
            if day is not None and ((first is not None and day < first) or (last is not None and day > last)):
                continue
            chosen.append((day, relpath))
        chosen.sort(key=lambda item: (item[0] is not None, item[0] or dt.date.min, item[1]))
        found: list[str] = []
        for _, relpath in chosen:
            pointer = remote.pointer(relpath)
            if pointer is not None:
                found.append(remote.path(pointer.object_relpath))
        return found

    def has_files(self, table: str) -> bool:
        if self.remote:
            return bool(self._committed(table))
        return bool(self.files(table))

    def read(
        self,
        table: str,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        schema: pa.Schema | None = None,
    ) -> pd.DataFrame:
        """Read the table (or the inclusive date range) as a frame with Arrow dtypes."""
        paths = self.sources(table, start, end)
        filesystem = self.filesystem
        pieces = [pq.read_table(p, schema=schema, filesystem=filesystem) for p in paths]
        if not pieces:
            if schema is None:
                return pd.DataFrame()
            return schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
        combined = pa.concat_tables(pieces)
        return combined.to_pandas(types_mapper=pd.ArrowDtype)

    def glob(self, table: str) -> str:
        """A DuckDB glob matching every committed file of the table (temp files never match)."""
        return str(self.table_dir(table) / "**" / "*.parquet")

    def sweep(self, grace_seconds: float = DEFAULT_SWEEP_GRACE_SECONDS) -> list[Path] | list[str]:
        """Remove temp files left by killed writers (older than the grace period, unlocked).

        On object storage: objects no pointer names (killed writers, replaced versions).
        """
        if self.remote:
            return self.remote.sweep(grace_seconds)
        return sweep_debris(self.root, grace_seconds)


def _open_sink(temp_path: str) -> pa.NativeFile:
    """Arrow's own file on the temp path; tests replace this to simulate a full disk."""
    return pa.OSFile(temp_path, mode="w")


def _close_quietly(writer: pq.ParquetWriter | pa.NativeFile) -> None:
    try:
        writer.close()
    except Exception:  # noqa: BLE001 - the original error is the one worth raising
        pass
