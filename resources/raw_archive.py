"""The raw-page archive: every API page as received, so the lake can be rebuilt without API calls.

Layout: ``<root>/<asset>/date=YYYY-MM-DD/pages.jsonl.gz`` (``<root>/<asset>/pages.jsonl.gz`` for
unpartitioned assets), one JSON line per page ``{"envelope": {...}, "body": ...}``. A partition's
file is replaced atomically as a whole, like a lake partition. Credentials never reach disk:
secret-named keys are redacted from envelopes and bodies before a line is written.

With ``TMEET_ARCHIVE_URL=s3://bucket/prefix`` the same layout lives on object storage, each file an
immutable object switched by a pointer PUT (``resources/objectstore.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gzip
import io
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from resources.atomic_files import (
    DEFAULT_SWEEP_GRACE_SECONDS,
    StorageWriteError,
    atomic_file,
    sweep_debris,
)
from resources.json_decode import decode_json
from resources.lake import as_business_date
from resources.objectstore import VersionedTree, business_date_of, is_remote, storage_location
from resources.pii_policy import raw_archive_allowed

PAGES_FILE = "pages.jsonl.gz"
ARCHIVE_URL_ENV = "TMEET_ARCHIVE_URL"
REDACTED = "[redacted]"
REQUIRED_ENVELOPE_KEYS = ("endpoint", "params")
# Expected in every envelope (status, fetched_at) or filled in when absent (page = append order).
ENVELOPE_KEYS = ("endpoint", "params", "status", "fetched_at", "page")

_ASSET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PARTITION_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")

# Compared after lower-casing and dropping '-' and '_', so 'X-TC-Signature' == 'xtcsignature'.
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "token",
        "secret",
        "secretkey",
        "secretid",
        "clientsecret",
        "sdksecret",
        "appsecret",
        "apikey",
        "xtckey",
        "xtcsignature",
        "signature",
        "authcode",
        "password",
        "encodingaeskey",
        # Short-lived bearer links: whoever holds one can fetch the recording.
        "sharingurl",
        "viewaddress",
        "downloadaddress",
        "audioaddress",
    }
)
_SECRET_SUFFIXES = ("token", "secret", "password")
# Pagination cursors end in 'token' but are needed to audit and replay a page sequence.
_NOT_SECRET = frozenset({"pagetoken", "nextpagetoken"})


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: object) -> bool:
    name = str(key).lower().replace("-", "").replace("_", "")
    if name in _NOT_SECRET:
        return False
    return name in _SECRET_KEYS or name.endswith(_SECRET_SUFFIXES)


# Every secret key name, and every suffix that makes a key secret, as it reads once lower-cased
# with '-' and '_' removed. A body whose text contains none of them cannot hold a secret key.
# Only the words that contain no other word are searched ('accesstoken' holds 'token'): the same
# answer, and a few substring searches are several times cheaper than one long alternation.
_SECRET_WORDS = tuple(
    word.encode("ascii")
    for word in sorted({*_SECRET_KEYS, *_SECRET_SUFFIXES})
    if not any(other != word and other in word for other in {*_SECRET_KEYS, *_SECRET_SUFFIXES})
)


def _verbatim_safe(raw_json: bytes) -> bool:
    """True when ``raw_json`` is one JSON object on one line with no secret-named key anywhere."""
    text = raw_json.strip()
    if not text.startswith(b"{") or not text.endswith(b"}") or b"\n" in text or b"\r" in text:
        return False
    folded = text.lower().replace(b"-", b"").replace(b"_", b"")
    return not any(word in folded for word in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """Copy ``value`` with every secret-named key's value replaced (empty values stay empty)."""
    # Every archived page passes through here: scalars are copied inline rather than through a
    # call each, which keeps this walk a small share of a page's cost.
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if _is_secret_key(k) and v not in (None, ""):
                out[str(k)] = REDACTED
            elif isinstance(v, (Mapping, list, tuple)):
                out[str(k)] = redact(v)
            else:
                out[str(k)] = v
        return out
    if isinstance(value, (list, tuple)):
        return [redact(v) if isinstance(v, (Mapping, list, tuple)) else v for v in value]
    return value


