"""The code location as a deployment with an accounts file loads it: run as a child process, prints JSON.

The definitions read ``TMEET_ACCOUNTS_FILE`` once, when they are imported, so the account-partitioned
ones live in a process of their own and the test process keeps the single-account ones.

``python -m tests.accounts.partitions_probe definitions``: every asset's partitions, the jobs, schedules, sensors.
``python -m tests.accounts.partitions_probe schedule ISO-TIME [ACCOUNT]``: the daily schedule's tick, and
with ACCOUNT, that account's requested run executed in process against the deployment's instance.
``python -m tests.accounts.partitions_probe spanning START END``: a run over a range of two accounts.
``python -m tests.accounts.partitions_probe sensors``: the per-account sensors on a throwaway instance.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from pipelines.definitions import defs
from pipelines.instance import deployment_instance
from resources.dagster_resources import build_resources
from resources.settings import Settings


def _partitions(definition: dg.PartitionsDefinition | None) -> Any:
    if definition is None:
        return None
    if isinstance(definition, dg.MultiPartitionsDefinition):
        return {dim.name: _partitions(dim.partitions_def) for dim in definition.partitions_defs}
    if isinstance(definition, dg.DynamicPartitionsDefinition):
        return f"dynamic:{definition.name}"
    return type(definition).__name__


def definitions() -> dict[str, Any]:
    loaded = defs()
    dg.Definitions.validate_loadable(loaded)
    graph = loaded.resolve_asset_graph()
    return {
        "assets": {key.to_user_string(): _partitions(graph.get(key).partitions_def)
                   for key in graph.get_all_asset_keys()},
        "jobs": {job.name: _partitions(job.partitions_def) for job in loaded.resolve_all_job_defs()
                 if not job.name.startswith("__")},
        "schedules": sorted(s.name for s in loaded.schedules or []),
        "sensors": sorted(s.name for s in loaded.sensors or []),
        "mapping_warehouse_meetings": type(
            graph.get_partition_mapping(dg.AssetKey("warehouse"), dg.AssetKey("meetings"))).__name__,
    }


def _requests(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, dg.SkipReason):
        return []
    return [{"run_key": r.run_key, "partition_key": str(r.partition_key), "tags": dict(r.tags),
             "assets": sorted(k.to_user_string() for k in r.asset_selection or [])} for r in result]


def schedule(at: str, account: str | None) -> dict[str, Any]:
    from pipelines.schedules import daily_schedule, recordings_lookback_schedule, snapshot_schedule

    loaded = defs()
    when = datetime.fromisoformat(at)
    out: dict[str, Any] = {}
    with deployment_instance(Settings.from_env().data_dir) as instance:
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                       resources=build_resources()) as context:
            requests = _requests(daily_schedule(context))
        out["requests"] = requests
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                       resources=build_resources()) as context:
            out["lookback"] = _requests(recordings_lookback_schedule(context))
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context:
            out["snapshots"] = _requests(snapshot_schedule(context))
        secret = os.environ.pop("NORTH_SECRET_KEY")
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                       resources=build_resources()) as context:
            out["requests_without_north_secret"] = _requests(daily_schedule(context))
        os.environ["NORTH_SECRET_KEY"] = secret
        if account is None:
            return out
        (request,) = [r for r in requests if r["partition_key"].startswith(f"{account}|")]
        before = dict(os.environ)
        job = loaded.resolve_job_def("daily_job")
        result = job.execute_in_process(
            instance=instance, partition_key=request["partition_key"], raise_on_error=False,
            asset_selection=[dg.AssetKey(name) for name in request["assets"]],
        )
        out["success"] = result.success
        out["environment_restored"] = dict(os.environ) == before
        out["failures"] = [e.step_failure_data.error.message for e in result.all_events
                           if e.is_step_failure and e.step_failure_data and e.step_failure_data.error]
        out["account_ids"] = {
            e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata["account_id"].value
            for e in result.get_asset_materialization_events()
            if "account_id" in e.step_materialization_data.materialization.metadata
        }
        out["materialized"] = sorted(instance.get_materialized_partitions(dg.AssetKey("meetings")))
    return out


def spanning(start: str, end: str) -> dict[str, Any]:
    loaded = defs()
    job = loaded.resolve_job_def("daily_job")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tmeet_accounts", sorted({start.split("|")[0], end.split("|")[0]}))
        before = dict(os.environ)
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, asset_selection=[dg.AssetKey("meetings")],
            tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        )
        errors = [getattr(e.event_specific_data, "error", None) for e in result.all_events]
        failures = [error.to_string() for error in errors if error is not None]
        return {"success": result.success, "failures": failures, "environment_restored": dict(os.environ) == before,
                "materialized": sorted(instance.get_materialized_partitions(dg.AssetKey("meetings")))}


def sensors() -> dict[str, Any]:
    from pipelines.publish import warehouse_publish_sensor
    from pipelines.sensors import account_partitions_sensor

    out: dict[str, Any] = {}
    with dg.instance_for_test() as instance:
        result = account_partitions_sensor(dg.build_sensor_context(instance=instance))
        out["added"] = [key for request in result.dynamic_partitions_requests for key in request.partition_keys]
        instance.add_dynamic_partitions("tmeet_accounts", out["added"])
        first = out["added"][0]
        out["publish_before"] = _requests(warehouse_publish_sensor(dg.build_sensor_context(instance=instance)))
        instance.report_runless_asset_event(dg.AssetMaterialization("meetings", partition=f"{first}|2026-06-16"))
        out["publish_after_one_account_landed"] = _requests(
            warehouse_publish_sensor(dg.build_sensor_context(instance=instance)))
        instance.report_runless_asset_event(dg.AssetMaterialization("warehouse", partition=f"{first}|2026-06-16"))
        out["publish_after_its_publish"] = _requests(
            warehouse_publish_sensor(dg.build_sensor_context(instance=instance)))
        out["inbox"] = _inbox_ticks(instance, first)
        out["freshness"] = _freshness_tick(instance, out["added"])
    return out


def _inbox_ticks(instance: dg.DagsterInstance, account: str) -> dict[str, Any]:
    """An event in one account's inbox: a run of that account's dates, its cursor, then nothing new."""
    from pipelines.sensors import webhook_inbox_sensor
    from resources.accounts import load_accounts
    from resources.webhooks import Inbox
    from resources.webhooks.inbox import inbox_path
    from tests.normalize.fixtures import webhook_event

    accounts = load_accounts()
    assert accounts is not None
    (chosen,) = accounts.select([account])
    joined = int(datetime(2026, 6, 16, 2, 0, tzinfo=UTC).timestamp() * 1000)  # 10:00 on the 16th in Shanghai
    event = webhook_event("meeting.participant-joined", joined, trace_id="joined")
    path = inbox_path(chosen.data_dir())
    with Inbox(path) as inbox:
        inbox.append(event["trace_id"], event["event"], datetime.now(UTC), json.dumps(event))
    ticks: dict[str, Any] = {}
    cursor = None
    for name in ("first", "second"):
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=build_resources()) as context:
            result = webhook_inbox_sensor(context)
        cursor = result.cursor
        ticks[name] = {"requests": _requests(result.run_requests or []), "cursor": result.cursor}
    return ticks


def _freshness_tick(instance: dg.DagsterInstance, accounts: list[str]) -> dict[str, Any]:
    """One account days behind, the other up to date: the sensor's state and alert per account."""
    from pipelines.alerting import expected_day, freshness_alert_sensor

    due = expected_day(datetime.now(UTC), "Asia/Shanghai")
    stale, fresh = accounts
    instance.report_runless_asset_event(
        dg.AssetMaterialization("meetings", partition=f"{stale}|{due - timedelta(days=3)}"))
    instance.report_runless_asset_event(dg.AssetMaterialization("meetings", partition=f"{fresh}|{due}"))
    context = dg.build_sensor_context(instance=instance)
    freshness_alert_sensor(context)
    state = json.loads(context.cursor or "{}")
    return {"due": due.isoformat(), "meetings": {k: v for k, v in state.items() if k.endswith("/meetings")}}


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "definitions":
        out = definitions()
    elif command == "schedule":
        out = schedule(args[0], args[1] if len(args) > 1 else None)
    elif command == "spanning":
        out = spanning(args[0], args[1])
    else:
        out = sensors()
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
