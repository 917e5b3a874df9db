"""Cheaper commits for the Dagster instance's SQLite files while a command-line run writes to them.

Dagster's SQLite storages open a new connection for every event they store and close it right
after. Closing the last connection to a WAL database checkpoints the log into the database and
deletes it, and every commit fsyncs the log: about 40 ms of wall time per event on an ordinary
disk, and a run stores hundreds of events (a step's start, outputs, materializations, checks).
While this context is open, each SQLite file under the instance's home keeps one idle connection
of ours (so closing Dagster's connection is not the last close: no checkpoint per event) and
Dagster's connections commit with ``synchronous=NORMAL``, SQLite's recommended setting for WAL:
the database stays consistent through a crash or a kill; only the last commits before a power
loss or an OS crash may be lost, and the next run's start marks such a run failed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


class _HeldFiles:
    """The idle connections held open, one per SQLite file under ``home``."""

    def __init__(self, home: Path) -> None:
        self._home = home.resolve()
        self._held: dict[str, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        path = _main_file(dbapi_connection)
        if path is None or not Path(path).resolve().is_relative_to(self._home):
            return
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        # A new file is switched to WAL by Dagster after this connect; it is held from the next one on.
        if dbapi_connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            return
        with self._lock:
            if path in self._held:
                return
            held = sqlite3.connect(path, check_same_thread=False)
            # A connection joins the WAL only once it has read; an unused one would not count.
            held.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self._held[path] = held

    def close(self) -> None:
        with self._lock:
            for held in self._held.values():
                with suppress(sqlite3.Error):
                    held.close()
            self._held.clear()


def _main_file(connection: sqlite3.Connection) -> str | None:
    for _seq, name, file in connection.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return str(file)
    return None


@contextmanager
def quick_instance_commits(home: Path) -> Iterator[None]:
    """For the duration, SQLite commits under ``home`` skip the per-event checkpoint and fsync."""
    held = _HeldFiles(home)
    event.listen(Engine, "connect", held.on_connect)
    try:
        yield
    finally:
        event.remove(Engine, "connect", held.on_connect)
        held.close()
