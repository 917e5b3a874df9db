"""Pure pandas normalizers: raw Tencent Meeting API records to the typed tables of docs/tables.md.

Nothing here imports dagster; the assets call these functions and land what they return.
"""

from __future__ import annotations

from assets.normalize._common import DEFAULT_TZ, Normalized
from assets.normalize.meetings import normalize_corp_ended_meetings, normalize_user_ended_meetings
from assets.normalize.participants import InstanceRef, build_attendance, normalize_participants
from assets.normalize.recording_access import (
    normalize_record_events,
    normalize_record_metrics,
    normalize_view_details,
)
from assets.normalize.recordings import normalize_recordings
from assets.normalize.snapshots import normalize_snapshot
from assets.normalize.users import normalize_corp_users, normalize_roles, normalize_user_info
from assets.normalize.webhooks import build_live_attendance, normalize_webhook_events

__all__ = [
    "DEFAULT_TZ",
    "InstanceRef",
    "Normalized",
    "build_attendance",
    "build_live_attendance",
    "normalize_corp_ended_meetings",
    "normalize_corp_users",
    "normalize_participants",
    "normalize_record_events",
    "normalize_record_metrics",
    "normalize_recordings",
    "normalize_roles",
    "normalize_snapshot",
    "normalize_user_ended_meetings",
    "normalize_user_info",
    "normalize_view_details",
    "normalize_webhook_events",
]
