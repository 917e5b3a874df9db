"""Rows landed per second with limits off: this pipeline vs. a bare fetch of the same pages vs. dlt."""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx

from bench.dlt_baseline import AkSkRequestsAuth, run_dlt
from bench.emulator_process import EmulatorProcess
from bench.report import Figure, median
from bench.sync_runner import run_sync, warehouse_rows
from resources.settings import Secret, Settings
from resources.tencent.signer import AkSkAuth

# One business day at `large` is the fixed slice: a 30-day run takes minutes per repetition.
SLICE_DAY = date(2026, 11, 17)


def fetch_only(emu: EmulatorProcess, targets: list[str], workers: int) -> float:
    """Seconds to GET every target from ``workers`` threads, signed, discarding the bodies."""
    auth = AkSkAuth(emu.app_id, emu.secret_id, Secret(emu.secret_key), emu.sdk_id)
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


def run(runs: int, scale: str = "large") -> list[Figure]:
    workers = Settings().max_workers
    pipeline_rps: list[float] = []
    fetch_rps: list[float] = []
    dlt_rps: list[float] = []
    pipeline_s: list[float] = []
    rows_pipeline = rows_dlt = 0
    with EmulatorProcess(scale=scale) as emu, tempfile.TemporaryDirectory(prefix="bench-tp-") as tmp:
        for i in range(runs):
            data_dir = Path(tmp) / f"pipeline-{i}"
            sync = run_sync(emu, data_dir, SLICE_DAY, SLICE_DAY, trace=True)
            if sync.returncode != 0:
                raise RuntimeError(f"tmeet-etl sync failed:\n{sync.output}")
            rows_pipeline = sum(warehouse_rows(data_dir).values())
            pipeline_s.append(sync.seconds)
            pipeline_rps.append(rows_pipeline / sync.seconds)
            # Same pages, same concurrency, no processing: the ceiling the pipeline can approach.
            fetch_rps.append(rows_pipeline / fetch_only(emu, sync.targets, workers))
            auth = AkSkRequestsAuth(app_id=emu.app_id, secret_id=emu.secret_id, secret_key=emu.secret_key,
                                    sdk_id=emu.sdk_id)
            started = time.monotonic()
            dlt_rows = run_dlt(emu.base_url, auth, emu.admin_userid, SLICE_DAY, SLICE_DAY, Path(tmp) / f"dlt-{i}")
            rows_dlt = sum(dlt_rows.values())
            dlt_rps.append(rows_dlt / (time.monotonic() - started))
    ratios_fetch = [p / f for p, f in zip(pipeline_rps, fetch_rps)]
    ratios_dlt = [p / d for p, d in zip(pipeline_rps, dlt_rps)]
    r_fetch, r_dlt = median(ratios_fetch), median(ratios_dlt)
    section = "1 throughput"
    return [
        Figure(section, f"pipeline rows/s ({scale}, 1 day, {rows_pipeline:,} rows)", median(pipeline_rps), "rows/s",
               runs=runs, note=f"wall {median(pipeline_s):.1f} s per `tmeet-etl sync` of the slice, including "
               "interpreter, Dagster start-up and the warehouse publish"),
        Figure(section, "fetch-only rows/s (same pages, same concurrency)", median(fetch_rps), "rows/s", runs=runs),
        Figure(section, f"dlt rest_api rows/s ({rows_dlt:,} rows)", median(dlt_rps), "rows/s", runs=runs),
        Figure(section, "pipeline ÷ fetch-only", r_fetch, "", ">= 0.8", r_fetch >= 0.8, runs=runs),
        Figure(section, "pipeline ÷ dlt", r_dlt, "", ">= 5", r_dlt >= 5, runs=runs),
    ]
