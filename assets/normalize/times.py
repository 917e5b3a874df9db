"""Time parsers and conversions: epoch seconds or milliseconds, local wall-clock text, business dates.

Units are always explicit: a field is declared seconds or milliseconds, never guessed from size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize.parsers import Parsed, integer, null_mask, text
from assets.schemas import TS

LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"

# Epoch values outside [1970, 9999] are malformed, which also keeps the us conversion from overflowing.
_MAX_EPOCH_SECONDS = 253_402_300_799
_UNIT_TO_US = {"s": 1_000_000, "ms": 1_000}

Unit = Literal["s", "ms"]


def epoch(values: Sequence[Any], unit: Unit) -> Parsed:
    """UTC instants from epoch seconds or milliseconds, given as ints or decimal strings."""
    ints = integer(values)
    limit = (_MAX_EPOCH_SECONDS + 1) * 1000 - 1 if unit == "ms" else _MAX_EPOCH_SECONDS
    in_range = pc.and_(pc.greater_equal(ints.values, 0), pc.less_equal(ints.values, limit))
    out_of_range = np.asarray(pc.fill_null(pc.invert(in_range), False).to_numpy(zero_copy_only=False), dtype=bool)
    clean = pc.if_else(in_range, ints.values, pa.scalar(None, pa.int64()))
    micros = pc.multiply(clean, _UNIT_TO_US[unit])
    return Parsed(micros.cast(TS), ints.invalid | out_of_range)


def local_datetime(values: Sequence[Any], tz: str) -> Parsed:
    """UTC instants from local 'yyyy-MM-dd HH:mm:ss' strings in `tz` (earliest reading of DST overlaps)."""
    strings = text(values)
    naive = pc.strptime(strings.values, format=LOCAL_FORMAT, unit="us", error_is_null=True)
    unparsable = null_mask(naive) & ~null_mask(strings.values)
    aware = pc.assume_timezone(naive, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    return Parsed(aware.cast(TS), strings.invalid | unparsable)


def local_date(values: Sequence[Any]) -> Parsed:
    """Calendar dates from 'yyyy-MM-dd' strings."""
    strings = text(values)
    naive = pc.strptime(strings.values, format="%Y-%m-%d", unit="s", error_is_null=True)
    unparsable = null_mask(naive) & ~null_mask(strings.values)
    return Parsed(naive.cast(pa.date32()), strings.invalid | unparsable)


def ms_to_seconds(values: Sequence[Any]) -> Parsed:
    """A millisecond duration (int or decimal string) as float seconds."""
    ints = integer(values)
    return Parsed(pc.divide(ints.values.cast(pa.float64(), safe=False), 1000.0), ints.invalid)


def business_date(instants: pa.Array, tz: str) -> pa.Array:
    """The local calendar date in `tz` of each UTC instant."""
    local = pc.local_timestamp(instants.cast(pa.timestamp("us", tz=tz)))
    return local.cast(pa.date32())


def to_utc_scalar(value: dt.datetime | pd.Timestamp, name: str) -> pa.TimestampScalar:
    """A tz-aware instant as a UTC Arrow scalar; naive datetimes are a caller bug."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {stamp}); pass e.g. datetime.now(timezone.utc)")
    return pa.scalar(stamp.tz_convert("UTC").to_pydatetime(), type=TS)


def epoch_seconds(values: Sequence[Any]) -> Parsed:
    """:func:`epoch` for a field the contract gives in seconds."""
    return epoch(values, "s")


def epoch_millis(values: Sequence[Any]) -> Parsed:
    """:func:`epoch` for a field the contract gives in milliseconds."""
    return epoch(values, "ms")


def local_datetime_in(tz: str) -> Callable[[Sequence[Any]], Parsed]:
    """:func:`local_datetime` bound to the deployment's time zone, for a field table."""
    return partial(local_datetime, tz=tz)
