"""Edge conversions shared by every normalizer: ids, numbers, times, base64, person identity, quarantine.

Every parser takes the raw values of one field (a list as long as the records) and returns a typed
Arrow array plus a mask of values that were present but malformed. A clean column takes a
vectorized fast path (Arrow type inference); only a dirty column falls back to per-value checks.
Units are always explicit: a field is declared seconds or milliseconds, never guessed from size.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.schemas import KEYS, SCHEMAS, TS, SchemaError, arrow_table
from resources.platform_constants import PLATFORM_TIMEZONE

DEFAULT_TZ = PLATFORM_TIMEZONE
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"

# Epoch values outside [1970, 9999] are malformed, which also keeps the us conversion from overflowing.
_MAX_EPOCH_SECONDS = 253_402_300_799
_UNIT_TO_US = {"s": 1_000_000, "ms": 1_000}
_INT_TEXT = r"^-?[0-9]{1,18}$"
_INT_TEXT_RE = re.compile(_INT_TEXT)
# No field of the platform comes near this; a longer value is a broken or hostile body, not data.
MAX_TEXT_CHARS = 65_536
# Arrow raises these (subclasses of the builtins) when a list is not of one clean type.
_ARROW_ERRORS = (TypeError, ValueError, OverflowError, NotImplementedError)

PSTN_JOIN_TYPES = (0, 4, 5, 6)
ROOMS_INSTANCE_IDS = (20, 21, 22, 30, 32, 33)
_KIND_LABELS = pa.array(["pstn", "rooms", "enterprise", "external"], type=pa.string())

Unit = Literal["s", "ms"]
Records = Sequence[Any]


class Normalized(NamedTuple):
    """A normalizer's output: the table's good rows, the quarantined bad records, and how many valid
    records repeated the key of another (each record is landed, quarantined or counted here)."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame
    deduplicated: int = 0


class Parsed(NamedTuple):
    """One parsed field: typed values (null when absent or malformed) and the malformed mask."""

    values: pa.Array
    invalid: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        return _null_mask(self.values) & ~self.invalid


def _null_mask(array: pa.Array) -> np.ndarray:
    return np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _infer(values: Sequence[Any]) -> pa.Array | None:
    try:
        return pa.array(values)
    except _ARROW_ERRORS:
        return None


def _no_invalid(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


# ---------------------------------------------------------------- record access


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


def fields(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """The raw values of several top-level fields (None when absent)."""
    # One comprehension per field measured faster than one pass building tuples and transposing.
    return {name: [record.get(name) for record in records] for name in names}


def sub_objects(records: Sequence[Mapping[str, Any]], name: str) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The nested object `name` of each record ({} when absent) and a mask where it is not an object."""
    objects: list[dict[str, Any]] = []
    invalid = _no_invalid(len(records))
    for i, record in enumerate(records):
        value = record.get(name)
        if isinstance(value, dict):
            objects.append(value)
        else:
            objects.append({})
            invalid[i] = value is not None
    return objects, invalid


# ---------------------------------------------------------------- scalar parsers


def text(values: Sequence[Any], *, empty_as_null: bool = True) -> Parsed:
    """Strings as given; an int becomes its exact decimal text (ids from sloppy sources); '' becomes null."""
    inferred = _infer(values)
    if inferred is not None and (
        pa.types.is_string(inferred.type) or pa.types.is_large_string(inferred.type) or pa.types.is_null(inferred.type)
    ):
        array = inferred.cast(pa.string())
        invalid = _no_invalid(len(values))
    elif inferred is not None and pa.types.is_integer(inferred.type):
        array = pc.cast(inferred, pa.string())
        invalid = _no_invalid(len(values))
    else:
        out: list[str | None] = []
        invalid = _no_invalid(len(values))
        for i, value in enumerate(values):
            if value is None or (isinstance(value, str) and _encodable(value)):
                out.append(value)
            elif isinstance(value, int) and not isinstance(value, bool):
                out.append(str(value))
            else:
                out.append(None)
                invalid[i] = True
        array = pa.array(out, type=pa.string())
    array, invalid = _reject_unsafe_text(array, invalid)
    if empty_as_null:
        array = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    return Parsed(array, invalid)


def _encodable(value: str) -> bool:
    """False for text holding lone surrogates (a JSON ``\\ud800`` escape), which UTF-8 cannot store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_unsafe_text(array: pa.Array, invalid: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """NUL bytes and absurd lengths are malformed: they break downstream tools and are never real values."""
    unsafe = pc.or_(pc.match_substring(array, "\x00"), pc.greater(pc.utf8_length(array), MAX_TEXT_CHARS))
    mask = np.asarray(pc.fill_null(unsafe, False).to_numpy(zero_copy_only=False), dtype=bool)
    if not mask.any():
        return array, invalid
    return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), array), invalid | mask


def _int_from_text(array: pa.Array) -> Parsed:
    array = pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)
    ok = pc.match_substring_regex(array, _INT_TEXT)
    invalid = np.asarray(pc.fill_null(pc.invert(ok), False).to_numpy(zero_copy_only=False), dtype=bool)
    clean = pc.if_else(ok, array, pa.scalar(None, array.type))
    return Parsed(pc.cast(clean, pa.int64()), invalid)


