"""Sensors: new events in the webhook inbox start a rebuild of the dates they touch."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations at definition time.

import dagster as dg
from dagster import SensorEvaluationContext

from assets.webhook_inbox import iter_inbox, touched_dates
from assets.webhooks import webhook_partitions
from pipelines.jobs import webhook_job
from assets.partitions import account_timezone
from resources.dagster_resources import StorageResource
from resources.webhooks.inbox import inbox_path

MIN_INTERVAL_SECONDS = 30
# Bounds one tick's work; a larger backlog is taken over the following ticks, one run each.
MAX_ROWS_PER_TICK = 50_000


def _cursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"webhook_inbox_sensor cursor {value!r} is not an inbox seq; reset the sensor's cursor in the UI"
        ) from None


@dg.sensor(
    name="webhook_inbox_sensor",
    job=webhook_job,
    minimum_interval_seconds=MIN_INTERVAL_SECONDS,
    description="New events in the webhook inbox: rebuild the business dates they touch, then publish the warehouse.",
)
def webhook_inbox_sensor(context: SensorEvaluationContext, storage: StorageResource) -> dg.SensorResult | dg.SkipReason:
    """One run per batch of new inbox rows; the cursor is the last inbox ``seq`` handed to a run."""
    path = inbox_path(storage.root())
    if not path.exists():
        return dg.SkipReason(f"no webhook inbox at {path} yet; start `tmeet-etl webhook serve`")
    after = _cursor(context.cursor)
    rows = [row for page in iter_inbox(path, after, max_rows=MAX_ROWS_PER_TICK) for row in page]
    if not rows:
        return dg.SkipReason(f"no new events after inbox seq {after}")
    first, last = rows[0].seq, rows[-1].seq
    days = sorted(touched_dates(rows, account_timezone()))
    keys = [day.isoformat() for day in days if webhook_partitions.has_partition_key(day.isoformat())]
    if not keys:
        return dg.SensorResult(
            skip_reason=f"inbox seq {first}..{last}: no event falls on a partition date ({days or 'none dated'})",
            cursor=str(last),
        )
    # The seq range names the batch, so a re-evaluated tick asks for the same run and Dagster drops it.
    # A range rebuilds the dates in between too, which is harmless: every rebuild is idempotent.
    request = dg.RunRequest(
        run_key=f"webhooks-{first}-{last}",
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
            "tmeet/inbox_seq": f"{first}-{last}",
        },
    )
    context.log.info(f"inbox seq {first}..{last}: {len(rows)} event(s) on {', '.join(keys)}")
    return dg.SensorResult(run_requests=[request], cursor=str(last))
