"""Who viewed or downloaded each recording: daily metrics, events and per-play view details.

Every row is filed under its recording's business date, so a recording's access history stays
in one partition however late the views come; the schedule re-runs recent dates.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext

from assets._dagster import (
    check,
    conservation_check,
    conservation_spec,
    daily_pull,
    daily_table,
    for_asset,
    merge,
    partition_days,
    pull_days,
    result,
)
from assets._page_ledger import Key, ledger as page_ledger, numbered, record_keys
from assets._upstream import require_upstream
from assets._sync import (
    Derived,
    Landed,
    PageData,
    PageTally,
    SyncContext,
    Tally,
    archive_page,
    combine_counted,
    fan_out,
    land,
    quarantined_parents,
    quarantined_records,
    readable_id,
    tally_of,
)
from assets.normalize._common import empty_as, epoch, local_date, text
from assets.normalize._common import field as values_of
from assets.tags import endpoint_metadata, table_tags
from assets.normalize.recording_access import (
    AccessRef,
    normalize_record_events_batches,
    normalize_record_metrics_batches,
    normalize_view_details_batches,
)
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import PermissionDenied
from resources.tencent.pagination import Page
from resources.tencent.scopes import E_CORP_RECORDS, E_RECORD_EVENTS, E_RECORDS, E_RECORD_METRICS, E_VIEW_DETAILS, VIEW_ALL_RECORDS, VIEW_VIDEO

ASSET = "recording_access"
ENDPOINTS = endpoint_metadata((E_CORP_RECORDS,), user=(E_RECORDS,))
TAGS = table_tags("pull", warehouse="required", scope=VIEW_ALL_RECORDS, user_scope=VIEW_VIDEO, archive=ASSET,
                  lookback=True)
DONE = 3
DOWNLOAD, VIEW = 1, 2
# The platform keeps view details for 31 days and every access query spans at most 31 days, so
# one window from the media start covers a recording's whole accessible history in one call.
ACCESS_HORIZON = timedelta(days=31) - timedelta(seconds=1)
SPECS = [
    daily_table("recording_daily_metrics", "Views and downloads per recording and day, filed under the recording's date.",
                group="recordings", deps=["recordings", "recording_files"], tags=TAGS,
                metadata=ENDPOINTS),
    daily_table("recording_events", "Every view or download of a recording: who and when.",
                group="recordings", deps=["recordings", "recording_files"], tags=TAGS,
                metadata=ENDPOINTS),
    daily_table("recording_view_details", "Every play of a recording file: watched time and progress.",
                group="recordings", deps=["recordings", "recording_files"], tags=TAGS,
                metadata=ENDPOINTS),
]
# In the order of the endpoints below that fill them.
TABLES = tuple(spec.key.to_user_string() for spec in SPECS)
_TABLE_OF = dict(zip((E_RECORD_METRICS, E_RECORD_EVENTS, E_VIEW_DETAILS), TABLES, strict=True))


@dataclass
class _Recording:
    meeting_record_id: str
    media_start: datetime
    business_date: date
    record_file_ids: list[str]


@dataclass
class _Fetched:
    recording: _Recording
    metrics: list[Page] = field(default_factory=list)
    events: dict[int, list[Page]] = field(default_factory=dict)
    views: dict[str, list[Page]] = field(default_factory=dict)


def extract_recording_access(ctx: SyncContext, day: date) -> dict[str, Landed]:
    """Replace the three access tables' partitions of ``day`` for its transcoded recordings."""
    recordings = _transcoded(ctx, day)
    record_unfetched_children(ctx, day)
    pages: list[PageData] = []
    with ctx.raw.writer(ASSET, day) as raw:
        for fetched in fan_out(ctx, recordings, lambda r: _fetch(ctx, r), f"recording access {day}"):
            rec = fetched.recording
            context = {"meeting_record_id": rec.meeting_record_id, "business_date": str(rec.business_date)}
            pages.extend(archive_page(raw, page, context) for page in fetched.metrics)
            for event_pages in fetched.events.values():
                pages.extend(archive_page(raw, page, context) for page in event_pages)
            for record_file_id, view_pages in fetched.views.items():
                file_context = {**context, "record_file_id": record_file_id}
                pages.extend(archive_page(raw, page, file_context) for page in view_pages)
    return land(ctx, derive_recording_access(pages), day, ASSET)


