"""What changed in the lake since the published warehouse was built, and what a publish must redo.

The published database carries a manifest of the lake files it was built from (path, size, mtime,
inode, SHA-256). Comparing it with the lake says which tables and which partitions changed. A file
whose stat changed but whose bytes did not (a byte-identical re-run) is not a change. On object
storage a file has no inode or mtime worth trusting; its pointer names its SHA-256 and size, which
are compared instead (the object key is the digest, so this is the object's identity).

A partitioned table can be updated one partition at a time only when its rows can be told apart by
partition in the warehouse: every row of ``date=D`` must carry ``D`` in the table's partition
column. That property is checked on every file the warehouse loads, and remembered per table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from fsspec.implementations.arrow import ArrowFSWrapper

from resources.lake import Lake
from resources.objectstore import business_date_of

MANIFEST_TABLE = "_publish_manifest"
# Bumped whenever the way the warehouse is built changes, so an older file is rebuilt, not patched.
MANIFEST_FORMAT = 2
_PARTITION_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
# DuckDB reads lake objects through this protocol (its httpfs extension would need a download).
LAKE_PROTOCOL = "tmeetlake"


@dataclass(frozen=True)
class LakeFile:
    """One committed lake file, as the publish sees it."""

    table: str
    relpath: str
    path: Path
    partition: dt.date | None
    size: int
    mtime_ns: int
    inode: int
    # Object storage: the digest the pointer names, and the URL DuckDB reads through LAKE_PROTOCOL.
    digest: str | None = None
    url: str | None = None

    def stat_key(self) -> list[int]:
        return [self.size, self.mtime_ns, self.inode]

    @property
    def source(self) -> str:
        """What DuckDB's ``read_parquet`` reads: the local path or the object's URL."""
        return self.url if self.url is not None else str(self.path)


@dataclass
class TableChange:
    """What to redo for one table: everything, or only the files of some partitions."""

    reload_all: bool
    partitions: set[dt.date] = field(default_factory=set)


@dataclass
class Manifest:
    """The published database's record of its inputs (stored as one JSON row in the database)."""

    fingerprint: str
    full_build_bytes: int
    exact_tables: set[str]
    # relpath -> [size, mtime_ns, inode, sha256 or None]; the digest is taken when a publish
    # loads the file incrementally, so a full build does not hash the whole lake.
    files: dict[str, list[int | str | None]]
    # Rows beyond the first per key, per keyed table, kept up to date by each publish.
    duplicates: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": MANIFEST_FORMAT,
                "fingerprint": self.fingerprint,
                "full_build_bytes": self.full_build_bytes,
                "exact_tables": sorted(self.exact_tables),
                "files": self.files,
                "duplicates": self.duplicates,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest | None:
        try:
            data = json.loads(text)
            if data.get("format") != MANIFEST_FORMAT:
                return None
            return cls(
                fingerprint=str(data["fingerprint"]),
                full_build_bytes=int(data["full_build_bytes"]),
                exact_tables=set(data["exact_tables"]),
                files={str(k): list(v) for k, v in data["files"].items()},
                duplicates={str(k): int(v) for k, v in data.get("duplicates", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def fingerprint(
    tables: Mapping[str, pa.Schema],
    partition_columns: Mapping[str, str],
    sql_files: Iterable[Path],
    keys: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """Everything besides the lake that shapes the database; a different value forces a full build."""
    digest = hashlib.sha256(f"format {MANIFEST_FORMAT}\n".encode())
    for table, schema in tables.items():
        fields = [(f.name, str(f.type), f.nullable) for f in schema]
        key = list((keys or {}).get(table, ()))
        digest.update(json.dumps([table, fields, partition_columns.get(table), key]).encode())
    for sql_file in sql_files:
        digest.update(sql_file.name.encode())
        digest.update(sql_file.read_bytes())
    return digest.hexdigest()


def scan_lake(lake: Lake, tables: Iterable[str]) -> dict[str, list[LakeFile]]:
    """Every committed file of each table, in the order a full build loads them (as ``Lake.files``).

    One directory listing per partition: a year of history is thousands of directories.
    """
    if lake.remote is not None:
        return _scan_objects(lake, tables)
    found: dict[str, list[LakeFile]] = {}
    for table in tables:
        table_dir = lake.table_dir(table)
        files: list[LakeFile] = []
        partitions: list[tuple[dt.date, str]] = []
        try:
            entries = sorted(os.scandir(table_dir), key=lambda e: e.name)
        except FileNotFoundError:
            entries = []
        for entry in entries:
            match = _PARTITION_DIR.match(entry.name)
            if match and entry.is_dir():
                partitions.append((dt.date.fromisoformat(match.group(1)), entry.path))
            elif _committed(entry):
                files.append(_lake_file(lake, table, entry, None))
        for day, directory in sorted(partitions):
            for entry in sorted(os.scandir(directory), key=lambda e: e.name):
                if _committed(entry):
                    files.append(_lake_file(lake, table, entry, day))
        found[table] = files
    return found


def _scan_objects(lake: Lake, tables: Iterable[str]) -> dict[str, list[LakeFile]]:
    """The files the lake's pointers name, ordered as :func:`scan_lake` orders local files."""
    remote = lake.remote
    assert remote is not None
    found: dict[str, list[LakeFile]] = {}
    for table in tables:
        files: list[LakeFile] = []
        for pointer in remote.pointers(table):
            if not pointer.relpath.endswith(".parquet"):
                continue
            files.append(LakeFile(
                table=table,
                relpath=pointer.relpath,
                path=Path(pointer.relpath),
                partition=business_date_of(pointer.partition_dir),
                size=pointer.size,
                mtime_ns=0,
                inode=0,
                digest=pointer.sha256,
                url=f"{LAKE_PROTOCOL}://{remote.path(pointer.object_relpath)}",
            ))
        files.sort(key=lambda f: (f.partition is not None, f.partition or dt.date.min, f.relpath))
        found[table] = files
    return found


class _LakeObjects(ArrowFSWrapper):
    """Arrow's S3 filesystem seen by DuckDB as ``tmeetlake://bucket/key`` (an fsspec filesystem)."""

    protocol = LAKE_PROTOCOL

    @classmethod
    def _strip_protocol(cls, path: str | list[str]) -> str | list[str]:
        if isinstance(path, list):
            return [p.removeprefix(f"{LAKE_PROTOCOL}://") for p in path]
        return path.removeprefix(f"{LAKE_PROTOCOL}://")


def attach_lake(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Let ``con`` read the lake's objects (``LakeFile.source``); nothing to do for a local lake."""
    if lake.remote is not None:
        con.register_filesystem(_LakeObjects(lake.filesystem))


def lake_file_digest(lake_file: LakeFile) -> str:
    """The file's SHA-256: named by its pointer on object storage, else hashed from disk."""
    return lake_file.digest if lake_file.digest is not None else file_digest(lake_file.path)


def _committed(entry: os.DirEntry[str]) -> bool:
    # Temp files of writers in progress are hidden (dot-prefixed) and never part of the lake.
    return entry.name.endswith(".parquet") and not entry.name.startswith(".") and entry.is_file()


def _lake_file(lake: Lake, table: str, entry: os.DirEntry[str], partition: dt.date | None) -> LakeFile:
    stat = entry.stat()
    path = Path(entry.path)
    return LakeFile(
        table=table,
        relpath=path.relative_to(lake.root).as_posix(),
        path=path,
        partition=partition,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        inode=stat.st_ino,
    )


def file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def plan_changes(
    current: Mapping[str, list[LakeFile]],
    manifest: Manifest,
    partitioned: Iterable[str],
) -> tuple[dict[str, TableChange], dict[str, list[int | str | None]]]:
    """Per changed table what to redo, and the manifest entries of files whose bytes did not change.

    ``partitioned`` names the tables that may be updated partition by partition (their partition
    column is a date); of those, only tables the manifest found exact are.
    """
    by_partition = set(partitioned) & manifest.exact_tables
    changes: dict[str, TableChange] = {}
    unchanged: dict[str, list[int | str | None]] = {}
    prefix_of = {table: f"{table}/" for table in current}
    for table, files in current.items():
        seen: set[str] = set()
        changed: list[dt.date | None] = []
        for lake_file in files:
            seen.add(lake_file.relpath)
            previous = manifest.files.get(lake_file.relpath)
            if lake_file.digest is not None:
                if previous is not None and previous[0] == lake_file.size and previous[3] == lake_file.digest:
                    unchanged[lake_file.relpath] = previous
                    continue
                changed.append(lake_file.partition)
                continue
            if previous is not None and previous[:3] == lake_file.stat_key():
                unchanged[lake_file.relpath] = previous
                continue
            if previous is not None and previous[3] is not None and previous[3] == file_digest(lake_file.path):
                unchanged[lake_file.relpath] = [*lake_file.stat_key(), previous[3]]
                continue
            changed.append(lake_file.partition)
        prefix = prefix_of[table]
        for relpath in manifest.files:
            if relpath.startswith(prefix) and relpath not in seen:
                changed.append(_partition_of(relpath))
        if not changed:
            continue
        if table in by_partition and all(day is not None for day in changed):
            changes[table] = TableChange(reload_all=False, partitions={d for d in changed if d is not None})
        else:
            changes[table] = TableChange(reload_all=True)
    return changes, unchanged


def _partition_of(relpath: str) -> dt.date | None:
    parts = relpath.split("/")
    match = _PARTITION_DIR.match(parts[-2]) if len(parts) >= 3 else None
    return dt.date.fromisoformat(match.group(1)) if match else None
