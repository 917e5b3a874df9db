"""Row issues and the quarantine table: every rejected record is kept with its reasons."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assets.normalize.frames import empty, fill, finish, finish_frame
from assets.normalize.parsers import encodable


class Issues:
    """Collects per-row rejection reasons; a row with any reason is quarantined."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._reasons: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray, reason: str) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self._reasons.setdefault(int(i), []).append(reason)

    def add_at(self, row: int, reason: str) -> None:
        self._reasons.setdefault(int(row), []).append(reason)

    @property
    def bad(self) -> np.ndarray:
        mask = np.zeros(self._n, dtype=bool)
        if self._reasons:
            mask[list(self._reasons)] = True
        return mask

    def reason(self, i: int) -> str:
        return "; ".join(self._reasons.get(i, []))


def record_json(record: Any) -> str:
    """The record as canonical JSON text (sorted keys, UTF-8 kept), so the same record gives the same text.

    A record holding lone surrogates is written with ASCII escapes: UTF-8 (and Parquet) cannot store them.
    """
    textual = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
    if encodable(textual):
        return textual
    return json.dumps(record, ensure_ascii=True, sort_keys=True, default=str)


def quarantine_rows(
    table_name: str,
    records: Sequence[Any],
    reasons: Sequence[str],
    business_dates: Sequence[dt.date | None] | None = None,
) -> pd.DataFrame:
    """Quarantine rows for `records`, one reason each."""
    n = len(records)
    dates = list(business_dates) if business_dates is not None else [None] * n
    columns = {
        "table_name": fill(table_name, n, pa.string()),
        "business_date": pa.array(dates, type=pa.date32()),
        "reason": pa.array(list(reasons), type=pa.string()),
        "record_json": pa.array([record_json(r) for r in records], type=pa.string()),
    }
    return finish("quarantine", columns)


def quarantine_issues(
    table_name: str,
    records: Sequence[Any],
    issues: Issues,
    business_dates: pa.Array | None = None,
    non_objects: Sequence[Any] = (),
) -> pd.DataFrame:
    """Quarantine the rows `issues` rejected plus any record that was not a JSON object."""
    bad_rows = np.flatnonzero(issues.bad)
    rows = [records[i] for i in bad_rows] + list(non_objects)
    reasons = [issues.reason(int(i)) for i in bad_rows] + ["record is not a JSON object"] * len(non_objects)
    bad_dates = business_dates.take(pa.array(bad_rows, type=pa.int64())).to_pylist() if business_dates is not None else [None] * len(bad_rows)
    return quarantine_rows(table_name, rows, reasons, bad_dates + [None] * len(non_objects))


def quarantine_repeats(issues: Issues, quarantine: pd.DataFrame, non_objects: Sequence[Any] = ()) -> int:
    """Rejected records that repeat another exactly (same record, same reason) share its quarantine row."""
    return int(issues.bad.sum()) + len(non_objects) - len(quarantine)


def concat_quarantine(*frames: pd.DataFrame) -> pd.DataFrame:
    """One sorted quarantine frame from several."""
    non_empty = [f for f in frames if len(f)]
    if not non_empty:
        return empty("quarantine")
    return finish_frame("quarantine", pd.concat(non_empty, ignore_index=True))
