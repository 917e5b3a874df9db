"""The asset checks' own logic: they must fail on bad data, not only pass on good data."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pandas as pd

from assets._dagster import check, combine_checks
from assets.recording_access import metrics_mismatches
from assets.schemas import SCHEMAS

TZ = "Asia/Shanghai"


def _frame(table: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=SCHEMAS[table]).to_pandas(types_mapper=pd.ArrowDtype)


def _event(rid: str, kind: str, when: str) -> dict[str, object]:
    return {"meeting_record_id": rid, "event_type": 2 if kind == "view" else 1, "event_kind": kind,
            "operate_time": pd.Timestamp(when, tz="UTC"), "userid": "u1", "user_name": "U",
            "record_name": "r", "business_date": date(2026, 6, 1)}


def _metric(rid: str, day: date, views: int, downloads: int) -> dict[str, object]:
    return {"meeting_record_id": rid, "metric_date": day, "business_date": date(2026, 6, 1),
            "view_count": views, "download_count": downloads}


def test_metrics_agreeing_with_events_pass_and_disagreeing_ones_are_counted() -> None:
    # 2026-06-01 23:30 UTC is 2026-06-02 in Shanghai: the day boundary is the account's, not UTC's.
    events = _frame("recording_events", [
        _event("r1", "view", "2026-06-01T02:00:00"),
        _event("r1", "view", "2026-06-01T23:30:00"),
        _event("r1", "download", "2026-06-01T03:00:00"),
    ])
    good = _frame("recording_daily_metrics", [
        _metric("r1", date(2026, 6, 1), 1, 1), _metric("r1", date(2026, 6, 2), 1, 0),
    ])
    assert metrics_mismatches(good, events, TZ) == 0
    bad = _frame("recording_daily_metrics", [
        _metric("r1", date(2026, 6, 1), 2, 1), _metric("r2", date(2026, 6, 3), 0, 4),
    ])
    assert metrics_mismatches(bad, events, TZ) == 3


def test_combined_checks_fail_when_any_day_failed_and_name_the_day() -> None:
    days = [date(2026, 6, 1), date(2026, 6, 2)]
    per_day = [
        [check("meetings", "key_unique", True, "ok")],
        [check("meetings", "key_unique", False, "2 duplicates")],
    ]
    (combined,) = combine_checks(days, per_day)
    assert not combined.passed
    assert combined.severity == dg.AssetCheckSeverity.ERROR
    assert "2026-06-02: 2 duplicates" in (combined.description or "")
    (single,) = combine_checks(days[:1], per_day[:1])
    assert single.passed


def test_conservation_fails_with_error_severity_when_a_record_is_unaccounted() -> None:
    import dagster as dg

    from assets._dagster import conservation_check
    from assets._sync import Tally

    balanced = conservation_check("participant_sessions", Tally(received=10, landed=7, quarantined=2, deduplicated=1))
    assert balanced.passed
    lost = conservation_check("participant_sessions", Tally(received=10, landed=7, quarantined=2))
    assert not lost.passed and lost.severity == dg.AssetCheckSeverity.ERROR
    assert "1 record(s) unaccounted" in (lost.description or "")


def test_conservation_fails_on_a_page_that_loses_a_row() -> None:
    import dagster as dg

    from assets._sync import Tally

    from assets._dagster import conservation_check
    from assets._page_ledger import ledger
    from assets._sync import PageData
    from assets.recording_access import access_keys, derive_recording_access
    from resources.tencent.scopes import E_VIEW_DETAILS

    context = {"meeting_record_id": "r1", "business_date": "2026-06-16", "record_file_id": "f1"}
    plays = [{"userid": f"u{i}", "view_start_time": str(1_781_571_600_000 + i), "view_time": 5000} for i in range(6)]
    pages = [PageData(E_VIEW_DETAILS, {"page": n}, plays[3 * (n - 1):3 * n], context) for n in (1, 2)]
    table = "recording_view_details"
    derived = derive_recording_access(pages)
    assert [page.tally.unaccounted for page in derived.pages[table]] == [0, 0]
    assert conservation_check(table, derived.tally[table], []).passed

    # A normalizer bug loses the first play of the second page: that page, and only it, no longer balances.
    frame = derived.frames[table]
    lossy = frame[frame["userid"] != "u3"].reset_index(drop=True)
    tallies = ledger(table, pages, [p.records for p in pages], access_keys(table, pages), lambda _p, r: r,
                     lossy, derived.quarantine)
    assert [page.tally.unaccounted for page in tallies] == [0, 1]
    unbalanced = [(page.where("recording_access", None), page.tally) for page in tallies if page.tally.unaccounted]
    result = conservation_check(table, sum((page.tally for page in tallies), Tally()), unbalanced)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert "1 page(s) do not balance" in (result.description or "")
    assert "page=2" in (result.description or "") and "archived page 1 of recording_access" in (result.description or "")
