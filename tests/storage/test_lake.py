"""The Parquet lake: typed round trips, idempotent atomic replacement, clear failures."""

from __future__ import annotations

import datetime as dt
import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resources import atomic_files
from resources.atomic_files import StorageWriteError
from resources import lake as lake_module
from resources.lake import Lake, SchemaMismatchError
from tests.storage.helpers import EVENTS_SCHEMA, events_frame

DAY = dt.date(2026, 3, 1)


def debris(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name.endswith(".inprogress")]


def test_round_trip_keeps_values_and_exact_arrow_dtypes(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    df = events_frame(DAY, 5)
    df.loc[1, ["version", "seq", "happened_at", "seconds", "flag"]] = [pd.NA, pd.NA, pd.NaT, pd.NA, pd.NA]

    path = lake.write_partition("events", EVENTS_SCHEMA, DAY, df)

    assert path == tmp_path / "lake" / "events" / "date=2026-03-01" / "part-0.parquet"
    back = lake.read("events")
    assert list(back.dtypes) == [pd.ArrowDtype(f.type) for f in EVENTS_SCHEMA]
    assert pq.read_schema(path).equals(EVENTS_SCHEMA)
    assert back["event_id"].tolist() == df["event_id"].tolist()
    assert back["seq"].isna().tolist() == [False, True, False, False, False]
    assert back["happened_at"].iloc[4] == pd.Timestamp("2026-03-01T00:00:04Z")
    assert back["business_date"].iloc[0] == DAY
    assert back["seconds"].iloc[2] == 0.5
    assert back["flag"].tolist()[0] is True


def test_rewriting_a_partition_replaces_it_with_one_file(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    df = events_frame(DAY, 7)
    lake.write_partition("events", EVENTS_SCHEMA, DAY, df)
    first = Path(lake.partition_path("events", DAY)).read_bytes()
    lake.write_partition("events", EVENTS_SCHEMA, DAY, df)

    part_dir = lake.partition_dir("events", DAY)
    assert [p.name for p in part_dir.iterdir()] == ["part-0.parquet"]
    assert lake.partition_path("events", DAY).read_bytes() == first
    pd.testing.assert_frame_equal(lake.read("events"), lake.read("events", DAY, DAY))
    assert len(lake.read("events")) == 7


def test_zero_rows_replace_stale_data_with_a_typed_empty_file(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 3))
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 0))

    path = lake.partition_path("events", DAY)
    assert pq.read_metadata(path).num_rows == 0
    assert pq.read_schema(path).equals(EVENTS_SCHEMA)
    assert lake.partitions("events") == [DAY]
    assert lake.read("events").empty


def test_partition_writer_streams_one_row_group_per_write(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    with lake.partition_writer("events", EVENTS_SCHEMA, DAY) as writer:
        for page in range(4):
            writer.write(events_frame(DAY, 10, start=page * 10))
            # Nothing is visible to readers until the writer finishes.
            assert lake.partitions("events") == []
    assert writer.rows_written == 40
    assert pq.ParquetFile(lake.partition_path("events", DAY)).metadata.num_row_groups == 4
    assert lake.read("events")["seq"].tolist() == list(range(40))


def test_partitions_date_range_snapshots_and_unpartitioned_tables(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    days = [DAY + dt.timedelta(days=i) for i in range(3)]
    for i, day in enumerate(days):
        lake.write_partition("events", EVENTS_SCHEMA, day, events_frame(day, i + 1))
    assert lake.partitions("events") == days
    assert len(lake.read("events", start=days[1])) == 2 + 3
    assert len(lake.read("events", end=days[1])) == 1 + 2
    assert len(lake.read("events", days[1], days[1])) == 2

    lake.write_snapshot("live", EVENTS_SCHEMA, DAY, "083000", events_frame(DAY, 2))
    lake.write_snapshot("live", EVENTS_SCHEMA, DAY, "093000", events_frame(DAY, 3))
    lake.write_snapshot("live", EVENTS_SCHEMA, DAY, "093000", events_frame(DAY, 3))
    names = sorted(p.name for p in lake.partition_dir("live", DAY).iterdir())
    assert names == ["snapshot-083000.parquet", "snapshot-093000.parquet"]
    assert len(lake.read("live")) == 5

    lake.write_unpartitioned("users", EVENTS_SCHEMA, events_frame(DAY, 4))
    assert (tmp_path / "lake" / "users" / "data.parquet").is_file()
    assert lake.partitions("users") == []
    assert len(lake.read("users")) == 4

    with duckdb.connect() as con:
        for table, rows in [("events", 6), ("live", 5), ("users", 4)]:
            count = con.execute("SELECT count(*) FROM read_parquet(?)", [lake.glob(table)]).fetchone()
            assert count == (rows,)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda df: df.drop(columns=["seconds"]), "column 'seconds' is missing"),
        (lambda df: df.assign(extra=1), "column 'extra' is not in the schema"),
        (lambda df: df[list(reversed(df.columns))], "out of order"),
        (lambda df: df.assign(seq=df["seq"].astype("float64")), "column 'seq' has type double"),
        (lambda df: df.assign(happened_at=df["happened_at"].dt.tz_localize(None)), "column 'happened_at'"),
        (lambda df: df.assign(event_id=pd.array([None] * len(df), dtype="string")), "column 'event_id' is part of the key"),
        (lambda df: df.assign(seq=pd.array(["x"] * len(df), dtype="string")), "column 'seq'"),
    ],
)
def test_schema_mismatch_names_the_column_and_keeps_old_data(
    tmp_path: Path, mutate: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 3, "old"))
    with pytest.raises(SchemaMismatchError, match=message):
        lake.write_partition("events", EVENTS_SCHEMA, DAY, mutate(events_frame(DAY, 3, "new")))
    assert set(lake.read("events")["version"]) == {"old"}
    assert debris(tmp_path) == []


