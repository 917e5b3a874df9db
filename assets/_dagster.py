"""What every Dagster asset here shares: run context, retry policy, metadata and error mapping."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets._refusals import (
    NOT_RUN_AUTH_MODE,
    AssetRefused,
    collecting_problems,
    not_run_checks,
    note_shape_errors,
    refusal_reason,
    shape_check_results,
    shape_check_spec,
    shape_quarantine,
)
from assets._sync import Landed, SyncContext, Tally, write_sync_log
from assets.schemas import SCHEMAS
from assets.tags import NO_USER_SCOPE
from assets.tags import SCOPE as SCOPE_TAG
from assets.tags import USER_SCOPE as USER_SCOPE_TAG
from assets.partitions import DEFINITION_SETTINGS, account_timezone, daily_freshness_policy, daily_partitions
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.pii_policy import redact_preview
from resources.settings import ConfigError, Settings
from resources.tencent.errors import ApiUnreachable, AuthError, AuthModeUnsupported, PermissionDenied, QuotaExhausted
from resources.tencent.scopes import ScopeNeed
from resources.tencent.stats import CallStats

# Single-run backfills are what keeps a 90-day backfill one run (one token refresh, one shared
# quota budget) instead of 90; the parameter is marked beta in 1.13, which is not news to us.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)

API_POOL = "tencent_api"
DUCKDB_POOL = "duckdb"
# Transient trouble is retried inside the client; a step retry covers what is left (a crashed
# worker, a long outage) with a delay long enough for the platform to recover.
API_RETRY = dg.RetryPolicy(
    max_retries=DEFINITION_SETTINGS.step_retries,
    delay=DEFINITION_SETTINGS.step_retry_delay,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)
SINGLE_RUN = dg.BackfillPolicy.single_run()


def partition_label(days: Sequence[date]) -> str:
    first, last = min(days), max(days)
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def partition_days(context: AssetExecutionContext) -> list[date]:
    """The business dates of this run: one for a scheduled run, many for a backfill range."""
    return [date.fromisoformat(key) for key in context.partition_keys]


@contextmanager
def sync_context(
    context: AssetExecutionContext,
    tencent: TencentMeetingResource,
    storage: StorageResource,
    asset: str,
    partition: str = "",
) -> Iterator[SyncContext]:
    """Clients and storage for one asset run; writes its ``sync_log`` rows however it ends.

    Errors a person must act on become a :class:`dagster.Failure` that says what to do and is
    not retried: retrying cannot fix a missing login or an exhausted daily quota.
    """
    stats = CallStats()
    started = datetime.now(UTC)
    try:
        settings = tencent.settings()
        clients = tencent.clients(stats)
    except ConfigError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    except AuthError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    lake, raw = storage.lake(), storage.raw()
    # Debris of killed runs: only files older than the grace period, never a live writer's.
    lake.sweep()
    raw.sweep()
    ctx = SyncContext(
        clients=clients,
        lake=lake,
        raw=raw,
        tz=settings.timezone or account_timezone(),
        run_id=context.run.run_id,
        max_workers=settings.max_workers,
    )
    try:
        yield ctx
    except QuotaExhausted as exc:
        raise dg.Failure(
            f"The daily API quota is used up; nothing was lost. Re-run after {exc.resume_at.isoformat()}: {exc}",
            allow_retries=False,
        ) from None
    except (AuthError, ConfigError) as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    except ApiUnreachable as exc:
        # The client already spent its connect budget; a step retry would only delay the message.
        raise dg.Failure(str(exc), allow_retries=False) from None
    except AuthModeUnsupported as exc:
        reason = refusal_reason(exc)
        stats.skip(exc.endpoint or asset, asset, exc.code, reason)
        raise AssetRefused(reason, int(stats.totals()["calls"])) from None
    except PermissionDenied as exc:
        raise dg.Failure(permission_message(exc, settings), allow_retries=False) from None
    finally:
        for client in clients:
            key = client.transport.quota_key
            stats.note_quota(key, client.limiter.daily_used(key), client.limiter.daily_limit)
        quarantine_shape_errors(context, ctx, asset)
        write_sync_log(ctx, asset, partition, started, stats)
        for client in clients:
            client.close()


def quarantine_shape_errors(context: AssetExecutionContext, ctx: SyncContext, asset: str) -> None:
    """Land the pages that came without their documented list, as received, and fail the shape check."""
    errors = [exc for client in ctx.clients for exc in client.shape_errors]
    if not errors:
        return
    frame = shape_quarantine(asset, errors)
    ctx.lake.write_snapshot("quarantine", SCHEMAS["quarantine"], ctx.now().date(), f"{asset}-shape-{ctx.run_id}", frame)
    note_shape_errors(context, (f"{exc.endpoint}: {exc.detail}" for exc in errors))


def permission_message(exc: PermissionDenied, settings: Settings) -> str:
    """What was refused and what to do about it, without reading our code."""
    parts = [f"The platform refused {exc.endpoint or 'a call'} (error {exc.code}): {exc.detail}."]
    if exc.missing_scope:
        parts.append(f"Grant the scope {exc.missing_scope} to the app, then run `tmeet-etl auth login` again.")
    if exc.endpoint and "/v1/corp/" in exc.endpoint and settings.auth_mode == "oauth":
        parts.append(
            "The real platform serves /v1/corp/* only to enterprise self-built apps signing with AK/SK: "
            "set TMEET_AUTH_MODE=aksk with TMEET_APP_ID, TMEET_SECRET_ID, TMEET_SECRET_KEY and TMEET_OPERATOR_ID."
        )
    return " ".join(parts)


def scoped(compute: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Skip the outputs the granted scopes do not allow, say which scope is missing, and log it.

    The skipped asset is not materialized (its data stays as it was), its checks report why
    they did not run, and ``sync_log`` records the skip. Put it under the asset decorator.
    """

    @functools.wraps(compute)
    def wrapper(
        context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
    ) -> Iterator[Any]:
        # The scopes come from the specs' own tags; importing the registry here would be circular.
        plan = tencent.plan(scope_needs_of(context.assets_def.specs))
        selected = {key.to_user_string() for key in context.selected_asset_keys}
        blocked = {name: plan.skipped[name] for name in selected if name in plan.skipped}
        if blocked:
            record_skips(context, storage, blocked)
            yield from not_run_checks(context, blocked)
        if selected <= blocked.keys():
            return
        running = selected - blocked.keys()
        with collecting_problems(context) as problems:
            try:
                for output in compute(context, tencent, storage):
                    key = getattr(output, "asset_key", None)
                    # A subset run (or a skipped scope) must not report assets it was not asked for.
                    if key is not None and (key.to_user_string() in blocked or key.to_user_string() not in selected):
                        continue
                    yield output
            except AssetRefused as refused:
                named = refused.tables if refused.tables is not None else dict.fromkeys(running, refused.reason)
                refusals = {name: named[name] for name in sorted(running) if name in named}
                record_skips(context, storage, refusals, label=NOT_RUN_AUTH_MODE)
                yield from not_run_checks(context, refusals, refused.api_calls)
                running -= refusals.keys()
                if not running:
                    return
        yield from shape_check_results(context, running, problems)

    return wrapper


