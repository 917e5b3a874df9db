"""Publishing one new day onto a year of history vs. rebuilding the warehouse from that year.

A year is not pulled through the emulator: one `large` day is synced for real, then its partitions
are copied under 365 dates with every date and timestamp shifted and the instance ids suffixed, so
joins and keys behave as they would on distinct days.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assets.warehouse import (
    PARTITION_COLUMNS,
    SQL_DIR,
    WAREHOUSE_KEYS,
    WAREHOUSE_TABLES,
    duplicate_keys,
    orphan_recordings,
)
from bench.emulator_process import EmulatorProcess
from bench.report import Figure, median
from bench.sync_runner import run_sync
from resources.lake import Lake
from resources.warehouse import PublishResult, Warehouse

SEED_DAY = dt.date(2026, 11, 17)
# Ids that name one meeting instance or recording: suffixed per copy so that copies never join.
INSTANCE_IDS = ("meeting_id", "sub_meeting_id", "meeting_record_id", "record_file_id", "run_id")


def redate(table: pa.Table, days: int) -> pa.Table:
    """``table`` moved ``days`` later: dates and instants shifted, instance ids made distinct."""
    if days == 0:
        return table
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_date32(kind):
            column = pc.cast(pc.add(column, pa.scalar(dt.timedelta(days=days), pa.duration("s"))), pa.date32())
        elif pa.types.is_timestamp(kind):
            column = pc.add(column, pa.scalar(dt.timedelta(days=days), pa.duration(kind.unit)))
        elif name in INSTANCE_IDS and pa.types.is_string(kind):
            column = pc.binary_join_element_wise(column, pa.scalar(f"~{days}"), "")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def build_history(seed: Lake, target: Lake, first: dt.date, days: int) -> None:
    """``days`` dated copies of the seed's partitions from ``first`` on, plus its directory tables."""
    for table in WAREHOUSE_TABLES:
        for path in seed.files(table):
            if not path.parent.name.startswith("date="):
                destination = target.table_dir(table) / path.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)
    for offset in range(days):
        add_day(seed, target, first + dt.timedelta(days=offset))


def add_day(seed: Lake, target: Lake, day: dt.date) -> None:
    """One more day, as a sync of ``day`` leaves it: its partitions, a run log, the directory rewritten."""
    for table in WAREHOUSE_TABLES:
        for path in seed.files(table):
            source_day = dt.date.fromisoformat(path.parent.name.removeprefix("date=")) \
                if path.parent.name.startswith("date=") else None
            if source_day is None:
                continue
            # A run's log is filed under the day it ran, the day after the data's at the latest.
            moved = redate(pq.read_table(path), (day - SEED_DAY).days)
            destination = target.partition_dir(table, source_day + (day - SEED_DAY)) / path.name
            destination.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(moved, destination, compression="zstd")


def touch_directory(seed: Lake, target: Lake) -> None:
    """A sync rewrites the directory tables each run (same bytes, new files)."""
    for table in WAREHOUSE_TABLES:
        source = seed.table_dir(table) / "data.parquet"
        if source.exists():
            destination = target.table_dir(table) / "data.parquet"
            temp = destination.with_name(".rewrite.parquet")
            shutil.copyfile(source, temp)
            temp.replace(destination)


def timed_publish(warehouse: Warehouse, lake: Lake, *, incremental: bool) -> tuple[float, PublishResult]:
    started = time.monotonic()
    result = warehouse.publish(lake, WAREHOUSE_TABLES, SQL_DIR, partition_columns=PARTITION_COLUMNS,
                               incremental=incremental, keys=WAREHOUSE_KEYS)
    return time.monotonic() - started, result


def split(result: PublishResult) -> str:
    """The publish's steps, largest first."""
    steps = sorted(result.step_seconds.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in steps if seconds >= 0.005)


def run(runs: int, scale: str = "large", days: int = 365, seed_lake: Path | None = None,
        platform: str = "api-reference") -> list[Figure]:
    section = "8 publish"
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        root = Path(tmp)
        if seed_lake is None:
            with EmulatorProcess(scale=scale, platform=platform) as emu:
                sync = run_sync(emu, root / "seed", SEED_DAY, SEED_DAY)
            if sync.returncode != 0:
                raise RuntimeError(f"tmeet-etl sync failed:\n{sync.output}")
            seed_lake = root / "seed" / "lake"
        seed, lake = Lake(seed_lake), Lake(root / "year" / "lake")
        first = SEED_DAY - dt.timedelta(days=days - 1)
        started = time.monotonic()
        build_history(seed, lake, first, days - runs)
        history_s = time.monotonic() - started
        warehouse = Warehouse(root / "year" / "warehouse.duckdb")
        first_full_s, _ = timed_publish(warehouse, lake, incremental=False)
        incremental_s: list[float] = []
        full_s: list[float] = []
        checks_s: list[float] = []
        for i in range(runs):
            # Each repetition adds the next day, so the lake holds `days` days at the last one.
            add_day(seed, lake, first + dt.timedelta(days=days - runs + i))
            touch_directory(seed, lake)
            seconds, patched = timed_publish(warehouse, lake, incremental=True)
            if patched.mode != "incremental":
                raise RuntimeError(f"publishing one new day fell back to a {patched.mode} build")
            incremental_s.append(seconds)
            started = time.monotonic()
            orphan_recordings(warehouse)
            checks_s.append(time.monotonic() - started)
            # The publish keeps the duplicate-key count current; it must equal a count over everything.
            if dict(patched.duplicate_keys) != duplicate_keys(warehouse):
                raise RuntimeError("the incremental duplicate-key count differs from a full count")
            # The reference: the same lake rebuilt from scratch, into a separate file.
            rebuilt = Warehouse(root / "year" / f"rebuilt-{i}.duckdb")
            seconds, full = timed_publish(rebuilt, lake, incremental=False)
            full_s.append(seconds)
            rebuilt.path.unlink()
        rows = sum(int(warehouse.query(f'SELECT count(*) AS n FROM "{t}"')["n"].iloc[0]) for t in WAREHOUSE_TABLES)
        size_mb = warehouse.path.stat().st_size / 2**20
    ratios = [i / f for i, f in zip(incremental_s, full_s, strict=True)]
    ratio = median(ratios)
    return [
        Figure(section, f"full rebuild, {days}-day {scale}-shaped lake ({rows:,} rows)", median(full_s), "s",
               runs=runs, note=f"lake of {days} re-dated copies of one synced day built in {history_s:.0f} s; "
               f"first full build {first_full_s:.1f} s; warehouse file {size_mb:,.0f} MB. Split of the last "
               f"rebuild: {split(full)}"),
        Figure(section, "publish after one new day (incremental)", median(incremental_s), "s", runs=runs,
               note=f"split of the last one: {split(patched)}; reports re-run: {dict(patched.reports)}"),
        Figure(section, "warehouse check after the publish (orphan recordings)", median(checks_s), "s", runs=runs),
        Figure(section, "one-day publish ÷ full rebuild", ratio, "", "<= 0.1", ratio <= 0.1, runs=runs,
               note="" if ratio <= 0.1 else "the parts of a publish that do not shrink with the change (copying "
               "the file, listing the lake, the report that reads the report date, fsync) are a larger share "
               f"of a small lake; see the split above. Measured on {days} days of {scale}."),
    ]
