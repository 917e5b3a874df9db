"""A command-line sync is a run of the deployment's instance, visible in the UI like any other."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from emulator.testing import EmulatorHandle
from assets.partitions import account_timezone
from pipelines.rebuild import rebuild
from pipelines.instance import LAUNCHED_BY_TAG
from pipelines.sync import run_sync
from resources.lake import Lake
from tests.ops.services import check_executions, materializations, runs, service_env, webserver
from tests.pipeline.conftest import FIRST, LAST


@pytest.mark.timeout(900)
def test_cli_sync_is_a_run_in_the_ui(pipeline_env: tuple[EmulatorHandle, Path], tmp_path: Path) -> None:
    _, data_dir = pipeline_env
    summary = run_sync(FIRST, LAST)
    assert summary.success, summary.failures
    home = data_dir / "dagster_home"
    assert (home / "dagster.yaml").exists(), "the instance was not created under the data directory"
    lake = Lake.from_data_dir(data_dir)

    with webserver(service_env(home), tmp_path, tmp_path / "webserver.log") as url:
        found = runs(url, {LAUNCHED_BY_TAG: "sync"})
        assert len(found) == 1, found
        run = found[0]
        assert run["status"] == "SUCCESS" and run["jobName"] == "tmeet_etl_sync"
        for asset in ("meetings", "participant_sessions", "recordings"):
            events = [m for m in materializations(url, asset) if m["runId"] == run["runId"]]
            assert {m["partition"] for m in events} == {str(d) for d in lake.partitions(asset)}, asset
        warehouse = [m for m in materializations(url, "warehouse") if m["runId"] == run["runId"]]
        assert len(warehouse) == 1
        checks = check_executions(url, "meetings", "key_unique")
        assert [c["runId"] for c in checks] == [run["runId"]]
        assert checks[0]["status"] == "SUCCEEDED"


@pytest.mark.timeout(900)
def test_rebuild_is_a_run_with_the_partitions_it_replaced(pipeline_env: tuple[EmulatorHandle, Path]) -> None:
    _, data_dir = pipeline_env
    assert run_sync(FIRST, LAST).success
    summary = rebuild(data_dir, account_timezone(), start=FIRST, end=LAST, tables=["meetings"])
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        (run,) = instance.get_runs(RunsFilter(tags={LAUNCHED_BY_TAG: "rebuild"}))
        assert run.status == DagsterRunStatus.SUCCESS
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("meetings")), limit=1000
        ).records
        rebuilt = {r.partition_key for r in records if r.run_id == run.run_id}
        assert rebuilt == {str(d) for d in summary.days_by_table["meetings"]} == {
            str(d) for d in Lake.from_data_dir(data_dir).partitions("meetings")}
        warehouse = [r for r in instance.fetch_materializations(dg.AssetKey("warehouse"), limit=10).records
                     if r.run_id == run.run_id]
        assert len(warehouse) == 1
