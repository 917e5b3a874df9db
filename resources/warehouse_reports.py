"""Which reporting SQL files a publish must re-run, and over which slice of the lake.

A report file is re-run when a table it names changed. A file may declare that its rows for a date
depend only on the rows of the same date in some tables::

    -- publish: per business_date of meetings, participant_sessions, attendance

Then, when only those tables changed (partition by partition), the publish recomputes the report
from the earliest changed date on (deleting and re-inserting those rows), not over the whole lake.
Tables the report must read in full can follow ``; whole``::

    -- publish: per business_date of recordings, recording_events; whole meetings, attendance

which declares that a change to their partition of date D can only affect report rows of date D
or later; the recomputation reads them in full.
The file's ORDER BY should start with that column (or one that sorts the same way), so that the
recomputed rows, appended after the earlier ones, keep the order a full build gives.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

_SLICED = re.compile(
    r"^--\s*publish:\s*per\s+(\w+)\s+of\s+([\w\s,]+?)(?:;\s*whole\s+([\w\s,]+?))?\s*$", re.MULTILINE
)
_CREATES = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(\w+)", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")
# String literals (COMMENT ON ... IS '...') name tables in prose too; only the statements say what is read.
_STRING = re.compile(r"'(?:[^']|'')*'")
# Whole table reloaded, in a ``changed`` mapping.
EVERYTHING = "*"


@dataclass(frozen=True)
class ReportPlan:
    """``skip`` (nothing it reads changed), ``full`` (re-run as written) or ``slice`` (from ``start`` on)."""

    action: str
    creates: tuple[str, ...]
    column: str | None = None
    sliced: tuple[str, ...] = ()
    start: dt.date | None = None


def plan_report(
    text: str,
    existing: Set[str],
    changed: Mapping[str, Sequence[str]],
    partition_columns: Mapping[str, str],
    exact: Set[str],
) -> ReportPlan:
    """What to do with one report file, given the tables changed so far (table -> dates or ``*``)."""
    creates = tuple(dict.fromkeys(_CREATES.findall(text)))
    if not creates or any(name not in existing for name in creates):
        return ReportPlan("full", creates)
    # A report that reads a publish variable (the report date) can change with nothing else.
    if "getvariable" in _COMMENT.sub(" ", text).lower():
        return ReportPlan("full", creates)
    # Comments mention tables in prose ("enterprise users"); only the statements say what is read.
    code = _STRING.sub("''", _COMMENT.sub(" ", text))
    touched = [t for t in changed if re.search(rf"\b{re.escape(t)}\b", code)]
    if not touched:
        return ReportPlan("skip", creates)
    header = _SLICED.search(text)
    if header is None:
        return ReportPlan("full", creates)
    column = header.group(1)
    sliced = tuple(t.strip() for t in header.group(2).split(",") if t.strip())
    whole = tuple(t.strip() for t in (header.group(3) or "").split(",") if t.strip())
    days: list[dt.date] = []
    for table in touched:
        dates = changed[table]
        if table not in sliced + whole or EVERYTHING in dates:
            return ReportPlan("full", creates)
        if partition_columns.get(table) != column or table not in exact:
            return ReportPlan("full", creates)
        days.extend(dt.date.fromisoformat(d) for d in dates)
    if not days:
        return ReportPlan("skip", creates)
    return ReportPlan("slice", creates, column, sliced, min(days))
