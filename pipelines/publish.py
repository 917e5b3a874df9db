"""When the warehouse is published: after the daily pull and the look-back (their jobs end with it),
and otherwise on a debounce, so a webhook or snapshot run lands its partition and returns at once."""

# No `from __future__ import annotations`: Dagster reads the context annotation at definition time.


import dagster as dg
from dagster import SensorEvaluationContext

from assets import registry
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, RunsFilter

from pipelines.jobs import publish_job
from resources.settings import Settings

PUBLISHING_JOBS = frozenset({"daily_job", "recordings_lookback_job", "publish_job"})
# The tables whose new data waits for the next debounced publish (the logs land with every step).
PUBLISHED_TABLES = (*registry.tables(warehouse="required"), *registry.tables(warehouse="optional"))


def publish_interval_seconds() -> int:
    """At most one debounced publish per ``TMEET_PUBLISH_INTERVAL_SECONDS`` (default 600, at least 30)."""
    return Settings.from_env().publish_interval_seconds


def newest_storage_id(instance: dg.DagsterInstance, tables: tuple[str, ...]) -> int:
    """The event-log position of the latest materialization of any of ``tables`` (0 when none)."""
    records = instance.get_asset_records([dg.AssetKey(t) for t in tables])
    ids = [r.asset_entry.last_materialization_record.storage_id
           for r in records if r.asset_entry.last_materialization_record is not None]
    return max(ids, default=0)


def publishing_runs(instance: dg.DagsterInstance) -> list[str]:
    """Runs queued or in progress that end with a publish: the daily pull, the look-back, a publish."""
    found = instance.get_run_records(
        RunsFilter(statuses=list(IN_PROGRESS_RUN_STATUSES)), limit=100,
    )
    return [r.dagster_run.run_id for r in found if r.dagster_run.job_name in PUBLISHING_JOBS]


@dg.sensor(
    name="warehouse_publish_sensor",
    job=publish_job,
    minimum_interval_seconds=publish_interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Publishes the warehouse when a lake table changed since the last publish (webhook and "
    "snapshot runs do not publish themselves); at most once per TMEET_PUBLISH_INTERVAL_SECONDS.",
)
def warehouse_publish_sensor(context: SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    busy = publishing_runs(context.instance)
    if busy:
        return dg.SkipReason(f"run {busy[0]} publishes when it ends; nothing to add until then")
    landed = newest_storage_id(context.instance, PUBLISHED_TABLES)
    published = newest_storage_id(context.instance, ("warehouse",))
    if landed <= published:
        return dg.SkipReason("the warehouse is up to date with the lake")
    # One request per lake state: a re-evaluated tick for the same state is dropped by its run key.
    return dg.RunRequest(run_key=f"publish-after-{landed}")
