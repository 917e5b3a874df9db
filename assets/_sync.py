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

import numpy as np
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

# sync_log rows whose endpoint starts with this hold one table's record tally, not API calls.
TALLY_ENDPOINT = "(rows)"
# sync_log rows whose endpoint starts with this name one page whose records do not balance.
PAGE_ENDPOINT = "(page)"

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
    shape_errors_landed: int = 0
    # Per table and business date landed: written to sync_log as "(rows) <table>" under that date.
    tallies: dict[tuple[str, date | None], Tally] = field(default_factory=dict)
    # Pages whose records do not balance, per table and business date: each a sync_log row of its own.
    unbalanced_pages: dict[tuple[str, date | None], list[tuple[str, Tally]]] = field(default_factory=dict)
    # Tables the platform refused to this auth mode while the rest of the step landed: table -> reason.
    refused_tables: dict[str, str] = field(default_factory=dict)

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
class Tally:
    """Where the records one table received went: each is landed, quarantined or a counted repeat."""

    received: int = 0
    landed: int = 0
    quarantined: int = 0
    deduplicated: int = 0

    @property
    def unaccounted(self) -> int:
        return self.received - self.landed - self.quarantined - self.deduplicated

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.received + other.received, self.landed + other.landed,
                     self.quarantined + other.quarantined, self.deduplicated + other.deduplicated)

    def describe(self) -> str:
        text = (f"received {self.received} = landed {self.landed} + quarantined {self.quarantined} "
                f"+ deduplicated {self.deduplicated}")
        if self.unaccounted:
            text += f"; {self.unaccounted} record(s) unaccounted for (lost without a quarantine row)"
        return text

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "landed": self.landed, "quarantined": self.quarantined,
                "deduplicated": self.deduplicated, "unaccounted": self.unaccounted}


@dataclass(frozen=True)
class PageTally:
    """Where the records of one received page went; ``index`` is its ``page`` number in the raw archive."""

    endpoint: str
    index: int
    params: dict[str, Any]
    tally: Tally

    def where(self, asset: str, day: date | None) -> str:
        """The page as an operator finds it: the endpoint, the request, and its place in the raw archive."""
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        archive = f"{asset} {day.isoformat() if day else '(unpartitioned)'}"
        return f"{self.endpoint} ({shown}), archived page {self.index} of {archive}"


def page_tallies(
    pages: Sequence[PageData],
    landed_from: Sequence[int] | np.ndarray,
    quarantined: Sequence[int],
    deduplicated: Sequence[int],
    *,
    received: Sequence[int] | None = None,
    first_index: int = 0,
) -> list[PageTally]:
    """The tally of every page, from the page each landed row came from and per-page counts.

    ``received`` defaults to every record of each page; ``first_index`` is the first page's number
    in its archive file when that file holds earlier pages too (the day's earlier snapshots).
    """
    landed = np.bincount(np.asarray(landed_from, dtype=np.int64), minlength=len(pages))
    counts = [len(page.records) for page in pages] if received is None else list(received)
    return [
        PageTally(page.endpoint, first_index + i, dict(page.params),
                  Tally(int(counts[i]), int(landed[i]), int(quarantined[i]), int(deduplicated[i])))
        for i, page in enumerate(pages)
    ]


def quarantined_of(table: str, quarantine: pd.DataFrame) -> int:
    """How many of ``quarantine``'s rows set aside records of ``table``."""
    return int((quarantine["table_name"] == table).sum()) if len(quarantine) else 0


def tally_of(table: str, received: int, frame: pd.DataFrame, quarantine: Sequence[pd.DataFrame], repeats: int) -> Tally:
    """The tally of ``table`` from what its records became; its quarantine rows carry its name."""
    quarantined = sum(int((q["table_name"] == table).sum()) for q in quarantine if len(q))
    return Tally(received, len(frame), quarantined, repeats)


