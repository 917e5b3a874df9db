"""The report's charts, drawn with Vega-Altair: one function per panel, each from a prepared frame.

Every chart reads a named dataset (``Panel.dataset``), so a browser test can compare what is
drawn with the warehouse. An empty frame gives a "no data" panel instead of an empty axis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import pandas as pd

from assets.report.data import SIZE_BUCKETS, ReportData

WIDTH = 760
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DAY_COLOURS = alt.Scale(domain=["weekday", "weekend"], range=["#4c78a8", "#f58518"])


@dataclass(frozen=True)
class Panel:
    """One chart of the report with its title and one-line caption."""

    slug: str
    title: str
    caption: str
    chart: alt.TopLevelMixin
    dataset: str
    has_data: bool


def panels(data: ReportData) -> list[Panel]:
    return [build(data) for build in PANELS]


def named(frame: pd.DataFrame, name: str) -> tuple[alt.NamedData, dict[str, list[dict[str, object]]]]:
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return alt.NamedData(name=name), {name: records}


def no_data(message: str, name: str) -> alt.Chart:
    frame = pd.DataFrame({"message": [message]})
    source, datasets = named(frame, name)
    return (
        alt.Chart(source).mark_text(size=16, color="#666")
        .encode(text="message:N").properties(width=WIDTH, height=80, datasets=datasets)
    )


def daily_panel(data: ReportData) -> Panel:
    frame = data.daily
    name = "daily"
    has_data = bool(frame["meetings"].sum() or frame["attendee_hours"].sum())
    caption = (f"Meetings held, attendee-hours and distinct people per business day, {data.filter.label}; "
               "weekends in orange.")
    if not has_data:
        return Panel("daily", "Daily usage", caption, no_data(f"No meetings from {data.filter.label}", name),
                     name, False)
    source, datasets = named(frame, name)
    base = alt.Chart(source).encode(
        x=alt.X("date:O", title=None, axis=alt.Axis(labelAngle=-60)),
        color=alt.Color("day_kind:N", scale=DAY_COLOURS, title=None),
        tooltip=["date:O", "weekday:N", alt.Tooltip("meetings:Q", format=","),
                 alt.Tooltip("attendee_hours:Q", format=",.1f", title="attendee-hours"),
                 alt.Tooltip("people:Q", format=",")],
    )
    rows = [
        base.mark_bar().encode(y=alt.Y("meetings:Q", title="meetings")),
        base.mark_bar().encode(y=alt.Y("attendee_hours:Q", title="attendee-hours")),
        base.mark_bar().encode(y=alt.Y("people:Q", title="people")),
    ]
    chart = alt.vconcat(*[r.properties(width=WIDTH, height=110) for r in rows]).properties(datasets=datasets)
    return Panel("daily", "Daily usage", caption, chart, name, True)


def departments_panel(data: ReportData) -> Panel:
    frame = data.departments
    name = "departments"
    caption = (f"Attendee-hours by the attendee's main department, {data.filter.label}; "
               "the largest departments, the rest grouped as Other.")
    if frame.empty:
        return Panel("departments", "Usage by department", caption,
                     no_data(f"No department usage from {data.filter.label}", name), name, False)
    source, datasets = named(frame, name)
    chart = alt.Chart(source).mark_bar(color="#4c78a8").encode(
        x=alt.X("attendee_hours:Q", title="attendee-hours"),
        y=alt.Y("department:N", sort=alt.EncodingSortField("rank", order="ascending"), title=None),
        tooltip=["department:N", alt.Tooltip("attendee_hours:Q", format=",.1f", title="attendee-hours"),
                 alt.Tooltip("peak_daily_users:Q", title="most users on one day")],
    ).properties(width=WIDTH - 160, height=alt.Step(22), datasets=datasets)
    return Panel("departments", "Usage by department", caption, chart, name, True)


def heatmap_panel(data: ReportData) -> Panel:
    frame = data.heatmap
    name = "heatmap"
    caption = (f"Attendee-minutes by local weekday and hour ({data.filter.timezone}), {data.filter.label}; "
               "each join session's minutes are split over the hours it spans.")
    if frame.empty:
        return Panel("heatmap", "When people meet", caption,
                     no_data(f"No sessions from {data.filter.label}", name), name, False)
    source, datasets = named(frame, name)
    chart = alt.Chart(source).mark_rect().encode(
        x=alt.X("hour:O", title="hour of day", scale=alt.Scale(domain=list(range(24)))),
        y=alt.Y("weekday:N", sort=WEEKDAYS, scale=alt.Scale(domain=WEEKDAYS), title=None),
        color=alt.Color("attendee_minutes:Q", title="attendee-minutes", scale=alt.Scale(scheme="blues")),
        tooltip=["weekday:N", "hour:O", alt.Tooltip("attendee_minutes:Q", format=",.0f")],
    ).properties(width=WIDTH - 120, height=alt.Step(26), datasets=datasets)
    return Panel("heatmap", "When people meet", caption, chart, name, True)


def meeting_size_panel(data: ReportData) -> Panel:
    frame = data.meetings
    name = "meetings"
    caption = (f"How many meetings had how many participants, and how long they lasted, {data.filter.label} "
               "(ended meetings).")
    if frame.empty:
        return Panel("meeting-size", "Meeting size and duration", caption,
                     no_data(f"No ended meetings from {data.filter.label}", name), name, False)
    source, datasets = named(frame, name)
    base = alt.Chart(source).mark_bar(color="#54a24b")
    sizes = [label for _, _, label in SIZE_BUCKETS]
    size = base.encode(
        x=alt.X("size_bucket:O", sort=sizes, scale=alt.Scale(domain=sizes), title="participants",
                axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("count():Q", title="meetings"),
        tooltip=[alt.Tooltip("size_bucket:O", title="participants"), alt.Tooltip("count():Q", title="meetings")],
    )
    duration = base.encode(
        x=alt.X("duration_minutes:Q", bin=alt.Bin(step=15), title="duration (minutes)"),
        y=alt.Y("count():Q", title="meetings"),
        tooltip=[alt.Tooltip("duration_minutes:Q", bin=alt.Bin(step=15)), alt.Tooltip("count():Q", title="meetings")],
    )
    chart = alt.hconcat(size.properties(width=WIDTH / 2 - 40, height=200),
                        duration.properties(width=WIDTH / 2 - 40, height=200)).properties(datasets=datasets)
    return Panel("meeting-size", "Meeting size and duration", caption, chart, name, True)


def recurring_panel(data: ReportData) -> Panel:
    frame = data.recurring
    name = "recurring"
    caption = (f"Recurring meetings, occurrence by occurrence: how many of the series' regular attendees "
               f"(at half its occurrences or more) came, {data.filter.label}.")
    if frame.empty:
        return Panel("recurring", "Recurring meetings", caption,
                     no_data(f"No recurring meeting with regular attendees from {data.filter.label}", name),
                     name, False)
    source, datasets = named(frame, name)
    chart = alt.Chart(source).mark_rect().encode(
        x=alt.X("occurrence:O", title="occurrence (local date)", axis=alt.Axis(labelAngle=-60)),
        y=alt.Y("series:N", title=None),
        color=alt.Color("share:Q", title="regulars present", scale=alt.Scale(domain=[0, 1], scheme="greens"),
                        legend=alt.Legend(format=".0%")),
        tooltip=["series:N", "occurrence:O", alt.Tooltip("regulars_present:Q", title="regulars present"),
                 alt.Tooltip("regulars:Q", title="regulars"), alt.Tooltip("share:Q", format=".0%")],
    ).properties(width=alt.Step(16), height=alt.Step(22), datasets=datasets)
    return Panel("recurring", "Recurring meetings", caption, chart, name, True)


def recordings_panel(data: ReportData) -> Panel:
    frame = data.recordings
    name = "recordings"
    never = int(frame["never_watched"].sum()) if not frame.empty else 0
    caption = (f"Views and downloads of the recordings made each day, and the share of each meeting's attendees "
               f"who watched its recording, {data.filter.label}; {never} of {len(frame)} recordings never watched.")
    if frame.empty:
        return Panel("recordings", "Recordings", caption,
                     no_data(f"No recordings from {data.filter.label}", name), name, False)
    source, datasets = named(frame, name)
    base = alt.Chart(source)
    by_day = base.transform_fold(["views", "downloads"], as_=["kind", "count"]).mark_bar().encode(
        x=alt.X("business_date:O", title="recorded on", axis=alt.Axis(labelAngle=-60)),
        y=alt.Y("sum(count):Q", title="views and downloads"),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["views", "downloads"],
                                                                range=["#4c78a8", "#72b7b2"])),
        tooltip=["business_date:O", "kind:N", alt.Tooltip("sum(count):Q", title="count")],
    )
    share = base.transform_calculate(
        watched=alt.expr.if_(alt.datum.never_watched, "never watched", "watched")
    ).mark_bar().encode(
        x=alt.X("attendee_watch_share:Q", bin=alt.Bin(step=0.1), title="share of attendees who watched",
                axis=alt.Axis(format=".0%")),
        y=alt.Y("count():Q", title="recordings"),
        color=alt.Color("watched:N", title=None, scale=alt.Scale(domain=["watched", "never watched"],
                                                                 range=["#54a24b", "#e45756"])),
        tooltip=[alt.Tooltip("attendee_watch_share:Q", bin=alt.Bin(step=0.1), format=".0%"), "watched:N",
                 alt.Tooltip("count():Q", title="recordings")],
    )
    chart = alt.hconcat(by_day.properties(width=WIDTH / 2 - 40, height=200),
                        share.properties(width=WIDTH / 2 - 40, height=200)).resolve_scale(color="independent")
    chart = chart.properties(datasets=datasets)
    return Panel("recordings", "Recordings", caption, chart, name, True)


def licences_panel(data: ReportData) -> Panel:
    frame = data.licences
    name = "licences"
    first, last = data.licence_window
    inactive_enabled = int(frame.loc[(frame["licence_status"] == "enabled")
                                     & (frame["activity"] != "active"), "users"].sum()) if not frame.empty else 0
    caption = (f"Users by licence status, active (hosted or attended a meeting) or not from {first} to {last}; "
               f"{inactive_enabled} enabled licence(s) unused.")
    if frame.empty:
        return Panel("licences", "Licences", caption, no_data("No users in the directory", name), name, False)
    source, datasets = named(frame, name)
    chart = alt.Chart(source).mark_bar().encode(
        x=alt.X("users:Q", title="users", stack="zero"),
        y=alt.Y("licence_status:N", title="licence", sort=["enabled", "inactive", "disabled"]),
        color=alt.Color("activity:N", title=None, scale=alt.Scale(domain=["active", "inactive 30 days"],
                                                                  range=["#54a24b", "#bab0ac"])),
        tooltip=["licence_status:N", "activity:N", "users:Q"],
    ).properties(width=WIDTH - 120, height=alt.Step(30), datasets=datasets)
    return Panel("licences", "Licences", caption, chart, name, True)


PANELS: tuple[Callable[[ReportData], Panel], ...] = (
    daily_panel, departments_panel, heatmap_panel, meeting_size_panel, recurring_panel, recordings_panel,
    licences_panel,
)


def compact_daily_chart(data: ReportData) -> alt.TopLevelMixin:
    """A small attendee-hours trend for the Dagster UI, where the metadata panel is narrow."""
    frame = data.daily
    if not (frame["meetings"].sum() or frame["attendee_hours"].sum()):
        return no_data(f"No meetings from {data.filter.label}", "daily").properties(width=420, height=60)
    source, datasets = named(frame, "daily")
    return alt.Chart(source, title=f"Attendee-hours per day, {data.filter.label}").mark_bar().encode(
        x=alt.X("date:O", title=None, axis=alt.Axis(labelAngle=-60, labelFontSize=8)),
        y=alt.Y("attendee_hours:Q", title="attendee-hours"),
        color=alt.Color("day_kind:N", scale=DAY_COLOURS, title=None),
    ).properties(width=420, height=120, datasets=datasets)
