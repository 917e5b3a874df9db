"""Entry points for child processes the storage tests start (spawned, then killed or awaited)."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from resources.lake import Lake
from tests.storage.helpers import EVENTS_SCHEMA, events_frame


def rewrite_partition_forever(root: str, day: str, ready) -> None:
    """Alternate a partition between its 'old' and 'new' versions, page by page, until killed."""
    lake = Lake(Path(root))
    business_date = dt.date.fromisoformat(day)
    versions = [events_frame(business_date, 4000, "new"), events_frame(business_date, 1500, "old")]
    ready.set()
    while True:
        for frame in versions:
            with lake.partition_writer("events", EVENTS_SCHEMA, business_date) as writer:
                for start in range(0, len(frame), 500):
                    writer.write(frame.iloc[start : start + 500])
                    time.sleep(0.002)


def publish_and_report(warehouse_path: str, lake_root: str, sql_dir: str, queue, started=None) -> None:
    """Publish once and send back (pid, lock acquired at, replaced at, row counts); ``started`` hears the
    pid once the imports are done and the publish is called."""
    from resources.warehouse import Warehouse
    from tests.storage.helpers import EVENTS_SCHEMA as schema

    if started is not None:
        started.put(os.getpid())
    result = Warehouse(Path(warehouse_path)).publish(Lake(Path(lake_root)), {"events": schema}, Path(sql_dir))
    queue.put((os.getpid(), result.lock_acquired_at, result.published_at, dict(result.row_counts)))


def publish_forever_slowly(
    warehouse_path: str, lake_root: str, sql_dir: str, partition_columns: dict[str, str] | None = None
) -> None:
    """Publish (the SQL directory makes the build slow) so the parent can kill it mid-build."""
    from resources.warehouse import Warehouse
    from tests.storage.helpers import EVENTS_SCHEMA as schema

    Warehouse(Path(warehouse_path)).publish(
        Lake(Path(lake_root)), {"events": schema}, Path(sql_dir), partition_columns=partition_columns
    )


def analyst_session(warehouse_path: str, requests, answers) -> None:
    """Hold one read-only connection open and answer 'count <table>' requests until 'quit'."""
    import duckdb

    con = duckdb.connect(warehouse_path, read_only=True)
    answers.put("ready")
    while (request := requests.get()) != "quit":
        table = request.removeprefix("count ")
        answers.put(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    con.close()
