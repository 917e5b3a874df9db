"""Before/after of a code change on this shared machine: two source trees synced alternately.

``python -m bench.side_by_side OLD_TREE [--days N] [--runs R]`` syncs the same `large` slice with
the tree at OLD_TREE and with this one, alternating, against one emulator, and prints each run's
wall time, CPU seconds of the sync process (steadier than wall time under load) and step split.
Export the old tree with ``git archive REV | tar -x -C OLD_TREE``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.emulator_process import EmulatorProcess
from bench.report import median
from bench.run_split import run_split
from bench.sync_runner import PROJECT_ROOT, run_sync
from bench.throughput import EMPTY_DAY, SLICE_DAY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the source tree to compare with")
    parser.add_argument("--days", type=int, default=1, help="days of the slice, ending on the bench's day")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tree")
    parser.add_argument("--scale", default="large")
    parser.add_argument("--end", type=date.fromisoformat, default=SLICE_DAY,
                        help=f"last day of the slice (default {SLICE_DAY}; {EMPTY_DAY} has no meetings: the fixed cost)")
    parser.add_argument("--again", action="store_true",
                        help="measure a repeat of the sync onto the data the first one landed (a re-run)")
    args = parser.parse_args(argv)
    trees = {"old": args.old.resolve(), "new": PROJECT_ROOT}
    start = args.end - timedelta(days=args.days - 1)
    figures: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": [], "rss": []} for name in trees}
    with EmulatorProcess(scale=args.scale) as emu, tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        for i in range(args.runs):
            for name, code in trees.items():
                data_dir = Path(tmp) / f"{name}-{i}"
                if args.again:
                    run_sync(emu, data_dir, start, args.end, code=code)
                sync = run_sync(emu, data_dir, start, args.end, code=code)
                if sync.returncode != 0:
                    raise RuntimeError(f"the {name} tree's sync failed:\n{sync.output}")
                split = run_split(data_dir, sync.started_at, sync.ended_at)
                figures[name]["wall"].append(sync.seconds)
                figures[name]["cpu"].append(sync.cpu_s)
                figures[name]["rss"].append(sync.peak_rss_mb)
                print(f"{name} run {i}: wall {sync.seconds:.1f} s, CPU {sync.cpu_s:.1f} s, "
                      f"peak RSS {sync.peak_rss_mb:.0f} MB, {sync.calls} calls; {split.describe()}", flush=True)
                shutil.rmtree(data_dir, ignore_errors=True)
    for name, values in figures.items():
        print(f"{name}: median wall {median(values['wall']):.1f} s, CPU {median(values['cpu']):.1f} s, "
              f"peak RSS {median(values['rss']):.0f} MB over {args.runs} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