def scope_needs_of(specs: Iterable[dg.AssetSpec]) -> dict[str, ScopeNeed]:
    """Asset name → the scope its ``tmeet/scope`` tags declare (``assets.tags``)."""
    needs = {}
    for spec in specs:
        if SCOPE_TAG in spec.tags:
            user = spec.tags[USER_SCOPE_TAG]
            needs[spec.key.to_user_string()] = ScopeNeed(spec.tags[SCOPE_TAG], None if user == NO_USER_SCOPE else user)
    return needs


def record_skips(
    context: AssetExecutionContext, storage: StorageResource, blocked: Mapping[str, str],
    label: str = "(not run: scope)",
) -> None:
    stats = CallStats()
    for name, reason in sorted(blocked.items()):
        context.log.warning(f"Skipping {name}: {reason}")
        stats.skip(label, name, None, reason)
    ctx = SyncContext(clients=[], lake=storage.lake(), raw=storage.raw(), tz=account_timezone(),
                      run_id=context.run.run_id)
    write_sync_log(ctx, "-".join(sorted(blocked)), "", datetime.now(UTC), stats)


API_KINDS = frozenset({"api", "pandas", "parquet"})


def daily_table(
    name: str, description: str, *, group: str, tags: Mapping[str, str], deps: Sequence[str] = (),
    kinds: frozenset[str] = API_KINDS, metadata: Mapping[str, Any] | None = None,
) -> dg.AssetSpec:
    """A table partitioned by business date; skippable, because a missing scope skips it.

    Its freshness policy gives Dagster's own fresh/stale state; the partition-level
    ``partition_fresh`` check and its alerts are in ``pipelines.alerting``.
    """
    return dg.AssetSpec(
        name, skippable=True, deps=list(deps), group_name=group, kinds=set(kinds), tags=dict(tags),
        partitions_def=daily_partitions, description=description, freshness_policy=daily_freshness_policy(),
        metadata=dict(metadata or {}),
    )


