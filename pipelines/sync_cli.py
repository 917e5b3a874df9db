"""`tmeet-etl sync`: argument parsing only; the runner is imported when the command runs."""

from __future__ import annotations

import argparse
import logging

from typing import TYPE_CHECKING

from assets._windows import parse_day
from pipelines.cli_errors import CommandFailed, explain_text

if TYPE_CHECKING:
    from pipelines.sync import SyncSummary


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="pull every table for a date range, publish the warehouse, print a summary",
        description="Materialize every asset for the business dates START..END (default: yesterday) in "
        "one process, then publish warehouse.duckdb.",
    )
    parser.add_argument("--start", type=parse_day, help="first business date (YYYY-MM-DD)")
    parser.add_argument("--end", type=parse_day, help="last business date (YYYY-MM-DD), inclusive")
    parser.add_argument("--snapshots", action="store_true", help="also snapshot upcoming and live meetings")
    parser.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    from rich.console import Console

    from pipelines.sync import default_range, print_summary, run_sync
    from resources.settings import Settings

    console = Console()
    debug = bool(getattr(args, "debug", False))
    logging.getLogger("dagster").setLevel(logging.WARNING if debug else logging.CRITICAL)
    settings = Settings.from_env()
    start, end = default_range(settings, 1)
    first = args.start or start
    summary = run_sync(
        first, args.end or args.start or end, include_snapshots=args.snapshots, console=console, debug=debug
    )
    if summary.errors:
        raise failed_sync(summary)
    print_summary(summary, console)
    return 0 if summary.success else 1


def failed_sync(summary: SyncSummary) -> CommandFailed:
    """One line per distinct cause (usually one), naming the fix; the steps and the trace go after it."""
    by_message: dict[str, list[str]] = {}
    for error in summary.errors:
        text = explain_text(error.cls_name, error.message, summary.data_dir)
        by_message.setdefault(text, []).append(error.step)
    causes = list(by_message.items())
    lines = [f"sync {summary.start}..{summary.end} failed: {causes[0][0]}"]
    lines += [f"also: {text}" for text, _ in causes[1:2]]
    steps = sorted({step for _, group in causes for step in group})
    lines.append(f"failed steps: {', '.join(steps)}" + (f" (+{len(causes) - 2} other causes)" if len(causes) > 2 else ""))
    trace = "\n".join(error.trace for error in summary.errors)
    return CommandFailed(lines, trace=trace)
