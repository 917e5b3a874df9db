"""The field-table engine: reasons in table order, nested objects, derived sources."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from assets.normalize.engine import FREE, REQUIRE, Check, Field, Nested, Rule, earlier, parse_fields
from assets.normalize.parsers import integer, text
from assets.normalize.quarantine import Issues
from assets.normalize.times import epoch_seconds
from tests.normalize.fixtures import T0

TABLE = (
    Field("id", text, rule=REQUIRE),
    Field("start", epoch_seconds, rule=REQUIRE),
    Field("end", epoch_seconds),
    Check("end before start", earlier("end", "start")),
    Nested("owner"),
    Field("owner.name", text, "owner_name"),
    Field("count", integer, "head_count", rule=Rule(malformed="odd {label}")),
    Field("note", integer, rule=FREE),
    Field("kind", text, null_as=""),
)


def _reasons(records: list[dict[str, Any]]) -> list[str]:
    issues = Issues(len(records))
    parse_fields(records, TABLE, issues)
    return [issues.reason(i) for i in range(len(records))]


def test_reasons_follow_the_table_order():
    records = [
        {"id": "a", "start": T0, "end": T0 + 1, "owner": {"name": "x"}, "count": 2, "note": "n/a"},
        {"start": "soon", "end": T0 - 5, "owner": "x", "count": "many"},
        {"id": "c", "start": T0, "end": T0 - 5, "owner": {"name": 7.5}},
    ]
    assert _reasons(records) == [
        "",
        "missing id; malformed start; malformed owner; odd count",
        "end before start; malformed owner.name",
    ]


def test_columns_are_named_by_the_table_and_keys_keep_their_empty_value():
    issues = Issues(2)
    parse = parse_fields([{"id": "a", "owner": {"name": "x"}, "kind": "k"}, {"id": "b"}], TABLE, issues)
    assert parse.columns["owner_name"].to_pylist() == ["x", None]
    assert parse.columns["kind"].to_pylist() == ["k", ""]
    assert parse.parsed["kind"].values.to_pylist() == ["k", None]
    assert parse.columns["head_count"].type == pa.int64()


def test_derived_values_replace_a_top_level_field():
    issues = Issues(2)
    table = (Field("picked", integer, "value", label="picked value"),)
    parse = parse_fields([{"picked": 1}, {"picked": 2}], table, issues, {"picked": ["3", "x"]})
    assert parse.columns["value"].to_pylist() == [3, None]
    assert [issues.reason(i) for i in range(2)] == ["", "malformed picked value"]
