"""A `large` 30-day backfill: peak RSS (and 10 days for the growth), call economy, the next day, queries."""

from __future__ import annotations

import math
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from bench.emulator_process import NOW, EmulatorProcess
from bench.report import Figure, median
from bench.sync_runner import run_sync

LAST_DAY = date(2026, 11, 17)  # the incremental day; the backfill ends the day before
ANALYST_QUERIES = {
    "top 20 hosts by meeting minutes": """
        select creator_userid, sum(duration_seconds) / 60 as minutes from meetings
        group by 1 order by 2 desc limit 20""",
    "attendance by department and day": """
        select d.department_name, a.business_date, count(*) as people from attendance a
        join user_departments d on d.userid = a.userid and d.is_main group by 1, 2""",
    "meetings with the most sessions": """
        select meeting_id, sub_meeting_id, count(*) as sessions from participant_sessions
        group by 1, 2 order by 3 desc limit 50""",
    "recording views per file": """
        select record_file_id, count(*) as views, sum(watched_seconds) as watched from recording_view_details
        group by 1 order by 2 desc""",
}
# Largest page each listing accepts (contract; the emulator enforces the same caps).
MAX_PAGE = {"users": 100, "roles": 20, "meetings": 20, "participants": 100, "records": 20, "events": 50,
            "view_details": 50}


def _pages(rows: int, size: int) -> int:
    return math.ceil(max(rows, 1) / size)


def minimum_calls(scale: str, days: int, start: date, end: date, seed: int = 7) -> tuple[int, dict[str, int]]:
    """Σ over the queries the data needs of ceil(max(rows, 1) / max page size), from the ground truth."""
    from emulator.clock import Clock
    from emulator.enterprise import Enterprise
    from emulator.truth import compute_truth

    enterprise = Enterprise(seed, scale, days, Clock(datetime.fromisoformat(NOW)))  # type: ignore[arg-type]
    truth = compute_truth(enterprise, start=start, end=end)
    sessions = truth["participant_sessions"].groupby(["meeting_id", "sub_meeting_id"], dropna=False).size()
    per_meeting = [int(sessions.get((m, s), 0)) for m, s in
                   truth["meetings"][["meeting_id", "sub_meeting_id"]].itertuples(index=False)]
    with_files = truth["recording_files"]["meeting_record_id"].unique()
    events = truth["recording_events"].groupby(["meeting_record_id", "event_type"]).size()
    views = truth["recording_view_details"].groupby("record_file_id").size()
    windows = math.ceil(((end - start).days + 1) / 31)  # corp meetings and records take at most 31 days a query
    parts = {
        "corp/users": _pages(len(truth["users"]), MAX_PAGE["users"]),
        "corp/user-roles": _pages(len(truth["roles"]), MAX_PAGE["roles"]),
        "corp/meetings": max(windows, _pages(len(truth["meetings"]), MAX_PAGE["meetings"])),
        "participants": sum(_pages(n, MAX_PAGE["participants"]) for n in per_meeting),
        "corp/records": max(windows, _pages(len(truth["recordings"]), MAX_PAGE["records"])),
        "metrics/records": len(with_files),
        "records/events": sum(_pages(int(events.get((r, t), 0)), MAX_PAGE["events"])
                              for r in with_files for t in (1, 2)),
        "records/view-details": sum(_pages(int(views.get(f, 0)), MAX_PAGE["view_details"])
                                    for f in truth["recording_files"]["record_file_id"]),
    }
    return sum(parts.values()), parts


def _report_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_name like 'report_%' order by 1").fetchall()]


def time_queries(warehouse: Path, runs: int) -> list[Figure]:
    figures = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        queries = {f"select * from {t}": f"select * from {t}" for t in _report_tables(con)}
        queries.update(ANALYST_QUERIES)
        for name, sql in queries.items():
            timings = []
            for _ in range(max(runs, 3)):
                started = time.perf_counter()
                try:
                    con.execute(sql).fetchall()
                except duckdb.Error as exc:
                    figures.append(Figure("5 queries", name, None, "", "< 1 s", False,
                                          note=f"query failed on this warehouse: {exc}"))
                    break
                timings.append(time.perf_counter() - started)
            else:
                value = median(timings)
                figures.append(Figure("5 queries", name, value * 1000, "ms", "< 1000 ms", value < 1, runs=len(timings)))
    return figures


