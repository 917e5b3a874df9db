"""The reporting tables: typed, documented column by column, in the lake, and telling the licence story."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tests.report.conftest import Synced

TABLES_MD = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
DOC_TYPES = {"string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE",
             "ts": "TIMESTAMP WITH TIME ZONE", "bool": "BOOLEAN"}
ARROW_TYPES = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "date": pa.date32(),
               "ts": pa.timestamp("us", tz="UTC"), "bool": pa.bool_()}


def documented_reports() -> dict[str, list[tuple[str, str, str]]]:
    """(column, type, meaning) per report table, from the '## Reporting tables' part of docs/tables.md."""
    text = TABLES_MD.read_text(encoding="utf-8").split("## Reporting tables", 1)[1]
    tables: dict[str, list[tuple[str, str, str]]] = {}
    current = ""
    for line in text.splitlines():
        heading = re.match(r"^### `(report_[a-z_]+)`", line)
        if heading:
            current = heading.group(1)
            tables[current] = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current and len(cells) == 3 and cells[1] in DOC_TYPES:
            tables[current].append((cells[0], cells[1], cells[2]))
    return tables


def warehouse_columns(path: Path) -> dict[str, list[tuple[str, str, str | None]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
            "WHERE table_name LIKE 'report\\_%' ESCAPE '\\' ORDER BY table_name, column_index"
        ).fetchall()
    found: dict[str, list[tuple[str, str, str | None]]] = {}
    for table, column, data_type, comment in rows:
        found.setdefault(table, []).append((column, data_type, comment))
    return found


def test_every_report_column_is_documented_and_commented_with_the_same_words(synced: Synced) -> None:
    documented = documented_reports()
    actual = warehouse_columns(synced.warehouse)
    assert set(documented) == set(actual)
    for table, columns in actual.items():
        assert [(c, t) for c, t, _ in columns] == [(c, DOC_TYPES[t]) for c, t, _ in documented[table]], table
        for (column, _, comment), (_, _, meaning) in zip(columns, documented[table], strict=True):
            assert comment, f"{table}.{column} has no COMMENT"
            assert comment == meaning, f"{table}.{column}: docs/tables.md and the COMMENT differ"


def test_no_warehouse_column_is_a_hugeint(synced: Synced) -> None:
    with duckdb.connect(str(synced.warehouse), read_only=True) as con:
        wide = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE data_type IN ('HUGEINT', 'UHUGEINT') "
            "OR data_type LIKE 'DECIMAL%'"
        ).fetchall()
    assert wide == []


def test_report_tables_are_in_the_lake_with_the_documented_types(synced: Synced) -> None:
    for table, columns in documented_reports().items():
        path = synced.data_dir / "lake" / table / "data.parquet"
        lake = pq.read_table(path)
        assert [(f.name, f.type) for f in lake.schema] == [(c, ARROW_TYPES[t]) for c, t, _ in columns], table
        with duckdb.connect(str(synced.warehouse), read_only=True) as con:
            expected = con.sql(f'SELECT * FROM "{table}"').to_arrow_table()
        assert lake.num_rows == expected.num_rows > 0, table
        assert lake.to_pylist() == expected.cast(lake.schema).to_pylist(), table


def test_licence_review_finds_enabled_users_who_stopped_meeting(synced: Synced) -> None:
    dormant = synced.dormant_userids
    assert dormant, "the generated enterprise should have enabled users who do not meet"
    assert dormant <= synced.enabled_userids
    with duckdb.connect(str(synced.warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT userid, meetings_hosted + meetings_attended FROM report_user_activity "
            "WHERE licence_status = 'enabled' AND inactive_30d"
        ).fetchall()
        (active,) = con.execute(
            "SELECT count(*) FROM report_user_activity WHERE licence_status = 'enabled' AND NOT inactive_30d"
        ).fetchone()
    assert {userid for userid, _ in rows} == dormant
    assert all(meetings == 0 for _, meetings in rows)
    assert active > 0
