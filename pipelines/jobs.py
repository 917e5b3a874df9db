"""Jobs: the daily pull, the recordings look-back, the hourly snapshots, the webhook rebuilds and the publish."""

import dagster as dg

PULL_ASSETS = (
    "users", "user_departments", "roles",
    "meetings", "participant_sessions", "attendance",
    "recordings", "recording_files",
    "recording_daily_metrics", "recording_events", "recording_view_details",
)
RECORDING_ASSETS = (
    "recordings", "recording_files", "recording_daily_metrics", "recording_events", "recording_view_details",
)
PUBLISH_ASSETS = (
    "warehouse", "report_daily_usage", "report_usage_by_department", "report_meeting_attendance",
    "report_recording_engagement", "report_user_activity",
)
PUBLISH = dg.AssetSelection.assets(*PUBLISH_ASSETS)

daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.assets(*PULL_ASSETS) | PUBLISH,
    description="Yesterday's meetings, participants and recordings, the directory, then the warehouse.",
)

recordings_lookback_job = dg.define_asset_job(
    "recordings_lookback_job",
    selection=dg.AssetSelection.assets(*RECORDING_ASSETS) | PUBLISH,
    description="Recent dates' recordings again: transcoding finishes late and views keep coming.",
)

snapshot_job = dg.define_asset_job(
    "snapshot_job",
    selection=dg.AssetSelection.assets("upcoming_meetings", "live_meetings"),
    description="Upcoming and live meetings as of now; the warehouse follows on the publish debounce.",
)

webhook_job = dg.define_asset_job(
    "webhook_job",
    selection=dg.AssetSelection.assets("webhook_events", "live_attendance"),
    description="The business dates new pushed events touch, rebuilt from the webhook inbox; the warehouse "
    "follows on the publish debounce.",
)

publish_job = dg.define_asset_job(
    "publish_job",
    selection=PUBLISH,
    description="The warehouse and the reporting tables, rebuilt from the lake and swapped in atomically.",
)
