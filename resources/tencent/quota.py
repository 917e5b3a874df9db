"""The quota limiter: one sliding-window budget per app, shared by every process that calls as it.

Sliding-window logs per quota key keep each per-minute limit in *any* window, so fixed or
sliding server-side windows are both respected; the daily budget persists across runs.

Two stores hold the same budget: a SQLite file (``BEGIN IMMEDIATE``) shared by the processes of
one host, the default; and PostgreSQL (``TMEET_QUOTA_URL``, :mod:`resources.tencent.quota_postgres`)
shared by every host of a scaled-out deployment. Every key starts with the app's (or, for
user-level apps, the authorizing user's) quota key, so two accounts never share a budget.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from resources.file_modes import make_dirs, precreate
from resources.platform_constants import PLATFORM_TIMEZONE
from resources.settings import ConfigError, Settings
from resources.tencent.errors import QuotaExhausted

PLATFORM_TZ = ZoneInfo(PLATFORM_TIMEZONE)
SQLITE_FILE_NAME = "quota.sqlite"
# The least gap kept beyond each window: 2% of a platform minute is 1.2 s, but shrunken test
# windows need a floor.
MIN_MARGIN_SECONDS = 0.2


def next_daily_reset(now: datetime | None = None, tz: ZoneInfo = PLATFORM_TZ) -> datetime:
    """The platform's daily quota resets at local midnight (Beijing time)."""
    local = (now or datetime.now(tz)).astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    limit: int
    window: float


@dataclass(frozen=True, slots=True)
class Acquired:
    waited_seconds: float
    waits: int
    # The instant the call was counted at, on the store's clock (seconds since the epoch).
    admitted_at: float = 0.0


class _Transaction(Protocol):
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def now(self) -> float: ...


class QuotaBudget(ABC):
    """``acquire(limits)`` blocks until one more call fits every limit, then records it.

    Subclasses give the store: a transaction that excludes every other acquirer of the same
    daily key until it ends, and the clock the calls are stamped with.
    """

    CALLS = "calls"
    DAILY = "daily"
    WAITS = "waits"

    def __init__(
        self,
        daily_limit: int,
        tz: ZoneInfo = PLATFORM_TZ,
        sleep: Callable[[float], None] = time.sleep,
        margin: float | None = None,
    ) -> None:
        self.daily_limit = daily_limit
        self.tz = tz
        self._sleep = sleep
        self._margin = margin

    @abstractmethod
    def _transaction(self, daily_key: str) -> AbstractContextManager[_Transaction]:
        """A transaction that holds ``daily_key``'s budget until it ends."""

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement outside any budget's transaction (bookkeeping and reports)."""

    @abstractmethod
    def _today(self) -> str:
        """Today's platform date on the store's clock."""

    def acquire(self, limits: Sequence[Limit], daily_key: str) -> Acquired:
        """Wait until every limit has room, then count the call; raise when the day's budget is spent."""
        waited = 0.0
        waits = 0
        while True:
            delay, admitted_at = self._try_acquire(limits, daily_key)
            if delay <= 0:
                if waits:
                    self._record_wait(daily_key, waits, waited)
                return Acquired(waited, waits, admitted_at)
            waits += 1
            waited += delay
            self._sleep(delay)

    def _try_acquire(self, limits: Sequence[Limit], daily_key: str) -> tuple[float, float]:
        with self._transaction(daily_key) as tx:
            # Read the clock only once the budget is ours: a stamp taken before a long wait for the
            # lock would sit earlier than the call it counts, and free its window slot too soon.
            now = tx.now()
            day = datetime.fromtimestamp(now, self.tz).date().isoformat()
            used = tx.rows(f"SELECT calls FROM {self.DAILY} WHERE day = ? AND key = ?", (day, daily_key))
            if used and used[0][0] >= self.daily_limit:
                resume = next_daily_reset(datetime.fromtimestamp(now, self.tz), self.tz)
                raise QuotaExhausted(
                    f"local daily budget of {self.daily_limit} calls for this app is spent", resume_at=resume
                )
            delay = 0.0
            for lim in limits:
                # Calls are stamped when admitted but counted by the server on arrival; the margin
                # absorbs that delay's jitter (a busy host, a commit to a remote store: a few hundred
                # ms) so two calls a window apart never land inside one window.
                margin = self._margin if self._margin is not None else max(MIN_MARGIN_SECONDS, lim.window * 0.02)
                horizon = now - lim.window - margin
                tx.rows(f"DELETE FROM {self.CALLS} WHERE key = ? AND ts <= ?", (lim.key, horizon))
                rows = tx.rows(
                    f"SELECT ts FROM {self.CALLS} WHERE key = ? ORDER BY ts DESC LIMIT 1 OFFSET ?",
                    (lim.key, lim.limit - 1),
                )
                if rows:
                    delay = max(delay, rows[0][0] - horizon)
            if delay > 0:
                return delay, now
            for lim in limits:
                tx.rows(f"INSERT INTO {self.CALLS} (key, ts) VALUES (?, ?)", (lim.key, now))
            tx.rows(
                f"INSERT INTO {self.DAILY} (day, key, calls) VALUES (?, ?, 1) "
                f"ON CONFLICT (day, key) DO UPDATE SET calls = {self.DAILY}.calls + 1",
                (day, daily_key),
            )
            return 0.0, now

    def _record_wait(self, key: str, waits: int, seconds: float) -> None:
        self._query(
            f"INSERT INTO {self.WAITS} (key, waits, seconds) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
            f"SET waits = {self.WAITS}.waits + excluded.waits, seconds = {self.WAITS}.seconds + excluded.seconds",
            (key, waits, seconds),
        )

    def daily_used(self, daily_key: str, day: str | None = None) -> int:
        rows = self._query(f"SELECT calls FROM {self.DAILY} WHERE day = ? AND key = ?",
                           (day or self._today(), daily_key))
        return int(rows[0][0]) if rows else 0

    def report(self) -> dict[str, dict[str, float]]:
        """Calls today and limiter waits per quota key, for `doctor` and run metadata."""
        out: dict[str, dict[str, float]] = {}
        for key, calls in self._query(f"SELECT key, calls FROM {self.DAILY} WHERE day = ?", (self._today(),)):
            out.setdefault(key, {})["calls_today"] = calls
        for key, waits, seconds in self._query(f"SELECT key, waits, seconds FROM {self.WAITS}"):
            entry = out.setdefault(key, {})
            entry["waits"] = waits
            entry["wait_seconds"] = seconds
        return out