@dataclass
class Landed:
    """What one table received in one run: rows per partition, a preview, and the records' tally."""

    table: str
    rows_by_partition: dict[date | None, int] = field(default_factory=dict)
    quarantined: int = 0
    preview: pd.DataFrame | None = None
    api_total: int | None = None
    # What the run learned about the source, shown in the asset's metadata (e.g. a response shape).
    notes: dict[str, str] = field(default_factory=dict)
    tally: Tally | None = None
    # Where the table's pages that do not balance are, each with its own tally.
    unbalanced_pages: list[tuple[str, Tally]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_partition.values())

    def add(self, partition: date | None, frame: pd.DataFrame) -> None:
        self.rows_by_partition[partition] = self.rows_by_partition.get(partition, 0) + len(frame)
        if self.preview is None or len(self.preview) < 5:
            self.preview = frame.head(5) if self.preview is None else pd.concat([self.preview, frame]).head(5)


@dataclass
class Derived:
    """The frames one asset derives from one partition's pages, and the records it set aside."""

    frames: dict[str, pd.DataFrame]
    quarantine: list[pd.DataFrame] = field(default_factory=list)
    # Tables whose rows come one per received record, and where each record went.
    tally: dict[str, Tally] = field(default_factory=dict)
    # Tables whose records are accounted for page by page: every received page's tally.
    pages: dict[str, list[PageTally]] = field(default_factory=dict)


def land(
    ctx: SyncContext, derived: Derived, day: date | None, quarantine_name: str, tables: Iterable[str] | None = None
) -> dict[str, Landed]:
    """Replace the partition ``day`` (or the whole table when None) of each derived table.

    ``tables`` limits what is written (a rebuild of chosen tables); quarantine lands with any.
    Without ``tables``, a pull that met pages without their documented list since the last
    ``land`` replaces nothing: what it read is incomplete, so the last good state is kept (the
    pages are quarantined and the asset's ``response_shape`` check fails).
    """
    chosen = set(derived.frames) if tables is None else set(tables) & set(derived.frames)
    unread = fresh_shape_errors(ctx) if tables is None else 0
    landed: dict[str, Landed] = {}
    for table, frame in derived.frames.items():
        if table not in chosen:
            continue
        landed[table] = Landed(table)
        if unread:
            where = f"the partition {day}" if day is not None else "the table"
            landed[table].notes["not_replaced"] = (
                f"{where} kept its last good state: {unread} page(s) came without their documented list"
            )
            continue
        if day is None:
            ctx.lake.write_unpartitioned(table, SCHEMAS[table], frame)
        else:
            ctx.lake.write_partition(table, SCHEMAS[table], day, frame)
        landed[table].add(day, frame)
        account_for(ctx, landed[table], derived, day, quarantine_name)
    if landed:
        first = next(iter(landed.values()))
        first.quarantined = write_quarantine(ctx, quarantine_name, day, derived.quarantine)
    return landed


def account_for(ctx: SyncContext, landed: Landed, derived: Derived, day: date | None, asset: str) -> None:
    """Keep the landed table's tally and its unbalanced pages for its checks and for ``sync_log``."""
    table = landed.table
    tally = derived.tally.get(table)
    if tally is not None:
        landed.tally = tally
        ctx.tallies[(table, day)] = ctx.tallies.get((table, day), Tally()) + tally
    unbalanced = [page for page in derived.pages.get(table, []) if page.tally.unaccounted]
    if unbalanced:
        located = [(page.where(asset, day), page.tally) for page in unbalanced]
        landed.unbalanced_pages = located
        ctx.unbalanced_pages.setdefault((table, day), []).extend(located)


def fresh_shape_errors(ctx: SyncContext) -> int:
    """Pages without their documented list met since the previous call (one call per ``land``)."""
    total = sum(len(client.shape_errors) for client in ctx.clients)
    fresh = total - ctx.shape_errors_landed
    ctx.shape_errors_landed = total
    return fresh


