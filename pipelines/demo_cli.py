"""`tmeet-etl demo`: argument parsing; the demo itself is imported when it runs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on the built-in emulator (no credentials needed)",
        description="Start the emulator, sign in through OAuth, sync the last days, publish the warehouse, "
        "print a summary, draw the usage report (data-dir/report/index.html) and stop.",
    )
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"),
                        help="where the demo's lake and warehouse go (default: data/demo)")
    parser.add_argument("--days", type=int, default=30, help="how many days to sync, ending yesterday (default 30)")
    parser.add_argument("--scale", choices=("small", "demo", "large"), default="demo")
    parser.add_argument("--seed", type=int, default=7)
    parser.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from pipelines.demo import DemoOptions, run_demo

    if not 1 <= args.days <= 90:
        raise SystemExit("--days must be between 1 and 90")
    logging.getLogger("dagster").setLevel(logging.WARNING)
    summary = run_demo(DemoOptions(args.data_dir, args.days, args.scale, args.seed), Console())
    return 0 if summary.success else 1