def run(runs: int, scale: str = "large", days: int = 30, short_days: int = 10,
        platform: str = "api-reference") -> list[Figure]:
    end = LAST_DAY - timedelta(days=1)
    start, short_start = end - timedelta(days=days - 1), end - timedelta(days=short_days - 1)
    figures: list[Figure] = []
    with EmulatorProcess(scale=scale, days=days + 1, platform=platform) as emu, tempfile.TemporaryDirectory(prefix="bench-bf-") as tmp:
        short = run_sync(emu, Path(tmp) / "short", short_start, end)
        full_dir = Path(tmp) / "full"
        full = run_sync(emu, full_dir, start, end)
        nextday = run_sync(emu, full_dir, LAST_DAY, LAST_DAY)
        for run_ in (short, full, nextday):
            if run_.returncode != 0:
                raise RuntimeError(f"tmeet-etl sync failed:\n{run_.output}")
        figures += time_queries(full_dir / "warehouse.duckdb", runs)
    minimum, parts = minimum_calls(scale, days + 1, start, end)
    day_minimum, _ = minimum_calls(scale, days + 1, LAST_DAY, LAST_DAY)
    day_economy = nextday.calls / day_minimum
    growth = full.peak_rss_mb / short.peak_rss_mb
    per_day = full.calls / days
    economy = full.calls / minimum
    made = ", ".join(f"{k.split(' ', 1)[1]} {v}" for k, v in sorted(full.calls_by_route.items()))
    need = ", ".join(f"{k} {v}" for k, v in parts.items())
    return [
        Figure("3 calls", f"calls made ÷ minimum, {days}-day backfill", economy, "", "<= 1.05", economy <= 1.05,
               note=f"made {full.calls:,} ({made}); minimum {minimum:,} ({need}). Minimum = Σ over the queries the "
               "data needs of ceil(max(rows, 1) / max page size), rows from the emulator's ground truth"),
        Figure("3 calls", "next day's incremental calls ÷ that day's minimum", day_economy, "", "<= 1.05",
               day_economy <= 1.05,
               note=f"`sync` of {LAST_DAY} onto the {days}-day lake: {nextday.calls:,} calls, minimum for that one "
               f"day {day_minimum:,} (same formula; {per_day:,.0f} calls a day on average in the backfill), so the "
               "cost follows the new day, not the history. Not measured: the declared recordings look-back "
               "(`recordings_lookback_job`, TMEET_LOOKBACK_DAYS default 14) runs as its own job; next step: "
               "materialize it here and add its calls"),
        Figure("4 memory", f"peak RSS, {short_days}-day backfill", short.peak_rss_mb, "MB", "< 1024 MB",
               short.peak_rss_mb < 1024,
               note=f"wall {short.seconds:.0f} s; peak reached {short.peak_at_s:.0f} s in"),
        Figure("4 memory", f"peak RSS, {days}-day backfill", full.peak_rss_mb, "MB", "< 1024 MB",
               full.peak_rss_mb < 1024, note=f"wall {full.seconds:.0f} s; peak reached {full.peak_at_s:.0f} s in"),
        Figure("4 memory", f"RSS growth {short_days} → {days} days", growth, "×", "flat (<= 1.25×)", growth <= 1.25,
               note="" if growth <= 1.25 else
               f"+{full.peak_rss_mb - short.peak_rss_mb:.0f} MB for {days - short_days} more days "
               f"(≈{(full.peak_rss_mb - short.peak_rss_mb) / (days - short_days):.0f} MB a day of data); the peak "
               f"falls {full.peak_at_s / full.seconds:.0%} of the way through the {days}-day run and "
               f"{short.peak_at_s / short.seconds:.0%} through the {short_days}-day one. Next step: find which "
               "step holds whole-range frames at that point (tracemalloc or per-step RSS from the run's event "
               "log) and stream it per partition"),
        *figures,
    ]