def daily_pull(
    specs: Sequence[dg.AssetSpec], check_specs: Sequence[dg.AssetCheckSpec] = ()
) -> Callable[[Callable[..., Iterator[Any]]], dg.AssetsDefinition]:
    """What every daily API asset shares: subsettable, one run per backfill range, one quota pool,
    step retries, and skipped outputs where the granted scopes do not reach."""

    def decorate(compute: Callable[..., Iterator[Any]]) -> dg.AssetsDefinition:
        shape_checks = [shape_check_spec(spec.key.to_user_string()) for spec in specs if "api" in spec.kinds]
        return dg.multi_asset(
            specs=list(specs), check_specs=[*check_specs, *shape_checks], can_subset=True,
            backfill_policy=SINGLE_RUN, pool=API_POOL, retry_policy=API_RETRY,
        )(scoped(compute))

    return decorate


T = TypeVar("T")


def pull_days(
    context: AssetExecutionContext,
    tencent: TencentMeetingResource,
    storage: StorageResource,
    asset: str,
    pull_day: Callable[[SyncContext, date], tuple[T, list[dg.AssetCheckResult]]],
) -> tuple[list[T], list[dg.AssetCheckResult], CallStats]:
    """Run ``pull_day`` for every business date of the run; its checks are combined across days."""
    days = partition_days(context)
    outcomes: list[T] = []
    per_day: list[list[dg.AssetCheckResult]] = []
    with sync_context(context, tencent, storage, asset, partition_label(days)) as ctx:
        for day in days:
            outcome, checks = pull_day(ctx, day)
            outcomes.append(outcome)
            per_day.append(checks)
    return outcomes, combine_checks(days, per_day), ctx.stats()


def for_asset(checks: Sequence[dg.AssetCheckResult], asset: str) -> list[dg.AssetCheckResult]:
    return [c for c in checks if c.asset_key.to_user_string() == asset]


