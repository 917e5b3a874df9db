"""The reporting SQL on a small hand-built lake, each number recomputed independently in pandas."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from resources.lake import Lake
from resources.warehouse import Warehouse
from tests.storage.tables import TABLES, frame

SQL_DIR = Path(__file__).resolve().parents[2] / "assets" / "sql"
D1, D2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
# 30 days before AS_OF is D1 itself: activity on D1 is just outside the window, on D2 inside.
AS_OF = dt.date(2026, 4, 1)
M1, M2, M3 = "10000000000000000001", "10000000000000000002", "10000000000000000003"


def utc(day: dt.date, hour: int, minute: int = 0) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(day.year, day.month, day.day, hour, minute), tz="UTC")


def build_inputs() -> dict[str, pd.DataFrame]:
    users = frame("users", [
        {"userid": "u1", "user_name": "Li Lei", "status": 1, "status_label": "enabled", "role_name": "admin", "main_department_id": "A", "main_department_name": "Sales"},
        {"userid": "u2", "user_name": "Han Meimei", "status": 1, "status_label": "enabled", "main_department_id": "B", "main_department_name": "R&D"},
        {"userid": "u3", "user_name": "Wang Wu", "status": 2, "status_label": "inactive"},
        {"userid": "u4", "user_name": "Zhao Liu", "status": 0, "status_label": "disabled"},
    ])
    user_departments = frame("user_departments", [
        {"userid": "u1", "department_id": "A", "department_name": "Sales", "is_main": True},
        {"userid": "u1", "department_id": "B", "department_name": "R&D", "is_main": False},
        {"userid": "u2", "department_id": "B", "department_name": "R&D", "is_main": True},
    ])
    meetings = frame("meetings", [
        {"meeting_id": M1, "sub_meeting_id": "", "start_time": utc(D1, 2), "end_time": utc(D1, 3), "business_date": D1, "subject": "Weekly", "meeting_type": 0, "creator_userid": "u1", "duration_seconds": 3600.0},
        {"meeting_id": M2, "sub_meeting_id": "s1", "start_time": utc(D1, 6), "end_time": utc(D1, 6, 30), "business_date": D1, "subject": "Standup", "meeting_type": 1, "creator_userid": "u2", "duration_seconds": 1800.0},
        {"meeting_id": M2, "sub_meeting_id": "s2", "start_time": utc(D2, 2), "end_time": utc(D2, 2, 45), "business_date": D2, "subject": "Standup", "meeting_type": 1, "creator_userid": "u2", "duration_seconds": 2700.0},
        {"meeting_id": M3, "sub_meeting_id": "", "start_time": utc(D2, 8), "end_time": utc(D2, 8, 10), "business_date": D2, "subject": "Empty room", "meeting_type": 0, "creator_userid": "u3", "duration_seconds": 600.0},
    ])
    m1, m2a, m2b = (M1, "", utc(D1, 2), D1), (M2, "s1", utc(D1, 6), D1), (M2, "s2", utc(D2, 2), D2)
    people = [
        # (instance, person_key, kind, userid, sessions, attended_seconds)
        (m1, "u1", "enterprise", "u1", 2, 3000.0),
        (m1, "u2", "enterprise", "u2", 1, 3700.0),  # longer than the meeting: the share caps at 1
        (m1, "ms-g1", "external", None, 1, 1200.0),
        (m1, "ms-p1", "pstn", None, 1, 600.0),
        (m2a, "u1", "enterprise", "u1", 1, 1800.0),
        (m2a, "room-1", "rooms", None, 1, 1800.0),
        (m2a, "u3", "enterprise", "u3", 1, 900.0),
        (m2b, "u2", "enterprise", "u2", 1, 2000.0),
        (m2b, "x9", "external", "x9", 1, 100.0),
    ]
    attendance = frame("attendance", [
        {"meeting_id": inst[0], "sub_meeting_id": inst[1], "meeting_start_time": inst[2], "business_date": inst[3],
         "person_key": key, "person_kind": kind, "userid": userid, "sessions": sessions,
         "first_join_time": inst[2], "last_left_time": inst[2] + pd.Timedelta(seconds=seconds), "attended_seconds": seconds,
         "has_open_session": False}
        for inst, key, kind, userid, sessions, seconds in people
    ])
    participant_sessions = frame("participant_sessions", [
        {"meeting_id": inst[0], "sub_meeting_id": inst[1], "meeting_start_time": inst[2], "business_date": inst[3],
         "person_key": key, "person_kind": kind, "userid": userid, "ms_open_id": f"ms-{key}-{n}",
         "join_time": inst[2] + pd.Timedelta(minutes=n)}
        for inst, key, kind, userid, sessions, _ in people
        for n in range(sessions)
    ])
    recordings = frame("recordings", [
        {"meeting_record_id": "R1", "meeting_id": M1, "subject": "Weekly", "host_userid": "u1", "media_start_time": utc(D1, 2, 5), "business_date": D1, "state": 3},
        # Recorded during the second occurrence (s2) of the recurring meeting, not the first.
        {"meeting_record_id": "R2", "meeting_id": M2, "subject": "Standup", "host_userid": "u2", "media_start_time": utc(D2, 2, 10), "business_date": D2, "state": 3},
        {"meeting_record_id": "R3", "meeting_id": "99999999999999999999", "subject": "Elsewhere", "host_userid": "u4", "media_start_time": utc(D2, 9), "business_date": D2, "state": 3},
    ])
    recording_events = frame("recording_events", [
        {"meeting_record_id": "R1", "event_type": 2, "event_kind": "view", "operate_time": utc(D1, 9), "userid": "u1", "business_date": D1},
        {"meeting_record_id": "R1", "event_type": 2, "event_kind": "view", "operate_time": utc(D2, 9), "userid": "u1", "business_date": D1},
        {"meeting_record_id": "R1", "event_type": 2, "event_kind": "view", "operate_time": utc(D2, 10), "userid": "x9", "business_date": D1},
        {"meeting_record_id": "R1", "event_type": 1, "event_kind": "download", "operate_time": utc(D2, 11), "userid": "u2", "business_date": D1},
        {"meeting_record_id": "R2", "event_type": 1, "event_kind": "download", "operate_time": utc(D2, 12), "userid": "u1", "business_date": D2},
    ])
    recording_view_details = frame("recording_view_details", [
        {"record_file_id": "F1", "meeting_record_id": "R1", "userid": "u1", "view_start_time": utc(D1, 9), "watched_seconds": 100.0, "business_date": D1},
        {"record_file_id": "F1", "meeting_record_id": "R1", "userid": "u1", "view_start_time": utc(D2, 9), "watched_seconds": 50.0, "business_date": D1},
        {"record_file_id": "F1", "meeting_record_id": "R1", "userid": "u3", "view_start_time": utc(D2, 9, 30), "watched_seconds": 30.0, "business_date": D1},
        {"record_file_id": "F2", "meeting_record_id": "R2", "userid": "x9", "view_start_time": utc(D2, 13), "watched_seconds": 45.5, "business_date": D2},
    ])
    return {
        "users": users,
        "user_departments": user_departments,
        "meetings": meetings,
        "participant_sessions": participant_sessions,
        "attendance": attendance,
        "recordings": recordings,
        "recording_events": recording_events,
        "recording_view_details": recording_view_details,
    }


def land(lake: Lake, inputs: dict[str, pd.DataFrame]) -> None:
    for table, df in inputs.items():
        schema = TABLES[table]
        if "business_date" not in df.columns:
            lake.write_unpartitioned(table, schema, df)
            continue
        for day, part in df.groupby(df["business_date"].astype(object)):
            lake.write_partition(table, schema, day, part.reset_index(drop=True))


Published = tuple[Warehouse, dict[str, pd.DataFrame]]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    root = tmp_path_factory.mktemp("reports")
    lake = Lake(root / "lake")
    inputs = build_inputs()
    land(lake, inputs)
    warehouse = Warehouse(root / "warehouse.duckdb")
    warehouse.publish(lake, TABLES, SQL_DIR, report_as_of=AS_OF)
    return warehouse, inputs


def rows(warehouse: Warehouse, table: str, order_by: str) -> list[dict[str, object]]:
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        return con.sql(f"SELECT * FROM {table} ORDER BY {order_by}").to_arrow_table().to_pylist()
    finally:
        con.close()


def plain(value: object) -> object:
    if isinstance(value, (list, dict)):
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def assert_rows_match(actual: list[dict[str, object]], expected: pd.DataFrame) -> None:
    expected_rows = [{k: plain(v) for k, v in row.items()} for row in expected.to_dict("records")]
    assert len(actual) == len(expected_rows)
    for got, want in zip(actual, expected_rows, strict=True):
        for column, value in want.items():
            assert column in got, f"report lacks column {column}"
            if isinstance(value, float) and got[column] is not None:
                assert math.isclose(got[column], value, rel_tol=1e-9), (column, got, want)
            else:
                assert got[column] == value, (column, got, want)


def test_daily_usage(published: Published) -> None:
    warehouse, t = published
    meetings, sessions, attendance = t["meetings"], t["participant_sessions"], t["attendance"]
    days = sorted(set(meetings["business_date"]) | set(sessions["business_date"]) | set(attendance["business_date"]))
    expected = []
    for day in days:
        m = meetings[meetings["business_date"] == day]
        a = attendance[attendance["business_date"] == day]
        expected.append({
            "business_date": day,
            "meetings_held": len(m),
            "total_duration_seconds": float(m["duration_seconds"].sum()),
            "avg_duration_seconds": float(m["duration_seconds"].mean()),
            "sessions": int((sessions["business_date"] == day).sum()),
            "distinct_participants": a["person_key"].nunique(),
            "distinct_enterprise_users": a.loc[a["person_kind"] == "enterprise", "person_key"].nunique(),
            "attendee_minutes": float(a["attended_seconds"].sum()) / 60,
        })
    assert_rows_match(rows(warehouse, "report_daily_usage", "business_date"), pd.DataFrame(expected))


def test_usage_by_department(published: Published) -> None:
    warehouse, t = published
    main = t["user_departments"][t["user_departments"]["is_main"].astype(bool)][["userid", "department_id", "department_name"]]
    a = t["attendance"][t["attendance"]["userid"].notna()].merge(main, on="userid", how="left")
    a = a[a["department_id"].notna() | (a["person_kind"] == "enterprise")].copy()
    a["department_name"] = a["department_name"].fillna("(no main department)")
    a["instance"] = list(zip(a["meeting_id"], a["sub_meeting_id"], a["meeting_start_time"], strict=True))
    expected = (
        a.groupby(["department_id", "department_name", "business_date"], dropna=False)
        .agg(
            active_users=("userid", "nunique"),
            meetings_attended=("instance", "nunique"),
            sessions=("sessions", "sum"),
            attendee_minutes=("attended_seconds", lambda s: float(s.sum()) / 60),
        )
        .reset_index()
        .assign(sort_department=lambda df: df["department_id"].fillna("\uffff"))
        .sort_values(["business_date", "sort_department"])
        .drop(columns="sort_department")
    )
    assert len(expected) == 4  # Sales and R&D on D1, u3 without a department on D1, R&D on D2
    actual = rows(warehouse, "report_usage_by_department", "business_date, department_id NULLS LAST")
    assert_rows_match(actual, expected)


def test_meeting_attendance(published: Published) -> None:
    warehouse, t = published
    expected = []
    for m in t["meetings"].to_dict("records"):
        a = t["attendance"]
        a = a[(a["meeting_id"] == m["meeting_id"]) & (a["sub_meeting_id"] == m["sub_meeting_id"]) & (a["meeting_start_time"] == m["start_time"])]
        kinds = a["person_kind"].value_counts()
        shares = (a["attended_seconds"] / m["duration_seconds"]).clip(upper=1.0)
        expected.append({
            "meeting_id": m["meeting_id"],
            "sub_meeting_id": m["sub_meeting_id"],
            "start_time": m["start_time"],
            "business_date": m["business_date"],
            "duration_seconds": m["duration_seconds"],
            "participants": len(a),
            "enterprise_participants": int(kinds.get("enterprise", 0)),
            "external_participants": int(kinds.get("external", 0)),
            "pstn_participants": int(kinds.get("pstn", 0)),
            "rooms_participants": int(kinds.get("rooms", 0)),
            "sessions": int(a["sessions"].sum()),
            "avg_attended_share": float(shares.mean()) if len(a) else None,
        })
    actual = rows(warehouse, "report_meeting_attendance", "start_time, meeting_id, sub_meeting_id")
    assert_rows_match(actual, pd.DataFrame(expected).sort_values(["start_time", "meeting_id", "sub_meeting_id"]))
    assert actual[0]["avg_attended_share"] == pytest.approx((3000 / 3600 + 1.0 + 1200 / 3600 + 600 / 3600) / 4)


def test_recording_engagement(published: Published) -> None:
    warehouse, t = published
    events, details, meetings, attendance = t["recording_events"], t["recording_view_details"], t["meetings"], t["attendance"]
    expected = []
    for r in t["recordings"].to_dict("records"):
        ev = events[events["meeting_record_id"] == r["meeting_record_id"]]
        dv = details[details["meeting_record_id"] == r["meeting_record_id"]]
        viewers = set(ev.loc[ev["event_kind"] == "view", "userid"].dropna()) | set(dv["userid"].dropna())
        instance = meetings[
            (meetings["meeting_id"] == r["meeting_id"])
            & (meetings["start_time"] <= r["media_start_time"])
            & (meetings["end_time"] >= r["media_start_time"])
        ]
        attendees: set[str] = set()
        for m in instance.to_dict("records"):
            a = attendance[(attendance["meeting_id"] == m["meeting_id"]) & (attendance["sub_meeting_id"] == m["sub_meeting_id"]) & (attendance["meeting_start_time"] == m["start_time"])]
            attendees |= set(a["userid"].dropna())
        expected.append({
            "meeting_record_id": r["meeting_record_id"],
            "business_date": r["business_date"],
            "views": int((ev["event_kind"] == "view").sum()),
            "downloads": int((ev["event_kind"] == "download").sum()),
            "unique_viewers": len(viewers),
            "watched_seconds": float(dv["watched_seconds"].sum()),
            "meeting_attendees": len(attendees),
            "attendees_who_watched": len(attendees & viewers),
            "attendee_watch_share": len(attendees & viewers) / len(attendees) if attendees else None,
        })
    actual = rows(warehouse, "report_recording_engagement", "media_start_time, meeting_record_id")
    assert_rows_match(actual, pd.DataFrame(expected))
    assert [row["attendee_watch_share"] for row in actual] == [0.5, 0.5, None]


def test_user_activity(published: Published) -> None:
    warehouse, t = published
    meetings, attendance = t["meetings"], t["attendance"]
    expected = []
    for u in t["users"].sort_values("userid").to_dict("records"):
        hosted = meetings[meetings["creator_userid"] == u["userid"]]
        attended = attendance[attendance["userid"] == u["userid"]]
        active_days = list(hosted["business_date"]) + list(attended["business_date"])
        last_day = max(active_days) if active_days else None
        instants = list(hosted["end_time"]) + list(attended["last_left_time"])
        expected.append({
            "userid": u["userid"],
            "status": u["status"],
            "licence_status": u["status_label"],
            "meetings_hosted": len(hosted),
            "meetings_attended": len(attended),
            "attended_minutes": float(attended["attended_seconds"].sum()) / 60,
            "last_activity_at": max(instants) if instants else None,
            "last_active_date": last_day,
            "inactive_30d": last_day is None or (AS_OF - last_day).days >= 30,
            "report_as_of": AS_OF,
        })
    actual = rows(warehouse, "report_user_activity", "userid")
    assert_rows_match(actual, pd.DataFrame(expected))
    assert {row["userid"]: row["inactive_30d"] for row in actual} == {"u1": True, "u2": False, "u3": False, "u4": True}


def test_reports_build_on_an_empty_lake(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    result = warehouse.publish(Lake(tmp_path / "lake"), TABLES, SQL_DIR, report_as_of=AS_OF)
    reports = {name: n for name, n in result.row_counts.items() if name.startswith("report_")}
    assert reports == {
        "report_daily_usage": 0,
        "report_meeting_attendance": 0,
        "report_recording_engagement": 0,
        "report_usage_by_department": 0,
        "report_user_activity": 0,
    }


def test_every_report_file_explains_what_it_answers() -> None:
    files = sorted(SQL_DIR.glob("*.sql"))
    assert [f.name for f in files] == [
        "10_daily_usage.sql",
        "20_usage_by_department.sql",
        "30_meeting_attendance.sql",
        "40_recording_engagement.sql",
        "50_user_activity.sql",
    ]
    for f in files:
        text = f.read_text()
        assert text.startswith("-- "), f"{f.name} needs a header comment"
        assert "CREATE TABLE report_" in text
