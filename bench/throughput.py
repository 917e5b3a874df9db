"""Rows landed per second with limits off: this pipeline vs. a bare fetch of the same pages vs. dlt."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr

from bench.dlt_baseline import AkSkRequestsAuth, run_dlt
from bench.emulator_process import EmulatorProcess
from bench.report import Figure, median
from bench.sync_runner import PROJECT_ROOT, run_sync, warehouse_rows
from resources.settings import Settings
from resources.tencent.signer import AkSkAuth

# One business day at `large` is the fixed slice: a 30-day run takes minutes per repetition.
SLICE_DAY = date(2026, 11, 17)
# Seven days ending on the one-day slice: fixed costs amortized over a week of data.
WEEK_START = SLICE_DAY - timedelta(days=6)
# Before the emulator's 30 days of history: a run that pulls no meetings shows the fixed cost.
EMPTY_DAY = SLICE_DAY - timedelta(days=60)


def fetch_only(emu: EmulatorProcess, targets: list[str], workers: int) -> float:
    """Seconds to GET every target from ``workers`` threads, signed, discarding the bodies."""
    auth = AkSkAuth(emu.app_id, emu.secret_id, SecretStr(emu.secret_key), emu.sdk_id)
    pending = iter(targets)
    lock = threading.Lock()
    failures = [0]

    def worker() -> None:
        with httpx.Client(base_url=emu.base_url, auth=auth, trust_env=False, timeout=60) as client:
            while True:
                with lock:
                    target = next(pending, None)
                if target is None:
                    return
                method, _, path = target.partition(" ")
                if client.request(method, path).status_code != 200:
                    failures[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures[0]:
        raise RuntimeError(f"fetch-only replay: {failures[0]} requests failed")
    return time.monotonic() - started


def startup_seconds() -> float:
    """Wall time of a child that only imports the sync runner (interpreter, Dagster, pandas, the assets)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import pipelines.sync"], check=True, cwd=PROJECT_ROOT)
    return time.monotonic() - started


@dataclass
class SliceRun:
    """Side-by-side figures for one slice: the pipeline, the bare fetch of its pages, dlt."""

    rows: int = 0
    rows_dlt: int = 0
    pipeline_s: list[float] = field(default_factory=list)
    fetch_s: list[float] = field(default_factory=list)
    dlt_s: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)

    def ratio_fetch(self) -> float:
        return median([f / p for p, f in zip(self.pipeline_s, self.fetch_s, strict=True)])

    def ratio_dlt(self) -> float:
        # Rows per second over rows per second; the two land slightly different row sets.
        return median([(self.rows / p) / (self.rows_dlt / d) for p, d in zip(self.pipeline_s, self.dlt_s, strict=True)])


def measure_slice(emu: EmulatorProcess, tmp: Path, name: str, start: date, end: date, runs: int) -> SliceRun:
    workers = Settings().max_workers
    result = SliceRun()
    for i in range(runs):
        data_dir = tmp / f"pipeline-{name}-{i}"
        sync = run_sync(emu, data_dir, start, end, trace=True)
        if sync.returncode != 0:
            raise RuntimeError(f"tmeet-etl sync failed:\n{sync.output}")
        result.rows = sum(warehouse_rows(data_dir).values())
        result.pipeline_s.append(sync.seconds)
        result.peak_rss_mb.append(sync.peak_rss_mb)
        # Same pages, same concurrency, no processing: the ceiling the pipeline can approach.
        result.fetch_s.append(fetch_only(emu, sync.targets, workers))
        auth = AkSkRequestsAuth(app_id=emu.app_id, secret_id=emu.secret_id, secret_key=emu.secret_key,
                                sdk_id=emu.sdk_id)
        started = time.monotonic()
        dlt_rows = run_dlt(emu.base_url, auth, emu.admin_userid, start, end, tmp / f"dlt-{name}-{i}")
        result.dlt_s.append(time.monotonic() - started)
        result.rows_dlt = sum(dlt_rows.values())
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(tmp / f"dlt-{name}-{i}", ignore_errors=True)
    return result


def fixed_cost(emu: EmulatorProcess, tmp: Path, runs: int) -> tuple[float, float]:
    """Wall seconds of a sync of a day with no meetings (start-up, directory, orchestration, publish),
    and of its publish alone when repeated onto the same lake."""
    totals: list[float] = []
    publishes: list[float] = []
    for i in range(runs):
        data_dir = tmp / f"empty-{i}"
        sync = run_sync(emu, data_dir, EMPTY_DAY, EMPTY_DAY)
        if sync.returncode != 0:
            raise RuntimeError(f"tmeet-etl sync of an empty day failed:\n{sync.output}")
        totals.append(sync.seconds)
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", PUBLISH_AGAIN, str(data_dir)], check=True, cwd=PROJECT_ROOT)
        publishes.append(time.monotonic() - started)
    return median(totals), median(publishes)


