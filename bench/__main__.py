"""``python -m bench``: every benchmark section, a table on stdout, and a regenerated BENCHMARKS.md."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import backfill, components, publish, quota, scale, throughput
from bench.report import Figure, command_line, table, write_markdown

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
SECTIONS = ("throughput", "quota", "backfill", "emulator", "webhooks", "demo", "publish", "scale")


def plan(quick: bool, platform: str = "api-reference") -> dict[str, Callable[[], list[Figure]]]:
    """Each section with its repetitions; quick mode shrinks the work for iteration, not for the record."""
    runs = 1 if quick else 3
    return {
        "throughput": lambda: throughput.run(runs, scale="demo" if quick else "large", platform=platform),
        "quota": lambda: quota.run(1 if quick else 3, scale="demo" if quick else "large", platform=platform),
        # A 30-day `large` backfill takes minutes: memory and calls are measured once per invocation.
        "backfill": lambda: backfill.run(runs, scale="demo" if quick else "large",
                                         days=5 if quick else 30, short_days=2 if quick else 10, platform=platform),
        "emulator": lambda: components.emulator(1 if quick else 3, seconds=3 if quick else 8),
        "webhooks": lambda: components.webhooks(runs, events=1000 if quick else 3000),
        "demo": lambda: components.demo(1),
        # A year of history is built by re-dating one synced day; quick mode keeps a month.
        "publish": lambda: publish.run(runs, scale="demo" if quick else "large", days=30 if quick else 365,
                                       platform=platform),
        # 3 accounts at demo scale and 1 at large, synced concurrently (bench/scale.py).
        "scale": lambda: scale.run(days=2 if quick else 7),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=SECTIONS,
                        help="run only this section (repeatable); default: all")
    parser.add_argument("--quick", action="store_true", help="small scale and one run each, for iteration")
    parser.add_argument("--no-write", action="store_true", help="print the table but leave BENCHMARKS.md alone")
    parser.add_argument("--platform", choices=("api-reference", "scope-table"), default="api-reference",
                        help="the emulator's reading of the platform (the syncs sign with AK/SK, served alike by both)")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every emulator and sync child started so far is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    figures: list[Figure] = []
    for name, section in plan(args.quick, args.platform).items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        section_started = time.monotonic()
        try:
            figures += section()
        except Exception as exc:  # one broken section must not hide the others' figures
            traceback.print_exc()
            figures.append(Figure(name, "section failed", None, "", "", False, note=f"{type(exc).__name__}: {exc}"))
        print(f"   {time.monotonic() - section_started:.0f} s", flush=True)
    elapsed = time.monotonic() - started
    print(table(figures))
    print(f"total {elapsed / 60:.1f} min")
    if not (args.no_write or args.quick):
        scale.write_section(BENCHMARKS_MD, figures, command_line())
    if not (args.no_write or args.quick or args.only):
        write_markdown(BENCHMARKS_MD, figures, command_line(), elapsed)
        print(f"wrote {BENCHMARKS_MD}")
    # Misses are findings, written down with their cause; only a section that could not run fails the command.
    return 1 if any(f.name == "section failed" for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
