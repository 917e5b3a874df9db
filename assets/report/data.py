"""What each chart of the usage report shows, queried from the published warehouse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from resources.platform_constants import PLATFORM_TIMEZONE

DEFAULT_DAYS = 30
LICENCE_WINDOW_DAYS = 30
TOP_DEPARTMENTS = 10
# Attendees of at least this share of a series' occurrences are its regulars.
REGULAR_SHARE = 0.5
TOP_SERIES = 12
# Meeting sizes span 1 to several hundred people; equal-width bins would put nearly all in one.
SIZE_BUCKETS = ((0, 0, "0"), (1, 1, "1"), (2, 2, "2"), (3, 5, "3-5"), (6, 10, "6-10"), (11, 25, "11-25"), (26, 50, "26-50"),
                (51, 100, "51-100"), (101, 250, "101-250"), (251, None, "251+"))


class ReportDataError(RuntimeError):
    """The warehouse cannot be read for the report."""


@dataclass(frozen=True)
class ReportFilter:
    start: dt.date
    end: dt.date
    department: str | None = None
    timezone: str = PLATFORM_TIMEZONE

    @property
    def label(self) -> str:
        where = f", department {self.department}" if self.department else ""
        return f"{self.start.isoformat()} to {self.end.isoformat()}{where}"


@dataclass(frozen=True)
class ReportData:
    filter: ReportFilter
    daily: pd.DataFrame
    departments: pd.DataFrame
    heatmap: pd.DataFrame
    meetings: pd.DataFrame
    recurring: pd.DataFrame
    recordings: pd.DataFrame
    licences: pd.DataFrame
    licence_window: tuple[dt.date, dt.date]


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    if not Path(path).is_file():
        raise ReportDataError(
            f"no warehouse at {path}: run `tmeet-etl sync` (or `make demo`) first, or point "
            "TMEET_DATA_DIR at the directory that holds warehouse.duckdb"
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ReportDataError(f"cannot open {path} read-only: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    return con


def default_range(con: duckdb.DuckDBPyConnection, start: dt.date | None, end: dt.date | None,
                  today: dt.date) -> tuple[dt.date, dt.date]:
    """Up to ``DEFAULT_DAYS`` days ending on the last day with data (today when there is none)."""
    earliest, latest = con.execute("SELECT min(business_date), max(business_date) FROM report_daily_usage").fetchone()
    if end is None:
        end = latest or today
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if earliest is not None and earliest <= end:
            start = max(start, earliest)
    if start > end:
        raise ReportDataError(f"--start {start} is after --end {end}: give a start on or before the end")
    return start, end


def load(con: duckdb.DuckDBPyConnection, flt: ReportFilter) -> ReportData:
    con.execute("SET VARIABLE rs = CAST(? AS DATE)", [flt.start.isoformat()])
    con.execute("SET VARIABLE re = CAST(? AS DATE)", [flt.end.isoformat()])
    con.execute("SET VARIABLE dept = ?", [flt.department])
    con.execute("SET VARIABLE tz = ?", [flt.timezone])
    # People of the chosen department (by main department, id or name); everyone without a filter.
    con.execute(PEOPLE_SQL)
    if flt.department is not None:
        _check_department(con, flt.department)
    window_start = flt.end - dt.timedelta(days=LICENCE_WINDOW_DAYS - 1)
    con.execute("SET VARIABLE ls = CAST(? AS DATE)", [window_start.isoformat()])
    return ReportData(
        filter=flt,
        daily=_daily(con, flt),
        departments=con.execute(DEPARTMENTS_SQL).df(),
        heatmap=con.execute(HEATMAP_SQL).df(),
        meetings=_with_size_bucket(con.execute(MEETINGS_SQL).df()),
        recurring=_recurring(con.execute(RECURRING_SQL).df()),
        recordings=con.execute(RECORDINGS_SQL).df(),
        licences=con.execute(LICENCES_SQL).df(),
        licence_window=(window_start, flt.end),
    )


def _check_department(con: duckdb.DuckDBPyConnection, department: str) -> None:
    (people,) = con.execute("SELECT count(*) FROM report_people").fetchone()
    if people:
        return
    known = [name for (name,) in con.execute(
        "SELECT DISTINCT main_department_name FROM users WHERE main_department_name IS NOT NULL ORDER BY 1 LIMIT 12"
    ).fetchall()]
    raise ReportDataError(
        f"no user has the main department {department!r}; give a department id or one of these names: "
        + (", ".join(known) or "(the directory has no departments)")
    )


def _daily(con: duckdb.DuckDBPyConnection, flt: ReportFilter) -> pd.DataFrame:
    sql = DAILY_SQL if flt.department is None else DAILY_DEPARTMENT_SQL
    frame = con.execute(sql).df()
    days = pd.DataFrame({"day": pd.date_range(flt.start, flt.end, freq="D")})
    frame["day"] = pd.to_datetime(frame["day"])
    # Days without meetings stay on the axis as zeros: a quiet weekend is part of the picture.
    full = days.merge(frame, on="day", how="left").fillna({"meetings": 0, "attendee_hours": 0.0, "people": 0})
    full["meetings"] = full["meetings"].astype("int64")
    full["people"] = full["people"].astype("int64")
    full["weekday"] = full["day"].dt.day_name()
    full["day_kind"] = full["day"].dt.day_of_week.map(lambda d: "weekend" if d >= 5 else "weekday")
    full["date"] = full["day"].dt.strftime("%Y-%m-%d")
    return full.drop(columns=["day"])[["date", "weekday", "day_kind", "meetings", "attendee_hours", "people"]]


def _with_size_bucket(frame: pd.DataFrame) -> pd.DataFrame:
    def bucket(participants: int) -> str:
        return next(label for low, high, label in SIZE_BUCKETS
                    if participants >= low and (high is None or participants <= high))

    frame["size_bucket"] = frame["participants"].map(bucket) if not frame.empty else pd.Series(dtype=str)
    return frame


def _recurring(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    frame["occurrence"] = pd.to_datetime(frame["occurrence_start"]).dt.strftime("%Y-%m-%d")
    frame["share"] = frame["regulars_present"] / frame["regulars"]
    return frame.drop(columns=["occurrence_start"])


PEOPLE_SQL = """
CREATE OR REPLACE TEMP TABLE report_people AS
SELECT u.userid, u.status_label, u.main_department_name
FROM users AS u
WHERE getvariable('dept') IS NULL
   OR u.main_department_id = getvariable('dept')
   OR u.main_department_name = getvariable('dept')
