"""The quota budget in PostgreSQL: one limiter for every process on every host of a deployment.

Each acquire is one transaction holding a transaction-level advisory lock on the app's quota key
(``pg_advisory_xact_lock``): acquirers of one app queue for each other, other apps never wait, and
a process killed mid-way releases the lock with its connection. Calls are stamped with the
database server's clock, so the hosts' clocks drifting apart cannot widen a window.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg2
import psycopg2.extensions

from resources.tencent.quota import PLATFORM_TZ, QuotaBudget

URL_SETTING = "TMEET_QUOTA_URL"
CONNECT_TIMEOUT_SECONDS = 10
# Serializes the tables' creation: two processes creating them at once would collide in pg_type.
_SCHEMA_LOCK = 0x746D656574  # "tmeet"


class QuotaStoreUnavailable(RuntimeError):
    """The quota database cannot be reached; the message names the host and the fix, never the password."""


def libpq_url(url: str) -> str:
    """``url`` as libpq reads it: SQLAlchemy's ``postgresql+psycopg2://`` spelling is accepted too."""
    scheme, sep, rest = url.partition("://")
    # Any SQLAlchemy driver suffix names the same server: libpq reads the rest as it is.
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"{URL_SETTING} must be a postgresql://user:password@host:port/database URL")
    return "postgresql://" + rest


class _PostgresTransaction:
    def __init__(self, cursor: psycopg2.extensions.cursor, clock: Callable[[], float] | None) -> None:
        self._cursor = cursor
        self._clock = clock

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(sql.replace("?", "%s"), tuple(params))
        return self._cursor.fetchall() if self._cursor.description else []

    def now(self) -> float:
        if self._clock is not None:
            return self._clock()
        # clock_timestamp(), not now(): now() is the transaction's start, before the lock was ours.
        return float(self.rows("SELECT extract(epoch FROM clock_timestamp())::float8")[0][0])


class PostgresQuotaLimiter(QuotaBudget):
    """The same sliding-window budget as :class:`~resources.tencent.quota.QuotaLimiter`, in PostgreSQL."""

    CALLS = "tmeet_quota_calls"
    DAILY = "tmeet_quota_daily"
    WAITS = "tmeet_quota_waits"

    def __init__(
        self,
        url: str,
        daily_limit: int,
        tz: ZoneInfo = PLATFORM_TZ,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        margin: float | None = None,
    ) -> None:
        super().__init__(daily_limit, tz=tz, sleep=sleep, margin=margin)
        self._url = libpq_url(url)
        parts = urlsplit(self._url)
        # What an error may show of the URL: never its user or password.
        self.where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"
        self._clock = clock
        self._local = threading.local()
        with self._cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            cur.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {self.CALLS} (key TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL);
                CREATE INDEX IF NOT EXISTS {self.CALLS}_key_ts ON {self.CALLS} (key, ts);
                CREATE TABLE IF NOT EXISTS {self.DAILY} (day TEXT NOT NULL, key TEXT NOT NULL,
                    calls BIGINT NOT NULL, PRIMARY KEY (day, key));
                CREATE TABLE IF NOT EXISTS {self.WAITS} (key TEXT PRIMARY KEY, waits BIGINT NOT NULL,
                    seconds DOUBLE PRECISION NOT NULL);
                """
            )

    def _connect(self) -> psycopg2.extensions.connection:
        # One connection per thread and process: a connection inherited through fork is the parent's.
        db = getattr(self._local, "db", None)
        if db is None or db.closed or getattr(self._local, "pid", None) != os.getpid():
            try:
                db = psycopg2.connect(self._url, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                      application_name="tmeet-quota")
            except psycopg2.OperationalError as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise QuotaStoreUnavailable(
                    f"cannot reach the quota database at {self.where} ({reason}); start it, or fix "
                    f"{URL_SETTING} (unset it to keep the quota in this host's SQLite file)"
                ) from None
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @contextmanager
    def _cursor(self) -> Iterator[psycopg2.extensions.cursor]:
        db = self._connect()
        try:
            with db, db.cursor() as cur:
                yield cur
        except psycopg2.OperationalError:
            # A dropped connection is opened afresh by the next call.
            db.close()
            raise

    @contextmanager
    def _transaction(self, daily_key: str) -> Iterator[_PostgresTransaction]:
        with self._cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (daily_key,))
            yield _PostgresTransaction(cur, self._clock)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._cursor() as cur:
            return _PostgresTransaction(cur, None).rows(sql, params)

    def _today(self) -> str:
        if self._clock is not None:
            now = self._clock()
        else:
            with self._cursor() as cur:
                now = _PostgresTransaction(cur, None).now()
        return datetime.fromtimestamp(now, self.tz).date().isoformat()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None and not db.closed:
            db.close()
