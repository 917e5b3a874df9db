"""When the warehouse is published: after the daily pull and the look-back (their jobs end with it),
and otherwise on a debounce, so a webhook or snapshot run lands its partition and returns at once.

With several accounts each account has its own warehouse: an account whose tables changed since
its own last publish gets a publish run for its partition, whatever the other accounts do.
"""

# No `from __future__ import annotations`: Dagster reads the context annotation at definition time.


import dagster as dg
from dagster import SensorEvaluationContext

from assets import registry
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, RunsFilter

from assets.partitions import MULTI_ACCOUNT, daily_dates, daily_key
from dagster._core.events import DagsterEventType
from pipelines.instance import add_account_partitions
from pipelines.jobs import publish_job
from resources.account_scope import RunSpansAccounts, account_environs, account_of_tags
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


def newest_storage_ids_by_account(instance: dg.DagsterInstance, tables: tuple[str, ...]) -> dict[str, int]:
    """Account → the event-log position of its latest materialization of any of ``tables``.

    Every partition key names its account first (``north|2026-06-16``, or ``north`` for a snapshot).
    """
    newest: dict[str, int] = {}
    for table in tables:
        by_partition = instance.get_latest_storage_id_by_partition(
            dg.AssetKey(table), DagsterEventType.ASSET_MATERIALIZATION)
        for key, storage_id in by_partition.items():
            account = key.partition("|")[0]
            newest[account] = max(newest.get(account, 0), storage_id)
    return newest


def run_account(run: dg.DagsterRun) -> str | None:
    try:
        return account_of_tags(run.tags)
    except RunSpansAccounts:
        return None


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
def warehouse_publish_sensor(
    context: SensorEvaluationContext,
) -> dg.RunRequest | list[dg.RunRequest] | dg.SkipReason:
    if MULTI_ACCOUNT:
        return publish_per_account(context)
    busy = publishing_runs(context.instance)
    if busy:
        return dg.SkipReason(f"run {busy[0]} publishes when it ends; nothing to add until then")
    landed = newest_storage_id(context.instance, PUBLISHED_TABLES)
    published = newest_storage_id(context.instance, ("warehouse",))
    if landed <= published:
        return dg.SkipReason("the warehouse is up to date with the lake")
    # One request per lake state: a re-evaluated tick for the same state is dropped by its run key.
    return dg.RunRequest(run_key=f"publish-after-{landed}")


def publish_per_account(context: SensorEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    """One publish run per account whose tables changed since its own last publish."""
    instance = context.instance
    accounts = account_environs().ids
    add_account_partitions(instance, accounts)
    busy: dict[str, str] = {}
    for record in instance.get_run_records(RunsFilter(statuses=list(IN_PROGRESS_RUN_STATUSES)), limit=100):
        run = record.dagster_run
        account = run_account(run)
        if run.job_name in PUBLISHING_JOBS and account is not None:
            busy.setdefault(account, run.run_id)
    landed = newest_storage_ids_by_account(instance, PUBLISHED_TABLES)
    published = newest_storage_ids_by_account(instance, ("warehouse",))
    # The warehouse is partitioned like the daily tables; its newest date names the publish.
    key_date = daily_dates.get_last_partition_key()
    requests: list[dg.RunRequest] = []
    reasons: list[str] = []
    for account in accounts:
        if account in busy:
            reasons.append(f"{account}: run {busy[account]} publishes when it ends")
        elif landed.get(account, 0) <= published.get(account, 0):
            reasons.append(f"{account}: up to date")
        elif key_date is None:
            reasons.append(f"{account}: no partition date yet (TMEET_START_DATE is in the future)")
        else:
            requests.append(dg.RunRequest(run_key=f"publish-{account}-after-{landed[account]}",
                                          partition_key=daily_key(account, key_date)))
    return requests or dg.SkipReason("; ".join(reasons) or "no account in the accounts file")
