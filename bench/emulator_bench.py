"""Emulator benchmark: start-up time and memory at ``large``, and full 100-row participant pages per second.

``python -m bench.emulator_bench [--seconds 10] [--threads 8]`` starts the emulator through its CLI
in a subprocess (so it has a core of its own) with quotas off, and cycles through every full
100-row participant page of the last week's all-hands and big webinars. Then, in the same run, a
bare Starlette app that serves a fixed page of the same size, as the reference for the ratio. It
prints a small table and :func:`run` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import itertools
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import psutil

from emulator.apps import demo_app
from emulator.signing import signed_headers

NOW = "2026-11-18T15:30:00+08:00"
PAGE_SIZE = 100
STARTUP_TIMEOUT_SECONDS = 180.0


@dataclass
class Server:
    process: subprocess.Popen[str]
    base_url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _spawn(cmd: list[str], url_pattern: str) -> Server:
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(url_pattern, line)
        if match:
            threading.Thread(target=_drain, args=(process,), daemon=True).start()
            return Server(process, match.group(1))
    process.wait()
    raise RuntimeError(f"{' '.join(cmd)} exited with {process.returncode} before printing its URL")


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for _ in process.stdout:
        pass


def _wait_healthy(base_url: str, path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(base_url + path).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise RuntimeError(f"{base_url} did not become healthy")


def full_page_targets(scale: str, world_days: int, days: int = 7, size: int = PAGE_SIZE) -> tuple[list[str], int]:
    """Request targets of every full ``size``-row participant page of the last ``days`` days' big meetings.

    Chosen from the same deterministic world the server generates (same seed, scale and --now),
    so no quota or time is spent scanning lists over HTTP. Returns (targets, meetings used).
    """
    from emulator.clock import Clock
    from emulator.enterprise import Enterprise

    enterprise = Enterprise(7, scale, world_days, Clock(datetime.fromisoformat(NOW)))  # type: ignore[arg-type]
    now_ms = enterprise.now_ms()
    first = enterprise.local_date(now_ms / 1000 - days * 86_400)
    targets: list[str] = []
    meetings = 0
    for day in enterprise.covered_days(first, enterprise.anchor):
        for inst in enterprise.day(day):
            # Only the all-hands and big webinars have more than one full page.
            if not inst.audience or enterprise.state(inst, now_ms) != "ended":
                continue
            rows = len(enterprise.visible_sessions(inst))
            meetings += 1
            window = f"&start_time={inst.sched_start - 86_400}&end_time={inst.sched_start + 86_400}"
            targets += [
                f"/v1/meetings/{inst.meeting_id}/participants?size={size}&pos={pos}{window}"
                "&operator_id=x&operator_id_type=1"
                for pos in range(0, rows - size + 1, size)
            ]
    if not targets:
        raise RuntimeError(f"no ended big meeting in the last {days} days to page through at scale {scale}")
    return targets, meetings


def _load(url_for: Any, headers_for: Any, seconds: float, threads: int) -> tuple[float, int, int]:
    """(pages per second, pages fetched, bytes of one page) for ``threads`` concurrent clients."""
    stop = time.monotonic() + seconds
    counts = [0] * threads
    errors = [0] * threads
    size = [0]

    def worker(i: int) -> None:
        with httpx.Client(trust_env=False, timeout=30) as client:
            while time.monotonic() < stop:
                target = url_for()
                response = client.get(target[0], headers=headers_for(target[1]))
                if response.status_code == 200:
                    counts[i] += 1
                    size[0] = len(response.content)
                else:
                    errors[i] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    if sum(errors):
        print(f"warning: {sum(errors)} non-200 answers during the load", file=sys.stderr)
    return sum(counts) / elapsed, sum(counts), size[0]


def serve_reference(page_bytes: int) -> None:
    """A bare Starlette app answering a fixed JSON page of ``page_bytes`` bytes (the reference)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    filler = max(0, page_bytes - len('{"participants":""}'))
    body = ('{"participants":"' + "x" * filler + '"}').encode()

    async def page(_: Any) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/page", page)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"reference serving at http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False)).run(sockets=[sock])


def run(seconds: float = 10.0, threads: int = 8, scale: str = "large", days: int = 90) -> dict[str, Any]:
    """Serve ``scale`` with ``days`` of history, load it, then the reference; the figures as a dict."""
    app = demo_app()
    started = time.monotonic()
    emulator = _spawn(
        [sys.executable, "-m", "emulator", "--port", "0", "--scale", scale, "--days", str(days),
         "--rate-limit", "off", "--now", NOW, "--log-level", "error"],
        r"serving at (http://\S+)",
    )
    try:
        _wait_healthy(emulator.base_url, "/_emulator/health")
        startup_s = time.monotonic() - started
        rss_start_mb = psutil.Process(emulator.process.pid).memory_info().rss / 2**20
        targets, meetings = full_page_targets(scale, days)
        first = httpx.get(emulator.base_url + targets[0], headers=signed_headers(app, "GET", targets[0]),
                          trust_env=False, timeout=30).json()
        page_rows = len(first.get("participants", []))
        if page_rows != PAGE_SIZE:
            raise RuntimeError(f"expected a full {PAGE_SIZE}-row page, got {page_rows}: {first}")
        cycle = itertools.cycle(targets)
        lock = threading.Lock()

        def next_target() -> tuple[str, str]:
            with lock:
                target = next(cycle)
            return emulator.base_url + target, target

        rate, pages, page_bytes = _load(next_target, lambda t: signed_headers(app, "GET", t), seconds, threads)
        rss_end_mb = psutil.Process(emulator.process.pid).memory_info().rss / 2**20
    finally:
        emulator.stop()
    reference = _spawn([sys.executable, "-m", "bench.emulator_bench", "--reference", str(page_bytes)],
                       r"serving at (http://\S+)")
    try:
        _wait_healthy(reference.base_url, "/page")
        ref_rate, _, _ = _load(lambda: (reference.base_url + "/page", ""), lambda _: {}, seconds, threads)
    finally:
        reference.stop()
    return {
        "scale": scale,
        "days": days,
        "startup_s": round(startup_s, 2),
        "rss_start_mb": round(rss_start_mb, 1),
        "rss_after_load_mb": round(rss_end_mb, 1),
        "big_meetings": meetings,
        "full_pages": len(targets),
        "page_rows": page_rows,
        "page_bytes": page_bytes,
        "pages": pages,
        "pages_per_s": round(rate, 1),
        "reference_pages_per_s": round(ref_rate, 1),
        "ratio_to_reference": round(rate / ref_rate, 3) if ref_rate else None,
        "threads": threads,
        "seconds": seconds,
    }


def print_table(figures: dict[str, Any]) -> None:
    width = max(len(k) for k in figures)
    print("emulator benchmark")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.emulator_bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per server (default 10)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--scale", choices=("small", "demo", "large"), default="large")
    parser.add_argument("--days", type=int, default=90, help="days of history to serve (default 90)")
    parser.add_argument("--reference", type=int, metavar="BYTES", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reference is not None:
        serve_reference(args.reference)
        return 0
    print_table(run(args.seconds, args.threads, args.scale, args.days))
    return 0


if __name__ == "__main__":
    sys.exit(main())
