"""The run queue's lock on a Postgres instance: an advisory lock in the instance's database."""

from __future__ import annotations

import time

import psycopg2
import psycopg2.extensions
from filelock import Timeout

from resources.tencent.quota_postgres import libpq_url

# The lock's name in the instance's database (hashed to its 64-bit key by the server).
ADVISORY_LOCK_NAME = "tmeet/run_queue"
POLL_SECONDS = 0.2


class AdvisoryLock:
    """The run queue's lock in a Postgres instance's database, held by one session.

    A session-level advisory lock is released when its connection closes, so a command killed
    while holding it frees it with its connection, as a killed process frees a file lock.
    """

    def __init__(self, postgres_url: str) -> None:
        self._url = libpq_url(postgres_url)
        self._db: psycopg2.extensions.connection | None = None

    @property
    def is_locked(self) -> bool:
        return self._db is not None

    def acquire(self, timeout: float) -> None:
        """Take the lock within ``timeout`` seconds, else raise :class:`filelock.Timeout`."""
        deadline = time.monotonic() + timeout
        db = psycopg2.connect(self._url, application_name="tmeet-run-queue")
        db.autocommit = True
        try:
            with db.cursor() as cur:
                while True:
                    cur.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (ADVISORY_LOCK_NAME,))
                    if cur.fetchone()[0]:  # type: ignore[index]
                        self._db = db
                        return
                    if time.monotonic() >= deadline:
                        raise Timeout(ADVISORY_LOCK_NAME)
                    time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        finally:
            if self._db is None:
                db.close()

    def release(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
