"""Arrow schemas, keys and partition columns of every landed table (docs/tables.md)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa

STRING = pa.string()
TS = pa.timestamp("us", tz="UTC")
DATE = pa.date32()
INT = pa.int64()
FLOAT = pa.float64()
BOOL = pa.bool_()


def _schema(columns: Iterable[tuple[str, pa.DataType]], key: tuple[str, ...]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype, nullable=name not in key) for name, dtype in columns])


KEYS: dict[str, tuple[str, ...]] = {
    "users": ("userid",),
    "user_departments": ("userid", "department_id"),
    "roles": ("role_code",),
    "meetings": ("meeting_id", "sub_meeting_id", "start_time"),
    "participant_sessions": ("meeting_id", "sub_meeting_id", "person_key", "join_time"),
    "attendance": ("meeting_id", "sub_meeting_id", "meeting_start_time", "person_key"),
    "recordings": ("meeting_record_id",),
    "recording_files": ("record_file_id",),
    "recording_daily_metrics": ("meeting_record_id", "metric_date"),
    "recording_events": ("meeting_record_id", "event_type", "operate_time", "userid"),
    "recording_view_details": ("record_file_id", "userid", "view_start_time"),
    "upcoming_meetings": ("snapshot_at", "meeting_id"),
    "live_meetings": ("snapshot_at", "meeting_id"),
    "webhook_events": ("trace_id", "operate_time", "person_key"),
    "live_attendance": ("meeting_id", "sub_meeting_id", "person_key", "join_time"),
    "sync_log": ("run_id", "asset", "partition", "endpoint"),
    "quarantine": ("table_name", "reason", "record_json"),
}

_SNAPSHOT_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("snapshot_at", TS),
    ("meeting_id", STRING),
    ("meeting_code", STRING),
    ("subject", STRING),
    ("creator_userid", STRING),
    ("creator_name", STRING),
    ("meeting_type", INT),
    ("start_time", TS),
    ("end_time", TS),
    ("online_member_num", INT),
    ("meeting_state", INT),
]

_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "users": [
        ("userid", STRING),
        ("user_name", STRING),
        ("email", STRING),
        ("phone", STRING),
        ("area", STRING),
        ("status", INT),
        ("status_label", STRING),
        ("role_code", STRING),
        ("role_name", STRING),
        ("main_department_id", STRING),
        ("main_department_name", STRING),
        ("enable_ai_account", BOOL),
        ("updated_at", TS),
    ],
    "user_departments": [
        ("userid", STRING),
        ("department_id", STRING),
        ("department_name", STRING),
        ("department_full_name", STRING),
        ("is_main", BOOL),
    ],
    "roles": [
        ("role_code", STRING),
        ("role_name", STRING),
        ("role_desc", STRING),
        ("member_count", INT),
    ],
    "meetings": [
        ("meeting_id", STRING),
        ("sub_meeting_id", STRING),
        ("start_time", TS),
        ("end_time", TS),
        ("business_date", DATE),
        ("meeting_code", STRING),
        ("subject", STRING),
        ("meeting_type", INT),
        ("creator_userid", STRING),
        ("creator_userid_type", INT),
        ("creator_name", STRING),
        ("participants_num", INT),
        ("duration_seconds", FLOAT),
        ("user_duration_seconds", FLOAT),
    ],
    "participant_sessions": [
        ("meeting_id", STRING),
        ("sub_meeting_id", STRING),
        ("meeting_start_time", TS),
        ("business_date", DATE),
        ("person_key", STRING),
        ("person_kind", STRING),
        ("userid", STRING),
        ("uuid", STRING),
        ("open_id", STRING),
        ("ms_open_id", STRING),
        ("user_name", STRING),
        ("phone_hash", STRING),
        ("instanceid", INT),
        ("join_type", INT),
        ("user_role", INT),
        ("is_enterprise_user", BOOL),
        ("join_time", TS),
        ("left_time", TS),
        ("session_seconds", FLOAT),
    ],
    "attendance": [
        ("meeting_id", STRING),
        ("sub_meeting_id", STRING),
        ("meeting_start_time", TS),
        ("business_date", DATE),
        ("person_key", STRING),
        ("person_kind", STRING),
        ("userid", STRING),
        ("user_name", STRING),
        ("sessions", INT),
        ("first_join_time", TS),
        ("last_left_time", TS),
        ("attended_seconds", FLOAT),
        ("has_open_session", BOOL),
    ],
    "recordings": [
        ("meeting_record_id", STRING),
        ("meeting_id", STRING),
        ("meeting_code", STRING),
        ("subject", STRING),
        ("host_userid", STRING),
        ("media_start_time", TS),
        ("business_date", DATE),
        ("state", INT),
        ("record_type", INT),
        ("file_count", INT),
        ("total_size_bytes", INT),
    ],
    "recording_files": [
        ("record_file_id", STRING),
        ("meeting_record_id", STRING),
        ("meeting_id", STRING),
        ("business_date", DATE),
        ("record_start_time", TS),
        ("record_end_time", TS),
        ("duration_seconds", FLOAT),
        ("record_size_bytes", INT),
        ("sharing_state", INT),
        ("allow_download", BOOL),
        ("required_same_corp", BOOL),
        ("required_participant", BOOL),
    ],
    "recording_daily_metrics": [
        ("meeting_record_id", STRING),
        ("metric_date", DATE),
        ("business_date", DATE),
        ("view_count", INT),
        ("download_count", INT),
    ],
    "recording_events": [
        ("meeting_record_id", STRING),
        ("event_type", INT),
        ("event_kind", STRING),
        ("operate_time", TS),
        ("userid", STRING),
        ("user_name", STRING),
        ("record_name", STRING),
        ("business_date", DATE),
    ],
    "recording_view_details": [
        ("record_file_id", STRING),
        ("meeting_record_id", STRING),
        ("userid", STRING),
        ("user_name", STRING),
        ("record_file_name", STRING),
        ("view_start_time", TS),
        ("view_end_time", TS),
        ("watched_seconds", FLOAT),
        ("view_progress_pct", FLOAT),
        ("business_date", DATE),
    ],
    "upcoming_meetings": _SNAPSHOT_COLUMNS,
    "live_meetings": _SNAPSHOT_COLUMNS,
    "webhook_events": [
        ("trace_id", STRING),
        ("event", STRING),
        ("operate_time", TS),
        ("business_date", DATE),
        ("meeting_id", STRING),
        ("meeting_code", STRING),
        ("sub_meeting_id", STRING),
        ("person_key", STRING),
        ("person_kind", STRING),
        ("userid", STRING),
        ("user_name", STRING),
        ("payload_json", STRING),
    ],
    "live_attendance": [
        ("meeting_id", STRING),
        ("sub_meeting_id", STRING),
        ("person_key", STRING),
        ("person_kind", STRING),
        ("userid", STRING),
        ("user_name", STRING),
        ("join_time", TS),
        ("left_time", TS),
        ("is_open", BOOL),
        ("business_date", DATE),
    ],
    "sync_log": [
        ("run_id", STRING),
        ("asset", STRING),
        ("partition", STRING),
        ("endpoint", STRING),
        ("calls", INT),
        ("pages", INT),
        ("rows", INT),
        ("retries", INT),
        ("quota_waits", INT),
        ("quota_wait_seconds", FLOAT),
        ("skipped", INT),
        ("skip_reasons", STRING),
        ("started_at", TS),
        ("finished_at", TS),
        ("rows_received", INT),
        ("rows_landed", INT),
        ("rows_quarantined", INT),
        ("rows_deduplicated", INT),
    ],
    "quarantine": [
        ("table_name", STRING),
        ("business_date", DATE),
        ("reason", STRING),
        ("record_json", STRING),
    ],
}

SCHEMAS: dict[str, pa.Schema] = {name: _schema(cols, KEYS[name]) for name, cols in _COLUMNS.items()}

# The lake's Hive partition is the local date of this column; None means one unpartitioned file.
PARTITION_COLUMN: dict[str, str | None] = {
    "users": None,
    "user_departments": None,
    "roles": None,
    "meetings": "business_date",
    "participant_sessions": "business_date",
    "attendance": "business_date",
    "recordings": "business_date",
    "recording_files": "business_date",
    "recording_daily_metrics": "business_date",
    "recording_events": "business_date",
    "recording_view_details": "business_date",
    "upcoming_meetings": "snapshot_at",
    "live_meetings": "snapshot_at",
    "webhook_events": "business_date",
    "live_attendance": "business_date",
    "sync_log": "started_at",
    "quarantine": "business_date",
}


class SchemaError(ValueError):
    """A frame cannot be conformed to its table's schema."""


