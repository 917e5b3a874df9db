"""Emulator, webhook receiver and demo figures, reusing the existing benches."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import emulator_bench, webhook_bench
from bench.report import Figure, median

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_TIMEOUT_S = 600


def emulator(runs: int, seconds: float) -> list[Figure]:
    results = [emulator_bench.run(seconds=seconds, threads=8, scale="large") for _ in range(runs)]
    section = "6 emulator"
    return [
        Figure(section, "participant pages/s, limits off", median([r["pages_per_s"] for r in results]), "pages/s",
               runs=runs, note=f"{results[0]['page_rows']} rows a page, 8 client threads on the same 2 cores"),
        Figure(section, "pages/s ÷ bare Starlette serving the same bytes",
               median([r["ratio_to_reference"] for r in results]), "", runs=runs),
        Figure(section, "start-up at large", median([r["startup_s"] for r in results]), "s", runs=runs),
        Figure(section, "RSS at large after load", median([r["rss_after_load_mb"] for r in results]), "MB", runs=runs),
    ]


def webhooks(runs: int, events: int) -> list[Figure]:
    results = [webhook_bench.run(events=events, aes_events=max(events // 5, 200)) for _ in range(runs)]
    figures = []
    for i, mode in enumerate(("plain", "aes")):
        rate = median([r["phases"][i]["events_per_s"] for r in results])
        p99 = median([r["phases"][i]["p99_ms"] for r in results])
        figures += [
            Figure("webhooks", f"{mode} events/s acknowledged", rate, "events/s", ">= 500", rate >= 500, runs=runs),
            Figure("webhooks", f"{mode} p99 ack latency", p99, "ms", "< 100 ms", p99 < 100, runs=runs),
        ]
    return figures


def demo(runs: int) -> list[Figure]:
    """Time ``tmeet-etl demo`` end to end in a scratch directory."""
    timings: list[float] = []
    note = ""
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
            env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
            env = {k: v for k, v in env.items() if not k.startswith("TMEET_")}
            started = time.monotonic()
            try:
                done = subprocess.run([sys.executable, "-m", "pipelines.cli", "demo", "--data-dir", f"{tmp}/demo"],
                                      cwd=tmp, env=env, capture_output=True, text=True, timeout=DEMO_TIMEOUT_S,
                                      stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                note = f"did not finish within {DEMO_TIMEOUT_S} s"
                break
            if done.returncode != 0:
                note = f"exited {done.returncode}: {(done.stdout + done.stderr).strip().splitlines()[-1:]}"
                break
            timings.append(time.monotonic() - started)
    if not timings:
        return [Figure("7 demo", "tmeet-etl demo", None, "", "< 180 s", False, note=note)]
    value = median(timings)
    return [Figure("7 demo", "tmeet-etl demo, end to end", value, "s", "< 180 s", value < 180, runs=len(timings))]
