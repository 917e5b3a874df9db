"""A simulated day pushed by the emulator over HTTP, picked up by the sensor, landed, and cross-checked with the pull."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pandas as pd

from assets.webhooks import compare_day, matches_webhook_sessions
from emulator.truth import compute_truth
from emulator.webhooks import WebhookSender
from pipelines.definitions import defs
from pipelines.publish import warehouse_publish_sensor
from pipelines.sensors import webhook_inbox_sensor
from pipelines.sync import run_sync
from resources.dagster_resources import StorageResource
from resources.lake import Lake
from resources.webhooks import Inbox
from tests.pipeline.conftest import assert_tables_equal
from tests.webhooks_pipeline.conftest import AES_KEY, DAY, DAY_START, TOKEN, PushedWorld, hours


def _tick(world: PushedWorld, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"storage": StorageResource(data_dir=str(world.data_dir))}
    )
    return webhook_inbox_sensor(context)


def _run(instance: dg.DagsterInstance, request: dg.RunRequest, job_name: str = "webhook_job") -> dg.ExecuteInProcessResult:
    job = defs().resolve_job_def(job_name)
    result = job.execute_in_process(instance=instance, tags=dict(request.tags), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    landed = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events() if e.asset_key}
    if job_name == "webhook_job":
        assert landed == {"webhook_events", "live_attendance"}, "a webhook run must not publish the warehouse"
    return result


def _publish(instance: dg.DagsterInstance) -> None:
    """What the publish sensor does after a webhook run: one publish of the warehouse."""
    request = warehouse_publish_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(request, dg.RunRequest), request
    _run(instance, request, "publish_job")


def _tables(world: PushedWorld) -> tuple[pd.DataFrame, pd.DataFrame]:
    lake = Lake.from_data_dir(world.data_dir)
    return lake.read("webhook_events", start=DAY, end=DAY), lake.read("live_attendance", start=DAY, end=DAY)


def test_pushed_day_lands_and_matches_the_pull(pushed_world: PushedWorld) -> None:
    world = pushed_world
    with dg.instance_for_test() as instance:
        assert isinstance(_tick(world, instance, None), dg.SkipReason), "an empty inbox must skip"

        # Midday: meetings are under way, so some sessions are still open.
        assert world.advance_to(DAY_START + hours(11)) > 0
        first = _tick(world, instance, None)
        assert isinstance(first, dg.SensorResult) and len(first.run_requests or []) == 1
        request = first.run_requests[0]
        assert request.tags["dagster/asset_partition_range_start"] == DAY.isoformat()
        again = _tick(world, instance, None)  # a re-evaluated tick asks for the very same run
        assert isinstance(again, dg.SensorResult) and again.run_requests[0].run_key == request.run_key
        _run(instance, request)
        _, midday = _tables(world)
        assert midday["is_open"].any(), "at 11:00 some participant must still be in a meeting"
        _assert_equals_truth(world)

        nothing = _tick(world, instance, first.cursor)
        assert isinstance(nothing, dg.SkipReason) and "no new events" in (nothing.skip_message or "")

        # The rest of the day and the next morning: every meeting of DAY has ended.
        world.advance_to(DAY_START + hours(36))
        later = _tick(world, instance, first.cursor)
        assert isinstance(later, dg.SensorResult) and later.run_requests
        later_request = later.run_requests[0]
        assert later_request.run_key != request.run_key
        _run(instance, later_request)
        events, sessions = _tables(world)
        assert not sessions.empty and not sessions["is_open"].any()
        _assert_equals_truth(world)
        with Inbox(world.inbox) as inbox:
            stored = inbox.count()
        _publish(instance)
        published = _warehouse_counts(world)
        assert published["webhook_events"] >= len(events) and published["live_attendance"] >= len(sessions)

        # The pull of DAY from the same emulator is the source of truth.
        summary = run_sync(DAY, DAY)
        assert summary.success, summary.failures
        comparison = compare_day(StorageResource(data_dir=str(world.data_dir)), DAY)
        assert comparison.meetings_compared > 0 and comparison.matched > 0
        assert comparison.only_in_pull.empty, comparison.only_in_pull.head()
        assert comparison.only_in_events.empty, comparison.only_in_events.head()
        assert comparison.left_time_differs.empty, comparison.left_time_differs.head()
        assert comparison.matched == comparison.pulled == comparison.from_events

        # The same comparison as the Dagster check the daily job runs after the pull.
        check = _run_check(instance)
        assert check.passed and check.severity == dg.AssetCheckSeverity.WARN
        assert check.metadata["matched"].value == comparison.matched

        # A redelivery of an event already stored changes neither the inbox nor the tables.
        _redeliver_one(world)
        with Inbox(world.inbox) as inbox:
            assert inbox.count() == stored
        assert isinstance(_tick(world, instance, later.cursor), dg.SkipReason)
        _run(instance, later_request)
        events_after, sessions_after = _tables(world)
        pd.testing.assert_frame_equal(events_after, events)
        pd.testing.assert_frame_equal(sessions_after, sessions)


def _assert_equals_truth(world: PushedWorld) -> None:
    """The lake's DAY partitions equal what the emulator computes it has pushed so far, from its own model."""
    truth = compute_truth(world.emu.enterprise, start=DAY, end=DAY)
    for table, frame in zip(("webhook_events", "live_attendance"), _tables(world), strict=True):
        assert len(truth[table]) > 0, f"the emulator pushed no {table}; the test would prove nothing"
        assert_tables_equal(table, frame, truth[table])


def _warehouse_counts(world: PushedWorld) -> dict[str, int]:
    with duckdb.connect(str(world.data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in ("webhook_events", "live_attendance")}  # noqa: S608


def _run_check(instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    """The daily job's participants step for DAY, which runs the cross-check after it lands the pull."""
    job = defs().resolve_job_def("daily_job")
    result = job.execute_in_process(
        instance=instance, partition_key=DAY.isoformat(), asset_selection=[dg.AssetKey("participant_sessions"), dg.AssetKey("attendance")],
    )
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == matches_webhook_sessions.check_key.name]
    assert len(evaluations) == 1
    return evaluations[0]


def _redeliver_one(world: PushedWorld) -> None:
    """Send an already stored event again, the way the platform redelivers (fresh nonce and timestamp)."""
    event = next(e for e in world.emu.enterprise.webhook_events(int(DAY_START.timestamp() * 1000), world.emu.clock.ms())
                 if e["event"] == "meeting.participant-left")
    sender = WebhookSender(world.receiver_url, TOKEN, AES_KEY, seed=1, duplicate_rate=0.0)
    try:
        assert sender.deliver(json.loads(json.dumps(event)))
    finally:
        sender.close()