def _schema_for(table: str) -> pa.Schema:
    try:
        return SCHEMAS[table]
    except KeyError:
        raise SchemaError(f"unknown table {table!r}; known tables: {', '.join(sorted(SCHEMAS))}") from None


def dtypes(table: str) -> dict[str, pd.ArrowDtype]:
    """Column name to pandas dtype, in table order."""
    return {f.name: pd.ArrowDtype(f.type) for f in _schema_for(table)}


def empty_frame(table: str) -> pd.DataFrame:
    """A zero-row frame with the table's exact columns and dtypes."""
    schema = _schema_for(table)
    return schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def _to_arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    # Arrow-backed series hand over their buffers; numpy/object ones are converted with NaN as null.
    return pa.array(series, from_pandas=True)


def conform(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` with exactly the table's columns, order and Arrow dtypes (extra columns are dropped).

    Raises SchemaError naming the column when one is missing, cannot be cast without loss, or
    holds nulls in a key column.
    """
    schema = _schema_for(table)
    missing = [f.name for f in schema if f.name not in df.columns]
    if missing:
        raise SchemaError(f"{table}: missing column(s) {', '.join(missing)}; add them (null is fine for non-key columns)")
    columns: dict[str, pd.Series] = {}
    for field in schema:
        series = df[field.name]
        try:
            array = _to_arrow(series)
            if array.type != field.type:
                array = array.cast(field.type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError) as exc:
            raise SchemaError(
                f"{table}.{field.name}: cannot convert {series.dtype} to {field.type} without loss ({exc})"
            ) from exc
        if not field.nullable and array.null_count:
            raise SchemaError(f"{table}.{field.name} is part of the key and holds {array.null_count} null(s)")
        columns[field.name] = pd.Series(
            pd.arrays.ArrowExtensionArray(pa.chunked_array(array) if isinstance(array, pa.Array) else array),
            index=df.index,
            name=field.name,
        )
    return pd.DataFrame(columns, index=df.index).reset_index(drop=True)


def arrow_table(table: str, df: pd.DataFrame) -> pa.Table:
    """The conformed frame as a pyarrow Table carrying the declared schema (non-null keys included)."""
    conformed = conform(table, df)
    return pa.Table.from_pandas(conformed, preserve_index=False).cast(_schema_for(table))
