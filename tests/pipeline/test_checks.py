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
