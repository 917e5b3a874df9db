"""Versioned files on S3-compatible object storage: immutable objects switched by one pointer PUT.

S3 has no rename, so the lake's and the archive's temp-file-then-rename cannot be used there.
Instead every logical file (``meetings/date=2026-06-12/part-0.parquet``) is stored as

- an immutable, content-addressed object ``<dir>/_objects/<stem>-<sha256><ext>``, and
- a small pointer object ``<dir>/<name>.manifest.json`` naming the object, its SHA-256 and size.

A write PUTs the object first, then replaces the pointer with a single PUT (atomic per object on
S3); readers read only what pointers name. A writer killed between the two PUTs leaves the previous
pointer, so readers still see the previous version whole, and the stray object is swept later.
The same bytes give the same object key and the same pointer bytes (no timestamps), so a re-run is
byte-identical. Names starting with ``_`` are ignored by Hive-style readers, so a tool listing the
prefix never picks up an old or unswept version as data.

Credentials and the endpoint come from the standard AWS variables (``AWS_ENDPOINT_URL``,
``AWS_REGION``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, profiles),
read by Arrow's S3 client; none of them is ever logged or written.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from resources.env_setting import env_setting

log = logging.getLogger(__name__)

REMOTE_SCHEMES = ("s3://",)
POINTER_SUFFIX = ".manifest.json"
OBJECTS_DIR = "_objects"
POINTER_FORMAT = 1
# Versions a writer replaced less than this long ago are left to the sweep: a second writer of the
# same file may have just pointed at one. Debris of killed writers is swept after the lake's grace.
RECENT_VERSION_GRACE_SECONDS = 300.0

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The AWS variables that choose the endpoint and the account; the cached client is per combination.
_AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


class ObjectStoreError(OSError):
    """Object storage refused or failed a request; the message names the location and the fix."""


def is_remote(location: str | Path) -> bool:
    """True for an object-storage URL (``s3://bucket/prefix``), False for a local path."""
    return isinstance(location, str) and location.startswith(REMOTE_SCHEMES)


def check_location(value: str, variable: str) -> str:
    """Accept a local path or ``s3://bucket[/prefix]``; refuse any other URL, naming the fix."""
    text = value.strip()
    if "://" in text and not is_remote(text):
        raise ValueError(
            f"{variable}={text!r} is not supported: use s3://bucket/prefix (with the AWS_* variables) "
            "or a local directory path"
        )
    if is_remote(text) and not text.split("://", 1)[1].strip("/"):
        raise ValueError(f"{variable}={text!r} names no bucket: use s3://bucket/prefix")
    return text


def object_name(logical_name: str, digest: str) -> str:
    """``part-0.parquet`` -> ``part-0-<sha256>.parquet`` (``pages.jsonl.gz`` -> ``pages-<sha>.jsonl.gz``)."""
    stem, dot, ext = logical_name.partition(".")
    return f"{stem}-{digest}{dot}{ext}"


def _is_version_of(object_file: str, logical_name: str) -> bool:
    stem, dot, ext = logical_name.partition(".")
    suffix = f"{dot}{ext}"
    if not (object_file.startswith(f"{stem}-") and object_file.endswith(suffix)):
        return False
    digest = object_file[len(stem) + 1: len(object_file) - len(suffix)]
    return bool(_SHA256.match(digest))


@dataclass(frozen=True)
class Pointer:
    """What a pointer object says: the current object of one logical file."""

    relpath: str  # the logical file, relative to the tree's root: table/date=D/part-0.parquet
    object_relpath: str  # the immutable object, relative to the tree's root
    sha256: str
    size: int

    @property
    def partition_dir(self) -> str:
        return self.relpath.rsplit("/", 1)[0] if "/" in self.relpath else ""

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]

    def to_bytes(self) -> bytes:
        # Sorted keys, no timestamps: the same object gives the same pointer bytes.
        document = {"format": POINTER_FORMAT, "object": object_name(self.name, self.sha256),
                    "sha256": self.sha256, "size": self.size}
        return (json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n").encode("ascii")

    @classmethod
    def parse(cls, relpath: str, data: bytes) -> Pointer:
        name = relpath.rsplit("/", 1)[-1]
        try:
            document = json.loads(data)
            sha, size, named = str(document["sha256"]), int(document["size"]), str(document["object"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ObjectStoreError(
                f"the pointer {relpath}{POINTER_SUFFIX} is not valid JSON naming an object ({exc}); "
                "re-run the partition that writes it"
            ) from exc
        if document.get("format") != POINTER_FORMAT or not _SHA256.match(sha) or named != object_name(name, sha):
            raise ObjectStoreError(
                f"the pointer {relpath}{POINTER_SUFFIX} has an unknown format; upgrade the pipeline or "
                "re-run the partition that writes it"
            )
        parent = relpath.rsplit("/", 1)[0] + "/" if "/" in relpath else ""
        return cls(relpath=relpath, object_relpath=f"{parent}{OBJECTS_DIR}/{object_name(name, sha)}",
                   sha256=sha, size=size)


@functools.lru_cache(maxsize=8)
def _filesystem(url: str, _aws: tuple[str | None, ...]) -> tuple[pafs.FileSystem, str]:
    # Arrow's S3 client reads AWS_ENDPOINT_URL, the region and the credential chain itself.
    return pafs.FileSystem.from_uri(url)


def filesystem_for(url: str) -> tuple[pafs.FileSystem, str]:
    """Arrow's filesystem for ``url`` and the ``bucket/prefix`` path inside it."""
    aws = tuple(os.environ.get(name) for name in _AWS_VARIABLES)
    try:
        return _filesystem(url.rstrip("/"), aws)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ObjectStoreError(
            f"cannot open {url}: {exc}; check AWS_ENDPOINT_URL, AWS_REGION and the credentials "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
        ) from exc


class VersionedTree:
    """Logical files under ``url`` (``s3://bucket/prefix``), each an immutable object plus a pointer."""

    def __init__(self, url: str, gc_grace_seconds: float = RECENT_VERSION_GRACE_SECONDS) -> None:
        self.url = url.rstrip("/")
        self.gc_grace_seconds = gc_grace_seconds

    @functools.cached_property
    def _opened(self) -> tuple[pafs.FileSystem, str]:
        # Opened at first use: building a lake object (for a path, a listing) must not need the network.
        filesystem, base = filesystem_for(self.url)
        return filesystem, base.rstrip("/")

    @property
    def filesystem(self) -> pafs.FileSystem:
        return self._opened[0]

    @property
    def base(self) -> str:
        return self._opened[1]

    def uri(self, relpath: str) -> str:
        return f"{self.url}/{relpath}"

    def path(self, relpath: str) -> str:
        """The path of ``relpath`` inside :attr:`filesystem` (``bucket/prefix/relpath``)."""
        return f"{self.base}/{relpath}"

    def commit(self, relpath: str, data: pa.Buffer | bytes) -> Pointer:
        """Store ``data`` as ``relpath``'s new version: object PUT, then the pointer PUT, then GC."""
        started = time.time()
        digest = hashlib.sha256(memoryview(data)).hexdigest()
        name = relpath.rsplit("/", 1)[-1]
        parent = relpath.rsplit("/", 1)[0] + "/" if "/" in relpath else ""
        pointer = Pointer(relpath=relpath, object_relpath=f"{parent}{OBJECTS_DIR}/{object_name(name, digest)}",
                          sha256=digest, size=len(memoryview(data)))
        self._put(pointer.object_relpath, data)
        _write_pointer(self, pointer)
        self._collect_old_versions(pointer, started)
        return pointer

    def _put(self, relpath: str, data: pa.Buffer | bytes) -> None:
        try:
            with self.filesystem.open_output_stream(self.path(relpath)) as out:
                out.write(data)
        except OSError as exc:
            raise ObjectStoreError(
                f"could not write {self.uri(relpath)}: {exc}. The previous version is unchanged; check the "
                "bucket exists, the credentials may write to it and the endpoint is reachable, then re-run"
            ) from exc

    def _collect_old_versions(self, current: Pointer, started: float) -> None:
        """Delete the versions ``current`` replaced, except very recent ones a concurrent writer may own."""
        cutoff = started - self.gc_grace_seconds
        objects_dir = f"{current.partition_dir}/{OBJECTS_DIR}" if current.partition_dir else OBJECTS_DIR
        for info in self._list(objects_dir, recursive=False):
            file_name = info.base_name
            if not _is_version_of(file_name, current.name):
                continue
            if file_name == current.object_relpath.rsplit("/", 1)[-1]:
                continue
            if info.mtime is not None and info.mtime.timestamp() > cutoff:
                continue
            self._delete(info.path)

    def _delete(self, path: str) -> None:
        try:
            self.filesystem.delete_file(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not delete the replaced object %s: %s; the next sweep retries", path, exc)

    def _list(self, relpath: str, recursive: bool) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(self.path(relpath), recursive=recursive, allow_not_found=True)
        try:
            infos = self.filesystem.get_file_info(selector)
        except OSError as exc:
            raise ObjectStoreError(
                f"could not list {self.uri(relpath)}: {exc}; check the bucket, the credentials and the endpoint"
            ) from exc
        return sorted((i for i in infos if i.type == pafs.FileType.File), key=lambda i: i.path)

    def pointer(self, relpath: str) -> Pointer | None:
        """The current version of ``relpath``, or None when it was never committed."""
        try:
            with self.filesystem.open_input_stream(self.path(relpath + POINTER_SUFFIX)) as stream:
                data = stream.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ObjectStoreError(f"could not read {self.uri(relpath + POINTER_SUFFIX)}: {exc}") from exc
        return Pointer.parse(relpath, data)

    def committed(self, under: str) -> list[str]:
        """The logical files below ``under`` that have a pointer (one listing, no reads), in path order."""
        prefix = self.base + "/"
        return [
            info.path[len(prefix):-len(POINTER_SUFFIX)]
            for info in self._list(under, recursive=True)
            if info.path.endswith(POINTER_SUFFIX) and f"/{OBJECTS_DIR}/" not in info.path
        ]

    def pointers(self, under: str) -> Iterator[Pointer]:
        """Every committed logical file below ``under``, in path order."""
        for relpath in self.committed(under):
            found = self.pointer(relpath)
            if found is not None:
                yield found

    def read(self, pointer: Pointer) -> bytes:
        """The bytes of the version ``pointer`` names."""
        try:
            with self.filesystem.open_input_stream(self.path(pointer.object_relpath)) as stream:
                return stream.read()
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"{self.uri(pointer.relpath)} names {pointer.object_relpath}, which is gone (a concurrent "
                "write of the same partition replaced it); re-run that partition"
            ) from exc

    def sweep(self, grace_seconds: float, now: float | None = None) -> list[str]:
        """Remove objects no pointer names (killed writers, replaced versions) older than the grace.

        One listing of the tree; a pointer is read only for a file with several versions or
        none named, so a sweep at the start of every run does not read the whole lake's pointers.
        """
        cutoff = (time.time() if now is None else now) - grace_seconds
        prefix = self.base + "/"
        pointers: set[str] = set()
        versions: dict[str, list[pafs.FileInfo]] = {}
        for info in self._list("", recursive=True):
            relpath = info.path[len(prefix):]
            if relpath.endswith(POINTER_SUFFIX):
                pointers.add(relpath[: -len(POINTER_SUFFIX)])
            elif (logical := _logical_of(relpath)) is not None:
                versions.setdefault(logical, []).append(info)
        removed: list[str] = []
        for logical, found in sorted(versions.items()):
            old = [i for i in found if i.mtime is not None and i.mtime.timestamp() <= cutoff]
            if not old or (logical in pointers and len(found) == 1):
                continue
            current = self.pointer(logical) if logical in pointers else None
            for info in old:
                relpath = info.path[len(prefix):]
                if current is not None and relpath == current.object_relpath:
                    continue
                self._delete(info.path)
                removed.append(self.uri(relpath))
        return removed


def _logical_of(relpath: str) -> str | None:
    """``t/date=D/_objects/part-0-<sha>.parquet`` -> ``t/date=D/part-0.parquet``; None for other paths."""
    parent, _, name = relpath.rpartition("/")
    directory, _, objects = parent.rpartition("/")
    if objects != OBJECTS_DIR:
        return None
    stem, dot, ext = name.partition(".")
    base, _, digest = stem.rpartition("-")
    if not base or not _SHA256.match(digest):
        return None
    logical = f"{base}{dot}{ext}"
    return f"{directory}/{logical}" if directory else logical


def _write_pointer(tree: VersionedTree, pointer: Pointer) -> None:
    """The switch: one PUT replaces what readers see. Tests replace this to kill a writer just before it."""
    tree._put(pointer.relpath + POINTER_SUFFIX, pointer.to_bytes())


def storage_location(field: str, variable: str, default: Path) -> Path | str:
    """Where a store lives: the setting ``field`` (set by ``variable``) as an ``s3://`` URL or a local
    path, else ``default``."""
    value = str(env_setting(field)).strip()
    if not value:
        return default
    checked = check_location(value, variable)
    return checked if is_remote(checked) else Path(checked)


def business_date_of(partition_dir: str) -> dt.date | None:
    """``table/date=2026-06-12`` -> that date; None for a table's own directory."""
    last = partition_dir.rsplit("/", 1)[-1]
    if not last.startswith("date="):
        return None
    try:
        return dt.date.fromisoformat(last[len("date="):])
    except ValueError:
        return None
