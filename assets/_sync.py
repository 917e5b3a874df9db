"""What every extraction shares: the run's clients and storage, the sync log and the quarantine.

The domain modules (`meetings`, `participants`, `recordings`, ...) take a :class:`SyncContext`
and stay free of Dagster, so the same code runs under a Dagster asset, the `sync` command and
the tests.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd

from assets._progress import Progress, current_progress
from assets.normalize._common import concat_quarantine, empty
from assets.schemas import KEYS, SCHEMAS
from resources.lake import Lake
from resources.raw_archive import RawArchive, RawWriter
from resources.tencent.client import TencentMeetingClient
from resources.tencent.pagination import Page
from resources.tencent.stats import CallStats

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)


@dataclass
class SyncContext:
    """One asset run's view of the world."""

    clients: Sequence[TencentMeetingClient]
    lake: Lake
    raw: RawArchive
    tz: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    max_workers: int = 8
    progress: Progress = field(default_factory=current_progress)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def tz_info(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def account_level(self) -> bool:
        return len(self.clients) == 1 and self.clients[0].app_type in ("account", "aksk")

    def stats(self) -> CallStats:
        """The clients of one run share a single counter (see :func:`build_clients`)."""
        return self.clients[0].stats


@dataclass
class Landed:
    """What one table received in one run: rows per partition and a preview."""

    table: str
    rows_by_partition: dict[date | None, int] = field(default_factory=dict)
    quarantined: int = 0
    preview: pd.DataFrame | None = None
    api_total: int | None = None

    @property
    def rows(self) -> int:
        return sum(self.rows_by_partition.values())

    def add(self, partition: date | None, frame: pd.DataFrame) -> None:
        self.rows_by_partition[partition] = self.rows_by_partition.get(partition, 0) + len(frame)
        if self.preview is None or len(self.preview) < 5:
            self.preview = frame.head(5) if self.preview is None else pd.concat([self.preview, frame]).head(5)


def combine(table: str, frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One frame with one row per key, sorted: several tokens can see the same row."""
    non_empty = [f for f in frames if len(f)]
    if not non_empty:
        return empty(table)
    key = list(KEYS[table])
    combined = pd.concat(non_empty, ignore_index=True)
    return combined.drop_duplicates(subset=key).sort_values(key, ignore_index=True)


def archive_page(writer: RawWriter, page: Page, context: dict[str, Any] | None = None) -> None:
    envelope: dict[str, Any] = {
        "endpoint": page.endpoint,
        "params": page.params,
        "status": page.status,
        "fetched_at": page.fetched_at.isoformat(),
    }
    if context:
        envelope["context"] = context
    writer.append(envelope, page.body)


def first_page_total(page: Page, first_markers: Iterable[tuple[str, Any]]) -> int | None:
    """The API's own ``total_count`` when ``page`` opens a query (page 1 / pos 0)."""
    for name, value in first_markers:
        if str(page.params.get(name, "")) == str(value):
            total = page.body.get("total_count")
            return int(total) if total is not None else None
    return None


def write_quarantine(ctx: SyncContext, table: str, day: date | None, frames: Sequence[pd.DataFrame]) -> int:
    """Keep the bad records of one table and date with their reasons; good rows land regardless."""
    quarantine = concat_quarantine(*frames) if frames else pd.DataFrame()
    if quarantine.empty:
        return 0
    partition = day or ctx.now().date()
    ctx.lake.write_snapshot("quarantine", SCHEMAS["quarantine"], partition, table, quarantine)
    log.warning("%d %s record(s) quarantined for %s; see lake/quarantine", len(quarantine), table, partition)
    return len(quarantine)


def write_sync_log(
    ctx: SyncContext, asset: str, partition: str, started_at: datetime, stats: CallStats | None = None
) -> pd.DataFrame:
    """One row per endpoint the asset called, appended to ``sync_log`` under the run's date."""
    finished_at = ctx.now()
    snapshot = (stats or ctx.stats()).snapshot()
    rows = [
        {
            "run_id": ctx.run_id,
            "asset": asset,
            "partition": partition,
            "endpoint": endpoint,
            "calls": entry["calls"],
            "pages": entry["pages"],
            "rows": entry["rows"],
            "retries": entry["retries"],
            "quota_waits": entry["quota_waits"],
            "quota_wait_seconds": float(entry["quota_wait_seconds"]),
            "skipped": entry["skipped"],
            "skip_reasons": json.dumps(entry["skip_reasons"], ensure_ascii=False),
            "started_at": started_at,
            "finished_at": finished_at,
        }
        for endpoint, entry in snapshot.items()
    ]
    frame = pd.DataFrame(rows, columns=SCHEMAS["sync_log"].names)
    name = f"{asset}-{partition or 'all'}-{ctx.run_id}".replace("..", "_to_")
    ctx.lake.write_snapshot("sync_log", SCHEMAS["sync_log"], finished_at.date(), name, frame)
    return frame


def fan_out(ctx: SyncContext, items: Sequence[T], work: Callable[[T], R], label: str) -> Iterator[R]:
    """Run ``work`` over ``items`` on the run's thread pool, yielding results in input order.

    Input order keeps the written files byte-for-byte reproducible however the threads finish.
    """
    ctx.progress.begin(label, len(items))
    try:
        if len(items) <= 1 or ctx.max_workers <= 1:
            for item in items:
                result = work(item)
                ctx.progress.advance(label)
                yield result
            return
        with ThreadPoolExecutor(max_workers=ctx.max_workers, thread_name_prefix="tmeet") as pool:
            futures = [pool.submit(work, item) for item in items]
            for future in futures:
                result = future.result()
                ctx.progress.advance(label)
                yield result
    finally:
        ctx.progress.end(label)
