"""Who viewed or downloaded a recording: daily metrics (E12), events (E13) and per-play details (E14).

Every row is filed under the business date of the recording it belongs to, which the caller passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from assets.normalize.engine import REQUIRE, Field, Spec, land, parse_fields
from assets.normalize.frames import Normalized
from assets.normalize.parsers import integer, percent, text
from assets.normalize.quarantine import Issues
from assets.normalize.records import Batched, flatten_batches
from assets.normalize.times import epoch_millis, local_date, ms_to_seconds

EVENT_KINDS: dict[int, str] = {1: "download", 2: "view"}

METRIC_FIELDS: tuple[Spec, ...] = (
    Field("date", local_date, "metric_date", rule=REQUIRE),
    Field("view_counts", integer, "view_count"),
    Field("download_counts", integer, "download_count"),
)
# `userid` is part of the events' and plays' keys, so a record without one keeps '' there rather than null.
EVENT_FIELDS: tuple[Spec, ...] = (
    Field("operate_time", epoch_millis, rule=REQUIRE),
    Field("userid", text, null_as=""),
    Field("user_name", text),
    Field("record_name", text),
)
VIEW_FIELDS: tuple[Spec, ...] = (
    Field("view_start_time", epoch_millis, rule=REQUIRE),
    Field("view_end_time", epoch_millis),
    Field("view_time", ms_to_seconds, "watched_seconds"),
    Field("total_view_progress", percent, "view_progress_pct"),
    Field("userid", text, null_as=""),
    Field("user_name", text),
    Field("record_file_name", text),
)


@dataclass(frozen=True)
class AccessRef:
    """What one access request was about: the recording (and file), and where its rows are filed."""

    meeting_record_id: str
    business_date: dt.date
    record_file_id: str = ""
    event_type: int = 0

    def request(self) -> dict[str, Any]:
        """What was asked for: the recording, and the file or event type when the request named one."""
        asked: dict[str, Any] = {"meeting_record_id": self.meeting_record_id}
        if self.record_file_id:
            asked["record_file_id"] = self.record_file_id
        if self.event_type:
            asked["event_type"] = self.event_type
        return asked


def traceable(batched: Batched, refs: Sequence[AccessRef]) -> list[dict[str, Any]]:
    """Each record with the request it answered, for quarantine: an access record names neither its
    recording nor its file, so two recordings' identical records would be one row nobody can trace."""
    requests = [ref.request() for ref in refs]
    return [{**requests[owner], "record": record}
            for record, owner in zip(batched.records, batched.owner.to_pylist(), strict=True)]


def normalize_record_metrics(
    records: Sequence[Any], meeting_record_id: str, business_date: dt.date
) -> Normalized:
    """`GET /v1/metrics/records` `summaries[]` → recording_daily_metrics."""
    return normalize_record_metrics_batches([(AccessRef(meeting_record_id, business_date), records)])


def normalize_record_metrics_batches(batches: Sequence[tuple[AccessRef, Sequence[Any]]]) -> Normalized:
    return _normalize("recording_daily_metrics", METRIC_FIELDS, batches, {})


def normalize_record_events(
    records: Sequence[Any], meeting_record_id: str, event_type: int, business_date: dt.date
) -> Normalized:
    """`GET /v1/records/events?event_type=` `events[]` → recording_events (`operate_time` in ms)."""
    return normalize_record_events_batches(
        [(AccessRef(meeting_record_id, business_date, event_type=event_type), records)]
    )


def normalize_record_events_batches(batches: Sequence[tuple[AccessRef, Sequence[Any]]]) -> Normalized:
    for ref, _ in batches:
        if ref.event_type not in EVENT_KINDS:
            raise ValueError(f"event_type must be 1 (download) or 2 (view), got {ref.event_type!r}")
    per_request = {
        "event_type": (lambda ref: ref.event_type, pa.int64()),
        "event_kind": (lambda ref: EVENT_KINDS[ref.event_type], pa.string()),
    }
    return _normalize("recording_events", EVENT_FIELDS, batches, per_request)


def normalize_view_details(
    records: Sequence[Any], record_file_id: str, meeting_record_id: str, business_date: dt.date
) -> Normalized:
    """`GET /v1/records/view-details` `view_details[]` → recording_view_details (times in ms)."""
    return normalize_view_details_batches(
        [(AccessRef(meeting_record_id, business_date, record_file_id=record_file_id), records)]
    )


def normalize_view_details_batches(batches: Sequence[tuple[AccessRef, Sequence[Any]]]) -> Normalized:
    per_request = {"record_file_id": (lambda ref: ref.record_file_id, pa.string())}
    return _normalize("recording_view_details", VIEW_FIELDS, batches, per_request)


def _normalize(
    table: str,
    fields: Sequence[Spec],
    batches: Sequence[tuple[AccessRef, Sequence[Any]]],
    per_request: Mapping[str, tuple[Callable[[AccessRef], Any], pa.DataType]],
) -> Normalized:
    """Many requests' records in one pass; the columns of `per_request` come from what each request asked."""
    refs = [ref for ref, _ in batches]
    batched = flatten_batches([records for _, records in batches])
    issues = Issues(len(batched.records))
    columns = parse_fields(batched.records, fields, issues).columns
    dates = batched.per_row([r.business_date for r in refs], pa.date32())
    columns["business_date"] = dates
    columns["meeting_record_id"] = batched.per_row([r.meeting_record_id for r in refs], pa.string())
    for name, (value, type_) in per_request.items():
        columns[name] = batched.per_row([value(r) for r in refs], type_)
    return land(table, traceable(batched, refs), issues, columns, dates=dates, non_objects=batched.non_objects)
