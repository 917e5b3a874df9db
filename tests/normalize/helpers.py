"""Checks every normalized frame must pass: exact schema, lossless Parquet, order independence."""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.testing import assert_frame_equal

from assets.schemas import KEYS, SCHEMAS


def assert_schema(table: str, frame: pd.DataFrame) -> None:
    schema = SCHEMAS[table]
    assert list(frame.columns) == schema.names
    assert {c: frame[c].dtype for c in frame.columns} == {f.name: pd.ArrowDtype(f.type) for f in schema}
    for name in KEYS[table]:
        assert not frame[name].isna().any(), f"{table}.{name} is a key column and must not hold nulls"


def assert_parquet_round_trip(table: str, frame: pd.DataFrame) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False).cast(SCHEMAS[table]), buffer)
    buffer.seek(0)
    back = pq.read_table(buffer).to_pandas(types_mapper=pd.ArrowDtype)
    assert_frame_equal(back, frame, check_exact=True)


def assert_order_independent(run: Callable[[list[Any]], pd.DataFrame], records: Sequence[Any], seed: int = 7) -> None:
    first = run(list(records))
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    assert_frame_equal(run(shuffled), first, check_exact=True)
    # Feeding the same page twice (a retried or overlapping page) changes nothing either.
    assert_frame_equal(run(list(records) + list(records)), first, check_exact=True)


def assert_well_formed(table: str, frame: pd.DataFrame) -> None:
    assert_schema(table, frame)
    assert_parquet_round_trip(table, frame)


def row(frame: pd.DataFrame, **match: Any) -> dict[str, Any]:
    """The single row whose columns equal `match`, as plain Python values."""
    mask = pd.Series(True, index=frame.index)
    for name, value in match.items():
        mask &= (frame[name] == value).fillna(False).astype(bool)
    selected = frame[mask]
    assert len(selected) == 1, f"expected one row matching {match}, found {len(selected)}"
    return {k: (None if pd.isna(v) else v) for k, v in selected.iloc[0].to_dict().items()}


def rows(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[list[Any]]:
    """All rows as lists of plain Python values, with None for nulls."""
    selected = frame if columns is None else frame[list(columns)]
    return [[None if pd.isna(v) else v for v in values] for values in selected.itertuples(index=False, name=None)]
