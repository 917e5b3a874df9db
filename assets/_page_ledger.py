"""Per-page accounting for tables normalized many pages at a time.

Participants, recording access and the directory are normalized in one vectorized pass per day
(or run) rather than once per page, so the normalizer cannot say which page a row came from.
The ledger recovers it afterwards from what the pass produced: each received record is matched,
in page order, against the quarantine rows (by the record as the quarantine writes it) and the
landed rows (by the table key the record gives). The first record giving a landed key lands it;
a later one is its repeat; a record matching neither vanished and leaves its page unbalanced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd
import pyarrow as pa

from assets._sync import PageData, PageTally, page_tallies
from assets.normalize._common import record_json
from assets.schemas import KEYS

Key = tuple[Any, ...]


def frame_keys(table: str, frame: pd.DataFrame) -> set[Key]:
    """The key of every landed row, as the Python values the record keys are compared with."""
    if frame.empty:
        return set()
    columns = [_comparable(pa.array(frame[name])).to_pylist() for name in KEYS[table]]
    return set(zip(*columns, strict=True))


def record_keys(columns: Sequence[pa.Array]) -> list[Key | None]:
    """One key per record from its parsed key columns; None when a part is missing or malformed."""
    values = [_comparable(column).to_pylist() for column in columns]
    return [None if None in key else key for key in zip(*values, strict=True)]


def _comparable(array: pa.Array) -> pa.Array:
    # Instants and dates compare as their integer encoding: far cheaper than Python datetimes.
    if pa.types.is_timestamp(array.type):
        return array.cast(pa.int64())
    if pa.types.is_date32(array.type):
        return array.cast(pa.int32())
    return array


def ledger(
    table: str,
    pages: Sequence[PageData],
    items: Sequence[Sequence[Any]],
    keys: Sequence[Sequence[Key | None]],
    quarantined_as: Callable[[int, Any], Any],
    frame: pd.DataFrame,
    quarantine: Sequence[pd.DataFrame],
    archived_as: Sequence[int] | None = None,
) -> list[PageTally]:
    """The tally of every page of ``table``.

    ``items[p]`` are the records page ``p`` gave the table (its records, or for a derived table
    such as user_departments the items inside them), ``keys[p]`` the key each gives, and
    ``quarantined_as(p, item)`` the value its quarantine row would hold in ``record_json``.
    ``archived_as[p]`` is the page's number in its archive file when ``pages`` are only some of
    the file's pages (those of one table); by default they are all of them, in order.
    """
    landed_keys = frame_keys(table, frame)
    rows = Counter(
        text for q in quarantine if len(q) for text in q.loc[q["table_name"] == table, "record_json"]
    )
    set_aside: set[str] = set()
    claimed: set[Key] = set()
    landed_from: list[int] = []
    quarantined = [0] * len(pages)
    repeats = [0] * len(pages)
    for p, (page_items, page_keys) in enumerate(zip(items, keys, strict=True)):
        for item, key in zip(page_items, page_keys, strict=True):
            if rows:
                text = record_json(quarantined_as(p, item))
                if rows[text] > 0:
                    rows[text] -= 1
                    set_aside.add(text)
                    quarantined[p] += 1
                    continue
                if text in set_aside:
                    # The same record with the same fault shares the first one's quarantine row.
                    repeats[p] += 1
                    continue
            if key is None or key not in landed_keys:
                continue  # neither landed nor set aside: the page will not balance
            if key in claimed:
                repeats[p] += 1
            else:
                claimed.add(key)
                landed_from.append(p)
    tallies = page_tallies(pages, landed_from, quarantined, repeats, received=[len(i) for i in items])
    if archived_as is None:
        return tallies
    return [replace(tally, index=number) for tally, number in zip(tallies, archived_as, strict=True)]


def numbered(pages: Sequence[PageData], wanted: Callable[[PageData], bool]) -> tuple[list[PageData], list[int]]:
    """The pages ``wanted`` picks out of an archive file's pages, with their numbers in that file."""
    chosen = [(page, number) for number, page in enumerate(pages) if wanted(page)]
    return [page for page, _ in chosen], [number for _, number in chosen]


def as_received(_page: int, record: Any) -> Any:
    """A record quarantined as it came."""
    return record
