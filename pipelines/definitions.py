"""The Dagster code location: one entry point wiring assets, jobs, schedules and resources."""

import dagster as dg

from assets import registry
from assets.warehouse import warehouse
from assets.webhooks import WEBHOOK_CHECKS
from pipelines.alerting import freshness_alert_sensor, partition_freshness, run_failure_alert_sensor
from pipelines.jobs import daily_job, publish_job, recordings_lookback_job, snapshot_job, webhook_job
from pipelines.publish import warehouse_publish_sensor
from pipelines.schedules import daily_schedule, recordings_lookback_schedule, snapshot_schedule
from assets.partitions import MULTI_ACCOUNT
from pipelines.sensors import account_partitions_sensor, webhook_inbox_sensor
from resources.dagster_resources import build_resources
from resources.tencent.redact import install_log_scrubbing

# What `tmeet-etl sync` runs: the API pulls and the publish; the webhook assets read the inbox instead.
ASSETS = [*registry.pull_assets(), warehouse]
# With an accounts file, the account partitions follow it.
ACCOUNT_SENSORS = [account_partitions_sensor] if MULTI_ACCOUNT else []


@dg.definitions
def defs() -> dg.Definitions:
    install_log_scrubbing()
    return dg.Definitions(
        assets=[*registry.TABLE_ASSETS, warehouse],
        asset_checks=[*WEBHOOK_CHECKS, partition_freshness],
        jobs=[daily_job, recordings_lookback_job, snapshot_job, webhook_job, publish_job],
        schedules=[daily_schedule, recordings_lookback_schedule, snapshot_schedule],
        sensors=[webhook_inbox_sensor, warehouse_publish_sensor, run_failure_alert_sensor, freshness_alert_sensor,
                 *ACCOUNT_SENSORS],
        resources=build_resources(),
    )
