"""Edge conversions: units, local strings, ids as text, base64, business dates."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys
import zoneinfo

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.normalize._common import (
    b64text,
    boolean,
    business_date,
    epoch,
    integer,
    local_datetime,
    ms_to_seconds,
    number,
    percent,
    person_kind,
    text,
)
from tests.normalize.fixtures import SHANGHAI_MIDNIGHT_15, T0, utc

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _py(parsed):
    return parsed.values.to_pylist(), parsed.invalid.tolist()


def test_seconds_and_milliseconds_are_explicit_per_field():
    values, invalid = _py(epoch([T0, str(T0), None, ""], "s"))
    assert values == [utc(T0), utc(T0), None, None]
    assert invalid == [False, False, False, False]
    values, _ = _py(epoch([T0 * 1000 + 123, str(T0 * 1000 + 123)], "ms"))
    assert values == [utc(T0) + dt.timedelta(milliseconds=123)] * 2
    # A seconds value read as milliseconds stays a 1970 instant: units are never guessed from magnitude.
    values, _ = _py(epoch([T0], "ms"))
    assert values == [dt.datetime(1970, 1, 20, 16, 13, 20, tzinfo=dt.timezone.utc)]


def test_malformed_times_are_flagged_not_raised():
    values, invalid = _py(epoch(["abc", "1.5", True, [1], -1, 10**15, 1.0e9, 1.5e9 + 0.5], "s"))
    assert values == [None, None, None, None, None, None, utc(1_000_000_000), None]
    assert invalid == [True, True, True, True, True, True, False, True]


def test_local_strings_become_utc():
    values, invalid = _py(local_datetime(["2023-11-01 10:00:00", "", None, "2023-11-01T10:00:00", "bad", 5], "Asia/Shanghai"))
    assert values == [dt.datetime(2023, 11, 1, 2, 0, tzinfo=dt.timezone.utc), None, None, None, None, None]
    assert invalid == [False, False, False, True, True, True]
    ny, _ = _py(local_datetime(["2023-07-01 12:00:00"], "America/New_York"))
    assert ny == [dt.datetime(2023, 7, 1, 16, 0, tzinfo=dt.timezone.utc)]


def test_ids_are_exact_text():
    values, invalid = _py(text(["13339451618278424869", 13339451618278424869, 7, "", None, 1.3e19, True]))
    assert values == ["13339451618278424869", "13339451618278424869", "7", None, None, None, None]
    assert invalid == [False, False, False, False, False, True, True]
    # A clean all-int column takes the fast path and still gives exact decimal text.
    assert text([1, 22, 333]).values.to_pylist() == ["1", "22", "333"]


def test_integers_numbers_booleans_and_percents():
    assert _py(integer([1, "2", "", None, 3.0, 3.5, "x", False])) == (
        [1, 2, None, None, 3, None, None, None],
        [False, False, False, False, False, True, True, True],
    )
    assert _py(number([1, "2.5", None, "nan", "x"])) == ([1.0, 2.5, None, None, None], [False, False, False, True, True])
    assert _py(boolean([True, False, None, 1, 0, "true", "maybe"])) == (
        [True, False, None, True, False, True, None],
        [False, False, False, False, False, False, True],
    )
    assert _py(percent(["90%", "85.5", 100, "", "%"])) == ([90.0, 85.5, 100.0, None, None], [False, False, False, False, True])
    assert _py(ms_to_seconds(["3578000", 7000000, None])) == ([3578.0, 7000.0, None], [False, False, False])


def test_base64_names_decode_and_invalid_ones_are_flagged():
    values, invalid = _py(b64text([base64.b64encode("张三😀".encode()).decode(), "QWxpY2U=", "", None, "!!!", "/w==", 5]))
    assert values == ["张三😀", "Alice", None, None, None, None, None]
    # "/w==" is valid base64 of byte 0xff, which is not UTF-8.
    assert invalid == [False, False, False, False, True, True, True]


def test_business_date_is_local():
    instants = epoch([SHANGHAI_MIDNIGHT_15 - 1, SHANGHAI_MIDNIGHT_15, None], "s").values
    assert business_date(instants, "Asia/Shanghai").to_pylist() == [dt.date(2023, 11, 14), dt.date(2023, 11, 15), None]
    assert business_date(instants, "UTC").to_pylist() == [dt.date(2023, 11, 14), dt.date(2023, 11, 14), None]


def test_person_kind_rules_in_order():
    instanceid = pa.array([0, 1, 20, 33, 1, 1, None, 5], type=pa.int64())
    join_type = pa.array([1, 4, 1, 1, 1, 1, 0, None], type=pa.int64())
    enterprise = pa.array([True, True, True, False, True, False, True, None])
    kinds = person_kind(instanceid, join_type, enterprise).to_pylist()
    assert kinds == ["pstn", "pstn", "rooms", "rooms", "enterprise", "external", "pstn", "external"]


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=253_402_300_799), st.booleans())
def test_epoch_seconds_property(seconds: int, as_text: bool):
    parsed = epoch([str(seconds) if as_text else seconds], "s")
    assert not parsed.invalid[0]
    assert parsed.values[0].as_py() == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=seconds)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_epoch_milliseconds_keep_precision(millis: int):
    value = epoch([millis], "ms").values[0].value  # microseconds since the epoch
    assert value == millis * 1000


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(9998, 12, 31)).map(lambda d: d.replace(microsecond=0)))
def test_local_string_round_trips_through_business_date(local: dt.datetime):
    parsed = local_datetime([local.strftime("%Y-%m-%d %H:%M:%S")], "Asia/Shanghai")
    assert not parsed.invalid[0]
    instant = parsed.values[0].as_py()
    assert instant.astimezone(SHANGHAI).replace(tzinfo=None) == local
    assert business_date(parsed.values, "Asia/Shanghai")[0].as_py() == local.date()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=8), st.floats(), st.booleans()), max_size=20))
def test_parsers_are_total(values):
    for parser in (text, integer, number, boolean, b64text, percent, ms_to_seconds):
        parsed = parser(values)
        assert len(parsed.values) == len(values)
        assert parsed.invalid.dtype == np.bool_
    for unit in ("s", "ms"):
        assert len(epoch(values, unit).values) == len(values)
    assert len(local_datetime(values, "Asia/Shanghai").values) == len(values)


def test_normalizers_never_import_dagster():
    code = (
        "import sys, assets.schemas, assets.normalize, assets.normalize._common, assets.normalize.users, "
        "assets.normalize.meetings, assets.normalize.participants, assets.normalize.recordings, "
        "assets.normalize.recording_access, assets.normalize.snapshots, assets.normalize.webhooks\n"
        "assert 'dagster' not in sys.modules, sorted(m for m in sys.modules if m.startswith('dagster'))\n"
        "print('clean')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"


def test_nul_lone_surrogates_and_huge_text_are_malformed():
    values = ["fine", "nul\x00inside", "lone \ud800 surrogate", "x" * 70_000, None, 42]
    assert _py(text(values)) == (["fine", None, None, None, None, "42"], [False, True, True, True, False, False])
    # A clean column keeps its fast path and flags nothing.
    assert _py(text(["a", "b"])) == (["a", "b"], [False, False])
