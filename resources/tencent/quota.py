"""A quota limiter shared by every process on the host (SQLite, ``BEGIN IMMEDIATE``).

Sliding-window logs per quota key keep each per-minute limit in *any* window, so fixed or
sliding server-side windows are both respected; the daily budget persists across runs.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from resources.file_modes import make_dirs, precreate
from resources.platform_constants import PLATFORM_TIMEZONE
from resources.tencent.errors import QuotaExhausted

PLATFORM_TZ = ZoneInfo(PLATFORM_TIMEZONE)


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


class QuotaLimiter:
    """``acquire(limits)`` blocks until one more call fits every limit, then records it."""

    def __init__(
        self,
        path: Path,
        daily_limit: int,
        tz: ZoneInfo = PLATFORM_TZ,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        margin: float | None = None,
    ) -> None:
        self.path = path
        self.daily_limit = daily_limit
        self.tz = tz
        self._clock = clock
        self._sleep = sleep
        self._margin = margin
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

    def acquire(self, limits: Sequence[Limit], daily_key: str) -> Acquired:
        """Wait until every limit has room, then count the call; raise when the day's budget is spent."""
        waited = 0.0
        waits = 0
        while True:
            delay = self._try_acquire(limits, daily_key)
            if delay <= 0:
                if waits:
                    self._record_wait(daily_key, waits, waited)
                return Acquired(waited, waits)
            waits += 1
            waited += delay
            self._sleep(delay)

    def _try_acquire(self, limits: Sequence[Limit], daily_key: str) -> float:
        db = self._connect()
        now = self._clock()
        day = datetime.fromtimestamp(now, self.tz).date().isoformat()
        db.execute("BEGIN IMMEDIATE")
        try:
            used = db.execute("SELECT calls FROM daily WHERE day = ? AND key = ?", (day, daily_key)).fetchone()
            if used and used[0] >= self.daily_limit:
                db.execute("COMMIT")
                resume = next_daily_reset(datetime.fromtimestamp(now, self.tz), self.tz)
                raise QuotaExhausted(
                    f"local daily budget of {self.daily_limit} calls for this app is spent", resume_at=resume
                )
            delay = 0.0
            for lim in limits:
                # Calls are stamped when sent but counted by the server on arrival; the margin
                # absorbs that jitter so two calls a window apart never land inside one window.
                margin = self._margin if self._margin is not None else max(0.05, lim.window * 0.02)
                horizon = now - lim.window - margin
                db.execute("DELETE FROM calls WHERE key = ? AND ts <= ?", (lim.key, horizon))
                rows = db.execute(
                    "SELECT ts FROM calls WHERE key = ? ORDER BY ts DESC LIMIT 1 OFFSET ?",
                    (lim.key, lim.limit - 1),
                ).fetchone()
                if rows is not None:
                    delay = max(delay, rows[0] - horizon)
            if delay > 0:
                db.execute("COMMIT")
                return delay
            db.executemany("INSERT INTO calls (key, ts) VALUES (?, ?)", [(lim.key, now) for lim in limits])
            db.execute(
                "INSERT INTO daily (day, key, calls) VALUES (?, ?, 1) "
                "ON CONFLICT (day, key) DO UPDATE SET calls = calls + 1",
                (day, daily_key),
            )
            db.execute("COMMIT")
            return 0.0
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _record_wait(self, key: str, waits: int, seconds: float) -> None:
        db = self._connect()
        db.execute(
            "INSERT INTO waits (key, waits, seconds) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET waits = waits + excluded.waits, seconds = seconds + excluded.seconds",
            (key, waits, seconds),
        )

    def daily_used(self, daily_key: str, day: str | None = None) -> int:
        day = day or datetime.fromtimestamp(self._clock(), self.tz).date().isoformat()
        row = self._connect().execute(
            "SELECT calls FROM daily WHERE day = ? AND key = ?", (day, daily_key)
        ).fetchone()
        return int(row[0]) if row else 0

    def report(self) -> dict[str, dict[str, float]]:
        """Calls today and limiter waits per quota key, for `doctor` and run metadata."""
        db = self._connect()
        day = datetime.fromtimestamp(self._clock(), self.tz).date().isoformat()
        out: dict[str, dict[str, float]] = {}
        for key, calls in db.execute("SELECT key, calls FROM daily WHERE day = ?", (day,)):
            out.setdefault(key, {})["calls_today"] = calls
        for key, waits, seconds in db.execute("SELECT key, waits, seconds FROM waits"):
            entry = out.setdefault(key, {})
            entry["waits"] = waits
            entry["wait_seconds"] = seconds
        return out