def api_metadata(stats: CallStats) -> dict[str, dg.MetadataValue]:
    totals = stats.totals()
    snapshot = stats.snapshot()
    skipped = [reason for entry in snapshot.values() for reason in entry["skip_reasons"]]
    metadata: dict[str, dg.MetadataValue] = {
        "api_calls": dg.MetadataValue.int(int(totals["calls"])),
        "api_pages": dg.MetadataValue.int(int(totals["pages"])),
        "api_retries": dg.MetadataValue.int(int(totals["retries"])),
        "quota_waits": dg.MetadataValue.int(int(totals["quota_waits"])),
        "quota_wait_seconds": dg.MetadataValue.float(float(totals["quota_wait_seconds"])),
        "skipped_resources": dg.MetadataValue.int(len(skipped)),
        "calls_by_endpoint": dg.MetadataValue.json(
            {endpoint: entry["calls"] for endpoint, entry in snapshot.items()}
        ),
    }
    if skipped:
        metadata["skip_reasons"] = dg.MetadataValue.json(skipped[:50])
    quota = stats.quota()
    if quota:
        used = max(used for used, _ in quota.values())
        limit = min(limit for _, limit in quota.values())
        metadata["quota_used_today"] = dg.MetadataValue.int(used)
        metadata["quota_used_today_pct"] = dg.MetadataValue.float(round(100.0 * used / limit, 2))
    return metadata


def table_metadata(landed: Landed) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "dagster/row_count": dg.MetadataValue.int(landed.rows),
        "rows_by_date": dg.MetadataValue.json(
            {str(day) if day else "all": rows for day, rows in sorted(landed.rows_by_partition.items(), key=str)}
        ),
        "quarantined": dg.MetadataValue.int(landed.quarantined),
    }
    if landed.tally is not None:
        for name, value in landed.tally.as_dict().items():
            metadata[f"records_{name}"] = dg.MetadataValue.int(value)
    if landed.unbalanced_pages:
        metadata["unbalanced_pages"] = dg.MetadataValue.json(
            {where: tally.as_dict() for where, tally in landed.unbalanced_pages[:MAX_PAGES_SHOWN]}
        )
    # Pulled, and nothing happened: told apart from a date never pulled, which has no file at all.
    empty = sorted(str(day) for day, rows in landed.rows_by_partition.items() if day is not None and rows == 0)
    if empty:
        metadata["empty_days"] = dg.MetadataValue.json(empty)
    if landed.api_total is not None:
        metadata["api_total_count"] = dg.MetadataValue.int(landed.api_total)
    for name, note in landed.notes.items():
        metadata[name] = dg.MetadataValue.text(note)
    if landed.preview is not None and len(landed.preview):
        preview = redact_preview(landed.table, landed.preview)
        metadata["preview"] = dg.MetadataValue.md(preview.astype(str).to_markdown(index=False))
    return metadata


def merge(landed: Sequence[Landed]) -> Landed:
    """Several runs of one table (one per business date) as one summary."""
    merged = Landed(landed[0].table)
    totals = [item.api_total for item in landed if item.api_total is not None]
    merged.api_total = sum(totals) if totals else None
    for item in landed:
        for day, rows in item.rows_by_partition.items():
            merged.rows_by_partition[day] = merged.rows_by_partition.get(day, 0) + rows
        merged.quarantined += item.quarantined
        for name, note in item.notes.items():
            merged.notes[name] = f"{merged.notes[name]}; {note}" if name in merged.notes else note
        if item.tally is not None:
            merged.tally = item.tally if merged.tally is None else merged.tally + item.tally
        merged.unbalanced_pages.extend(item.unbalanced_pages)
        if item.preview is not None and (merged.preview is None or len(merged.preview) < 5):
            merged.preview = item.preview if merged.preview is None else pd.concat([merged.preview, item.preview]).head(5)
    return merged


def result(
    asset: str,
    landed: Landed,
    stats: CallStats | None,
    checks: Sequence[dg.AssetCheckResult] = (),
) -> dg.MaterializeResult:
    metadata = table_metadata(landed)
    if stats is not None:
        metadata.update(api_metadata(stats))
    return dg.MaterializeResult(asset_key=asset, metadata=metadata, check_results=list(checks))


def check(asset: str, name: str, passed: bool, description: str, *, warn: bool = False,
          metadata: Mapping[str, object] | None = None) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=bool(passed),
        severity=dg.AssetCheckSeverity.WARN if warn else dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=dict(metadata or {}),
    )


