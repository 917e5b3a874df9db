"""Cloud recordings and their files, partitioned by the recording's business date."""

from collections.abc import Iterator, Sequence
from datetime import date, timedelta

import dagster as dg
import numpy as np
import pandas as pd
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
    combine,
    combine_by_page,
    first_page_total,
    land,
    page_tallies,
    quarantined_of,
    tally_of,
)
from assets._windows import day_window
from assets.normalize.recordings import normalize_recordings
from assets.schemas import KEYS
from assets.tags import endpoint_metadata, table_tags
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.tencent.scopes import E_CORP_RECORDS, E_RECORDS, VIEW_ALL_RECORDS, VIEW_VIDEO

ASSET = "recordings"
ENDPOINTS = endpoint_metadata((E_CORP_RECORDS,), user=(E_RECORDS,))
TAGS = table_tags("pull", warehouse="required", scope=VIEW_ALL_RECORDS, user_scope=VIEW_VIDEO, archive=ASSET,
                  lookback=True)


def extract_recordings(ctx: SyncContext, day: date) -> tuple[Landed, Landed]:
    """Replace the ``recordings`` and ``recording_files`` partitions of ``day`` (media-start date).

    A recording shows up while the meeting runs and gets its files only once transcoding is
    done, possibly days later; the schedule re-runs recent dates to pick those up.
    """
    start, end = day_window(day, ctx.tz_info)
    end -= timedelta(seconds=1)
    pages: list[PageData] = []
    api_total = 0
    with ctx.raw.writer(ASSET, day) as raw:
        for client in ctx.clients:
            account_level = client.app_type in ("account", "aksk")
            fetched = (
                corp_or_own(client, lambda c=client: c.iter_corp_records(start, end),
                            lambda c=client: c.iter_records(start, end),
                            corp_endpoint=E_CORP_RECORDS, resource="recordings", own_endpoint=E_RECORDS)
                if account_level
                else client.iter_records(start, end)
            )
            for page in fetched:
                pages.append(archive_page(raw, page))
                api_total += first_page_total(page, [("page", 1)]) or 0
    landed = land(ctx, derive_recordings(pages, ctx.tz), day, ASSET)
    account_wide = ctx.account_level and all(p.endpoint == E_CORP_RECORDS for p in pages)
    landed["recordings"].api_total = api_total if account_wide else None
    return landed["recordings"], landed["recording_files"]


def derive_recordings(pages: Sequence[PageData], tz: str) -> Derived:
    """Pages of either recordings list -> the ``recordings`` and ``recording_files`` partitions."""
    recordings: list[pd.DataFrame] = []
    files: list[pd.DataFrame] = []
    quarantine: list[pd.DataFrame] = []
    quarantined: list[int] = []
    repeats: list[int] = []
    for page in pages:
        source = "corp" if page.endpoint == E_CORP_RECORDS else "user"
        recs, recfiles = normalize_recordings(page.records, tz, source)
        recordings.append(recs.frame)
        files.append(recfiles.frame)
        quarantine.extend([recs.quarantine, recfiles.quarantine])
        quarantined.append(quarantined_of("recordings", recs.quarantine))
        repeats.append(recs.deduplicated)
    combined, origin, across = combine_by_page("recordings", recordings)
    frames = {"recordings": combined, "recording_files": combine("recording_files", files)}
    ledger = page_tallies(pages, origin, quarantined, np.add(repeats, across))
    tally = tally_of("recordings", sum(len(p.records) for p in pages), combined, quarantine,
                     sum(repeats) + int(across.sum()))
    return Derived(frames, quarantine, {"recordings": tally}, {"recordings": ledger})


@daily_pull(
    specs=[
        daily_table("recordings", "Cloud recordings by the local date their media started, with state and size.",
                    group="recordings", tags=TAGS, metadata=ENDPOINTS),
        daily_table("recording_files", "The files of each transcoded recording: time span, size and sharing settings.",
                    group="recordings", deps=["recordings"], tags=TAGS, metadata=ENDPOINTS),
    ],
    check_specs=[
        dg.AssetCheckSpec("key_unique", asset="recordings"),
        dg.AssetCheckSpec("matches_api_total", asset="recordings"),
        conservation_spec("recordings"),
        dg.AssetCheckSpec("files_belong_to_recordings", asset="recording_files"),
    ],
)
def recordings_assets(
    context: AssetExecutionContext, tencent: TencentMeetingResource, storage: StorageResource
) -> Iterator[dg.MaterializeResult]:
    """Pull the recordings whose media started on each business date, with their files."""
    outcomes, checks, stats = pull_days(context, tencent, storage, ASSET, _pull_day)
    yield result("recordings", merge([r for r, _ in outcomes]), stats, for_asset(checks, "recordings"))
    yield result("recording_files", merge([f for _, f in outcomes]), None, for_asset(checks, "recording_files"))


def _pull_day(ctx: SyncContext, day: date) -> tuple[tuple[Landed, Landed], list[dg.AssetCheckResult]]:
    outcome = extract_recordings(ctx, day)
    recordings = ctx.lake.read("recordings", start=day, end=day)
    files = ctx.lake.read("recording_files", start=day, end=day)
    return outcome, recording_checks(recordings, files, outcome[0])


def recording_checks(recordings: pd.DataFrame, files: pd.DataFrame, landed: Landed) -> list[dg.AssetCheckResult]:
    if landed.api_total is None:
        totals = check("recordings", "matches_api_total", True, "not comparable under a user-level app")
    else:
        totals = check("recordings", "matches_api_total", *matches_api_total(landed))
    orphan_files = ~files["meeting_record_id"].isin(recordings["meeting_record_id"])
    return [
        check("recordings", "key_unique", not recordings.duplicated(subset=list(KEYS["recordings"])).any(),
              "meeting_record_id is unique"),
        totals,
        conservation_check("recordings", landed.tally, landed.unbalanced_pages),
        check("recording_files", "files_belong_to_recordings", not orphan_files.any(),
              f"{int(orphan_files.sum())} file(s) without their recording"),
    ]
