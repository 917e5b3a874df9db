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
from bench.run_split import RunSplit, median_split, run_split
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
    cpu_s: list[float] = field(default_factory=list)
    splits: list[RunSplit] = field(default_factory=list)

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
        result.cpu_s.append(sync.cpu_s)
        result.splits.append(run_split(data_dir, sync.started_at, sync.ended_at))
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


@dataclass
class FixedCost:
    """A sync of a day without meetings: its wall time, its phases, and a publish on its own."""

    total_s: float
    split: RunSplit
    publish_alone_s: float

    @property
    def orchestration_s(self) -> float:
        """Everything that is neither start-up, the directory pull nor the publish: Dagster's launch of
        the run, its hand-over between steps, the pull steps that find nothing, the summary and exit."""
        pulls = sum(t for name, t in self.split.steps.items() if name not in ("directory", "warehouse"))
        return self.split.between_steps_s + pulls + self.split.after_run_s


def fixed_cost(emu: EmulatorProcess, tmp: Path, runs: int) -> FixedCost:
    """Wall seconds of a sync of a day with no meetings (start-up, directory, orchestration, publish),
    its split from the run's event log, and its publish alone when repeated onto the same lake."""
    totals: list[float] = []
    publishes: list[float] = []
    splits: list[RunSplit] = []
    for i in range(runs):
        data_dir = tmp / f"empty-{i}"
        sync = run_sync(emu, data_dir, EMPTY_DAY, EMPTY_DAY)
        if sync.returncode != 0:
            raise RuntimeError(f"tmeet-etl sync of an empty day failed:\n{sync.output}")
        totals.append(sync.seconds)
        splits.append(run_split(data_dir, sync.started_at, sync.ended_at))
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", PUBLISH_AGAIN, str(data_dir)], check=True, cwd=PROJECT_ROOT)
        publishes.append(time.monotonic() - started)
    return FixedCost(median(totals), median_split(splits), median(publishes))


# A publish in a fresh interpreter, as the run's last step does it (imports included).
PUBLISH_AGAIN = (
    "import sys; from resources.dagster_resources import StorageResource; from assets.warehouse import publish; "
    "publish(StorageResource(data_dir=sys.argv[1]))"
)


# Why a slice misses, from the per-step profile (see BENCHMARKS.md); the measured split follows it.
SLICE_CAUSE = ("the pipeline process is CPU-bound on a machine whose second core serves the emulator: "
               "its fetch threads (httpx, signing, quota) and its main thread (archiving, normalising, "
               "Parquet, checks, Dagster's events) share one GIL, and the steps run one after another")


def slice_cause(run: SliceRun) -> str:
    """:data:`SLICE_CAUSE` with how busy the sync process was: CPU seconds over wall seconds."""
    cpu, wall = median(run.cpu_s), median(run.pipeline_s)
    return f"{SLICE_CAUSE} (busy {cpu / wall:.0%} of its wall time: {cpu:.1f} s of CPU in {wall:.1f} s)"


def _slice_note(name: str, run: SliceRun) -> str:
    split = median_split(run.splits)
    return (f"{name}: wall {median(run.pipeline_s):.1f} s, CPU {median(run.cpu_s):.1f} s of the sync process, "
            f"fetch-only {median(run.fetch_s):.1f} s, dlt {median(run.dlt_s):.1f} s for {run.rows_dlt:,} rows. "
            f"Split from the run's event log: {split.describe()}")