def derive_recording_access(pages: Iterable[PageData]) -> Derived:
    """Metrics, event and view-detail pages, each with its recording as context -> the three tables."""
    pages = list(pages)
    groups: dict[tuple[str, str, str, str], list[Any]] = {}
    received = dict.fromkeys(TABLES, 0)
    for page in pages:
        if page.endpoint in _TABLE_OF:
            received[_TABLE_OF[page.endpoint]] += len(page.records)
        ctx = page.context
        kind = str(page.params.get("event_type", "")) if page.endpoint == E_RECORD_EVENTS else ""
        key = (page.endpoint, ctx["meeting_record_id"], ctx["business_date"], ctx.get("record_file_id", "") or kind)
        groups.setdefault(key, []).extend(page.records)
    batches: dict[str, list[tuple[AccessRef, list[Any]]]] = {t: [] for t in TABLES}
    for (endpoint, rid, business_day, detail), records in groups.items():
        business_date = date.fromisoformat(business_day)
        if endpoint == E_RECORD_METRICS:
            batches["recording_daily_metrics"].append((AccessRef(rid, business_date), records))
        elif endpoint == E_RECORD_EVENTS:
            batches["recording_events"].append((AccessRef(rid, business_date, event_type=int(detail)), records))
        elif endpoint == E_VIEW_DETAILS:
            batches["recording_view_details"].append((AccessRef(rid, business_date, record_file_id=detail), records))
        else:
            raise ValueError(f"a recording-access page from {endpoint!r} cannot be derived; the archive is not ours")
    normalized = {
        "recording_daily_metrics": normalize_record_metrics_batches(batches["recording_daily_metrics"]),
        "recording_events": normalize_record_events_batches(batches["recording_events"]),
        "recording_view_details": normalize_view_details_batches(batches["recording_view_details"]),
    }
    quarantine = [result.quarantine for result in normalized.values()]
    combined: dict[str, pd.DataFrame] = {}
    tallies: dict[str, Tally] = {}
    ledgers: dict[str, list[PageTally]] = {}
    for table, outcome in normalized.items():
        combined[table], across = combine_counted(table, [outcome.frame])
        tallies[table] = tally_of(table, received[table], combined[table], quarantine, outcome.deduplicated + across)
        mine, numbers = numbered(pages, lambda page, table=table: _TABLE_OF.get(page.endpoint) == table)
        ledgers[table] = page_ledger(table, mine, [p.records for p in mine], access_keys(table, mine),
                                     lambda i, record, mine=mine: _traced(mine[i], record),
                                     combined[table], quarantine, numbers)
    return Derived(combined, quarantine, tallies, ledgers)


def _request(page: PageData) -> dict[str, Any]:
    """What one access page asked about, as its quarantined records are traced back to it."""
    asked: dict[str, Any] = {"meeting_record_id": page.context["meeting_record_id"]}
    if page.endpoint == E_VIEW_DETAILS:
        asked["record_file_id"] = page.context["record_file_id"]
    if page.endpoint == E_RECORD_EVENTS:
        asked["event_type"] = int(page.params["event_type"])
    return asked


def _traced(page: PageData, record: Any) -> Any:
    # Mirrors the normalizer: a JSON object is quarantined with its request, anything else as it came.
    return {**_request(page), "record": record} if isinstance(record, dict) else record


def access_keys(table: str, pages: Sequence[PageData]) -> list[list[Key | None]]:
    """The key each received access record gives in ``table``, parsed as the normalizer parses it."""
    records = [r if isinstance(r, dict) else {} for page in pages for r in page.records]

    def per_record(values: Callable[[PageData], Any], type_: pa.DataType) -> pa.Array:
        return pa.array([values(page) for page in pages for _ in page.records], type=type_)

    recording = per_record(lambda page: page.context["meeting_record_id"], pa.string())
    userid = empty_as(text(values_of(records, "userid")).values, "")
    if table == "recording_daily_metrics":
        columns = [recording, local_date(values_of(records, "date")).values]
    elif table == "recording_events":
        columns = [recording, per_record(lambda page: int(page.params["event_type"]), pa.int64()),
                   epoch(values_of(records, "operate_time"), "ms").values, userid]
    else:
        columns = [per_record(lambda page: page.context["record_file_id"], pa.string()), userid,
                   epoch(values_of(records, "view_start_time"), "ms").values]
    keys = iter(record_keys(columns))
    return [[next(keys) for _ in page.records] for page in pages]


def record_unfetched_children(ctx: SyncContext, day: date) -> None:
    """Say in ``sync_log`` which recordings' and files' access is not fetched because their record was quarantined.

    A quarantined recording has no trustworthy state, media start or files to ask about, so its
    metrics, events and view details are not fetched; each endpoint's skip names the recording and
    why, and the view-details skip names each of its files too (their plays are asked for by file).
    A file set aside on its own is not asked about either. A fixed upstream record lets a re-run
    fetch them.
    """
    for record, reason in quarantined_records(ctx, day, "recordings"):
        record_id = readable_id(record, "meeting_record_id")
        for endpoint in (E_RECORD_METRICS, E_RECORD_EVENTS, E_VIEW_DETAILS):
            ctx.stats().skip(endpoint, f"recording {record_id}", None,
                             f"recording access not fetched: the recording record was quarantined ({reason})")
        for file_id in _file_ids(record):
            ctx.stats().skip(E_VIEW_DETAILS, f"recording file {file_id}", None,
                             f"view details not fetched: the file's recording record {record_id} was quarantined "
                             f"({reason})")
    for file_id, reason in quarantined_parents(ctx, day, "recording_files", "record_file_id"):
        ctx.stats().skip(E_VIEW_DETAILS, f"recording file {file_id}", None,
                         f"view details not fetched: the file record was quarantined ({reason})")


