from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resources.tencent.windows import DAY, bisect, split_days, split_range, to_epoch


@given(st.integers(0, 2_000_000_000), st.integers(0, 400 * DAY), st.integers(3600, 100 * DAY))
def test_split_covers_exactly_once_within_limit(start: int, length: int, span: int) -> None:
    end = start + length
    pieces = list(split_range(start, end, span))
    assert pieces[0][0] == start and pieces[-1][1] == end
    for (a, b), (c, _) in zip(pieces, pieces[1:]):
        assert c == b + 1
    assert all(0 <= b - a <= span - 1 for a, b in pieces)


def test_split_days_at_31_and_90() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2026, 4, 1, tzinfo=UTC)
    assert len(split_days(start, end, 31)) == 3
    assert len(split_days(start, end, 90)) == 2
    assert all(b - a < 31 * DAY for a, b in split_days(start, end, 31))


def test_naive_datetime_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_epoch(datetime(2026, 1, 1))


def test_bisect() -> None:
    assert bisect(0, 10) == [(0, 5), (6, 10)]
    assert bisect(5, 5) == [(5, 5)]
