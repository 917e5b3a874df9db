"""An incremental publish: the same warehouse as a full rebuild, at the cost of what changed, kill-safe."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path

import duckdb
import pandas as pd

from resources.lake import Lake
from resources.warehouse import PublishResult, Warehouse
from resources.warehouse_changes import MANIFEST_TABLE
from tests.storage.helpers import EVENTS_SCHEMA, events_frame
from tests.storage.tables import TABLES
from tests.storage.test_reports import AS_OF, D1, D2, SQL_DIR, build_inputs, land
from tests.storage.workers import publish_forever_slowly

PARTITION_COLUMNS = {table: "business_date" for table, schema in TABLES.items() if "business_date" in schema.names}
D3 = D2 + dt.timedelta(days=1)


def publish(warehouse: Warehouse, lake: Lake, *, incremental: bool = True) -> PublishResult:
    return warehouse.publish(lake, TABLES, SQL_DIR, report_as_of=AS_OF, partition_columns=PARTITION_COLUMNS,
                             incremental=incremental)


def table_rows(
    con: duckdb.DuckDBPyConnection, database: str, table: str, *, as_stored: bool = False
) -> list[tuple[object, ...]]:
    """Every row, doubles rounded (summation order may differ), sorted unless ``as_stored``."""
    described = con.execute(f'DESCRIBE "{database}"."{table}"').fetchall()
    columns = [
        f'round("{name}", 6)' if kind == "DOUBLE" else f'"{name}"' for name, kind, *_ in described
    ]
    listed = ", ".join(columns)
    order = "" if as_stored else " ORDER BY ALL"
    return con.execute(f'SELECT {listed} FROM "{database}"."{table}"{order}').fetchall()


def assert_same_warehouse(patched: Path, rebuilt: Path) -> None:
    with duckdb.connect(":memory:") as con:
        con.execute(f"ATTACH '{patched}' AS patched (READ_ONLY)")
        con.execute(f"ATTACH '{rebuilt}' AS rebuilt (READ_ONLY)")
        names = {}
        for database in ("patched", "rebuilt"):
            names[database] = sorted(
                name for (name,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'",
                    [database],
                ).fetchall() if name != MANIFEST_TABLE
            )
        assert names["patched"] == names["rebuilt"]
        assert any(name.startswith("report_") for name in names["patched"])
        for table in names["patched"]:
            assert (con.execute(f'DESCRIBE patched."{table}"').fetchall()
                    == con.execute(f'DESCRIBE rebuilt."{table}"').fetchall()), table
            assert table_rows(con, "patched", table) == table_rows(con, "rebuilt", table), table
            if table.startswith("report_"):
                # Reports keep the order their SQL gives them, as `SELECT *` shows it.
                assert (table_rows(con, "patched", table, as_stored=True)
                        == table_rows(con, "rebuilt", table, as_stored=True)), table


def rewrite_identically(lake: Lake, table: str) -> None:
    """What a sync does to the directory each run: a new file with the same bytes."""
    path = lake.table_dir(table) / "data.parquet"
    copy = path.with_name(".copy.parquet")
    shutil.copyfile(path, copy)
    os.replace(copy, path)


def test_incremental_publish_equals_a_full_rebuild_table_by_table(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    inputs = build_inputs()
    land(lake, inputs)
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    assert publish(warehouse, lake).mode == "full"

    # D2's meetings change (one dropped, one renamed), a new day D3 arrives, D1's view details go away,
    # and the directory is rewritten with the same bytes.
    meetings = inputs["meetings"]
    d2 = meetings[meetings["business_date"].astype(object) == D2].iloc[1:].reset_index(drop=True)
    d2.loc[0, "subject"] = "Renamed"
    lake.write_partition("meetings", TABLES["meetings"], D2, d2)
    d3 = d2.copy()
    d3["business_date"] = pd.Series([D3] * len(d3), dtype=d2["business_date"].dtype)
    d3["start_time"] = d3["start_time"] + pd.Timedelta(days=1)
    lake.write_partition("meetings", TABLES["meetings"], D3, d3)
    attendance = inputs["attendance"]
    a3 = attendance[attendance["business_date"].astype(object) == D2].reset_index(drop=True)
    a3["business_date"] = pd.Series([D3] * len(a3), dtype=a3["business_date"].dtype)
    a3["meeting_start_time"] = a3["meeting_start_time"] + pd.Timedelta(days=1)
    lake.write_partition("attendance", TABLES["attendance"], D3, a3)
    lake.partition_path("recording_view_details", D1).unlink()
    rewrite_identically(lake, "users")

    patched = publish(warehouse, lake)
    assert patched.mode == "incremental"
    assert patched.reloaded["meetings"] == [D2.isoformat(), D3.isoformat()]
    assert patched.reloaded["attendance"] == [D3.isoformat()]
    assert patched.reloaded["recording_view_details"] == [D1.isoformat()]
    assert "participant_sessions" not in patched.reloaded
    # Date-sliced reports are recomputed from the earliest changed date of the tables they read.
    assert patched.reports["10_daily_usage"] == f"from {D2}"
    assert patched.reports["20_usage_by_department"] == f"from {D3}"
    assert patched.reports["30_meeting_attendance"] == f"from {D2}"
    assert patched.reports["40_recording_engagement"] == f"from {D1}"
    rebuilt = publish(Warehouse(tmp_path / "rebuilt.duckdb"), lake, incremental=False)
    assert rebuilt.mode == "full"
    assert dict(patched.row_counts) == dict(rebuilt.row_counts)
    assert_same_warehouse(warehouse.path, rebuilt.path)

    # An identical rewrite of a file whose bytes are known is no change.
    rewrite_identically(lake, "users")
    again = publish(warehouse, lake)
    assert again.mode == "incremental"
    assert dict(again.reloaded) == {}
    assert set(again.reports) == {"50_user_activity"}, "only the report that reads the report date re-runs"
    rewrite_identically(lake, "users")
    users = inputs["users"].iloc[:3].reset_index(drop=True)
    lake.write_unpartitioned("users", TABLES["users"], users)
    last = publish(warehouse, lake)
    assert dict(last.reloaded) == {"users": ["*"]}
    assert_same_warehouse(warehouse.path, publish(Warehouse(tmp_path / "rebuilt-2.duckdb"), lake,
                                                  incremental=False).path)

    # Only D2's attendance changes: the recording made during D2's instance loses an attendee, which
    # the engagement report (reading attendance whole) must show from D2 on.
    a2 = attendance[attendance["business_date"].astype(object) == D2].iloc[1:].reset_index(drop=True)
    lake.write_partition("attendance", TABLES["attendance"], D2, a2)
    attended = publish(warehouse, lake)
    assert dict(attended.reloaded) == {"attendance": [D2.isoformat()]}
    assert attended.reports["40_recording_engagement"] == f"from {D2}"
    assert attended.reports["30_meeting_attendance"] == f"from {D2}"
    assert_same_warehouse(warehouse.path, publish(Warehouse(tmp_path / "rebuilt-3.duckdb"), lake,
                                                  incremental=False).path)


def test_rows_outside_their_partition_make_the_table_reload_whole(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    sql = tmp_path / "sql"
    sql.mkdir()
    lake.write_partition("events", EVENTS_SCHEMA, D1, events_frame(D1, 3))
    columns = {"events": "business_date"}
    warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    # D2's file holds rows dated D1: deleting "the rows of D2" could no longer find them all.
    lake.write_partition("events", EVENTS_SCHEMA, D2, events_frame(D1, 2, version="v2"))
    stray = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    assert stray.reloaded == {"events": ["*"]}
    lake.write_partition("events", EVENTS_SCHEMA, D2, events_frame(D1, 4, version="v3"))
    again = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    assert again.mode == "incremental" and again.reloaded == {"events": ["*"]}
    assert int(warehouse.query("SELECT count(*) AS n FROM events")["n"].iloc[0]) == 3 + 4


def test_killed_incremental_publish_leaves_the_previous_file_readable(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "data" / "lake")
    warehouse = Warehouse(tmp_path / "data" / "warehouse.duckdb")
    # Quick while every event is below seq 5, endless once the lake holds later ones: the same SQL
    # (so the second publish is incremental) makes only the second publish slow enough to kill.
    slow = tmp_path / "sql"
    slow.mkdir()
    (slow / "10_slow.sql").write_text(
        "CREATE TABLE report_slow AS SELECT sum(hash(i)) AS h FROM events e, "
        "range(CASE WHEN e.seq >= 5 THEN 100000000000 ELSE 1 END) t(i);"
    )
    lake.write_partition("events", EVENTS_SCHEMA, D1, events_frame(D1, 5))
    first = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, slow, partition_columns={"events": "business_date"})
    assert first.mode == "full"
    lake.write_partition("events", EVENTS_SCHEMA, D2, events_frame(D2, 4, start=5))

    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=publish_forever_slowly,
                        args=(str(warehouse.path), str(lake.root), str(slow), {"events": "business_date"}))
    child.start()
    published_size = warehouse.path.stat().st_size
    deadline = time.monotonic() + 60
    building: list[Path] = []
    # The copy of the published file is complete once the build reaches the published size.
    while not any(p.stat().st_size >= published_size for p in building if p.exists()):
        assert time.monotonic() < deadline, "the incremental publish never copied the published file"
        time.sleep(0.01)
        building = list(warehouse.path.parent.glob(f".{warehouse.path.name}.*.building"))
    time.sleep(0.5)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)

    assert int(warehouse.query("SELECT count(*) AS n FROM events")["n"].iloc[0]) == 5
    assert int(warehouse.query("SELECT count(*) AS n FROM report_slow")["n"].iloc[0]) == 1
    quick = tmp_path / "quick"
    quick.mkdir()
    result = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, quick, partition_columns={"events": "business_date"})
    assert result.row_counts == {"events": 9}
    assert list(warehouse.path.parent.glob(f".{warehouse.path.name}.*")) == []


def test_a_table_partitioned_by_an_instant_is_reloaded_one_local_date_at_a_time(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    sql = tmp_path / "sql"
    sql.mkdir()
    columns = {"events": "happened_at"}
    # Events happen from midnight UTC on, which is the same date in Beijing (the default zone).
    for day in (D1, D2):
        lake.write_partition("events", EVENTS_SCHEMA, day, events_frame(day, 3, version=f"v-{day}"))
    warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    lake.write_partition("events", EVENTS_SCHEMA, D2, events_frame(D2, 5, version="v-new"))
    patched = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    assert patched.mode == "incremental"
    assert patched.reloaded == {"events": [D2.isoformat()]}
    versions = warehouse.query("SELECT version, count(*) AS n FROM events GROUP BY ALL ORDER BY ALL")
    assert versions.values.tolist() == [[f"v-{D1}", 3], ["v-new", 5]]


def full_duplicate_count(warehouse: Warehouse, table: str, key: list[str]) -> int:
    columns = ", ".join(f'"{c}"' for c in key)
    return int(warehouse.query(
        f'SELECT coalesce(sum(n - 1), 0) AS extra FROM (SELECT count(*) AS n FROM "{table}" GROUP BY {columns})'
    )["extra"].iloc[0])


def test_duplicate_keys_are_kept_current_by_each_publish(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    keys = {"meetings": ["meeting_id", "sub_meeting_id", "start_time"]}
    inputs = build_inputs()
    land(lake, inputs)

    def publish_keyed() -> PublishResult:
        return warehouse.publish(lake, TABLES, SQL_DIR, report_as_of=AS_OF, partition_columns=PARTITION_COLUMNS,
                                 keys=keys)

    assert publish_keyed().duplicate_keys == {}
    meetings = inputs["meetings"]
    d2 = meetings[meetings["business_date"].astype(object) == D2].reset_index(drop=True)
    # The same meeting instances again under D3 (twice): duplicates across partitions and within one.
    d3 = pd.concat([d2, d2], ignore_index=True)
    d3["business_date"] = pd.Series([D3] * len(d3), dtype=d2["business_date"].dtype)
    lake.write_partition("meetings", TABLES["meetings"], D3, d3)
    added = publish_keyed()
    assert added.mode == "incremental" and added.reloaded == {"meetings": [D3.isoformat()]}
    assert added.duplicate_keys == {"meetings": 2 * len(d2)}
    assert added.duplicate_keys["meetings"] == full_duplicate_count(warehouse, "meetings", keys["meetings"])

    lake.write_partition("meetings", TABLES["meetings"], D3, d3.iloc[:1].reset_index(drop=True))
    lake.write_partition("meetings", TABLES["meetings"], D2, d2.iloc[1:].reset_index(drop=True))
    fixed = publish_keyed()
    assert fixed.reloaded == {"meetings": [D2.isoformat(), D3.isoformat()]}
    assert dict(fixed.duplicate_keys) == {}
    assert full_duplicate_count(warehouse, "meetings", keys["meetings"]) == 0


def test_a_change_to_most_of_the_lake_is_built_from_scratch(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import resources.warehouse as warehouse_module

    # The floor keeps small lakes incremental; lowered here so that a two-day lake shows the rule.
    monkeypatch.setattr(warehouse_module, "MIN_GROWTH_BYTES", 0)
    lake = Lake(tmp_path / "lake")
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    sql = tmp_path / "sql"
    sql.mkdir()
    columns = {"events": "business_date"}
    for day in (D1, D2, D3):
        lake.write_partition("events", EVENTS_SCHEMA, day, events_frame(day, 3))
    warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    lake.write_partition("events", EVENTS_SCHEMA, D3, events_frame(D3, 4))
    one_day = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    assert one_day.mode == "incremental"
    for day in (D1, D2):
        lake.write_partition("events", EVENTS_SCHEMA, day, events_frame(day, 5))
    most = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    assert most.mode == "full"
    assert most.row_counts == {"events": 5 + 5 + 4}


def test_a_file_replaced_while_it_is_loaded_is_reloaded_by_the_next_publish(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import resources.warehouse as warehouse_module

    lake = Lake(tmp_path / "lake")
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    sql = tmp_path / "sql"
    sql.mkdir()
    columns = {"events": "business_date"}
    for day in (D1, D2):
        lake.write_partition("events", EVENTS_SCHEMA, day, events_frame(day, 3))
    warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    lake.write_partition("events", EVENTS_SCHEMA, D2, events_frame(D2, 4, version="loaded"))

    # A sync replaces D2 again right after the publish has read it (lake writers take no publish lock).
    original = warehouse_module._insert_files
    def insert_then_replace(*args, **kwargs):  # type: ignore[no-untyped-def]
        original(*args, **kwargs)
        monkeypatch.setattr(warehouse_module, "_insert_files", original)
        lake.write_partition("events", EVENTS_SCHEMA, D2, events_frame(D2, 6, version="latest"))
    monkeypatch.setattr(warehouse_module, "_insert_files", insert_then_replace)
    raced = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    assert raced.row_counts == {"events": 3 + 4}

    caught_up = warehouse.publish(lake, {"events": EVENTS_SCHEMA}, sql, report_as_of=AS_OF, partition_columns=columns)
    assert caught_up.reloaded == {"events": [D2.isoformat()]}
    assert caught_up.row_counts == {"events": 3 + 6}


def test_sync_log_of_a_run_after_local_midnight_is_published_one_day_at_a_time(
    tmp_path: Path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    # The daily run starts at 01:30 in Shanghai, 17:30 UTC the day before: its log must be stored
    # under the local date the warehouse partitions it by, or every publish reloads the whole log.
    from assets._sync import SyncContext, write_sync_log
    from assets.schemas import PARTITION_COLUMN, SCHEMAS
    from resources.raw_archive import RawArchive
    from resources.tencent.stats import CallStats

    monkeypatch.setenv("TMEET_TIMEZONE", "Asia/Shanghai")
    lake = Lake(tmp_path / "lake")
    tables = {"sync_log": SCHEMAS["sync_log"]}
    columns = {"sync_log": str(PARTITION_COLUMN["sync_log"])}
    sql = tmp_path / "sql"
    sql.mkdir()
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")

    def daily_run(local_day: dt.date) -> None:
        started = dt.datetime.combine(local_day, dt.time(1, 30), dt.UTC) - dt.timedelta(hours=8)
        stats = CallStats()
        stats.add("/v1/corp/meetings", calls=1, pages=1, rows=3)
        ctx = SyncContext(clients=[], lake=lake, raw=RawArchive(tmp_path / "raw"), tz="Asia/Shanghai",
                          run_id=f"run-{local_day}", now=lambda: started + dt.timedelta(minutes=2))
        write_sync_log(ctx, "meetings", (local_day - dt.timedelta(days=1)).isoformat(), started, stats)

    for day in (D1, D2):
        daily_run(day)
    assert sorted(p.name for p in lake.table_dir("sync_log").iterdir()) == [f"date={D1}", f"date={D2}"]
    warehouse.publish(lake, tables, sql, report_as_of=AS_OF, partition_columns=columns)
    daily_run(D3)
    patched = warehouse.publish(lake, tables, sql, report_as_of=AS_OF, partition_columns=columns)
    assert patched.mode == "incremental"
    assert patched.reloaded == {"sync_log": [D3.isoformat()]}
    assert warehouse.query("SELECT count(*) AS n FROM sync_log")["n"].iloc[0] == 3