def _json_default(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(frozen=True)
class RawPage:
    """One archived page: its request envelope and its body (dict, or bytes when not JSON)."""

    envelope: dict[str, Any]
    body: dict[str, Any] | list[Any] | bytes


class RawWriter:
    """Appends pages to a partition's temp file; created by :meth:`RawArchive.writer`."""

    def __init__(self, stream: gzip.GzipFile, path: Path | str) -> None:
        self._stream = stream
        self.path = path
        self.pages_written = 0

    def append(
        self, envelope: Mapping[str, Any], body: Mapping[str, Any] | bytes, raw_json: bytes | None = None
    ) -> None:
        """Archive one page; secrets in the envelope or a JSON body are redacted first.

        ``raw_json`` is the body exactly as received. When it cannot hold a secret-named key it is
        stored verbatim, which spares re-encoding the parsed body; otherwise the body is redacted.
        """
        missing = [k for k in REQUIRED_ENVELOPE_KEYS if k not in envelope]
        if missing:
            raise ValueError(
                f"page envelope is missing {missing}; pass at least {list(REQUIRED_ENVELOPE_KEYS)}"
                f" and preferably {list(ENVELOPE_KEYS)}"
            )
        cleaned = redact(envelope)
        cleaned.setdefault("page", self.pages_written)
        if raw_json is not None and isinstance(body, Mapping) and _verbatim_safe(raw_json):
            head = json.dumps({"envelope": cleaned}, ensure_ascii=False, separators=(",", ":"), default=_json_default)
            self._write(head[:-1].encode("utf-8") + b',"body":' + raw_json.strip() + b"}\n")
            return
        record: dict[str, Any] = {"envelope": cleaned}
        if isinstance(body, (bytes, bytearray, memoryview)):
            record.update(_bytes_body(bytes(body)))
        elif isinstance(body, Mapping):
            record["body"] = redact(body)
        else:
            raise TypeError(f"page body must be a dict or bytes, got {type(body).__name__}")
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_json_default)
        try:
            encoded = line.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (a broken "\\ud800" escape in the body) has no UTF-8 form; ASCII
            # escapes keep it, so the page replays exactly as received.
            encoded = json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=_json_default).encode()
        self._write(encoded + b"\n")

    def _write(self, line: bytes) -> None:
        try:
            self._stream.write(line)
        except OSError as exc:
            raise StorageWriteError(Path(self.path), exc) from exc
        self.pages_written += 1


def _bytes_body(body: bytes) -> dict[str, Any]:
    """JSON bytes are redacted like dicts (a secret must not hide in bytes); others kept verbatim."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return {"body_b64": base64.b64encode(body).decode("ascii")}
    cleaned = redact(parsed)
    if cleaned == parsed:
        return {"body_b64": base64.b64encode(body).decode("ascii")}
    reencoded = json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return {"body_b64": base64.b64encode(reencoded).decode("ascii")}


class _DiscardingWriter(RawWriter):
    """Counts pages and keeps none: the archive is off while the PII policy hashes or drops a column."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.pages_written = 0

    def _write(self, line: bytes) -> None:
        self.pages_written += 1