def combine(table: str, frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One frame with one row per key, sorted: several tokens can see the same row."""
    return combine_counted(table, frames)[0]


def combine_by_page(table: str, frames: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """:func:`combine` of one frame per page, with the page each kept row came from and, per page,
    how many of its rows repeated a key an earlier page already had (the first page's row is kept)."""
    if not any(len(f) for f in frames):
        return empty(table), np.zeros(0, dtype=np.int64), np.zeros(len(frames), dtype=np.int64)
    key = list(KEYS[table])
    origin = np.concatenate([np.full(len(f), i, dtype=np.int64) for i, f in enumerate(frames)])
    combined = pd.concat([f for f in frames if len(f)], ignore_index=True)
    first = ~combined.duplicated(subset=key, keep="first").to_numpy(dtype=bool)
    repeats = np.bincount(origin[~first], minlength=len(frames))
    unique = combined[first]
    order = unique.sort_values(key).index
    return unique.loc[order].reset_index(drop=True), origin[order.to_numpy()], repeats


def combine_counted(table: str, frames: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """:func:`combine` and how many rows it dropped as repeats of a key."""
    non_empty = [f for f in frames if len(f)]
    if not non_empty:
        return empty(table), 0
    key = list(KEYS[table])
    combined = pd.concat(non_empty, ignore_index=True)
    unique = combined.drop_duplicates(subset=key).sort_values(key, ignore_index=True)
    return unique, len(combined) - len(unique)


@dataclass(frozen=True)
class PageData:
    """What the normalizers need of one page, the same whether just fetched or replayed from the archive.

    ``records`` are the rows the client kept (already de-duplicated across the walk) and
    ``context`` says what the page was fetched for (a meeting instance, a recording, a user).
    """

    endpoint: str
    params: dict[str, Any]
    records: list[dict[str, Any]]
    context: dict[str, Any] = field(default_factory=dict)


def archive_page(writer: RawWriter, page: Page, context: dict[str, Any] | None = None) -> PageData:
    """Archive ``page`` as received, with where its kept records sit in the body, for replay."""
    envelope: dict[str, Any] = {
        "endpoint": page.endpoint,
        "params": page.params,
        "status": page.status,
        "fetched_at": page.fetched_at.isoformat(),
        "records": _records_location(page.body, page.records),
    }
    if context:
        envelope["context"] = context
    writer.append(envelope, page.body, raw_json=page.raw or None)
    return PageData(page.endpoint, dict(page.params), list(page.records), dict(context or {}))


def archive_record(
    writer: RawWriter, endpoint: str, params: dict[str, Any], body: dict[str, Any], context: dict[str, Any]
) -> PageData:
    """Archive a single-object response (no list, no paging): the body is the one record."""
    envelope = {"endpoint": endpoint, "params": params, "records": {"key": None, "kept": [0]}, "context": context}
    writer.append(envelope, body)
    return PageData(endpoint, dict(params), [body], dict(context))


def _records_location(body: dict[str, Any], records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The body's list holding ``records`` and their indices; the client hands out the body's own dicts."""
    if not records:
        return {"key": None, "kept": []}
    wanted = {id(record) for record in records}
    for key, value in body.items():
        if isinstance(value, list) and any(id(item) in wanted for item in value):
            kept = [i for i, item in enumerate(value) if id(item) in wanted]
            if len(kept) == len(records):
                return {"key": key, "kept": kept}
    raise ValueError(f"the records of a {body.keys()} page are not in its body; cannot archive them for replay")


def replay_pages(raw: RawArchive, asset: str, partition: date | None) -> Iterator[PageData]:
    """The pages archived for ``asset`` and ``partition``, as the live pull handed them to the normalizers."""
    for page in raw.iter_pages(asset, partition):
        envelope = page.envelope
        body = page.body if isinstance(page.body, dict) else {}
        location = envelope.get("records")
        if location is None:
            # Archived before record locations were kept: every row of the body's list.
            lists = [v for v in body.values() if isinstance(v, list) and all(isinstance(i, dict) for i in v)]
            records = lists[0] if len(lists) == 1 else []
        elif location["key"] is None:
            records = [body] if location["kept"] else []
        else:
            items = body.get(location["key"]) or []
            records = [items[i] for i in location["kept"]]
        yield PageData(envelope["endpoint"], dict(envelope.get("params") or {}), records,
                       dict(envelope.get("context") or {}))


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
    partition = day or ctx.now().date()
    if quarantine.empty:
        # A re-run that sets nothing aside must not leave an earlier run's rows looking current.
        if ctx.lake.has_snapshot("quarantine", partition, table):
            ctx.lake.write_snapshot("quarantine", SCHEMAS["quarantine"], partition, table, empty("quarantine"))
        return 0
    ctx.lake.write_snapshot("quarantine", SCHEMAS["quarantine"], partition, table, quarantine)
    log.warning("%d %s record(s) quarantined for %s; see lake/quarantine", len(quarantine), table, partition)
    return len(quarantine)


def write_sync_log(
    ctx: SyncContext, asset: str, partition: str, started_at: datetime, stats: CallStats | None = None
) -> pd.DataFrame:
    """One row per endpoint the asset called, appended to ``sync_log`` under the run's date.

    The run's date is ``started_at``'s local date, the warehouse's partition key for the table: a
    file stored under another date (the UTC one, for a run at 01:30 in Shanghai) would make every
    publish reload the whole log instead of the new day's partition.
    """
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
    def tally_row(day: date | None, endpoint: str, tally: Tally) -> dict[str, Any]:
        return {
            "run_id": ctx.run_id, "asset": asset, "partition": day.isoformat() if day else partition,
            "endpoint": endpoint,
            "calls": 0, "pages": 0, "rows": 0, "retries": 0, "quota_waits": 0, "quota_wait_seconds": 0.0,
            "skipped": 0, "skip_reasons": "[]", "started_at": started_at, "finished_at": finished_at,
            **{f"rows_{name}": value for name, value in tally.as_dict().items() if name != "unaccounted"},
        }

    def by_table_and_day(item: tuple[tuple[str, date | None], Any]) -> tuple[str, str]:
        return item[0][0], str(item[0][1])

    rows.extend(tally_row(day, f"{TALLY_ENDPOINT} {table}", tally)
                for (table, day), tally in sorted(ctx.tallies.items(), key=by_table_and_day))
    rows.extend(tally_row(day, f"{PAGE_ENDPOINT} {table}: {where}", tally)
                for (table, day), pages in sorted(ctx.unbalanced_pages.items(), key=by_table_and_day)
                for where, tally in pages)
    frame = pd.DataFrame(rows, columns=SCHEMAS["sync_log"].names)
    for column in ("rows_received", "rows_landed", "rows_quarantined", "rows_deduplicated"):
        frame[column] = frame[column].astype("Int64")  # null on the rows of API endpoints
    name = f"{asset}-{partition or 'all'}-{ctx.run_id}".replace("..", "_to_")
    ctx.lake.write_snapshot("sync_log", SCHEMAS["sync_log"], started_at.astimezone(ctx.tz_info).date(), name, frame)
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


def quarantined_parents(ctx: SyncContext, day: date, table: str, id_field: str) -> list[tuple[str, str]]:
    """(id, reason) of the ``table`` records quarantined for ``day``; an unreadable id is shown as such.

    Their children are not fetched: a quarantined parent gives no trustworthy times or ids to fetch by.
    """
    return [(readable_id(record, id_field), reason) for record, reason in quarantined_records(ctx, day, table)]


def quarantined_records(ctx: SyncContext, day: date, table: str) -> list[tuple[Any, str]]:
    """(record as received, reason) of the ``table`` records quarantined for ``day``."""
    quarantine = ctx.lake.read("quarantine", start=day, end=day)
    if quarantine.empty:
        return []
    rows = quarantine[quarantine["table_name"] == table]
    return [(json.loads(record_json), str(reason))
            for record_json, reason in rows[["record_json", "reason"]].itertuples(index=False)]


def readable_id(record: Any, id_field: str) -> str:
    """``record[id_field]`` when it is a non-empty text, else a placeholder saying it could not be read."""
    value = record.get(id_field) if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else f"(no readable {id_field})"
