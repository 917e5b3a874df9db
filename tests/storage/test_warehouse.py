"""Publishing the DuckDB warehouse: complete, atomic, single-writer, and harmless to analysts."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import duckdb
import filelock
import pytest

from resources.lake import Lake
from resources.warehouse import Warehouse, WarehousePublishError
from tests.storage.helpers import EVENTS_SCHEMA, events_frame
from tests.storage.workers import analyst_session, publish_and_report, publish_forever_slowly

DAY = dt.date(2026, 3, 3)
AS_OF = dt.date(2026, 3, 31)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "data" / "lake")


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "data" / "warehouse.duckdb")


def write_sql(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def build_files(warehouse: Warehouse) -> list[Path]:
    return sorted(warehouse.path.parent.glob(f".{warehouse.path.name}.*"))


def count(warehouse: Warehouse, table: str) -> int:
    return int(warehouse.query(f'SELECT count(*) AS n FROM "{table}"')["n"].iloc[0])


def test_publish_builds_typed_tables_and_reports_in_name_order(
    tmp_path: Path, lake: Lake, warehouse: Warehouse
) -> None:
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 4))
    lake.write_partition("events", EVENTS_SCHEMA, DAY + dt.timedelta(days=1), events_frame(DAY, 2, start=10))
    sql = write_sql(
        tmp_path / "sql",
        {
            # Runs second although written first: files run in name order.
            "20_summary.sql": "-- totals\nCREATE TABLE report_summary AS SELECT count(*) AS n FROM report_base;",
            "10_base.sql": "-- base\nCREATE TABLE report_base AS SELECT * FROM events; CREATE TABLE report_empty AS SELECT * FROM empty_things;",
        },
    )
    result = warehouse.publish(lake, {"events": EVENTS_SCHEMA, "empty_things": EVENTS_SCHEMA}, sql, report_as_of=AS_OF)

    assert result.path == warehouse.path
    assert dict(result.row_counts) == {
        "empty_things": 0,
        "events": 6,
        "report_base": 6,
        "report_empty": 0,
        "report_summary": 1,
    }
    assert result.duration_seconds > 0
    assert result.report_as_of == AS_OF
    described = warehouse.query("DESCRIBE empty_things")
    assert described["column_name"].tolist() == EVENTS_SCHEMA.names
    assert described["column_type"].tolist() == [
        "VARCHAR", "VARCHAR", "BIGINT", "TIMESTAMP WITH TIME ZONE", "DATE", "DOUBLE", "BOOLEAN",
    ]
    assert warehouse.query("DESCRIBE events")["column_type"].tolist() == described["column_type"].tolist()
    assert warehouse.query("SELECT sum(seq) AS s FROM events")["s"].iloc[0] == 0 + 1 + 2 + 3 + 10 + 11
    assert build_files(warehouse) == []
    assert not Path(f"{warehouse.path}.wal").exists()


def test_analyst_connection_survives_publish_and_keeps_its_snapshot(
    tmp_path: Path, lake: Lake, warehouse: Warehouse
) -> None:
    sql = write_sql(tmp_path / "sql", {})
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 3))
    warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF)

    ctx = multiprocessing.get_context("spawn")
    requests, answers = ctx.Queue(), ctx.Queue()
    analyst = ctx.Process(target=analyst_session, args=(str(warehouse.path), requests, answers))
    analyst.start()
    try:
        assert answers.get(timeout=30) == "ready"
        requests.put("count events")
        assert answers.get(timeout=30) == 3

        lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 8))
        result = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF)
        assert result.row_counts["events"] == 8

        requests.put("count events")
        assert answers.get(timeout=30) == 3, "the analyst's open connection must keep its snapshot"
        assert count(warehouse, "events") == 8, "a new connection must see the new data"
    finally:
        requests.put("quit")
        analyst.join(30)
    assert analyst.exitcode == 0


def test_killed_publish_leaves_previous_database_and_next_publish_cleans_up(
    tmp_path: Path, lake: Lake, warehouse: Warehouse
) -> None:
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 5))
    quick = write_sql(tmp_path / "quick_sql", {})
    warehouse.publish(lake, {"events": EVENTS_SCHEMA}, quick, report_as_of=AS_OF)
    slow = write_sql(
        tmp_path / "slow_sql",
        {"10_slow.sql": "CREATE TABLE report_slow AS SELECT sum(hash(i)) AS h FROM range(100000000000) t(i);"},
    )
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 9))

    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=publish_forever_slowly, args=(str(warehouse.path), str(lake.root), str(slow)))
    child.start()
    # Killed once the build has written to its file (DuckDB's header), not at a guessed moment.
    deadline = time.monotonic() + 120
    while not [p for p in build_files(warehouse) if p.name.endswith(".building") and p.stat().st_size > 0]:
        assert time.monotonic() < deadline, "publish never started building"
        assert child.is_alive(), f"the publisher exited ({child.exitcode}) before it built anything"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)

    assert build_files(warehouse), "the killed build should have left its temp file"
    assert count(warehouse, "events") == 5
    result = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, quick, report_as_of=AS_OF)
    assert result.row_counts == {"events": 9}
    assert build_files(warehouse) == []


def test_concurrent_publishers_take_turns(tmp_path: Path, lake: Lake, warehouse: Warehouse) -> None:
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 5))
    sql = write_sql(
        tmp_path / "sql",
        {"10_busy.sql": "CREATE TABLE report_busy AS SELECT sum(hash(i)) AS h FROM range(20000000) t(i);"},
    )
    ctx = multiprocessing.get_context("spawn")
    queue, started = ctx.Queue(), ctx.Queue()
    publishers = [
        ctx.Process(target=publish_and_report, args=(str(warehouse.path), str(lake.root), str(sql), queue, started))
        for _ in range(2)
    ]
    # Hold the lock until both have called publish, so that they contend for it when it is released.
    with filelock.FileLock(str(warehouse.lock_path)):
        for process in publishers:
            process.start()
        assert {started.get(timeout=120) for _ in publishers} == {p.pid for p in publishers}
        released_at = time.time()
        assert queue.empty(), "a publisher finished while the lock was held"
    reports = sorted((queue.get(timeout=120) for _ in publishers), key=lambda r: r[1])
    for process in publishers:
        process.join(30)
        assert process.exitcode == 0

    (_, first_start, first_end, first_counts), (_, second_start, second_end, second_counts) = reports
    assert first_start >= released_at, "the first publisher must wait for the held lock"
    assert first_end <= second_start, "the second publisher must wait for the first to finish"
    assert first_counts == second_counts == {"events": 5, "report_busy": 1}
    assert count(warehouse, "report_busy") == 1
    assert build_files(warehouse) == []


def test_failing_report_names_the_file_and_keeps_the_published_database(
    tmp_path: Path, lake: Lake, warehouse: Warehouse
) -> None:
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 2))
    warehouse.publish(lake, {"events": EVENTS_SCHEMA}, write_sql(tmp_path / "ok", {}), report_as_of=AS_OF)
    broken = write_sql(tmp_path / "broken", {"10_broken.sql": "CREATE TABLE report_x AS SELECT nope FROM events;"})
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 7))

    with pytest.raises(WarehousePublishError, match=r"(?s)while running .*10_broken\.sql.*\"nope\" not found.*previously published warehouse is unchanged"):
        warehouse.publish(lake, {"events": EVENTS_SCHEMA}, broken, report_as_of=AS_OF)
    assert count(warehouse, "events") == 2
    assert build_files(warehouse) == []


def test_a_held_publish_lock_times_out_with_a_clear_message(
    tmp_path: Path, lake: Lake, warehouse: Warehouse
) -> None:
    with filelock.FileLock(str(warehouse.lock_path)):
        with pytest.raises(WarehousePublishError, match="another publish .* wait for it to finish"):
            warehouse.publish(lake, {"events": EVENTS_SCHEMA}, write_sql(tmp_path / "sql", {}), lock_timeout=0.2)
    assert not warehouse.path.exists()


def test_table_names_are_validated_before_they_reach_sql(tmp_path: Path, lake: Lake, warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="invalid table name"):
        warehouse.publish(lake, {'x"; DROP TABLE y; --': EVENTS_SCHEMA}, write_sql(tmp_path / "sql", {}))


def test_reader_never_sees_a_half_published_database(tmp_path: Path, lake: Lake, warehouse: Warehouse) -> None:
    sql = write_sql(tmp_path / "sql", {})
    sizes = (3, 11)
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, sizes[0]))
    warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def read_forever() -> None:
        while not stop.is_set():
            try:
                con = duckdb.connect(str(warehouse.path), read_only=True)
                try:
                    seen.append(con.execute("SELECT count(*) FROM events").fetchone()[0])
                finally:
                    con.close()
            except duckdb.Error as exc:
                errors.append(exc)

    reader = threading.Thread(target=read_forever)
    reader.start()
    try:
        for round_ in range(8):
            lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, sizes[(round_ + 1) % 2]))
            warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF)
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert seen and set(seen) <= set(sizes)
