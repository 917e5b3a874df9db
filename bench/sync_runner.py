"""Run ``tmeet-etl sync`` in a child process against an emulator; time it, sample its peak RSS."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import psutil

from bench.emulator_process import EmulatorProcess

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENTITIES = ("users", "meetings", "participant_sessions", "recordings", "recording_events")


@dataclass
class SyncRun:
    seconds: float
    returncode: int
    peak_rss_mb: float
    peak_at_s: float
    calls: int
    calls_by_route: dict[str, int]
    quota_rejections: int
    targets: list[str] = field(default_factory=list)
    output: str = ""
    # time.time() at launch and at exit, to place the run's own event timestamps (bench.run_split).
    started_at: float = 0.0
    ended_at: float = 0.0
    # CPU seconds (user + system) of the sync process: steadier than wall time on a shared machine.
    cpu_s: float = 0.0


def warehouse_rows(data_dir: Path, tables: tuple[str, ...] = ENTITIES) -> dict[str, int]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {t: int(con.execute(f'select count(*) from "{t}"').fetchone()[0]) for t in tables}  # type: ignore[index]


def sample_peak(process: psutil.Process, stop: threading.Event, peak: list[float]) -> None:
    """Keep [peak MB, seconds after start when it was reached]; when tells which phase holds the memory."""
    started = time.monotonic()
    while not stop.is_set():
        try:
            rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
        except psutil.Error:
            break
        if rss / 2**20 > peak[0]:
            peak[0], peak[1] = rss / 2**20, time.monotonic() - started
        stop.wait(0.1)


@dataclass(frozen=True)
class Sampled:
    """A command's wall time, exit code, output, and the peak RSS of it and its children (and when)."""

    seconds: float
    returncode: int
    peak_rss_mb: float
    peak_at_s: float
    output: str


def run_sampled(command: list[str], env: dict[str, str], cwd: Path) -> Sampled:
    """Run ``command`` to its end, sampling the RSS of its process tree every 0.1 s."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stop, peak = threading.Event(), [0.0, 0.0]
    sampler = threading.Thread(target=sample_peak, args=(psutil.Process(process.pid), stop, peak), daemon=True)
    sampler.start()
    try:
        output, _ = process.communicate()
        seconds = time.monotonic() - started
    finally:
        # An interrupted bench must not leave a sync running against a stopped emulator.
        if process.poll() is None:
            process.kill()
            process.wait()
        stop.set()
        sampler.join()
    return Sampled(seconds, process.returncode, peak[0], peak[1], output)


def run_sync(emu: EmulatorProcess, data_dir: Path, start: date, end: date, *, trace: bool = False,
             extra_env: dict[str, str] | None = None, code: Path = PROJECT_ROOT) -> SyncRun:
    """One ``tmeet-etl sync --start --end`` against ``emu``; calls counted by the emulator.

    ``code`` is the source tree the sync imports (another checkout, for before/after comparisons).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **emu.pipeline_env(data_dir), **(extra_env or {}),
           "PYTHONPATH": str(code), "COLUMNS": "120"}
    targets_file = data_dir / "targets.json"
    if trace:
        cmd = [sys.executable, "-m", "bench.traced_sync", str(targets_file), "--"]
    else:
        cmd = [sys.executable, "-m", "pipelines.cli", "sync"]
    cmd += ["--start", start.isoformat(), "--end", end.isoformat()]
    before = emu.stats()
    started_at = time.time()
    cpu_before = _children_cpu()
    sampled = run_sampled(cmd, env, data_dir)
    ended_at = time.time()
    # Counts every child reaped meanwhile: exact unless syncs run concurrently (bench.quota).
    cpu_s = _children_cpu() - cpu_before
    after = emu.stats()
    by_route = {k: v - before["calls"].get(k, 0) for k, v in after["calls"].items() if v - before["calls"].get(k, 0)}
    rejections = sum(after.get("quota_rejections", {}).values()) - sum(before.get("quota_rejections", {}).values())
    targets = json.loads(targets_file.read_text()) if trace and targets_file.exists() else []
    return SyncRun(sampled.seconds, sampled.returncode, sampled.peak_rss_mb, sampled.peak_at_s,
                   after["total_calls"] - before["total_calls"], by_route, rejections, targets, sampled.output[-4000:],
                   started_at, ended_at, cpu_s)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
