"""Ended meetings: one row per meeting instance (media room), partitioned by its business date."""

from collections.abc import Iterator, Sequence
from datetime import date, timedelta

import dagster as dg
import numpy as np
import pandas as pd
from dagster import AssetExecutionContext

from assets.tags import endpoint_metadata, table_tags
from assets._dagster import (
    check,
    conservation_check,
    conservation_spec,
    matches_api_total,
    daily_pull,
    daily_table,
    merge,
    pull_days,
    result,
)
from assets._reach import corp_or_own
from assets._sync import (
    Derived,
    Landed,
    PageData,
    SyncContext,
    archive_page,
    combine_by_page,
    first_page_total,
    land,
    page_tallies,
    quarantined_of,
    tally_of,
)
from assets._windows import day_window
from assets.normalize._common import concat_quarantine, quarantine_rows
from assets.normalize.meetings import normalize_corp_ended_meetings, normalize_user_ended_meetings
from assets.schemas import KEYS
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.tencent.scopes import E_CORP_MEETINGS, E_USER_ENDED, VIEW_ALL_MEETINGS, VIEW_MEETING

ASSET = "meetings"
ENDED = 1


def extract_meetings(ctx: SyncContext, day: date) -> Landed:
    """Pull the meetings that ended on ``day`` (by media-room start) and replace that partition."""
    start, end = day_window(day, ctx.tz_info)
    # The platform's window is inclusive in whole seconds: stop one second short of the next day.
    end -= timedelta(seconds=1)
    pages: list[PageData] = []
    api_total = 0
    with ctx.raw.writer(ASSET, day) as raw:
        for client in ctx.clients:
            account_level = client.app_type in ("account", "aksk")
            fetched = (
                corp_or_own(client, lambda c=client: c.iter_corp_meetings(ENDED, start, end),
                            lambda c=client: c.iter_user_ended_meetings(start, end),
                            corp_endpoint=E_CORP_MEETINGS, resource="ended meetings", own_endpoint=E_USER_ENDED)
                if account_level
                else client.iter_user_ended_meetings(start, end)
            )
            for page in fetched:
                pages.append(archive_page(raw, page))
                api_total += first_page_total(page, [("page", 1)]) or 0
    landed = land(ctx, derive_meetings(pages, day, ctx.tz), day, ASSET)["meetings"]
    # Only the account-wide list's total_count counts the same rows as the landed partition.
    account_wide = ctx.account_level and all(p.endpoint == E_CORP_MEETINGS for p in pages)
    landed.api_total = api_total if account_wide else None
    return landed


def derive_meetings(pages: Sequence[PageData], day: date, tz: str) -> Derived:
    """Pages of either ended-meeting list -> the ``meetings`` partition of ``day``."""
    frames: list[pd.DataFrame] = []
    quarantine: list[pd.DataFrame] = []
    quarantined: list[int] = []
    repeats: list[int] = []
    for page in pages:
        normalize = normalize_corp_ended_meetings if page.endpoint == E_CORP_MEETINGS else normalize_user_ended_meetings
        normalized = normalize(page.records, tz)
        frames.append(normalized.frame)
        quarantine.append(normalized.quarantine)
        quarantined.append(quarantined_of("meetings", normalized.quarantine))
        repeats.append(normalized.deduplicated)
    combined, origin, across_pages = combine_by_page("meetings", frames)
    inside = (combined["business_date"] == day).to_numpy(dtype=bool)
    meetings, outside = _only_day(combined, inside, day)
    quarantine.append(outside)
    strays = np.bincount(origin[~inside], minlength=len(pages))
    ledger = page_tallies(pages, origin[inside], np.add(quarantined, strays), np.add(repeats, across_pages))
    tally = tally_of("meetings", sum(len(p.records) for p in pages), meetings, quarantine,
                     sum(repeats) + int(across_pages.sum()))
    return Derived({"meetings": meetings}, quarantine, {"meetings": tally}, {"meetings": ledger})


def _only_day(meetings: pd.DataFrame, inside: np.ndarray, day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off rows the platform returned outside the asked-for window, so none is lost silently."""
    stray = meetings[~inside]
    if stray.empty:
        return meetings, concat_quarantine()
    reasons = [f"business date {d} is outside the requested day {day}" for d in stray["business_date"]]
    records = stray.astype(str).to_dict(orient="records")
    return meetings[inside].reset_index(drop=True), quarantine_rows("meetings", records, reasons)


def read_instances(ctx: SyncContext, day: date) -> pd.DataFrame:
    """The meeting instances already landed for ``day``: participants and checks start from here."""
    return ctx.lake.read("meetings", start=day, end=day)


@daily_pull(
    specs=[daily_table("meetings", "Ended meeting instances (one per media room), by the local date they started.",
                       group="meetings", tags=table_tags("pull", warehouse="required", scope=VIEW_ALL_MEETINGS,
                                                         user_scope=VIEW_MEETING, archive=ASSET),
                       metadata=endpoint_metadata((E_CORP_MEETINGS,), user=(E_USER_ENDED,)))],
    check_specs=[
        dg.AssetCheckSpec("key_unique", asset="meetings", description="One row per (meeting_id, sub_meeting_id, start_time)."),
        dg.AssetCheckSpec("matches_api_total", asset="meetings",
                          description="Records received cover the API's own total_count for the same window."),
        conservation_spec("meetings"),
    ],
)
def meetings_asset(
    context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
) -> Iterator[dg.MaterializeResult]:
    """Pull the meetings whose media room opened on each business date of the run."""
    outcomes, checks, stats = pull_days(context, tencent, storage, ASSET, _pull_day)
    yield result("meetings", merge(outcomes), stats, checks)


def _pull_day(ctx: SyncContext, day: date) -> tuple[Landed, list[dg.AssetCheckResult]]:
    landed = extract_meetings(ctx, day)
    return landed, meeting_checks(ctx.lake.read("meetings", start=day, end=day), landed)


def meeting_checks(meetings: pd.DataFrame, landed: Landed) -> list[dg.AssetCheckResult]:
    unique = not meetings.duplicated(subset=list(KEYS["meetings"])).any()
    if landed.api_total is None:
        totals = check("meetings", "matches_api_total", True,
                       "not comparable: a user-level app sees each user's own list")
    else:
        passed, description = matches_api_total(landed)
        totals = check("meetings", "matches_api_total", passed, description,
                       metadata={"rows": landed.rows, "api_total_count": landed.api_total})
    return [check("meetings", "key_unique", unique, "meeting instance key is unique"), totals,
            conservation_check("meetings", landed.tally, landed.unbalanced_pages)]
