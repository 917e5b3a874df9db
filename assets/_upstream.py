"""A downstream asset starts only when the upstream partitions it reads were pulled.

Reading an absent partition yields an empty frame, so without this guard a downstream asset
would land empty files for a day nobody pulled, and BI would show a day without meetings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg

from resources.lake import Lake


def missing_days(lake: Lake, table: str, days: Sequence[date]) -> list[date]:
    """The ``days`` with no committed partition of ``table`` (an empty day that was pulled has one)."""
    pulled = set(lake.partitions(table))
    return [day for day in days if day not in pulled]


def require_upstream(lake: Lake, downstream: str, upstream: Sequence[str], days: Sequence[date]) -> None:
    """Fail at once, without retries and before writing anything, when an upstream day is absent."""
    gaps = {table: missing for table in upstream if (missing := missing_days(lake, table, days))}
    if not gaps:
        return
    every_day = sorted({day for missing in gaps.values() for day in missing})
    first, last = every_day[0].isoformat(), every_day[-1].isoformat()
    named = "; ".join(f"{table} for {_dates(missing)}" for table, missing in gaps.items())
    raise dg.Failure(
        f"{downstream} needs {named}, which {'was' if len(every_day) == 1 else 'were'} never pulled. "
        f"Pull {'it' if len(gaps) == 1 else 'them'} first: `tmeet-etl sync --start {first} --end {last}`, "
        f"or materialize {' and '.join(gaps)} for {'that partition' if len(every_day) == 1 else 'those partitions'} "
        f"together with {downstream}. Nothing was written.",
        allow_retries=False,
        metadata={"missing": dg.MetadataValue.json({t: [d.isoformat() for d in m] for t, m in gaps.items()})},
    )


def _dates(days: Sequence[date]) -> str:
    shown = ", ".join(day.isoformat() for day in days[:5])
    return shown + (f" and {len(days) - 5} more dates" if len(days) > 5 else "")
