"""Quota saturation: real limits, shrunken windows; calls per window ÷ calls allowed, one and two processes."""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.emulator_process import EmulatorProcess
from bench.report import Figure, median
from bench.sync_runner import SyncRun, run_sync

APP_PER_MINUTE = 300
CORP_PER_MINUTE = 100
SLICE_DAY = date(2026, 11, 17)


def _window_utilisation(before: dict[str, Any], after: dict[str, Any]) -> float:
    """Share of the binding limit used: a corp call counts against both the corp and the app quota."""
    diff = {k: v - before["calls"].get(k, 0) for k, v in after["calls"].items()}
    corp = sum(v for k, v in diff.items() if " /v1/corp/" in k)
    return max(corp / CORP_PER_MINUTE, sum(diff.values()) / APP_PER_MINUTE)


def _sample_windows(emu: EmulatorProcess, window_s: float, done: threading.Event, out: list[float]) -> None:
    # The emulator's windows are monotonic-clock multiples, and CLOCK_MONOTONIC is shared across processes.
    previous = emu.stats()
    while not done.is_set():
        boundary = (time.monotonic() // window_s + 1) * window_s
        time.sleep(max(0.0, boundary - time.monotonic()) + 0.005)
        current = emu.stats()
        out.append(_window_utilisation(previous, current))
        previous = current


def _saturate(processes: int, time_scale: float, scale: str, platform: str) -> tuple[float, int, int, bool]:
    """(median utilisation of the full busy windows, quota rejections, calls, all syncs succeeded)."""
    window_s = 60 * time_scale
    with EmulatorProcess(scale=scale, rate_limit="real", time_scale=time_scale, platform=platform) as emu, \
            tempfile.TemporaryDirectory(prefix="bench-quota-") as tmp:
        shared_state = Path(tmp) / "shared-state"
        shared_state.mkdir()
        results: list[SyncRun] = []
        data_dirs = [Path(tmp) / f"p{i}" for i in range(processes)]
        for data_dir in data_dirs:
            data_dir.mkdir()
            # Processes pace together through one quota ledger, as two deployments of one app would.
            (data_dir / "state").symlink_to(shared_state)
        utilisation: list[float] = []
        done = threading.Event()
        sampler = threading.Thread(target=_sample_windows, args=(emu, window_s, done, utilisation), daemon=True)
        sampler.start()
        workers = [threading.Thread(target=lambda d=d: results.append(run_sync(emu, d, SLICE_DAY, SLICE_DAY)))
                   for d in data_dirs]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        done.set()
        sampler.join()
        stats = emu.stats()
    # The first window starts mid-way and the last ends early; so does the start-up of each process.
    busy = [u for u in utilisation[2:-2] if u > 0] or utilisation
    return (median(busy), sum(stats.get("quota_rejections", {}).values()), int(stats["total_calls"]),
            all(r.returncode == 0 for r in results))


def run(runs: int, scale: str = "large", time_scale: float = 0.1, shared_runs: int = 1,
        platform: str = "api-reference") -> list[Figure]:
    """``runs`` single-process runs (a one-day slice gives few full windows, so one run is noisy) and
    ``shared_runs`` two-process runs, which take twice as long."""
    figures: list[Figure] = []
    for processes in (1, 2):
        count = runs if processes == 1 else shared_runs
        outcomes = [_saturate(processes, time_scale, scale, platform) for _ in range(count)]
        util = median([o[0] for o in outcomes])
        rejections = max(o[1] for o in outcomes)
        ok = all(o[3] for o in outcomes)
        label = "1 process" if processes == 1 else "2 processes, one quota"
        section = "2 quota"
        figures += [
            Figure(section, f"calls per window ÷ allowed, {label}", util, "", ">= 0.9", util >= 0.9, runs=count,
                   note=f"windows of {60 * time_scale:.0f} s (--time-scale {time_scale}); binding limit per window "
                   f"= max(corp calls/{CORP_PER_MINUTE}, all calls/{APP_PER_MINUTE}); {outcomes[0][2]:,} calls"),
            Figure(section, f"quota rejections / failed syncs, {label}", f"{rejections} / {0 if ok else 'some'}",
                   "", "failed syncs = 0", ok, runs=count,
                   note="rejections answered by the emulator are retried by the client; only a failed sync counts "
                   "as an escaped quota error"),
        ]
    return figures
