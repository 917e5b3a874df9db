"""Who viewed or downloaded a recording: daily metrics (E12), events (E13) and per-play details (E14).

Every row is filed under the business date of the recording it belongs to, which the caller passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from assets.normalize._common import (
    Batched,
    Issues,
    Normalized,
    empty_as,
    epoch,
    field,
    finish_counted,
    flatten_batches,
    integer,
    local_date,
    ms_to_seconds,
    percent,
    quarantine_issues,
    quarantine_repeats,
    text,
)

EVENT_KINDS: dict[int, str] = {1: "download", 2: "view"}


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
    refs = [ref for ref, _ in batches]
    batched = flatten_batches([records for _, records in batches])
    rows = batched.records
    issues = Issues(len(rows))
    metric_date = local_date(field(rows, "date"))
    issues.require(metric_date, "date")
    views = integer(field(rows, "view_counts"))
    downloads = integer(field(rows, "download_counts"))
    issues.check(views, "view_counts")
    issues.check(downloads, "download_counts")
    dates = batched.per_row([r.business_date for r in refs], pa.date32())
    columns = {
        "meeting_record_id": batched.per_row([r.meeting_record_id for r in refs], pa.string()),
        "metric_date": metric_date.values,
        "business_date": dates,
        "view_count": views.values,
        "download_count": downloads.values,
    }
    frame, repeats = finish_counted("recording_daily_metrics", columns, ~issues.bad)
    quarantine = quarantine_issues("recording_daily_metrics", traceable(batched, refs), issues, dates, batched.non_objects)
    return Normalized(frame, quarantine, repeats + quarantine_repeats(issues, quarantine, batched.non_objects))


def normalize_record_events(
    records: Sequence[Any], meeting_record_id: str, event_type: int, business_date: dt.date
) -> Normalized:
    """`GET /v1/records/events?event_type=` `events[]` → recording_events (`operate_time` in ms).

    `userid` is part of the key, so an event without one keeps '' there rather than null.
    """
    return normalize_record_events_batches(
        [(AccessRef(meeting_record_id, business_date, event_type=event_type), records)]
    )


def normalize_record_events_batches(batches: Sequence[tuple[AccessRef, Sequence[Any]]]) -> Normalized:
    refs = [ref for ref, _ in batches]
    for ref in refs:
        if ref.event_type not in EVENT_KINDS:
            raise ValueError(f"event_type must be 1 (download) or 2 (view), got {ref.event_type!r}")
    batched = flatten_batches([records for _, records in batches])
    rows = batched.records
    issues = Issues(len(rows))
    operate_time = epoch(field(rows, "operate_time"), "ms")
    issues.require(operate_time, "operate_time")
    userid = text(field(rows, "userid"))
    user_name = text(field(rows, "user_name"))
    record_name = text(field(rows, "record_name"))
    for name, parsed in (("userid", userid), ("user_name", user_name), ("record_name", record_name)):
        issues.check(parsed, name)
    dates = batched.per_row([r.business_date for r in refs], pa.date32())
    columns = {
        "meeting_record_id": batched.per_row([r.meeting_record_id for r in refs], pa.string()),
        "event_type": batched.per_row([r.event_type for r in refs], pa.int64()),
        "event_kind": batched.per_row([EVENT_KINDS[r.event_type] for r in refs], pa.string()),
        "operate_time": operate_time.values,
        "userid": empty_as(userid.values, ""),
        "user_name": user_name.values,
        "record_name": record_name.values,
        "business_date": dates,
    }
    frame, repeats = finish_counted("recording_events", columns, ~issues.bad)
    quarantine = quarantine_issues("recording_events", traceable(batched, refs), issues, dates, batched.non_objects)
    return Normalized(frame, quarantine, repeats + quarantine_repeats(issues, quarantine, batched.non_objects))


def normalize_view_details(
    records: Sequence[Any], record_file_id: str, meeting_record_id: str, business_date: dt.date
) -> Normalized:
    """`GET /v1/records/view-details` `view_details[]` → recording_view_details (times in ms).

    `userid` is part of the key, so a play without one keeps '' there rather than null.
    """
    return normalize_view_details_batches(
        [(AccessRef(meeting_record_id, business_date, record_file_id=record_file_id), records)]
    )


def normalize_view_details_batches(batches: Sequence[tuple[AccessRef, Sequence[Any]]]) -> Normalized:
    refs = [ref for ref, _ in batches]
    batched = flatten_batches([records for _, records in batches])
    rows = batched.records
    issues = Issues(len(rows))
    view_start = epoch(field(rows, "view_start_time"), "ms")
    issues.require(view_start, "view_start_time")
    view_end = epoch(field(rows, "view_end_time"), "ms")
    watched = ms_to_seconds(field(rows, "view_time"))
    progress = percent(field(rows, "total_view_progress"))
    userid = text(field(rows, "userid"))
    user_name = text(field(rows, "user_name"))
    file_name = text(field(rows, "record_file_name"))
    for name, parsed in (
        ("view_end_time", view_end),
        ("view_time", watched),
        ("total_view_progress", progress),
        ("userid", userid),
        ("user_name", user_name),
        ("record_file_name", file_name),
    ):
        issues.check(parsed, name)
    dates = batched.per_row([r.business_date for r in refs], pa.date32())
    columns = {
        "record_file_id": batched.per_row([r.record_file_id for r in refs], pa.string()),
        "meeting_record_id": batched.per_row([r.meeting_record_id for r in refs], pa.string()),
        "userid": empty_as(userid.values, ""),
        "user_name": user_name.values,
        "record_file_name": file_name.values,
        "view_start_time": view_start.values,
        "view_end_time": view_end.values,
        "watched_seconds": watched.values,
        "view_progress_pct": progress.values,
        "business_date": dates,
    }
    frame, repeats = finish_counted("recording_view_details", columns, ~issues.bad)
    quarantine = quarantine_issues("recording_view_details", traceable(batched, refs), issues, dates, batched.non_objects)
    return Normalized(frame, quarantine, repeats + quarantine_repeats(issues, quarantine, batched.non_objects))