CONSERVATION = "conservation"
# A check description names this many unbalanced pages; sync_log holds every one.
MAX_PAGES_SHOWN = 5


def matches_api_total(landed: Landed) -> tuple[bool, str]:
    """Whether the API's total_count was received: no fewer records than it announced, and no more
    distinct ones (repeats of a cursor refetch or of a sibling instance are received twice)."""
    total = landed.api_total or 0
    tally = landed.tally or Tally(landed.rows, landed.rows, 0, 0)
    distinct = tally.landed + tally.quarantined
    passed = tally.received >= total >= distinct
    return passed, (f"API total_count {total}; received {tally.received}, of which {tally.landed} landed, "
                    f"{tally.quarantined} quarantined, {tally.deduplicated} repeats")


def conservation_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CONSERVATION, asset=asset,
        description="Every record received is landed, quarantined with a reason, or counted as a repeat of a key.",
    )


def conservation_check(
    asset: str, tally: Tally | None, unbalanced_pages: Sequence[tuple[str, Tally]] = ()
) -> dg.AssetCheckResult:
    """ERROR when a record vanished: received must equal landed + quarantined + deduplicated, for the
    table and for every page it was received in (``unbalanced_pages``: where each page is, its tally)."""
    if tally is None:
        return check(asset, CONSERVATION, False, "no tally was kept for this table; its records cannot be accounted for")
    if not unbalanced_pages:
        return check(asset, CONSERVATION, tally.unaccounted == 0, tally.describe(), metadata=tally.as_dict())
    shown = "; ".join(f"{where}: {page.describe()}" for where, page in unbalanced_pages[:MAX_PAGES_SHOWN])
    more = (f" (and {len(unbalanced_pages) - MAX_PAGES_SHOWN} more; see the '(page)' rows of sync_log)"
            if len(unbalanced_pages) > MAX_PAGES_SHOWN else "")
    description = (f"{len(unbalanced_pages)} page(s) do not balance: {shown}{more}. "
                   f"Whole table: {tally.describe()}")
    return check(asset, CONSERVATION, False, description,
                 metadata={**tally.as_dict(), "unbalanced_pages": len(unbalanced_pages)})


def combine_checks(days: Sequence[date], per_day: Sequence[Sequence[dg.AssetCheckResult]]) -> list[dg.AssetCheckResult]:
    """One result per check for a multi-day run, from checks evaluated one day at a time.

    Evaluating per day keeps a 90-day backfill's memory at one day's worth. A check passes when
    it passed on every day; its description names the days that failed.
    """
    grouped: dict[tuple[str, str], list[tuple[date, dg.AssetCheckResult]]] = {}
    for day, results in zip(days, per_day, strict=True):
        for item in results:
            grouped.setdefault((item.asset_key.to_user_string(), item.check_name or ""), []).append((day, item))
    combined = []
    for (asset, name), items in grouped.items():
        failed = [(day, item) for day, item in items if not item.passed]
        if len(items) == 1:
            combined.append(items[0][1])
            continue
        if failed:
            shown = "; ".join(f"{day}: {item.description}" for day, item in failed[:10])
            more = f" (and {len(failed) - 10} more days)" if len(failed) > 10 else ""
            description = f"failed on {len(failed)} of {len(items)} days: {shown}{more}"
        else:
            description = f"passed on all {len(items)} days"
        severity = (
            dg.AssetCheckSeverity.ERROR
            if any(item.severity == dg.AssetCheckSeverity.ERROR for _, item in failed)
            else dg.AssetCheckSeverity.WARN if failed else items[0][1].severity
        )
        combined.append(dg.AssetCheckResult(
            asset_key=asset, check_name=name, passed=not failed, severity=severity, description=description,
            metadata={"days_checked": len(items), "days_failed": len(failed)},
        ))
    return combined