def run(runs: int, scale: str = "large", platform: str = "api-reference", week_runs: int = 1) -> list[Figure]:
    with EmulatorProcess(scale=scale, platform=platform) as emu, tempfile.TemporaryDirectory(prefix="bench-tp-") as tmp:
        day = measure_slice(emu, Path(tmp), "day", SLICE_DAY, SLICE_DAY, runs)
        week = measure_slice(emu, Path(tmp), "week", WEEK_START, SLICE_DAY, week_runs)
        import_s = median([startup_seconds() for _ in range(runs)])
        fixed = fixed_cost(emu, Path(tmp), runs)
    r_fetch, r_dlt = day.ratio_fetch(), day.ratio_dlt()
    w_fetch, w_dlt = week.ratio_fetch(), week.ratio_dlt()
    day_note, week_note = _slice_note("1 day", day), _slice_note("7 days", week)
    section = "1 throughput"
    rps = lambda s: s.rows / median(s.pipeline_s)  # noqa: E731
    split = fixed.split
    publish_s = split.steps.get("warehouse", 0.0)
    directory_s = split.steps.get("directory", 0.0)
    return [
        Figure(section, f"pipeline rows/s ({scale}, 1 day, {day.rows:,} rows)", rps(day), "rows/s",
               runs=runs, note=day_note),
        Figure(section, "fetch-only rows/s (same pages, same concurrency)", day.rows / median(day.fetch_s), "rows/s",
               runs=runs),
        Figure(section, f"dlt rest_api rows/s ({day.rows_dlt:,} rows)", day.rows_dlt / median(day.dlt_s), "rows/s",
               runs=runs),
        Figure(section, "start-up of the sync process (imports only)", import_s, "s", runs=runs),
        Figure(section, "pipeline ÷ fetch-only, 1 day", r_fetch, "", ">= 0.5", r_fetch >= 0.5, runs=runs,
               note="" if r_fetch >= 0.5 else slice_cause(day)),
        Figure(section, "pipeline ÷ dlt, 1 day", r_dlt, "", ">= 5", r_dlt >= 5, runs=runs,
               note="" if r_dlt >= 5 else "dlt fetches its child pages one at a time but has no orchestration "
               "layer; the pipeline's non-fetch remainder above is what keeps it near dlt"),
        Figure(section, f"pipeline rows/s ({scale}, 7 days, {week.rows:,} rows)", rps(week), "rows/s",
               runs=week_runs, note=week_note),
        Figure(section, "pipeline ÷ fetch-only, 7 days", w_fetch, "", ">= 0.8", w_fetch >= 0.8, runs=week_runs,
               note="" if w_fetch >= 0.8 else slice_cause(week)),
        Figure(section, "pipeline ÷ dlt, 7 days", w_dlt, "", ">= 5", w_dlt >= 5, runs=week_runs,
               note="" if w_dlt >= 5 else slice_cause(week)),
        Figure(section, "peak RSS, 7 days", median(week.peak_rss_mb), "MB", "< 1024 MB",
               median(week.peak_rss_mb) < 1024, runs=week_runs,
               note="compare with section 4's 30-day backfill: the 7-day figure must not exceed it"),
        Figure(section, "fixed cost: sync of a day without meetings", fixed.total_s, "s", "< 3 s",
               fixed.total_s < 3, runs=runs,
               note=f"split (event log of the run): start-up {split.before_run_s:.1f} s before the run "
               f"({import_s:.1f} s of it importing), directory pull {directory_s:.1f} s (a `pos` cursor walk of "
               f"/v1/corp/users, one page after another, every run), orchestration {fixed.orchestration_s:.1f} s, "
               f"publish step {publish_s:.1f} s (the warehouse and the UI's charts; a publish alone in a fresh "
               f"interpreter, imports included, {fixed.publish_alone_s:.1f} s); {split.events} events stored"),
        Figure(section, "fixed cost: start-up (process start to the run's first event)", split.before_run_s, "s",
               runs=runs),
        Figure(section, "fixed cost: orchestration (launch, between steps, empty pull steps, exit)",
               fixed.orchestration_s, "s", runs=runs),
        Figure(section, "fixed cost: publish step (warehouse and UI charts)", publish_s, "s", runs=runs),
        Figure(section, "fixed cost: directory pull", directory_s, "s", runs=runs),
    ]