def _file_ids(recording: Any) -> list[str]:
    """The ids of the files a quarantined recording record lists, as far as they can be read."""
    files = recording.get("record_files") if isinstance(recording, dict) else None
    return [readable_id(item, "record_file_id") for item in files] if isinstance(files, list) else []


def _transcoded(ctx: SyncContext, day: date) -> list[_Recording]:
    recordings = ctx.lake.read("recordings", start=day, end=day)
    files = ctx.lake.read("recording_files", start=day, end=day)
    files_by_recording: dict[str, list[str]] = {}
    for row in files[["meeting_record_id", "record_file_id"]].itertuples(index=False):
        files_by_recording.setdefault(row.meeting_record_id, []).append(row.record_file_id)
    done = recordings[recordings["state"] == DONE]
    return [
        _Recording(
            meeting_record_id=row.meeting_record_id,
            media_start=pd.Timestamp(row.media_start_time).to_pydatetime(),
            business_date=row.business_date,
            record_file_ids=sorted(files_by_recording.get(row.meeting_record_id, [])),
        )
        for row in done.itertuples(index=False)
    ]


def _fetch(ctx: SyncContext, recording: _Recording) -> _Fetched:
    start = recording.media_start.replace(microsecond=0)
    end = min(start + ACCESS_HORIZON, ctx.now())
    denied: PermissionDenied | None = None
    for client in ctx.clients:
        try:
            return _fetch_with(client, recording, start, end)
        except PermissionDenied as exc:
            # Under a user-level app only the recording's owner may read its access data.
            denied = exc
    if denied is not None:
        ctx.stats().skip(
            denied.endpoint or "recording access", f"recording {recording.meeting_record_id}", denied.code,
            denied.detail,
        )
    return _Fetched(recording)


def _fetch_with(client: TencentMeetingClient, recording: _Recording, start: datetime, end: datetime) -> _Fetched:
    rid = recording.meeting_record_id
    fetched = _Fetched(recording)
    fetched.metrics = list(client.iter_record_metrics(rid, start, end))
    fetched.events = {kind: list(client.iter_record_events(rid, kind, start, end)) for kind in (DOWNLOAD, VIEW)}
    fetched.views = {fid: list(client.iter_view_details(fid, start, end)) for fid in recording.record_file_ids}
    return fetched


@daily_pull(
    specs=SPECS,
    check_specs=[
        dg.AssetCheckSpec("metrics_match_events", asset="recording_daily_metrics",
                          description="Daily view and download counts agree with the events."),
        *(conservation_spec(table) for table in TABLES),
    ],
)
def recording_access(
    context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
) -> Iterator[dg.MaterializeResult]:
    """Pull who viewed or downloaded each transcoded recording of the run's dates."""
    require_upstream(storage.lake(), "recording_access", ["recordings", "recording_files"], partition_days(context))
    outcomes, checks, stats = pull_days(context, tencent, storage, ASSET, _pull_day)
    yield result("recording_daily_metrics", merge([o["recording_daily_metrics"] for o in outcomes]), stats,
                 for_asset(checks, "recording_daily_metrics"))
    yield result("recording_events", merge([o["recording_events"] for o in outcomes]), None,
                 for_asset(checks, "recording_events"))
    yield result("recording_view_details", merge([o["recording_view_details"] for o in outcomes]), None,
                 for_asset(checks, "recording_view_details"))


def _pull_day(ctx: SyncContext, day: date) -> tuple[dict[str, Landed], list[dg.AssetCheckResult]]:
    landed = extract_recording_access(ctx, day)
    metrics = ctx.lake.read("recording_daily_metrics", start=day, end=day)
    events = ctx.lake.read("recording_events", start=day, end=day)
    mismatches = metrics_mismatches(metrics, events, ctx.tz)
    return landed, [
        check("recording_daily_metrics", "metrics_match_events", mismatches == 0,
              f"{mismatches} (recording, day) count(s) differ from the events", warn=True),
        *(conservation_check(table, landed[table].tally, landed[table].unbalanced_pages) for table in TABLES),
    ]


def metrics_mismatches(metrics: pd.DataFrame, events: pd.DataFrame, tz: str) -> int:
    """How many (recording, day) pairs the daily metrics and the events disagree on."""
    days = events["operate_time"].dt.tz_convert(tz).dt.date
    counted = Counter(zip(events["meeting_record_id"], days, events["event_kind"], strict=True))
    reported: dict[tuple[str, date, str], int] = {}
    for rid, day, views, downloads in metrics[["meeting_record_id", "metric_date", "view_count",
                                                "download_count"]].itertuples(index=False):
        reported[(rid, day, "view")] = int(views or 0)
        reported[(rid, day, "download")] = int(downloads or 0)
    keys = set(counted) | set(reported)
    return len({(rid, day) for rid, day, kind in keys if counted.get((rid, day, kind), 0) != reported.get((rid, day, kind), 0)})