def test_exception_mid_write_keeps_the_old_partition(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 3, "old"))
    with pytest.raises(ConnectionResetError):
        with lake.partition_writer("events", EVENTS_SCHEMA, DAY) as writer:
            writer.write(events_frame(DAY, 50, "new"))
            raise ConnectionResetError("API dropped the connection")
    assert lake.read("events")["version"].tolist() == ["old"] * 3
    assert debris(tmp_path) == []


def test_disk_full_names_the_path_and_the_fix_and_keeps_old_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 3, "old"))
    # /dev/full answers every write with a real ENOSPC from the kernel.
    monkeypatch.setattr(lake_module, "_open_sink", lambda temp: pa.OSFile("/dev/full", mode="w"))

    with pytest.raises(StorageWriteError) as caught:
        lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 5000, "new"))

    text = str(caught.value)
    assert str(lake.partition_path("events", DAY)) in text
    assert "full" in text and "TMEET_DATA_DIR" in text and "re-run" in text
    assert caught.value.errno == errno.ENOSPC
    assert lake.read("events")["version"].tolist() == ["old"] * 3
    assert debris(tmp_path) == []


def test_permission_error_names_the_directory_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake(tmp_path / "lake")

    def refuse(path: Path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(atomic_files, "_open_temp", refuse)
    with pytest.raises(StorageWriteError, match="may not write to .*date=2026-03-01; make the directory writable"):
        lake.write_partition("events", EVENTS_SCHEMA, DAY, events_frame(DAY, 1))


def test_bad_names_are_refused(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    with pytest.raises(ValueError, match="invalid table name"):
        lake.write_partition("../escape", EVENTS_SCHEMA, DAY, events_frame(DAY, 1))
    with pytest.raises(ValueError, match="invalid snapshot name"):
        lake.write_snapshot("live", EVENTS_SCHEMA, DAY, "a/b", events_frame(DAY, 1))
    with pytest.raises(TypeError, match="local date"):
        lake.write_partition("events", EVENTS_SCHEMA, dt.datetime(2026, 3, 1, 8), events_frame(DAY, 1))


def test_reader_globbing_the_lake_never_sees_a_partial_file(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    small, large = events_frame(DAY, 10, "small"), events_frame(DAY, 30_000, "large")
    other = DAY + dt.timedelta(days=1)
    lake.write_partition("events", EVENTS_SCHEMA, other, events_frame(other, 5))
    lake.write_partition("events", EVENTS_SCHEMA, DAY, small)
    stop = threading.Event()
    writes = 0

    def rewrite_forever() -> None:
        nonlocal writes
        while not stop.is_set():
            for frame in (large, small):
                with lake.partition_writer("events", EVENTS_SCHEMA, DAY) as writer:
                    for start in range(0, len(frame), 3000):
                        writer.write(frame.iloc[start : start + 3000])
                writes += 1

    writer_thread = threading.Thread(target=rewrite_forever)
    writer_thread.start()
    seen: set[int] = set()
    errors: list[BaseException] = []
    con = duckdb.connect()
    deadline = time.monotonic() + 1.5
    try:
        while time.monotonic() < deadline or writes < 4:
            try:
                seen.add(con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path}/lake/**/*.parquet')").fetchone()[0])
            except duckdb.Error as exc:
                errors.append(exc)
    finally:
        stop.set()
        writer_thread.join()
        con.close()
    assert errors == []
    assert seen <= {5 + 10, 5 + 30_000}
    assert writes >= 4
