"""Durable, append-only inbox of verified webhook events (SQLite WAL, fsync on every commit).

One writer thread owns the write connection and commits whatever appends are waiting as one
transaction (group commit), so a burst costs one fsync per batch instead of one per event. An
append's future resolves only after its commit returned, which is what lets the receiver
acknowledge an event strictly after it is on disk. Readers open their own connections and see
committed rows while the writer keeps going (WAL).

Under a PII policy that hashes or drops a column, an event's personal fields are scrubbed before
it is stored (``event_pii``), and each row records the policy its payload went through.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from assets.normalize.pii import PiiPolicy
from resources.atomic_files import fsync_dir
from resources.file_modes import make_dirs, precreate
from resources.pii_policy import load_pii_policy
from resources.webhooks.event_pii import RAW, applied_text, scrub_event_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_inbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id     TEXT    NOT NULL UNIQUE,
    event        TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,  -- unix milliseconds, UTC
    payload_json TEXT    NOT NULL,
    pii_applied  TEXT    NOT NULL DEFAULT ''  -- the PII policy the payload went through; '' = as received
)
"""
# An inbox created before payloads were scrubbed holds them as received: '' says so.
_ADD_PII_COLUMN = "ALTER TABLE webhook_inbox ADD COLUMN pii_applied TEXT NOT NULL DEFAULT ''"
_INSERT = (
    "INSERT OR IGNORE INTO webhook_inbox (trace_id, event, received_at, payload_json, pii_applied) "
    "VALUES (?, ?, ?, ?, ?)"
)
_MAX_BATCH = 512
# Where `tmeet-etl webhook serve` keeps its inbox below the data directory; the sensor and the
# webhook assets read it there.
INBOX_RELATIVE_PATH = Path("inbox") / "webhooks.sqlite"


def inbox_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / INBOX_RELATIVE_PATH


class _Default:
    """Marks "the deployment's policy" apart from an explicit ``None`` (store as received)."""


_DEFAULT = _Default()


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One stored event; ``seq`` orders rows by arrival and doubles as the read cursor."""

    seq: int
    trace_id: str
    event: str
    received_at: datetime
    payload_json: str
    pii_applied: str = RAW


@dataclass(slots=True)
class _Append:
    trace_id: str
    event: str
    received_at_ms: int
    payload_json: str
    pii_applied: str
    done: Future[bool]


class EventNotStorableError(ValueError):
    """The database refused this one event's values; storing it again would fail the same way."""


class InboxClosedError(RuntimeError):
    """The inbox was closed; open a new ``Inbox`` to write again."""


