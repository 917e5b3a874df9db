"""Assembling typed columns into a table's frame: schema order, sorted by the key, repeats resolved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.schemas import KEYS, SCHEMAS, SchemaError, arrow_table


class Normalized(NamedTuple):
    """A normalizer's output: the table's good rows, the quarantined bad records, and how many valid
    records repeated the key of another (each record is landed, quarantined or counted here)."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame
    deduplicated: int = 0


def fill(value: Any, n: int, type_: pa.DataType) -> pa.Array:
    """A constant column."""
    return pa.repeat(pa.scalar(value, type=type_), n)


def empty_as(array: pa.Array, value: str) -> pa.Array:
    """Nulls replaced by `value` (key columns where the contract says '' for absent)."""
    return pc.fill_null(array, value)


def empty(table: str) -> pd.DataFrame:
    return SCHEMAS[table].empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def _sort_keys(columns: Sequence[str], nulls: str = "at_end") -> list[tuple[str, str, str]]:
    return [(name, "ascending", nulls) for name in columns]


def _has_adjacent_duplicates(data: pa.Table, key: Sequence[str]) -> bool:
    """Whether two neighbouring rows of a key-sorted table share the key."""
    if data.num_rows < 2:
        return False
    same = None
    for name in key:
        column = data.column(name).combine_chunks()
        equal = pc.equal(column.slice(1), column.slice(0, len(column) - 1))
        same = equal if same is None else pc.and_(same, equal)
    return bool(pc.any(same).as_py())


def finish_table(table: str, data: pa.Table) -> pd.DataFrame:
    """Sort by the key and resolve duplicate keys deterministically: the most complete row wins."""
    return finish_table_counted(table, data)[0]


def finish_table_counted(table: str, data: pa.Table) -> tuple[pd.DataFrame, int]:
    """:func:`finish_table` and how many rows it dropped as repeats of a key."""
    key = list(KEYS[table])
    for name in key:
        if data.column(name).null_count:
            raise SchemaError(f"{table}.{name} is part of the key and holds nulls; quarantine such rows first")
    data = data.sort_by(_sort_keys(key))
    if not _has_adjacent_duplicates(data, key):
        return data.to_pandas(types_mapper=pd.ArrowDtype), 0
    # Nulls sort first, so keeping the last row per key prefers filled values (e.g. a closed session).
    everything = key + [name for name in data.column_names if name not in key]
    frame = data.sort_by(_sort_keys(everything, "at_start")).to_pandas(types_mapper=pd.ArrowDtype)
    frame = frame[~frame.duplicated(subset=key, keep="last").to_numpy(dtype=bool)]
    return frame.reset_index(drop=True), data.num_rows - len(frame)


def finish(table: str, columns: Mapping[str, pa.Array], keep: np.ndarray | None = None) -> pd.DataFrame:
    """Assemble typed columns into the table's frame: schema order, kept rows only, sorted and de-duplicated."""
    return finish_counted(table, columns, keep)[0]


def finish_counted(
    table: str, columns: Mapping[str, pa.Array], keep: np.ndarray | None = None
) -> tuple[pd.DataFrame, int]:
    """:func:`finish` and how many kept rows repeated the key of another (validation comes first)."""
    schema = SCHEMAS[table]
    arrays = [columns[f.name] if columns[f.name].type == f.type else columns[f.name].cast(f.type) for f in schema]
    data = pa.Table.from_arrays(arrays, schema=schema)
    if keep is not None:
        data = data.filter(pa.array(np.asarray(keep, dtype=bool)))
    return finish_table_counted(table, data)


def finish_frame(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Conform a pandas frame to the table and sort/de-duplicate it like `finish`."""
    return finish_table(table, arrow_table(table, frame))


def apply_map(array: pa.Array, mapping: Mapping[int, str]) -> pa.Array:
    """Label an int column through `mapping` (unknown codes become null)."""
    codes = pa.array(list(mapping), type=pa.int64())
    labels = pa.array(list(mapping.values()), type=pa.string())
    return labels.take(pc.index_in(array, value_set=codes))
