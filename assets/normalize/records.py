"""Reading raw records: objects apart from junk, one field's values, pages of several requests as one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

Records = Sequence[Any]


def split_objects(records: Records) -> tuple[list[dict[str, Any]], list[Any]]:
    """Separate JSON objects from anything else a sloppy page may contain."""
    good: list[dict[str, Any]] = []
    bad: list[Any] = []
    for record in records:
        (good if isinstance(record, dict) else bad).append(record)
    return good, bad


class Batched(NamedTuple):
    """Records of several requests flattened into one list, each knowing which request it came from."""

    records: list[dict[str, Any]]
    non_objects: list[Any]
    owner: pa.Array  # index of the request each record came from

    def per_row(self, values: Sequence[Any], type_: pa.DataType) -> pa.Array:
        """One value per request, spread to that request's rows."""
        return pa.array(list(values), type=type_).take(self.owner)


def flatten_batches(batches: Sequence[Sequence[Any]]) -> Batched:
    """Many small pages as one vectorized pass: per-call pandas overhead would otherwise dominate."""
    owner: list[int] = []
    records: list[dict[str, Any]] = []
    non_objects: list[Any] = []
    for index, batch in enumerate(batches):
        for record in batch:
            if isinstance(record, dict):
                owner.append(index)
                records.append(record)
            else:
                non_objects.append(record)
    return Batched(records, non_objects, pa.array(owner, type=pa.int64()))


def field(records: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    """The raw values of one top-level field (None when absent)."""
    return [record.get(name) for record in records]


def sub_objects(records: Sequence[Mapping[str, Any]], name: str) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The nested object `name` of each record ({} when absent) and a mask where it is not an object."""
    objects: list[dict[str, Any]] = []
    invalid = np.zeros(len(records), dtype=bool)
    for i, record in enumerate(records):
        value = record.get(name)
        if isinstance(value, dict):
            objects.append(value)
        else:
            objects.append({})
            invalid[i] = value is not None
    return objects, invalid
