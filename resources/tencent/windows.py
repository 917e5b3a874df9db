"""Splitting time ranges at the platform's per-query limits (31 and 90 days)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

DAY = 86400
RECORDS_MAX_DAYS = 31
HISTORY_MAX_DAYS = 90
PARTICIPANTS_MAX_DAYS = 31


def to_epoch(value: datetime | int | float) -> int:
    """Unix seconds from an aware datetime or a number; naive datetimes are refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("time bounds must be timezone-aware datetimes (e.g. tzinfo=UTC)")
        return int(value.timestamp())
    return int(value)


def split_range(start: int, end: int, max_span: int) -> Iterator[tuple[int, int]]:
    """Cover the closed range ``[start, end]`` with closed, non-overlapping pieces.

    Each piece satisfies ``piece_end - piece_start <= max_span - 1``, so it stays strictly
    inside the limit whether the platform counts the span inclusively or not.
    """
    if end < start:
        raise ValueError("time range ends before it starts")
    if max_span < 1:
        raise ValueError("max_span must be positive")
    cursor = start
    while cursor <= end:
        piece_end = min(end, cursor + max_span - 1)
        yield cursor, piece_end
        cursor = piece_end + 1


def split_days(start: datetime | int, end: datetime | int, max_days: int) -> list[tuple[int, int]]:
    return list(split_range(to_epoch(start), to_epoch(end), max_days * DAY))


def bisect(start: int, end: int) -> list[tuple[int, int]]:
    """Two closed halves of ``[start, end]``; one piece when it cannot be split further."""
    if end <= start:
        return [(start, end)]
    mid = start + (end - start) // 2
    return [(start, mid), (mid + 1, end)]


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
