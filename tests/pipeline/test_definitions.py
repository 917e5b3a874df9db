"""The code location loads, and the schedules ask for the right dates and assets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from emulator.testing import EmulatorHandle
from pipelines.definitions import defs
from pipelines.jobs import PUBLISH_ASSETS, PULL_ASSETS, RECORDING_ASSETS
from pipelines.schedules import daily_schedule, recordings_lookback_schedule
from resources.dagster_resources import TencentMeetingResource

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_definitions_load() -> None:
    loaded = defs()
    dg.Definitions.validate_loadable(loaded)
    for job in ("daily_job", "recordings_lookback_job", "snapshot_job"):
        assert loaded.resolve_job_def(job) is not None


def test_daily_schedule_requests_yesterday_with_every_asset(
    pipeline_env: tuple[EmulatorHandle, Path],
) -> None:
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 6, 17, 1, 30, tzinfo=SHANGHAI),
        resources={"tencent": TencentMeetingResource()},
    )
    request = daily_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-06-16"
    assert {k.to_user_string() for k in request.asset_selection or []} == set(PULL_ASSETS) | set(PUBLISH_ASSETS)


def test_lookback_schedule_requests_one_range_run(
    pipeline_env: tuple[EmulatorHandle, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMEET_LOOKBACK_DAYS", "7")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 6, 17, 3, 30, tzinfo=SHANGHAI),
        resources={"tencent": TencentMeetingResource()},
    )
    request = recordings_lookback_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-06-09"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-06-15"
    assert {k.to_user_string() for k in request.asset_selection or []} == set(RECORDING_ASSETS) | set(PUBLISH_ASSETS)


def test_lookback_days_out_of_range_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.schedules import lookback_days

    monkeypatch.setenv("TMEET_LOOKBACK_DAYS", "45")
    with pytest.raises(ValueError, match="TMEET_LOOKBACK_DAYS"):
        lookback_days()
