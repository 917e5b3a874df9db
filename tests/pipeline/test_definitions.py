"""The code location loads, matches its reviewed snapshot, and the schedules ask for the right dates and assets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import os

import dagster as dg
import pytest

from assets import registry, tags
from assets.warehouse import REPORTS
from emulator.testing import EmulatorHandle
from pipelines.definitions import ASSETS, defs
from pipelines.schedules import daily_schedule, recordings_lookback_schedule
from resources.dagster_resources import TencentMeetingResource
from tests.pipeline.definitions_snapshot import SNAPSHOT_PATH, UPDATE_ENV, describe, render

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
    assert set(request.asset_selection or []) == _job_keys("daily_job")


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
    assert set(request.asset_selection or []) == _job_keys("recordings_lookback_job")


def test_lookback_days_out_of_range_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.schedules import lookback_days

    monkeypatch.setenv("TMEET_LOOKBACK_DAYS", "45")
    with pytest.raises(ValueError, match="TMEET_LOOKBACK_DAYS"):
        lookback_days()


def _job_keys(name: str) -> set[dg.AssetKey]:
    job = defs().resolve_job_def(name)
    assert job.asset_layer is not None
    return set(job.asset_layer.selected_asset_keys)


@pytest.fixture
def default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot is of the shipped defaults: a deployment's cron, zone or start date would show as a change."""
    for name in list(os.environ):
        if name.startswith("TMEET_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("default_environment")
def test_definitions_match_the_reviewed_snapshot() -> None:
    actual = render(defs())
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT_PATH.write_text(actual, encoding="utf-8")
    expected = SNAPSHOT_PATH.read_text(encoding="utf-8")
    assert actual == expected, (
        f"The code location's assets, checks, jobs, schedules or sensors changed. Review the difference, then "
        f"regenerate {SNAPSHOT_PATH.name} with `python -m tests.pipeline.definitions_snapshot` "
        f"(or run this test with {UPDATE_ENV}=1) and commit it."
    )


def test_every_asset_is_in_exactly_one_home_job() -> None:
    """Each asset runs in the one job its kind names; the look-back re-runs the tables that ask for it and every
    pull job ends with the publish. Nothing is left unscheduled by accident."""
    loaded = defs()
    jobs = {name: _job_keys(name) for name in
            ("daily_job", "recordings_lookback_job", "snapshot_job", "webhook_job", "publish_job")}
    scheduled = {schedule.job_name for schedule in loaded.schedules or []}
    sensed = {sensor.job_name for sensor in loaded.sensors or [] if sensor.has_jobs}
    home = {"pull": "daily_job", "snapshot": "snapshot_job", "webhook": "webhook_job",
            "publish": "publish_job", "report": "publish_job"}
    assert set(home) == set(tags.KINDS)
    for spec in loaded.resolve_all_asset_specs():
        kind = spec.tags[tags.KIND]
        homes = {name for name in ("daily_job", "snapshot_job", "webhook_job", "publish_job") if spec.key in jobs[name]}
        publishing = kind in ("publish", "report")
        expected = {home[kind]}
        assert homes - ({"daily_job"} if publishing else set()) == expected, (spec.key, homes)
        assert home[kind] in scheduled | sensed, f"{home[kind]} has neither a schedule nor a sensor"
        in_lookback = spec.key in jobs["recordings_lookback_job"]
        assert in_lookback == (publishing or spec.tags.get(tags.LOOKBACK) == tags.TRUE), spec.key
        if publishing:
            assert spec.key in jobs["daily_job"], f"the daily pull must end with the publish of {spec.key}"


def test_every_table_is_in_the_warehouse_or_deliberately_not() -> None:
    loaded = defs()
    warehouse_deps = {dep.asset_key for spec in loaded.resolve_all_asset_specs() if spec.key == dg.AssetKey("warehouse")
                      for dep in spec.deps}
    for spec in loaded.resolve_all_asset_specs():
        membership = spec.tags[tags.WAREHOUSE]
        assert membership in tags.MEMBERSHIPS, spec.key
        name = spec.key.to_user_string()
        assert (spec.key in warehouse_deps) == (membership == "required"), name
        assert (name in registry.lake_tables()) == (membership != "built"), name
        assert (membership == "built") == (spec.tags[tags.KIND] in ("publish", "report")), name


def test_registry_holds_every_table_asset_of_the_code_location() -> None:
    """The lists the code derives (warehouse, rebuild, scopes, jobs) read the registry: it must be the Definitions'."""
    in_defs = {spec.key.to_user_string() for spec in defs().resolve_all_asset_specs()
               if spec.tags[tags.KIND] not in ("publish", "report")}
    assert in_defs == {registry.name(spec) for spec in registry.table_specs()}
    sync_keys = {key.to_user_string() for asset in ASSETS for key in asset.keys}
    reports = {f"report_{name}" for name in REPORTS}
    assert sync_keys == (in_defs - set(registry.tables(kind="webhook"))) | {"warehouse"} | reports


def test_snapshot_names_the_changes_a_reviewer_cares_about() -> None:
    described = describe(defs())
    assert described["jobs"]["daily_job"], "a job's resolved selection is part of the snapshot"
    assert described["assets"]["meetings"]["tags"][tags.KIND] == "pull"
    assert any(check.endswith(":partition_fresh") for check in described["checks"])


def test_every_api_table_declares_the_endpoints_doctor_probes() -> None:
    # doctor's reach report reads these; a new API table without them would be reported as reachable
    # whatever the platform answers.
    calling = {registry.name(spec) for spec in registry.table_specs() if tags.SCOPE in spec.tags}
    account = registry.endpoint_needs("account")
    assert set(account) == calling
    assert all(account[table] for table in calling)
    user_level = {registry.name(spec) for spec in registry.table_specs()
                  if spec.tags.get(tags.USER_SCOPE, tags.NO_USER_SCOPE) != tags.NO_USER_SCOPE}
    assert {table for table, needs in registry.endpoint_needs("user").items() if needs} == user_level
    with pytest.raises(ValueError, match="unknown caller"):
        registry.endpoint_needs("robot")