"""

# The enterprise's own daily report, so the chart's numbers are the warehouse's numbers.
DAILY_SQL = """
SELECT business_date AS day, meetings_held AS meetings, attendee_minutes / 60.0 AS attendee_hours,
       distinct_participants AS people
FROM report_daily_usage
WHERE business_date BETWEEN getvariable('rs') AND getvariable('re')
"""

DAILY_DEPARTMENT_SQL = """
SELECT a.business_date AS day,
       count(DISTINCT (a.meeting_id, a.sub_meeting_id, a.meeting_start_time)) AS meetings,
       coalesce(sum(a.attended_seconds), 0) / 3600.0 AS attendee_hours,
       count(DISTINCT a.userid) AS people
FROM attendance AS a JOIN report_people AS p USING (userid)
WHERE a.business_date BETWEEN getvariable('rs') AND getvariable('re')
GROUP BY a.business_date
"""

DEPARTMENTS_SQL = f"""
WITH totals AS (
    SELECT department_name, sum(attendee_minutes) / 60.0 AS attendee_hours,
           max(active_users) AS peak_daily_users
    FROM report_usage_by_department
    WHERE business_date BETWEEN getvariable('rs') AND getvariable('re')
      AND (getvariable('dept') IS NULL OR department_id = getvariable('dept')
           OR department_name = getvariable('dept'))
    GROUP BY department_name
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY attendee_hours DESC, department_name) AS rank FROM totals
)
SELECT department_name AS department, attendee_hours, peak_daily_users, rank
FROM ranked WHERE rank <= {TOP_DEPARTMENTS}
UNION ALL
SELECT 'Other (' || count(*) || ' departments)', sum(attendee_hours), max(peak_daily_users), {TOP_DEPARTMENTS} + 1
FROM ranked WHERE rank > {TOP_DEPARTMENTS}
HAVING count(*) > 0
ORDER BY rank
"""

# Each session's minutes are split over the local clock hours it spans.
HEATMAP_SQL = """
WITH local_sessions AS (
    SELECT timezone(getvariable('tz'), s.join_time) AS joined,
           timezone(getvariable('tz'), s.left_time) AS left_at
    FROM participant_sessions AS s
    WHERE s.business_date BETWEEN getvariable('rs') AND getvariable('re')
      AND s.left_time > s.join_time
      AND (getvariable('dept') IS NULL OR s.userid IN (SELECT userid FROM report_people))
),
hours AS (
    SELECT joined, left_at, unnest(range(date_trunc('hour', joined), left_at, INTERVAL 1 HOUR)) AS hour_start
    FROM local_sessions
)
SELECT isodow(hour_start) AS weekday_number, dayname(hour_start) AS weekday, hour(hour_start) AS hour,
       sum(epoch(least(left_at, hour_start + INTERVAL 1 HOUR)) - epoch(greatest(joined, hour_start))) / 60.0
           AS attendee_minutes
