"""The warehouse publishes after the daily pull and the look-back, and on a debounce after small runs."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus

from pipelines.definitions import defs
from assets.warehouse import REPORTS
from pipelines.publish import warehouse_publish_sensor


def _job_assets(name: str) -> set[str]:
    job = defs().resolve_job_def(name)
    return {key.to_user_string() for key in job.asset_layer.selected_asset_keys}


PUBLISH_ASSETS = {"warehouse", *(f"report_{name}" for name in REPORTS)}


def test_only_the_daily_and_lookback_jobs_publish() -> None:
    for name in ("daily_job", "recordings_lookback_job", "publish_job"):
        assert set(PUBLISH_ASSETS) <= _job_assets(name), name
    for name in ("webhook_job", "snapshot_job"):
        assert not set(PUBLISH_ASSETS) & _job_assets(name), name


def test_materialize_all_of_the_daily_job_has_no_unmaterialized_upstream() -> None:
    """The UI warns about upstream assets outside the selection; the daily job's selection has none."""
    graph = defs().resolve_asset_graph()
    selected = {dg.AssetKey(name) for name in _job_assets("daily_job")}
    outside = {parent for key in selected for parent in graph.get(key).parent_keys} - selected
    assert not outside, sorted(k.to_user_string() for k in outside)


def _tick(instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    return warehouse_publish_sensor(dg.build_sensor_context(instance=instance))


def test_publish_sensor_debounces_small_runs_into_one_publish() -> None:
    with dg.instance_for_test() as instance:
        assert isinstance(_tick(instance), dg.SkipReason), "nothing landed, nothing to publish"
        instance.report_runless_asset_event(dg.AssetMaterialization("webhook_events", partition="2026-06-16"))
        instance.report_runless_asset_event(dg.AssetMaterialization("live_attendance", partition="2026-06-16"))
        first = _tick(instance)
        assert isinstance(first, dg.RunRequest)
        assert first.run_key == _tick(instance).run_key, "the same lake state asks for the same run"

        instance.report_runless_asset_event(dg.AssetMaterialization("warehouse"))
        assert isinstance(_tick(instance), dg.SkipReason), "published since the last landing"

        instance.report_runless_asset_event(dg.AssetMaterialization("upcoming_meetings", partition="2026-06-17"))
        later = _tick(instance)
        assert isinstance(later, dg.RunRequest) and later.run_key != first.run_key


def test_publish_sensor_waits_for_a_run_that_publishes_anyway() -> None:
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("meetings", partition="2026-06-16"))
        assert isinstance(_tick(instance), dg.RunRequest)
        daily = instance.create_run_for_job(defs().resolve_job_def("daily_job"), status=DagsterRunStatus.STARTED)
        waiting = _tick(instance)
        assert isinstance(waiting, dg.SkipReason) and daily.run_id in (waiting.skip_message or "")
        instance.report_run_failed(daily)
        assert isinstance(_tick(instance), dg.RunRequest)
