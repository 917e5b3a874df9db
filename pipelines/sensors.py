"""Sensors: new events in the webhook inbox start a rebuild of the dates they touch; with several
accounts, each account's inbox (in its own data directory) starts runs of its own partitions, and
the account partitions follow the accounts file."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations at definition time.

import json
from pathlib import Path

import dagster as dg
from dagster import SensorEvaluationContext

from assets.webhook_inbox import iter_inbox, touched_dates
from pipelines.jobs import webhook_job
from assets.partitions import ACCOUNT_PARTITIONS_NAME, MULTI_ACCOUNT, account_timezone, range_tags, webhook_dates
from resources.account_scope import account_environs
from resources.dagster_resources import StorageResource
from resources.settings import Settings
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
    if MULTI_ACCOUNT:
        return inbox_per_account(context)
    path = inbox_path(storage.root())
    if not path.exists():
        return dg.SkipReason(f"no webhook inbox at {path} yet; start `tmeet-etl webhook serve`")
    after = _cursor(context.cursor)
    request, last, note = inbox_request(path, after, account_timezone(), None)
    if request is None:
        return dg.SkipReason(note) if last == after else dg.SensorResult(skip_reason=note, cursor=str(last))
    context.log.info(note)
    return dg.SensorResult(run_requests=[request], cursor=str(last))


def inbox_request(path: Path, after: int, tz: str, account: str | None) -> tuple[dg.RunRequest | None, int, str]:
    """The run for the inbox rows after ``after`` (None when none falls on a partition date), the
    seq to continue after, and what happened in words."""
    rows = [row for page in iter_inbox(path, after, max_rows=MAX_ROWS_PER_TICK) for row in page]
    if not rows:
        return None, after, f"no new events after inbox seq {after}"
    first, last = rows[0].seq, rows[-1].seq
    days = sorted(touched_dates(rows, tz))
    keys = [day for day in days if webhook_dates.has_partition_key(day.isoformat())]
    if not keys:
        return None, last, f"inbox seq {first}..{last}: no event falls on a partition date ({days or 'none dated'})"
    # The seq range names the batch, so a re-evaluated tick asks for the same run and Dagster drops it.
    # A range rebuilds the dates in between too, which is harmless: every rebuild is idempotent.
    request = dg.RunRequest(
        run_key=f"webhooks-{account}-{first}-{last}" if account else f"webhooks-{first}-{last}",
        tags={**range_tags(account, keys[0], keys[-1]), "tmeet/inbox_seq": f"{first}-{last}"},
    )
    shown = ", ".join(day.isoformat() for day in keys)
    return request, last, f"inbox seq {first}..{last}: {len(rows)} event(s) on {shown}"


def _account_cursors(value: str | None) -> dict[str, int]:
    if not value:
        return {}
    try:
        cursors = json.loads(value)
    except ValueError:
        cursors = None
    if not isinstance(cursors, dict) or not all(isinstance(seq, int) for seq in cursors.values()):
        raise ValueError(
            f"webhook_inbox_sensor cursor {value!r} is not a JSON object of account -> inbox seq (a cursor of "
            "the single-account deployment?); reset the sensor's cursor in the UI"
        )
    return cursors


def inbox_per_account(context: SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Each account's inbox, with its own cursor: one account's backlog or broken settings never hold another's."""
    cursors = _account_cursors(context.cursor)
    found = account_environs()
    requests: list[dg.RunRequest] = []
    notes = [f"{account}: {problem}" for account, problem in sorted(found.errors.items())]
    for account, environ in found.environs.items():
        settings = Settings.from_env(environ)
        path = inbox_path(settings.data_dir)
        if not path.exists():
            notes.append(f"{account}: no webhook inbox at {path} yet")
            continue
        request, cursors[account], note = inbox_request(path, cursors.get(account, 0), settings.timezone, account)
        notes.append(f"{account}: {note}")
        if request is not None:
            requests.append(request)
    for note in notes:
        context.log.info(note)
    known = set(context.instance.get_dynamic_partitions(ACCOUNT_PARTITIONS_NAME))
    added = [account for account in found.environs if account not in known]
    return dg.SensorResult(
        run_requests=requests, cursor=json.dumps(cursors, sort_keys=True),
        dynamic_partitions_requests=[account_partitions_request(added)] if added else [],
        skip_reason=None if requests else "; ".join(notes) or "no account in the accounts file",
    )


def account_partitions_request(accounts: list[str]) -> dg.AddDynamicPartitionsRequest:
    return dg.AddDynamicPartitionsRequest(partitions_def_name=ACCOUNT_PARTITIONS_NAME, partition_keys=accounts)


@dg.sensor(
    name="account_partitions_sensor",
    minimum_interval_seconds=MIN_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps the account partitions (tmeet_accounts) equal to TMEET_ACCOUNTS_FILE: adds new accounts; "
    "a removed account's partition is kept, with its history, and logged.",
)
def account_partitions_sensor(context: SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    ids = account_environs().ids
    known = context.instance.get_dynamic_partitions(ACCOUNT_PARTITIONS_NAME)
    added = [account for account in ids if account not in known]
    removed = [account for account in known if account not in ids]
    if removed:
        # Deleting the partition would hide the account's runs and materializations in the UI; it is
        # kept, and a run of it still fails on the accounts file, naming the fix.
        context.log.info(f"account(s) {', '.join(removed)} left the accounts file; their partitions and "
                         "history are kept (delete them in the UI to hide them)")
    if not added:
        return dg.SkipReason(f"the account partitions match the accounts file ({', '.join(ids) or 'none'})")
    return dg.SensorResult(dynamic_partitions_requests=[account_partitions_request(added)],
                           skip_reason=f"added account partition(s) {', '.join(added)}")