def _int_or_invalid(value: Any) -> tuple[int | None, bool]:
    if value is None:
        return None, False
    if isinstance(value, bool):
        return None, True
    if isinstance(value, int):
        return (value, False) if -(2**63) <= value < 2**63 else (None, True)
    if isinstance(value, float):
        return (int(value), False) if math.isfinite(value) and value.is_integer() and abs(value) < 2**63 else (None, True)
    if isinstance(value, str):
        if value == "":
            return None, False
        return (int(value), False) if _INT_TEXT_RE.match(value) else (None, True)
    return None, True


def integer(values: Sequence[Any]) -> Parsed:
    """int64 from ints, integral floats or decimal strings; bools and fractions are malformed."""
    inferred = _infer(values)
    if inferred is not None:
        if pa.types.is_null(inferred.type):
            return Parsed(pa.nulls(len(values), pa.int64()), _no_invalid(len(values)))
        if pa.types.is_signed_integer(inferred.type):
            return Parsed(inferred.cast(pa.int64()), _no_invalid(len(values)))
        if pa.types.is_string(inferred.type) or pa.types.is_large_string(inferred.type):
            return _int_from_text(inferred)
    parsed = [_int_or_invalid(value) for value in values]
    array = pa.array([p[0] for p in parsed], type=pa.int64())
    return Parsed(array, np.fromiter((p[1] for p in parsed), dtype=bool, count=len(parsed)))


def _float_or_invalid(value: Any) -> tuple[float | None, bool]:
    if value is None:
        return None, False
    if isinstance(value, bool):
        return None, True
    if isinstance(value, (int, float)):
        number = float(value)
        return (number, False) if math.isfinite(number) else (None, True)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped == "":
            return None, False
        try:
            number = float(stripped)
        except ValueError:
            return None, True
        return (number, False) if math.isfinite(number) else (None, True)
    return None, True


def number(values: Sequence[Any]) -> Parsed:
    """float64 from ints, floats or numeric strings; NaN/inf and bools are malformed."""
    inferred = _infer(values)
    if inferred is not None and (pa.types.is_integer(inferred.type) or pa.types.is_floating(inferred.type)):
        array = inferred.cast(pa.float64(), safe=False)
        finite = pc.fill_null(pc.is_finite(array), True)
        invalid = ~np.asarray(finite.to_numpy(zero_copy_only=False), dtype=bool)
        if invalid.any():
            array = pc.if_else(finite, array, pa.scalar(None, pa.float64()))
        return Parsed(array, invalid)
    parsed = [_float_or_invalid(value) for value in values]
    array = pa.array([p[0] for p in parsed], type=pa.float64())
    return Parsed(array, np.fromiter((p[1] for p in parsed), dtype=bool, count=len(parsed)))


def percent(values: Sequence[Any]) -> Parsed:
    """A percent given as '85%', '85.5' or 85 → 85.0."""
    stripped = [v.strip()[:-1] if isinstance(v, str) and len(v.strip()) > 1 and v.strip().endswith("%") else v for v in values]
    return number(stripped)


def _bool_or_invalid(value: Any) -> tuple[bool | None, bool]:
    if value is None:
        return None, False
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int) and value in (0, 1):
        return bool(value), False
    if isinstance(value, str) and value.lower() in ("true", "false", "0", "1", ""):
        lowered = value.lower()
        return (None if lowered == "" else lowered in ("true", "1")), False
    return None, True


