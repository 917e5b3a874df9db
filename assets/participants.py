"""Join sessions of every landed meeting instance, and attendance derived from them."""

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext

from assets._dagster import (
    check,
    conservation_check,
    conservation_spec,
    matches_api_total,
    daily_pull,
    daily_table,
    for_asset,
    merge,
    partition_days,
    pull_days,
    result,
)
from assets._page_ledger import Key, as_received, ledger as page_ledger, record_keys
from assets._upstream import require_upstream
from assets._sync import (
    Derived,
    Landed,
    PageData,
    SyncContext,
    archive_page,
    fan_out,
    first_page_total,
    land,
    quarantined_parents,
    tally_of,
)
from assets.meetings import read_instances
from assets.normalize._common import epoch, person_key, text
from assets.normalize._common import field as values_of
from assets.normalize.participants import InstanceRef, build_attendance, normalize_participant_batches
from assets.schemas import KEYS
from assets.tags import endpoint_metadata, table_tags
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import PermissionDenied
from resources.tencent.pagination import Page
from resources.tencent.scopes import E_CORP_MEETINGS, E_PARTICIPANTS, E_USER_ENDED, VIEW_ALL_MEETINGS, VIEW_MEETING

ASSET = "participant_sessions"
ENDPOINTS = endpoint_metadata((E_CORP_MEETINGS, E_PARTICIPANTS), user=(E_USER_ENDED, E_PARTICIPANTS))
TAGS = table_tags("pull", warehouse="required", scope=VIEW_ALL_MEETINGS, user_scope=VIEW_MEETING, archive=ASSET)
# How far outside its scheduled slot a meeting's sessions may begin or end. Re-opened rooms of
# one non-recurring meeting within this slack cannot be told apart by scheduled times alone.
SCHEDULE_SLACK = timedelta(hours=2)


@dataclass
class _Fetched:
    instance: InstanceRef
    pages: list[Page] = field(default_factory=list)
    api_total: int = 0


def extract_participants(ctx: SyncContext, day: date) -> tuple[Landed, Landed]:
    """Replace the ``participant_sessions`` and ``attendance`` partitions of ``day``."""
    instances = [instance_of(row) for row in read_instances(ctx, day).to_dict("records")]
    record_unfetched_children(ctx, day)
    pages: list[PageData] = []
    api_total = 0
    with ctx.raw.writer(ASSET, day) as raw:
        for fetched in fan_out(ctx, instances, lambda inst: _fetch(ctx, inst), f"participants {day}"):
            api_total += fetched.api_total
            context = _instance_context(fetched.instance)
            pages.extend(archive_page(raw, page, context=context) for page in fetched.pages)
    landed = land(ctx, derive_participants(pages, ctx.tz), day, ASSET)
    landed["participant_sessions"].api_total = api_total
    return landed["participant_sessions"], landed["attendance"]


def record_unfetched_children(ctx: SyncContext, day: date) -> None:
    """Say in ``sync_log`` which meetings' participants are not fetched because the meeting was quarantined.

    A quarantined meeting has no trustworthy instance times to place its sessions in, so they are
    not fetched; the skip names the meeting and why, and a fixed upstream record lets a re-run fetch them.
    """
    for meeting_id, reason in quarantined_parents(ctx, day, "meetings", "meeting_id"):
        ctx.stats().skip(E_PARTICIPANTS, f"meeting {meeting_id}", None,
                         f"participants not fetched: the meeting record was quarantined ({reason})")



def derive_participants(pages: Iterable[PageData], tz: str) -> Derived:
    """Participant pages, grouped by the instance they were fetched for -> sessions and attendance."""
    pages = list(pages)
    by_instance: dict[tuple[Any, ...], tuple[InstanceRef, list[Any]]] = {}
    received = 0
    for page in pages:
        key = tuple(sorted((k, str(v)) for k, v in page.context.items()))
        if key not in by_instance:
            by_instance[key] = (instance_from_context(page.context), [])
        by_instance[key][1].extend(page.records)
        received += len(page.records)
    normalized = normalize_participant_batches(list(by_instance.values()), tz)
    frame = normalized.frame
    quarantine = [normalized.quarantine]
    tally = tally_of(ASSET, received, frame, quarantine, normalized.deduplicated)
    ledger = page_ledger(ASSET, pages, [p.records for p in pages], session_keys(pages), as_received, frame, quarantine)
    return Derived({"participant_sessions": frame, "attendance": build_attendance(frame)}, quarantine,
                   {ASSET: tally}, {ASSET: ledger})