FROM hours
GROUP BY ALL
ORDER BY weekday_number, hour
"""

MEETINGS_SQL = """
SELECT m.meeting_id, m.sub_meeting_id, m.subject, strftime(m.business_date, '%Y-%m-%d') AS business_date,
       m.participants,
       m.duration_seconds / 60.0 AS duration_minutes
FROM report_meeting_attendance AS m
WHERE m.business_date BETWEEN getvariable('rs') AND getvariable('re')
  AND (getvariable('dept') IS NULL OR EXISTS (
      SELECT 1 FROM attendance AS a JOIN report_people AS p USING (userid)
      WHERE a.meeting_id = m.meeting_id AND a.sub_meeting_id = m.sub_meeting_id
        AND a.meeting_start_time = m.start_time))
"""

RECURRING_SQL = f"""
WITH occurrences AS (
    SELECT meeting_id, sub_meeting_id, start_time, subject
    FROM meetings
    WHERE meeting_type = 1 AND business_date BETWEEN getvariable('rs') AND getvariable('re')
),
present AS (
    SELECT DISTINCT o.meeting_id, o.sub_meeting_id, o.start_time, a.userid
    FROM occurrences AS o
    JOIN attendance AS a
      ON a.meeting_id = o.meeting_id AND a.sub_meeting_id = o.sub_meeting_id AND a.meeting_start_time = o.start_time
    WHERE a.userid IS NOT NULL
),
series AS (
    SELECT meeting_id, any_value(subject) AS subject, count(*) AS occurrences FROM occurrences GROUP BY meeting_id
),
regulars AS (
    SELECT p.meeting_id, p.userid
    FROM present AS p JOIN series AS s USING (meeting_id)
    GROUP BY p.meeting_id, p.userid, s.occurrences
    HAVING count(*) >= {REGULAR_SHARE} * s.occurrences
       AND (getvariable('dept') IS NULL OR p.userid IN (SELECT userid FROM report_people))
),
top_series AS (
    SELECT s.meeting_id, s.subject || ' (' || right(s.meeting_id, 6) || ')' AS series
    FROM series AS s
    WHERE s.occurrences >= 2 AND EXISTS (SELECT 1 FROM regulars AS r WHERE r.meeting_id = s.meeting_id)
    ORDER BY s.occurrences DESC, s.meeting_id
    LIMIT {TOP_SERIES}
)
SELECT t.series, timezone(getvariable('tz'), o.start_time) AS occurrence_start,
       (SELECT count(*) FROM regulars AS r WHERE r.meeting_id = o.meeting_id) AS regulars,
       (SELECT count(*) FROM regulars AS r JOIN present AS p
            ON p.meeting_id = r.meeting_id AND p.userid = r.userid
        WHERE r.meeting_id = o.meeting_id AND p.sub_meeting_id = o.sub_meeting_id AND p.start_time = o.start_time)
           AS regulars_present
FROM occurrences AS o JOIN top_series AS t USING (meeting_id)
ORDER BY t.series, o.start_time
"""

RECORDINGS_SQL = """
SELECT r.meeting_record_id, r.subject, strftime(r.business_date, '%Y-%m-%d') AS business_date, r.views, r.downloads, r.unique_viewers,
       r.meeting_attendees, r.attendee_watch_share, r.views = 0 AND r.unique_viewers = 0 AS never_watched
FROM report_recording_engagement AS r
WHERE r.business_date BETWEEN getvariable('rs') AND getvariable('re')
  AND (getvariable('dept') IS NULL OR r.host_userid IN (SELECT userid FROM report_people))
ORDER BY r.business_date, r.meeting_record_id
"""

# Active means hosting or attending a meeting in the 30 days ending on the report's end date,
# the definition of report_user_activity.inactive_30d with the report's end as the as-of date.
LICENCES_SQL = """
WITH active AS (
    SELECT creator_userid AS userid FROM meetings
    WHERE business_date BETWEEN getvariable('ls') AND getvariable('re')
    UNION
    SELECT userid FROM attendance
    WHERE business_date BETWEEN getvariable('ls') AND getvariable('re') AND userid IS NOT NULL
)
SELECT p.status_label AS licence_status,
       CASE WHEN a.userid IS NULL THEN 'inactive 30 days' ELSE 'active' END AS activity,
       count(*) AS users
FROM report_people AS p LEFT JOIN active AS a USING (userid)
GROUP BY ALL
ORDER BY licence_status, activity
"""
