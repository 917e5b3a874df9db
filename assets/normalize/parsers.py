"""Scalar parsers shared by every normalizer: text, integers, numbers, booleans, base64.

Every parser takes the raw values of one field (a list as long as the records) and returns a typed
Arrow array plus a mask of values that were present but malformed. A clean column takes a
vectorized fast path (Arrow type inference); only a dirty column falls back to per-value checks.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INT_TEXT = r"^-?[0-9]{1,18}$"
_INT_TEXT_RE = re.compile(_INT_TEXT)
# No field of the platform comes near this; a longer value is a broken or hostile body, not data.
MAX_TEXT_CHARS = 65_536
# Arrow raises these (subclasses of the builtins) when a list is not of one clean type.
_ARROW_ERRORS = (TypeError, ValueError, OverflowError, NotImplementedError)


class Parsed(NamedTuple):
    """One parsed field: typed values (null when absent or malformed) and the malformed mask."""

    values: pa.Array
    invalid: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        return null_mask(self.values) & ~self.invalid


def null_mask(array: pa.Array) -> np.ndarray:
    return np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _infer(values: Sequence[Any]) -> pa.Array | None:
    try:
        return pa.array(values)
    except _ARROW_ERRORS:
        return None


def _no_invalid(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


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
            if value is None or (isinstance(value, str) and encodable(value)):
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


def encodable(value: str) -> bool:
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
    undecodable = null_mask(decoded) & ~null_mask(strings.values)
    decoded = pc.if_else(pc.equal(decoded, ""), pa.scalar(None, pa.string()), decoded)
    return Parsed(decoded, strings.invalid | undecodable)
