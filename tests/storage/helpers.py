"""Shared fixtures-as-functions for the storage tests: a small schema and frames that fit it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("version", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("happened_at", pa.timestamp("us", tz="UTC")),
        pa.field("business_date", pa.date32()),
        pa.field("seconds", pa.float64()),
        pa.field("flag", pa.bool_()),
    ]
)


def events_frame(day: dt.date, rows: int, version: str = "v1", start: int = 0) -> pd.DataFrame:
    """``rows`` events of ``day`` tagged with ``version``, typed the way normalizers emit them."""
    seq = list(range(start, start + rows))
    base = pd.Timestamp(day.isoformat(), tz="UTC")
    return pd.DataFrame(
        {
            "event_id": pd.array([f"{version}-{i:06d}" for i in seq], dtype="string"),
            "version": pd.array([version] * rows, dtype="string"),
            "seq": pd.array(seq, dtype="Int64"),
            "happened_at": pd.Series([base + pd.Timedelta(seconds=i) for i in seq], dtype="datetime64[us, UTC]"),
            "business_date": pd.Series([day] * rows, dtype=pd.ArrowDtype(pa.date32())),
            "seconds": pd.array([i / 4 for i in seq], dtype="Float64"),
            "flag": pd.array([i % 2 == 0 for i in seq], dtype="boolean"),
        }
    )