class Inbox:
    """``append`` / ``submit`` write durably; ``read_since`` and ``count`` read committed rows.

    ``pii`` is the policy events are stored under: by default the deployment's (``TMEET_PII_POLICY``,
    hashing with the salt of the data directory the inbox sits in, ``<data_dir>/inbox/``), read at the
    first append so that a reader never needs the salt. ``None`` stores events as received.
    """

    def __init__(
        self, path: Path | str, pii: PiiPolicy | Callable[[], PiiPolicy] | None | _Default = _DEFAULT
    ) -> None:
        self.path = Path(path)
        self._pii: PiiPolicy | Callable[[], PiiPolicy] | None = (
            (lambda: load_pii_policy(self.path.parent.parent)) if isinstance(pii, _Default) else pii
        )
        self._pii_lock = threading.Lock()
        # Events name people (user names, phone numbers): the inbox gets the data modes, owner-only by default.
        make_dirs(self.path.parent)
        precreate(self.path)
        self._writer = self._connect()
        self._writer.executescript(_SCHEMA)
        columns = {row[1] for row in self._writer.execute("PRAGMA table_info(webhook_inbox)")}
        if "pii_applied" not in columns:
            self._writer.execute(_ADD_PII_COLUMN)
        # A new file's directory entry is not durable by the file's own fsync.
        fsync_dir(self.path.parent)
        self._queue: queue.SimpleQueue[_Append | None] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._write_loop, name="webhook-inbox-writer", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL fsyncs the WAL on every commit: an acknowledged event survives SIGKILL and power loss.
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    # -- writing -------------------------------------------------------------------------------

    def submit(self, trace_id: str, event: str, received_at: datetime, payload_json: str) -> Future[bool]:
        """Queue one append; the future gives True (new) or False (trace_id already stored) once durable."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware (UTC)")
        done: Future[bool] = Future()
        policy = self.pii
        item = _Append(trace_id, event, int(received_at.timestamp() * 1000), scrub_event_json(payload_json, policy),
                       applied_text(policy), done)
        with self._close_lock:
            if self._closed:
                raise InboxClosedError("the inbox is closed")
            self._queue.put(item)
        return done

    def append(self, trace_id: str, event: str, received_at: datetime, payload_json: str) -> bool:
        """Store one event durably; True if it is new, False if its trace_id was already stored."""
        return self.submit(trace_id, event, received_at, payload_json).result()

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            # Everything that queued up during the previous fsync rides in this transaction.
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Append]) -> None:
        # Each insert sits in its own savepoint: one event the database refuses (say, text that is not
        # valid UTF-8) fails alone, and the rest of the batch still commits under one fsync.
        outcomes: list[bool | BaseException] = []
        try:
            self._writer.execute("BEGIN IMMEDIATE")
            for item in batch:
                self._writer.execute("SAVEPOINT one_event")
                try:
                    cur = self._writer.execute(
                        _INSERT, (item.trace_id, item.event, item.received_at_ms, item.payload_json, item.pii_applied)
                    )
                except (sqlite3.DataError, sqlite3.IntegrityError, UnicodeError, OverflowError) as exc:
                    self._writer.execute("ROLLBACK TO one_event")
                    refused = EventNotStorableError(f"the inbox refused the event: {type(exc).__name__}")
                    refused.__cause__ = exc
                    outcomes.append(refused)
                else:
                    outcomes.append(cur.rowcount == 1)
                self._writer.execute("RELEASE one_event")
            self._writer.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - every waiter must hear about the failure
            if self._writer.in_transaction:
                self._writer.execute("ROLLBACK")
            for item in batch:
                _settle(item.done, exc)
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            _settle(item.done, outcome)

    # -- reading -------------------------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        # A short-lived connection per read keeps readers thread-agnostic and leaves nothing to close.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        try:
            yield conn
        finally:
            conn.close()

    def read_since(self, cursor: int = 0, limit: int = 1000) -> tuple[list[InboxRow], int]:
        """Rows stored after ``cursor`` in arrival order, and the cursor to pass next time."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT seq, trace_id, event, received_at, payload_json, pii_applied FROM webhook_inbox "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (cursor, limit),
            ).fetchall()
        out = [
            InboxRow(seq, trace_id, event, datetime.fromtimestamp(ms / 1000, tz=UTC), payload, applied)
            for seq, trace_id, event, ms, payload, applied in rows
        ]
        return out, (out[-1].seq if out else cursor)

    def count(self) -> int:
        with self._reader() as conn:
            return int(conn.execute("SELECT count(*) FROM webhook_inbox").fetchone()[0])

    def contains(self, trace_id: str) -> bool:
        with self._reader() as conn:
            hit = conn.execute("SELECT 1 FROM webhook_inbox WHERE trace_id = ?", (trace_id,)).fetchone()
        return hit is not None

    # -- the PII policy ------------------------------------------------------------------------

    @property
    def pii(self) -> PiiPolicy | None:
        with self._pii_lock:
            if callable(self._pii):
                self._pii = self._pii()
            return self._pii

    def scrub_stored(self, batch: int = 1000) -> int:
        """Bring rows stored under a looser policy (or as received) under the current one; how many changed.

        A policy tightened after events arrived must not leave their raw payloads in the inbox.
        """
        policy = self.pii
        target = applied_text(policy)
        if target == RAW:
            return 0
        changed = 0
        with self._reader() as conn:
            # The replaced payloads' bytes are overwritten, not left in free pages of the file.
            conn.execute("PRAGMA secure_delete=ON")
            last = 0
            while True:
                rows = conn.execute(
                    "SELECT seq, payload_json, pii_applied FROM webhook_inbox WHERE seq > ? AND pii_applied != ? "
                    "ORDER BY seq LIMIT ?", (last, target, batch),
                ).fetchall()
                if not rows:
                    return changed
                updates = [(scrub_event_json(payload, policy, applied), target, seq) for seq, payload, applied in rows]
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany("UPDATE webhook_inbox SET payload_json = ?, pii_applied = ? WHERE seq = ?", updates)
                changed += len(updates)
                last = rows[-1][0]

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Finish queued appends, then stop the writer; safe to call twice."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        self._writer.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _settle(done: Future[bool], outcome: bool | BaseException) -> None:
    """Resolve a waiter; one that gave up (cancelled) must not take the writer thread down with it."""
    with suppress(InvalidStateError):
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)
