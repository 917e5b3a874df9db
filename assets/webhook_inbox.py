"""The webhook inbox as lake partitions: read stored events, and rebuild a business date's tables from them.

Free of Dagster, so the assets, the sensor, the demo and the tests share one reading of the inbox.
Every rebuild starts from the inbox, never from what a previous run wrote, which is what makes a
redelivered or late event land exactly once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from assets.normalize import build_live_attendance, normalize_webhook_events
from assets.normalize._common import empty
from assets.schemas import SCHEMAS
from resources.lake import Lake
from resources.webhooks import Inbox, InboxRow

log = logging.getLogger(__name__)

PAGE_ROWS = 5000
QUARANTINE_SNAPSHOT = "webhook_events"


def iter_inbox(path: Path, after: int = 0, *, max_rows: int | None = None) -> Iterator[list[InboxRow]]:
    """Pages of stored events after seq ``after`` in arrival order; nothing when there is no inbox yet."""
    if not path.exists():
        return
    read = 0
    cursor = after
    with Inbox(path) as inbox:
        while max_rows is None or read < max_rows:
            limit = PAGE_ROWS if max_rows is None else min(PAGE_ROWS, max_rows - read)
            rows, cursor = inbox.read_since(cursor, limit=limit)
            if not rows:
                return
            read += len(rows)
            yield rows


def decode(rows: Iterable[InboxRow]) -> list[Any]:
    """The stored event JSON of each row; undecodable text is passed on as is so the normalizer quarantines it."""
    events: list[Any] = []
    for row in rows:
        try:
            events.append(json.loads(row.payload_json))
        except ValueError:
            events.append(row.payload_json)
    return events


def touched_dates(rows: Sequence[InboxRow], tz: str) -> set[date]:
    """The business dates the events of ``rows`` fall on (events without a valid time touch none)."""
    frame = normalize_webhook_events(decode(rows), tz).frame
    return {day for day in frame["business_date"].dropna().unique()}


@dataclass
class Rebuilt:
    """What one rebuild wrote: the frames per business date, and dates rebuilt beyond those asked for."""

    events: dict[date, pd.DataFrame] = field(default_factory=dict)
    sessions: dict[date, pd.DataFrame] = field(default_factory=dict)
    quarantined: int = 0
    undated_quarantined: int = 0
    inbox_rows: int = 0

    @property
    def extra_session_dates(self) -> list[date]:
        return sorted(set(self.sessions) - set(self.events))


def load_inbox(path: Path, tz: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Every stored event normalized: (webhook_events rows, quarantine rows, inbox rows read)."""
    events: list[Any] = []
    for page in iter_inbox(path):
        events.extend(decode(page))
    normalized = normalize_webhook_events(events, tz)
    return normalized.frame, normalized.quarantine, len(events)


def _scrubbed_inbox_lake(lake: Lake, path: Path) -> Lake:
    """Bring every stored event under the lake's PII policy, and the lake to write what they give as is.

    The inbox scrubs an event's personal fields when it stores it, so the rows rebuilt from it
    already hold the policy's hashes; hashing them again on the way into the lake would make them
    no longer match the same person's hash in the pulled tables.
    """
    policy = lake.pii
    if policy is None or policy.keeps_everything or not path.exists():
        return lake
    with Inbox(path, pii=policy) as inbox:
        scrubbed = inbox.scrub_stored()
    if scrubbed:
        log.info("%d stored webhook event(s) brought under the PII policy", scrubbed)
    return Lake(lake.root)


def rebuild_days(lake: Lake, path: Path, days: Sequence[date], tz: str) -> Rebuilt:
    """Replace the ``webhook_events`` and ``live_attendance`` partitions of ``days`` from the whole inbox.

    A leave that arrives on a later date closes a session of an earlier date, so every
    ``live_attendance`` partition holding a session that a leave of ``days`` closes is rebuilt too.
    """
    lake = _scrubbed_inbox_lake(lake, path)
    frame, quarantine, read = load_inbox(path, tz)
    sessions = build_live_attendance(frame) if len(frame) else empty("live_attendance")
    wanted = set(days)
    rebuilt = Rebuilt(inbox_rows=read)
    closed_on = sessions["left_time"].dt.tz_convert(tz).dt.date
    extra = set(sessions.loc[closed_on.isin(list(wanted)).fillna(False).astype(bool), "business_date"].dropna().unique())
    for day in sorted(wanted):
        day_events = frame[frame["business_date"] == day].reset_index(drop=True)
        lake.write_partition("webhook_events", SCHEMAS["webhook_events"], day, day_events)
        rebuilt.events[day] = day_events
        day_quarantine = quarantine[quarantine["business_date"] == day].reset_index(drop=True)
        if len(day_quarantine):
            lake.write_snapshot("quarantine", SCHEMAS["quarantine"], day, QUARANTINE_SNAPSHOT, day_quarantine)
            rebuilt.quarantined += len(day_quarantine)
    for day in sorted(wanted | extra):
        day_sessions = sessions[sessions["business_date"] == day].reset_index(drop=True)
        lake.write_partition("live_attendance", SCHEMAS["live_attendance"], day, day_sessions)
        rebuilt.sessions[day] = day_sessions
    rebuilt.undated_quarantined = int(quarantine["business_date"].isna().sum())
    if rebuilt.undated_quarantined:
        # No business date to file them under; they stay in the inbox, which is the record of what arrived.
        log.warning("%d stored webhook event(s) have no usable operate_time and were not landed",
                    rebuilt.undated_quarantined)
    return rebuilt