def session_keys(pages: Sequence[PageData]) -> list[list[Key | None]]:
    """The participant_sessions key each received record gives, parsed as the normalizer parses it."""
    records = [r if isinstance(r, dict) else {} for page in pages for r in page.records]
    meeting = [str(page.context["meeting_id"]) for page in pages for _ in page.records]
    sub = [str(page.context.get("sub_meeting_id") or "") for page in pages for _ in page.records]
    person = person_key(*(text(values_of(records, name)).values for name in ("userid", "uuid", "ms_open_id")))
    join = epoch(values_of(records, "join_time"), "s").values
    keys = iter(record_keys([pa.array(meeting, pa.string()), pa.array(sub, pa.string()), person, join]))
    return [[next(keys) for _ in page.records] for page in pages]


def instance_of(meeting: dict[str, Any]) -> InstanceRef:
    """The instance of one `meetings` row, with join slack when its times are only scheduled ones."""
    instance = InstanceRef.from_meeting(meeting)
    # A user-level list gives scheduled times (and no durations), not the media room's.
    return replace(instance, join_slack=SCHEDULE_SLACK) if pd.isna(meeting["duration_seconds"]) else instance


def _fetch(ctx: SyncContext, instance: InstanceRef) -> _Fetched:
    """Every session of one instance, from the first client allowed to read it."""
    fetched = _Fetched(instance)
    slack = pd.Timedelta(instance.join_slack)
    start = int(math.floor((pd.Timestamp(instance.start_time) - slack).timestamp()))
    end_ts = instance.end_time if instance.end_time is not None else instance.start_time
    end = int(math.ceil((pd.Timestamp(end_ts) + slack).timestamp()))
    denied: PermissionDenied | None = None
    for client in ctx.clients:
        try:
            fetched.pages = list(_pages(client, instance, start, end))
        except PermissionDenied as exc:
            # A user-level app may read participants only of meetings its user hosts; another
            # authorized user may host it, so try the next token before recording the skip.
            denied = exc
            continue
        fetched.api_total = sum(first_page_total(p, [("pos", 0)]) or 0 for p in fetched.pages)
        return fetched
    if denied is not None:
        ctx.stats().skip(denied.endpoint or "participants", _resource(instance), denied.code, denied.detail)
    return fetched


def _pages(client: TencentMeetingClient, instance: InstanceRef, start: int, end: int) -> list[Page]:
    return list(client.iter_participants(instance.meeting_id, instance.sub_meeting_id, start, end))


def _resource(instance: InstanceRef) -> str:
    suffix = f"/{instance.sub_meeting_id}" if instance.sub_meeting_id else ""
    return f"meeting {instance.meeting_id}{suffix}"


def _instance_context(instance: InstanceRef) -> dict[str, Any]:
    return {
        "meeting_id": instance.meeting_id,
        "sub_meeting_id": instance.sub_meeting_id,
        "start_time": pd.Timestamp(instance.start_time).isoformat(),
        "end_time": None if instance.end_time is None else pd.Timestamp(instance.end_time).isoformat(),
        "business_date": None if instance.business_date is None else str(instance.business_date),
        "join_slack_seconds": instance.join_slack.total_seconds(),
    }


def instance_from_context(context: dict[str, Any]) -> InstanceRef:
    """Rebuild the instance a raw page was fetched for (used when re-deriving the lake from raw)."""
    end = context.get("end_time")
    business_date = context.get("business_date")
    return InstanceRef(
        meeting_id=context["meeting_id"],
        sub_meeting_id=context["sub_meeting_id"],
        start_time=pd.Timestamp(context["start_time"]),
        end_time=None if end is None else pd.Timestamp(end),
        business_date=None if business_date is None else date.fromisoformat(business_date),
        join_slack=timedelta(seconds=float(context.get("join_slack_seconds") or 0)),
    )


