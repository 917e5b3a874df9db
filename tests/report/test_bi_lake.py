"""The lake as BI tools read it: every table, every partition, one schema, typed partition columns."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from assets.schemas import SCHEMAS
from tests.report.conftest import Synced
from tests.report.test_report_tables import ARROW_TYPES, documented_reports

BI_MD = Path(__file__).resolve().parents[2] / "docs" / "bi.md"
DATE_PARTITIONING = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")


def documented_schema(table: str) -> pa.Schema:
    if table.startswith("report_"):
        return pa.schema([(c, ARROW_TYPES[t]) for c, t, _ in documented_reports()[table]])
    return SCHEMAS[table]


def lake_tables(lake: Path) -> list[str]:
    return sorted(p.name for p in lake.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_every_lake_table_reads_whole_in_pyarrow_and_polars_with_typed_partitions(synced: Synced) -> None:
    lake = synced.data_dir / "lake"
    tables = lake_tables(lake)
    # The sync lands the API tables, the operations log and the reports.
    assert {"meetings", "participant_sessions", "users", "upcoming_meetings", "live_meetings", "sync_log",
            "report_daily_usage"} <= set(tables)
    for table in tables:
        root = lake / table
        files = sorted(root.rglob("*.parquet"))
        assert files, table
        partitioned = any(p.name.startswith("date=") for p in root.iterdir())
        expected = documented_schema(table)
        # One schema per table: every file has exactly the documented columns and types.
        for path in files:
            schema = pq.read_schema(path)
            assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in expected], path
        rows = sum(pq.read_metadata(p).num_rows for p in files)

        dataset = ds.dataset(root, format="parquet", partitioning=DATE_PARTITIONING if partitioned else None)
        arrow = dataset.to_table()
        assert arrow.num_rows == rows, table
        polars = pl.scan_parquet(str(root / "**" / "*.parquet"), hive_partitioning=True).collect()
        assert polars.height == rows, table
        if partitioned:
            assert arrow.schema.field("date").type == pa.date32(), table
            assert polars.schema["date"] == pl.Date, table
            assert arrow.schema.names == [*expected.names, "date"]
            assert polars.columns == [*expected.names, "date"]
            if "business_date" in expected.names and table != "sync_log":
                # The partition is the business date of each row.
                assert arrow.column("date").equals(arrow.column("business_date")), table
        else:
            assert arrow.schema.names == expected.names
            assert polars.columns == expected.names


def test_duckdb_reads_partitions_as_dates(synced: Synced) -> None:
    glob = str(synced.data_dir / "lake" / "meetings" / "**" / "*.parquet")
    with duckdb.connect() as con:
        relation = con.sql(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
        types = dict(zip(relation.columns, [str(t) for t in relation.types], strict=True))
    assert types["date"] == "DATE"


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", BI_MD.read_text(encoding="utf-8"), re.DOTALL)


def on_synced(code: str, synced: Synced) -> str:
    return code.replace("data/demo/", f"{synced.data_dir.as_posix()}/")


def test_the_documented_sql_runs(synced: Synced) -> None:
    blocks = doc_blocks("sql")
    assert blocks
    with duckdb.connect() as con:
        for block in blocks:
            rows = con.sql(on_synced(block, synced)).fetchall()
            assert rows and all(isinstance(row[0], type(synced.first)) for row in rows)


@pytest.mark.parametrize("index", range(3))
def test_the_documented_python_runs(synced: Synced, index: int) -> None:
    blocks = doc_blocks("python")
    assert len(blocks) == 3
    namespace: dict[str, object] = {}
    exec(compile(on_synced(blocks[index], synced), f"docs/bi.md python block {index + 1}", "exec"), namespace)
    if "engine" in namespace:
        namespace["engine"].dispose()  # type: ignore[attr-defined]
    if "days" in namespace:
        with duckdb.connect(str(synced.warehouse), read_only=True) as con:
            (expected,) = con.execute("SELECT count(*) FROM report_daily_usage").fetchone()
        assert namespace["days"] == expected
