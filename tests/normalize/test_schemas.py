"""The table contract in code: every table, key and dtype; conform and empty frames."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from assets.schemas import KEYS, PARTITION_COLUMN, SCHEMAS, SchemaError, conform, empty_frame
from tests.normalize.helpers import assert_parquet_round_trip, assert_schema

TABLES_MD = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
_TYPES = {"string": pa.string(), "ts": pa.timestamp("us", tz="UTC"), "date": pa.date32(), "int": pa.int64(),
          "float": pa.float64(), "bool": pa.bool_()}


def _documented_tables() -> dict[str, list[tuple[str, pa.DataType]]]:
    """Parse docs/tables.md: each '### `name`' heading followed by a column table."""
    tables: dict[str, list[tuple[str, pa.DataType]]] = {}
    current: list[str] = []
    for line in TABLES_MD.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^### (.+)$", line)
        if heading:
            current = re.findall(r"`([a-z_]+)`", heading.group(1).split("—")[0])
            for name in current:
                tables[name] = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current and len(cells) >= 2 and cells[1] in _TYPES and cells[0] not in ("column", "kind"):
            for name in current:
                tables[name].append((cells[0], _TYPES[cells[1]]))
    return tables


def test_every_documented_table_matches_its_schema_exactly():
    # The reporting tables are derived in the warehouse (tests/report checks them against it), and
    # `_publish_manifest` is the warehouse's own bookkeeping, not a lake table.
    documented = {
        name: cols for name, cols in _documented_tables().items() if not name.startswith(("report_", "_"))
    }
    assert set(documented) == set(SCHEMAS)
    for name, columns in documented.items():
        assert [(f.name, f.type) for f in SCHEMAS[name]] == columns, name


def test_documented_keys_match():
    text = TABLES_MD.read_text(encoding="utf-8")
    for name, key in KEYS.items():
        if name == "quarantine":
            continue
        heading = next(line for line in text.splitlines() if line.startswith("### ") and f"`{name}`" in line)
        documented = re.findall(r"`([a-z_]+)`", heading.split("key", 1)[1])
        assert tuple(documented) == key, name


def test_keys_and_partitions_cover_every_table():
    assert set(KEYS) == set(SCHEMAS) == set(PARTITION_COLUMN)
    for name, schema in SCHEMAS.items():
        for column in KEYS[name]:
            assert not schema.field(column).nullable
        partition = PARTITION_COLUMN[name]
        assert partition is None or partition in schema.names
    for directory in ("users", "user_departments", "roles"):
        assert PARTITION_COLUMN[directory] is None
    assert PARTITION_COLUMN["live_meetings"] == "snapshot_at"
    assert PARTITION_COLUMN["meetings"] == "business_date"


@pytest.mark.parametrize("table", sorted(SCHEMAS))
def test_empty_frames_have_exact_dtypes_and_round_trip(table: str):
    frame = empty_frame(table)
    assert len(frame) == 0
    assert_schema(table, frame)
    assert_parquet_round_trip(table, frame)


def test_conform_orders_casts_and_drops_extras():
    raw = pd.DataFrame(
        {
            "member_count": [3, None],
            "extra": ["x", "y"],
            "role_desc": [None, "d"],
            "role_name": ["Admin", "Member"],
            "role_code": ["a", "b"],
        }
    )
    out = conform("roles", raw)
    assert_schema("roles", out)
    assert out["member_count"].tolist() == [3, pd.NA]
    assert out["role_code"].tolist() == ["a", "b"]


def test_conform_converts_numpy_datetimes_and_dates():
    raw = empty_frame("quarantine").iloc[0:0]
    raw = pd.DataFrame(
        {"table_name": ["t"], "business_date": [dt.date(2023, 11, 15)], "reason": ["r"], "record_json": ["{}"]}
    )
    out = conform("quarantine", raw)
    assert out["business_date"].tolist() == [dt.date(2023, 11, 15)]
    stamps = pd.DataFrame({"snapshot_at": pd.to_datetime(["2023-11-14 22:13:20"], utc=True), "meeting_id": ["1"]})
    for column in SCHEMAS["live_meetings"].names[2:]:
        stamps[column] = None
    assert conform("live_meetings", stamps)["snapshot_at"].iloc[0] == pd.Timestamp("2023-11-14 22:13:20", tz="UTC")


def test_conform_errors_name_the_column():
    with pytest.raises(SchemaError, match="missing column.*role_desc"):
        conform("roles", pd.DataFrame({"role_code": ["a"], "role_name": ["n"], "member_count": [1]}))
    with pytest.raises(SchemaError, match=r"roles\.member_count"):
        conform("roles", pd.DataFrame({"role_code": ["a"], "role_name": ["n"], "role_desc": [None], "member_count": ["many"]}))
    with pytest.raises(SchemaError, match=r"roles\.member_count"):
        conform("roles", pd.DataFrame({"role_code": ["a"], "role_name": ["n"], "role_desc": [None], "member_count": [1.5]}))
    with pytest.raises(SchemaError, match=r"roles\.role_code is part of the key"):
        conform("roles", pd.DataFrame({"role_code": [None], "role_name": ["n"], "role_desc": [None], "member_count": [1]}))
    with pytest.raises(SchemaError, match="unknown table 'nope'"):
        empty_frame("nope")