@daily_pull(
    specs=[
        daily_table("participant_sessions", "Every join session of every ended meeting instance; a rejoin is its own row.",
                    group="meetings", deps=["meetings"], tags=TAGS, metadata=ENDPOINTS),
        daily_table("attendance", "One row per meeting instance and person: attended time without double counting.",
                    group="meetings", deps=["participant_sessions"], kinds=frozenset({"pandas", "parquet"}), tags=TAGS,
                    metadata=ENDPOINTS),
    ],
    check_specs=[
        dg.AssetCheckSpec("key_unique", asset="participant_sessions"),
        dg.AssetCheckSpec("left_after_join", asset="participant_sessions",
                          description="No session leaves before it joins."),
        dg.AssetCheckSpec("belongs_to_meeting", asset="participant_sessions",
                          description="Every session's meeting instance is in `meetings`."),
        dg.AssetCheckSpec("matches_api_total", asset="participant_sessions",
                          description="Sessions received cover the API's total_count summed over instances."),
        conservation_spec("participant_sessions"),
        dg.AssetCheckSpec("attended_within_meeting", asset="attendance",
                          description="Nobody attended longer than the meeting lasted."),
    ],
)
def participants(
    context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
) -> Iterator[dg.MaterializeResult]:
    """Pull the participants of every landed meeting instance and derive attendance."""
    require_upstream(storage.lake(), "participant_sessions", ["meetings"], partition_days(context))
    outcomes, checks, stats = pull_days(context, tencent, storage, ASSET, _pull_day)
    yield result("participant_sessions", merge([s for s, _ in outcomes]), stats,
                 for_asset(checks, "participant_sessions"))
    yield result("attendance", merge([a for _, a in outcomes]), None, for_asset(checks, "attendance"))


def _pull_day(ctx: SyncContext, day: date) -> tuple[tuple[Landed, Landed], list[dg.AssetCheckResult]]:
    skipped_before = ctx.stats().totals()["skipped"]
    outcome = extract_participants(ctx, day)
    sessions = ctx.lake.read("participant_sessions", start=day, end=day)
    meetings = ctx.lake.read("meetings", start=day, end=day)
    attendance = ctx.lake.read("attendance", start=day, end=day)
    skipped = int(ctx.stats().totals()["skipped"] - skipped_before)
    return outcome, [*session_checks(sessions, meetings, outcome[0], skipped), attendance_check(attendance, meetings)]


def session_checks(
    sessions: pd.DataFrame, meetings: pd.DataFrame, landed: Landed, skipped: int
) -> list[dg.AssetCheckResult]:
    asset = "participant_sessions"
    closed = sessions.dropna(subset=["left_time"])
    instance = ["meeting_id", "sub_meeting_id", "meeting_start_time"]
    known = set(meetings[["meeting_id", "sub_meeting_id", "start_time"]].itertuples(index=False, name=None))
    orphans = [key for key in sessions[instance].drop_duplicates().itertuples(index=False, name=None) if key not in known]
    api_total = landed.api_total or 0
    totals_match, totals = matches_api_total(landed)
    return [
        check(asset, "key_unique", not sessions.duplicated(subset=list(KEYS[asset])).any(), "session key is unique"),
        check(asset, "left_after_join", bool((closed["left_time"] >= closed["join_time"]).all()),
              "left_time >= join_time for every closed session"),
        check(asset, "belongs_to_meeting", not orphans, f"{len(orphans)} session instance(s) not in meetings",
              metadata={"orphans": [list(map(str, o)) for o in orphans[:20]]}),
        check(asset, "matches_api_total", totals_match, f"{totals}; {skipped} instance(s) skipped",
              warn=skipped > 0, metadata={"rows": landed.rows, "api_total_count": api_total}),
        conservation_check(asset, landed.tally, landed.unbalanced_pages),
    ]


def attendance_check(attendance: pd.DataFrame, meetings: pd.DataFrame) -> dg.AssetCheckResult:
    joined = attendance.merge(
        meetings[["meeting_id", "sub_meeting_id", "start_time", "end_time", "duration_seconds"]],
        left_on=["meeting_id", "sub_meeting_id", "meeting_start_time"],
        right_on=["meeting_id", "sub_meeting_id", "start_time"],
        how="inner",
    )
    span = (joined["end_time"] - joined["start_time"]).dt.total_seconds()
    # Scheduled times (user-level lists) bound the meeting only up to the join slack on each side.
    span = span.where(joined["duration_seconds"].notna(), span + 2 * SCHEDULE_SLACK.total_seconds())
    # One second of slack: the platform reports sessions in whole seconds, meetings in milliseconds.
    over = joined[joined["attended_seconds"] > span + 1.0]
    return check("attendance", "attended_within_meeting", over.empty,
                 f"{len(over)} person(s) attended longer than their meeting lasted")