def boolean(values: Sequence[Any]) -> Parsed:
    """bool from JSON booleans, 0/1 or 'true'/'false'."""
    inferred = _infer(values)
    if inferred is not None and (pa.types.is_boolean(inferred.type) or pa.types.is_null(inferred.type)):
        return Parsed(inferred.cast(pa.bool_()), _no_invalid(len(values)))
    parsed = [_bool_or_invalid(value) for value in values]
    array = pa.array([p[0] for p in parsed], type=pa.bool_())
    return Parsed(array, np.fromiter((p[1] for p in parsed), dtype=bool, count=len(parsed)))


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
    unparsable = _null_mask(naive) & ~_null_mask(strings.values)
    aware = pc.assume_timezone(naive, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    return Parsed(aware.cast(TS), strings.invalid | unparsable)


def local_date(values: Sequence[Any]) -> Parsed:
    """Calendar dates from 'yyyy-MM-dd' strings."""
    strings = text(values)
    naive = pc.strptime(strings.values, format="%Y-%m-%d", unit="s", error_is_null=True)
    unparsable = _null_mask(naive) & ~_null_mask(strings.values)
    return Parsed(naive.cast(pa.date32()), strings.invalid | unparsable)


def ms_to_seconds(values: Sequence[Any]) -> Parsed:
    """A millisecond duration (int or decimal string) as float seconds."""
    ints = integer(values)
    return Parsed(pc.divide(ints.values.cast(pa.float64(), safe=False), 1000.0), ints.invalid)


def _decode_b64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def b64text(values: Sequence[Any]) -> Parsed:
    """UTF-8 text from base64 (names and subjects in participant lists); undecodable values are malformed."""
    strings = text(values)
    encoded = strings.values.dictionary_encode()
    decoded_dictionary = pa.array(
        [_decode_b64(value) for value in encoded.dictionary.to_pylist()], type=pa.string()
    )
    decoded = decoded_dictionary.take(encoded.indices)
    undecodable = _null_mask(decoded) & ~_null_mask(strings.values)
    decoded = pc.if_else(pc.equal(decoded, ""), pa.scalar(None, pa.string()), decoded)
    return Parsed(decoded, strings.invalid | undecodable)


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


def fill(value: Any, n: int, type_: pa.DataType) -> pa.Array:
    """A constant column."""
    return pa.repeat(pa.scalar(value, type=type_), n)


def empty_as(array: pa.Array, value: str) -> pa.Array:
    """Nulls replaced by `value` (key columns where the contract says '' for absent)."""
    return pc.fill_null(array, value)


# ---------------------------------------------------------------- person identity


def person_key(userid: pa.Array, uuid: pa.Array, ms_open_id: pa.Array) -> pa.Array:
    """userid when non-empty, else uuid, else ms_open_id (inputs already have '' as null)."""
    return pc.coalesce(userid, uuid, ms_open_id)


def person_kind(instanceid: pa.Array, join_type: pa.Array | None, is_enterprise_user: pa.Array | None) -> pa.Array:
    """pstn, rooms, enterprise or external: the first rule of docs/tables.md that matches."""
    n = len(instanceid)
    inst = np.asarray(pc.fill_null(instanceid, -1).to_numpy(zero_copy_only=False))
    join = (
        np.asarray(pc.fill_null(join_type, -1).to_numpy(zero_copy_only=False)) if join_type is not None else np.full(n, -1)
    )
    enterprise = (
        np.asarray(pc.fill_null(is_enterprise_user, False).to_numpy(zero_copy_only=False), dtype=bool)
        if is_enterprise_user is not None
        else np.zeros(n, dtype=bool)
    )
    codes = np.select(
        [(inst == 0) | np.isin(join, PSTN_JOIN_TYPES), np.isin(inst, ROOMS_INSTANCE_IDS), enterprise],
        [0, 1, 2],
        default=3,
    )
    return _KIND_LABELS.take(pa.array(codes, type=pa.int64()))


# ---------------------------------------------------------------- row issues and assembly


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

    def require(self, parsed: Parsed, name: str) -> None:
        """The field must be present and well-formed."""
        self.add(parsed.invalid, f"malformed {name}")
        self.add(parsed.missing, f"missing {name}")

    def check(self, parsed: Parsed, name: str) -> None:
        """The field may be absent but, when present, must be well-formed."""
        self.add(parsed.invalid, f"malformed {name}")

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
    if _encodable(textual):
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