class RawArchive:
    """Gzip JSON-lines archive of API pages rooted at ``root`` (normally ``$TMEET_DATA_DIR/raw``).

    With ``enabled=False`` nothing is written: pages hold every personal field exactly as received,
    so they are kept only when the PII policy keeps every column.
    """

    def __init__(self, root: Path | str, enabled: bool = True) -> None:
        self.remote: VersionedTree | None = VersionedTree(str(root)) if is_remote(root) else None
        self._root = None if self.remote else Path(root)
        self.enabled = enabled

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> RawArchive:
        """The archive at ``TMEET_ARCHIVE_URL``, else ``<data_dir>/raw``."""
        location = storage_location("archive_url", ARCHIVE_URL_ENV, Path(data_dir) / "raw")
        return cls(location, enabled=raw_archive_allowed())

    @property
    def root(self) -> Path:
        """The archive's local directory (an archive on object storage has none: see :attr:`location`)."""
        if self._root is None:
            raise ValueError(
                f"the raw archive is on object storage ({self.location}); it has no local path: use "
                "RawArchive.iter_pages and RawArchive.has_pages"
            )
        return self._root

    @property
    def location(self) -> str:
        return self.remote.url if self.remote else str(self._root)

    def asset_dir(self, asset: str) -> Path:
        return self.root / self._check_asset(asset)

    @staticmethod
    def _check_asset(asset: str) -> str:
        if not _ASSET_NAME.match(asset):
            raise ValueError(
                f"invalid asset name {asset!r}: use lowercase letters, digits and underscores"
            )
        return asset

    def relpath(self, asset: str, partition: dt.date | str | None) -> str:
        """A partition's file below the root: ``<asset>/date=D/pages.jsonl.gz`` or ``<asset>/pages.jsonl.gz``."""
        if partition is None or partition == "":
            return f"{self._check_asset(asset)}/{PAGES_FILE}"
        day = as_business_date(partition)
        return f"{self._check_asset(asset)}/date={day.isoformat()}/{PAGES_FILE}"

    def path(self, asset: str, partition: dt.date | str | None) -> Path:
        return self.root / self.relpath(asset, partition)

    def has_pages(self, asset: str, partition: dt.date | str | None) -> bool:
        """Whether the partition's pages were archived."""
        if self.remote:
            return self.remote.pointer(self.relpath(asset, partition)) is not None
        return self.path(asset, partition).exists()

    @contextmanager
    def writer(self, asset: str, partition: dt.date | str | None) -> Iterator[RawWriter]:
        """Collect a partition's pages; they replace the previous pages only on a clean exit."""
        relpath = self.relpath(asset, partition)
        target: Path | str = self.remote.uri(relpath) if self.remote else self.root / relpath
        if not self.enabled:
            yield _DiscardingWriter(target)
            return
        if self.remote:
            with self._object_writer(self.remote, relpath) as writer:
                yield writer
            return
        path = self.root / relpath
        with atomic_file(path) as handle:
            # mtime=0 keeps the bytes a function of the pages alone.
            # Level 3 compresses JSON pages nearly as well as 9 at a fraction of the CPU.
            stream = gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0, compresslevel=3)
            try:
                yield RawWriter(stream, path)
            except BaseException:
                _close_quietly(stream)
                raise
            try:
                stream.close()
            except OSError as exc:
                raise StorageWriteError(path, exc) from exc

    @contextmanager
    def _object_writer(self, remote: VersionedTree, relpath: str) -> Iterator[RawWriter]:
        # In memory: the object's key is the SHA-256 of the finished file.
        buffer = io.BytesIO()
        stream = gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=3)
        try:
            yield RawWriter(stream, remote.uri(relpath))
        except BaseException:
            _close_quietly(stream)
            raise
        stream.close()
        remote.commit(relpath, buffer.getbuffer())

    def iter_pages(self, asset: str, partition: dt.date | str | None) -> Iterator[RawPage]:
        """Replay a partition's pages in the order they were appended."""
        if self.remote:
            pointer = self.remote.pointer(self.relpath(asset, partition))
            if pointer is None:
                raise FileNotFoundError(
                    f"no archived pages at {self.remote.uri(self.relpath(asset, partition))}; run the asset "
                    "for that partition first"
                )
            yield from _pages(gzip.GzipFile(fileobj=io.BytesIO(self.remote.read(pointer)), mode="rb"))
            return
        path = self.path(asset, partition)
        if not path.exists():
            raise FileNotFoundError(
                f"no archived pages at {path}; run the asset for that partition first"
            )
        with gzip.open(path, "rb") as stream:
            yield from _pages(stream)

    def partitions(self, asset: str) -> list[dt.date]:
        """Business dates with archived pages, oldest first."""
        if self.remote:
            found = {
                business_date_of(relpath.rsplit("/", 1)[0])
                for relpath in self.remote.committed(self._check_asset(asset))
                if relpath.endswith(f"/{PAGES_FILE}")
            }
            return sorted(day for day in found if day is not None)
        asset_dir = self.asset_dir(asset)
        if not asset_dir.is_dir():
            return []
        days = [
            dt.date.fromisoformat(m.group(1))
            for entry in asset_dir.iterdir()
            if (m := _PARTITION_DIR.match(entry.name)) and (entry / PAGES_FILE).is_file()
        ]
        return sorted(days)

    def sweep(self, grace_seconds: float = DEFAULT_SWEEP_GRACE_SECONDS) -> list[Path] | list[str]:
        """Remove temp files left by killed writers (older than the grace period, unlocked).

        On object storage: objects no pointer names (killed writers, replaced versions).
        """
        if self.remote:
            return self.remote.sweep(grace_seconds)
        return sweep_debris(self.root, grace_seconds)


def _pages(stream: gzip.GzipFile) -> Iterator[RawPage]:
    with stream:
        for line in stream:
            record = decode_json(line)
            if "body_b64" in record:
                body: dict[str, Any] | list[Any] | bytes = base64.b64decode(record["body_b64"])
            else:
                body = record["body"]
            yield RawPage(envelope=record["envelope"], body=body)


def _close_quietly(stream: gzip.GzipFile | BinaryIO) -> None:
    try:
        stream.close()
    except Exception:  # noqa: BLE001 - the original error is the one worth raising
        pass
