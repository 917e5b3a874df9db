"""The Dagster code location: one entry point wiring assets, jobs, schedules and resources."""

import dagster as dg

from assets.meetings import meetings_asset
from assets.participants import participants
from assets.recording_access import recording_access
from assets.recordings import recordings_assets
from assets.snapshots import meeting_snapshots
from assets.users import directory
from assets.warehouse import warehouse
from pipelines.jobs import daily_job, recordings_lookback_job, snapshot_job
from pipelines.schedules import daily_schedule, recordings_lookback_schedule, snapshot_schedule
from resources.dagster_resources import build_resources

ASSETS = [directory, meetings_asset, participants, recordings_assets, recording_access, meeting_snapshots, warehouse]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        jobs=[daily_job, recordings_lookback_job, snapshot_job],
        schedules=[daily_schedule, recordings_lookback_schedule, snapshot_schedule],
        resources=build_resources(),
    )
