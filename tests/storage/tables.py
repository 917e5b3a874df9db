"""The reporting inputs' Arrow schemas, transcribed from docs/tables.md for these tests only."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

S, TS, D, I, F, B = pa.string(), pa.timestamp("us", tz="UTC"), pa.date32(), pa.int64(), pa.float64(), pa.bool_()


def _schema(*columns: tuple[str, pa.DataType], key: tuple[str, ...] = ()) -> pa.Schema:
    return pa.schema([pa.field(name, kind, nullable=name not in key) for name, kind in columns])


TABLES: dict[str, pa.Schema] = {
    "users": _schema(
        ("userid", S), ("user_name", S), ("email", S), ("phone", S), ("area", S), ("status", I),
        ("status_label", S), ("role_code", S), ("role_name", S), ("main_department_id", S),
        ("main_department_name", S), ("enable_ai_account", B), ("updated_at", TS),
        key=("userid",),
    ),
    "user_departments": _schema(
        ("userid", S), ("department_id", S), ("department_name", S), ("department_full_name", S),
        ("is_main", B),
        key=("userid", "department_id"),
    ),
    "meetings": _schema(
        ("meeting_id", S), ("sub_meeting_id", S), ("start_time", TS), ("end_time", TS),
        ("business_date", D), ("meeting_code", S), ("subject", S), ("meeting_type", I),
        ("creator_userid", S), ("creator_userid_type", I), ("creator_name", S),
        ("participants_num", I), ("duration_seconds", F), ("user_duration_seconds", F),
        key=("meeting_id", "sub_meeting_id", "start_time"),
    ),
    "participant_sessions": _schema(
        ("meeting_id", S), ("sub_meeting_id", S), ("meeting_start_time", TS), ("business_date", D),
        ("person_key", S), ("person_kind", S), ("userid", S), ("uuid", S), ("open_id", S),
        ("ms_open_id", S), ("user_name", S), ("phone_hash", S), ("instanceid", I), ("join_type", I),
        ("user_role", I), ("is_enterprise_user", B), ("join_time", TS), ("left_time", TS),
        ("session_seconds", F),
        key=("meeting_id", "sub_meeting_id", "person_key", "join_time"),
    ),
    "attendance": _schema(
        ("meeting_id", S), ("sub_meeting_id", S), ("meeting_start_time", TS), ("business_date", D),
        ("person_key", S), ("person_kind", S), ("userid", S), ("user_name", S), ("sessions", I),
        ("first_join_time", TS), ("last_left_time", TS), ("attended_seconds", F),
        ("has_open_session", B),
        key=("meeting_id", "sub_meeting_id", "meeting_start_time", "person_key"),
    ),
    "recordings": _schema(
        ("meeting_record_id", S), ("meeting_id", S), ("meeting_code", S), ("subject", S),
        ("host_userid", S), ("media_start_time", TS), ("business_date", D), ("state", I),
        ("record_type", I), ("file_count", I), ("total_size_bytes", I),
        key=("meeting_record_id",),
    ),
    "recording_events": _schema(
        ("meeting_record_id", S), ("event_type", I), ("event_kind", S), ("operate_time", TS),
        ("userid", S), ("user_name", S), ("record_name", S), ("business_date", D),
        key=("meeting_record_id", "event_type", "operate_time", "userid"),
    ),
    "recording_view_details": _schema(
        ("record_file_id", S), ("meeting_record_id", S), ("userid", S), ("user_name", S),
        ("record_file_name", S), ("view_start_time", TS), ("view_end_time", TS),
        ("watched_seconds", F), ("view_progress_pct", F), ("business_date", D),
        key=("record_file_id", "userid", "view_start_time"),
    ),
}


def frame(table: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    """A frame of ``table``'s schema from row dicts (missing keys are null), Arrow-typed."""
    schema = TABLES[table]
    data = {
        f.name: pd.array([row.get(f.name) for row in rows], dtype=pd.ArrowDtype(f.type))
        for f in schema
    }
    return pd.DataFrame(data, columns=schema.names)
