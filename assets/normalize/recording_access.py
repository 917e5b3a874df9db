"""Who viewed or downloaded a recording: daily metrics (E12), events (E13) and per-play details (E14).

Every row is filed under the business date of the recording it belongs to, which the caller passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from assets.normalize._common import (
    Issues,
    Normalized,
    empty_as,
    epoch,
    field,
    fill,
    finish,
    integer,
    local_date,
    ms_to_seconds,
    percent,
    quarantine_issues,
    split_objects,
    text,
)

EVENT_KINDS: dict[int, str] = {1: "download", 2: "view"}


def normalize_record_metrics(
    records: Sequence[Any], meeting_record_id: str, business_date: dt.date
) -> Normalized:
    """`GET /v1/metrics/records` `summaries[]` → recording_daily_metrics."""
    rows, non_objects = split_objects(records)
    n = len(rows)
    issues = Issues(n)
    metric_date = local_date(field(rows, "date"))
    issues.require(metric_date, "date")
    views = integer(field(rows, "view_counts"))
    downloads = integer(field(rows, "download_counts"))
    issues.check(views, "view_counts")
    issues.check(downloads, "download_counts")
    dates = fill(business_date, n, pa.date32())
    columns = {
        "meeting_record_id": fill(meeting_record_id, n, pa.string()),
        "metric_date": metric_date.values,
        "business_date": dates,
        "view_count": views.values,
        "download_count": downloads.values,
    }
    frame = finish("recording_daily_metrics", columns, ~issues.bad)
    quarantine = quarantine_issues("recording_daily_metrics", rows, issues, dates, non_objects)
    return Normalized(frame, quarantine)


def normalize_record_events(
    records: Sequence[Any], meeting_record_id: str, event_type: int, business_date: dt.date
) -> Normalized:
    """`GET /v1/records/events?event_type=` `events[]` → recording_events (`operate_time` in ms).

    `userid` is part of the key, so an event without one keeps '' there rather than null.
    """
    if event_type not in EVENT_KINDS:
        raise ValueError(f"event_type must be 1 (download) or 2 (view), got {event_type!r}")
    rows, non_objects = split_objects(records)
    n = len(rows)
    issues = Issues(n)
    operate_time = epoch(field(rows, "operate_time"), "ms")
    issues.require(operate_time, "operate_time")
    userid = text(field(rows, "userid"))
    user_name = text(field(rows, "user_name"))
    record_name = text(field(rows, "record_name"))
    for name, parsed in (("userid", userid), ("user_name", user_name), ("record_name", record_name)):
        issues.check(parsed, name)
    dates = fill(business_date, n, pa.date32())
    columns = {
        "meeting_record_id": fill(meeting_record_id, n, pa.string()),
        "event_type": fill(event_type, n, pa.int64()),
        "event_kind": fill(EVENT_KINDS[event_type], n, pa.string()),
        "operate_time": operate_time.values,
        "userid": empty_as(userid.values, ""),
        "user_name": user_name.values,
        "record_name": record_name.values,
        "business_date": dates,
    }
    frame = finish("recording_events", columns, ~issues.bad)
    quarantine = quarantine_issues("recording_events", rows, issues, dates, non_objects)
    return Normalized(frame, quarantine)


def normalize_view_details(
    records: Sequence[Any], record_file_id: str, meeting_record_id: str, business_date: dt.date
) -> Normalized:
    """`GET /v1/records/view-details` `view_details[]` → recording_view_details (times in ms).

    `userid` is part of the key, so a play without one keeps '' there rather than null.
    """
    rows, non_objects = split_objects(records)
    n = len(rows)
    issues = Issues(n)
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
    dates = fill(business_date, n, pa.date32())
    columns = {
        "record_file_id": fill(record_file_id, n, pa.string()),
        "meeting_record_id": fill(meeting_record_id, n, pa.string()),
        "userid": empty_as(userid.values, ""),
        "user_name": user_name.values,
        "record_file_name": file_name.values,
        "view_start_time": view_start.values,
        "view_end_time": view_end.values,
        "watched_seconds": watched.values,
        "view_progress_pct": progress.values,
        "business_date": dates,
    }
    frame = finish("recording_view_details", columns, ~issues.bad)
    quarantine = quarantine_issues("recording_view_details", rows, issues, dates, non_objects)
    return Normalized(frame, quarantine)