# A publish in a fresh interpreter, as the run's last step does it (imports included).
PUBLISH_AGAIN = (
    "import sys; from resources.dagster_resources import StorageResource; from assets.warehouse import publish; "
    "publish(StorageResource(data_dir=sys.argv[1]))"
)


# Why the week misses, from the in-process profile of a large day (see BENCHMARKS.md).
WEEK_CAUSE = ("with the fixed part amortized, the remainder is CPU on a machine whose second core "
              "serves the emulator: normalising and archiving every page, the Parquet writes, Dagster's "
              "per-partition events and checks; fetching is concurrent, processing is not overlapped with it")


def run(runs: int, scale: str = "large", platform: str = "api-reference", week_runs: int = 1) -> list[Figure]:
    with EmulatorProcess(scale=scale, platform=platform) as emu, tempfile.TemporaryDirectory(prefix="bench-tp-") as tmp:
        day = measure_slice(emu, Path(tmp), "day", SLICE_DAY, SLICE_DAY, runs)
        week = measure_slice(emu, Path(tmp), "week", WEEK_START, SLICE_DAY, week_runs)
        import_s = median([startup_seconds() for _ in range(runs)])
        empty_s, publish_s = fixed_cost(emu, Path(tmp), runs)
    r_fetch, r_dlt = day.ratio_fetch(), day.ratio_dlt()
    w_fetch, w_dlt = week.ratio_fetch(), week.ratio_dlt()
    total, fetch = median(day.pipeline_s), median(day.fetch_s)
    cause = (f"Measured split of the {total:.1f} s sync: {import_s:.1f} s start-up (importing Dagster, pandas and "
             f"the assets), {fetch:.1f} s fetching the same pages (the fetch-only time), and "
             f"{max(total - import_s - fetch, 0):.1f} s for the rest: Dagster's run and step orchestration, "
             "normalisation, Parquet writes, checks and the warehouse publish; the 7-day slice and the "
             "empty-day run below separate the fixed part from the per-row part.")
    section = "1 throughput"
    rps = lambda s: s.rows / median(s.pipeline_s)  # noqa: E731
    return [
        Figure(section, f"pipeline rows/s ({scale}, 1 day, {day.rows:,} rows)", rps(day), "rows/s",
               runs=runs, note=f"wall {total:.1f} s per `tmeet-etl sync` of the slice, including "
               "interpreter, Dagster start-up and the warehouse publish"),
        Figure(section, "fetch-only rows/s (same pages, same concurrency)", day.rows / median(day.fetch_s), "rows/s",
               runs=runs),
        Figure(section, f"dlt rest_api rows/s ({day.rows_dlt:,} rows)", day.rows_dlt / median(day.dlt_s), "rows/s",
               runs=runs),
        Figure(section, "start-up of the sync process (imports only)", import_s, "s", runs=runs),
        Figure(section, "pipeline ÷ fetch-only, 1 day", r_fetch, "", ">= 0.5", r_fetch >= 0.5, runs=runs,
               note=cause if r_fetch < 0.5 else ""),
        Figure(section, "pipeline ÷ dlt, 1 day", r_dlt, "", ">= 5", r_dlt >= 5, runs=runs,
               note="" if r_dlt >= 5 else "dlt fetches its child pages one at a time but has no orchestration "
               "layer; the pipeline's non-fetch remainder above is what keeps it near dlt"),
        Figure(section, f"pipeline rows/s ({scale}, 7 days, {week.rows:,} rows)", rps(week), "rows/s",
               runs=week_runs, note=f"wall {median(week.pipeline_s):.1f} s; fetch-only "
               f"{median(week.fetch_s):.1f} s; dlt {median(week.dlt_s):.1f} s for {week.rows_dlt:,} rows"),
        Figure(section, "pipeline ÷ fetch-only, 7 days", w_fetch, "", ">= 0.8", w_fetch >= 0.8, runs=week_runs,
               note="" if w_fetch >= 0.8 else WEEK_CAUSE),
        Figure(section, "pipeline ÷ dlt, 7 days", w_dlt, "", ">= 5", w_dlt >= 5, runs=week_runs,
               note="" if w_dlt >= 5 else WEEK_CAUSE),
        Figure(section, "peak RSS, 7 days", median(week.peak_rss_mb), "MB", "< 1024 MB",
               median(week.peak_rss_mb) < 1024, runs=week_runs),
        Figure(section, "fixed cost: sync of a day without meetings", empty_s, "s", "< 3 s", empty_s < 3, runs=runs,
               note=f"start-up {import_s:.1f} s (imports), publish {publish_s:.1f} s (in a fresh interpreter, "
               f"onto the same lake, imports included), the remaining {max(empty_s - import_s - publish_s, 0):.1f} s "
               "is Dagster's orchestration plus the directory pull: every run walks /v1/corp/users by cursor, "
               "one page after another (200 pages at large), which cannot be fanned out"),
    ]