class _SqliteTransaction:
    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def now(self) -> float:
        return self._clock()


class QuotaLimiter(QuotaBudget):
    """The budget in a SQLite file: shared by every process on the host (``BEGIN IMMEDIATE``)."""

    def __init__(
        self,
        path: Path,
        daily_limit: int,
        tz: ZoneInfo = PLATFORM_TZ,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        margin: float | None = None,
    ) -> None:
        super().__init__(daily_limit, tz=tz, sleep=sleep, margin=margin)
        self.path = path
        self._clock = clock
        self._local = threading.local()
        make_dirs(path.parent)
        precreate(path)
        with self._connect() as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS calls (key TEXT NOT NULL, ts REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS calls_key_ts ON calls (key, ts);
                CREATE TABLE IF NOT EXISTS daily (day TEXT NOT NULL, key TEXT NOT NULL,
                    calls INTEGER NOT NULL, PRIMARY KEY (day, key));
                CREATE TABLE IF NOT EXISTS waits (key TEXT PRIMARY KEY, waits INTEGER NOT NULL,
                    seconds REAL NOT NULL);
                """
            )

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self, daily_key: str) -> Iterator[_SqliteTransaction]:
        db = self._connect()
        # One writer per file: the whole check-and-count is serialized across the host's processes.
        db.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteTransaction(db, self._clock)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._connect().execute(sql, params).fetchall()

    def _today(self) -> str:
        return datetime.fromtimestamp(self._clock(), self.tz).date().isoformat()


def quota_limiter(settings: Settings, tz: ZoneInfo = PLATFORM_TZ) -> QuotaBudget:
    """The budget store the settings name: PostgreSQL for ``TMEET_QUOTA_URL``, else the host's SQLite file."""
    if settings.quota_url is not None:
        try:
            from resources.tencent.quota_postgres import PostgresQuotaLimiter
        except ImportError:
            raise ConfigError("TMEET_QUOTA_URL names PostgreSQL, whose driver is not installed: "
                              "pip install '.[postgres]' (psycopg2), or unset TMEET_QUOTA_URL") from None

        return PostgresQuotaLimiter(settings.quota_url.get_secret_value(), settings.daily_limit, tz=tz)
    return QuotaLimiter(settings.state_dir / SQLITE_FILE_NAME, settings.daily_limit, tz=tz)
