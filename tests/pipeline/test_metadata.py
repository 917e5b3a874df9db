"""What an operator sees in the Dagster UI: every materialization carries its cost and a preview."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from emulator.testing import EmulatorHandle
from pipelines.definitions import ASSETS
from pipelines.sync import SYNC_SELECTION
from resources.dagster_resources import StorageResource, TencentMeetingResource
from tests.pipeline.conftest import FIRST, LAST

API_ASSETS = {"users", "meetings", "participant_sessions", "recordings", "recording_daily_metrics"}


def test_materializations_carry_rows_calls_quota_and_preview(pipeline_env: tuple[EmulatorHandle, Path]) -> None:
    emu, _ = pipeline_env
    emu.reset_stats()
    outcome = dg.materialize(
        ASSETS,
        selection=SYNC_SELECTION,
        resources={"tencent": TencentMeetingResource(), "storage": StorageResource()},
        tags={"dagster/asset_partition_range_start": FIRST.isoformat(),
              "dagster/asset_partition_range_end": LAST.isoformat()},
    )
    assert outcome.success
    seen: dict[str, dict[str, object]] = {}
    for event in outcome.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        seen[materialization.asset_key.to_user_string()] = dict(materialization.metadata)
    for asset in API_ASSETS:
        metadata = seen[asset]
        for key in ("dagster/row_count", "api_calls", "api_retries", "quota_waits", "quota_used_today",
                    "skipped_resources", "preview"):
            assert key in metadata, f"{asset} lacks {key}"
    # One asset per step carries the step's cost; together they are exactly what the emulator served.
    reported = sum(int(seen[asset]["api_calls"].value) for asset in API_ASSETS)  # type: ignore[union-attr]
    assert reported > 0
    assert reported == emu.stats()["total_calls"]
