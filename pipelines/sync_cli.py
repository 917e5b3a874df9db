"""`tmeet-etl sync`: argument parsing only; the runner is imported when the command runs."""

from __future__ import annotations

import argparse
import logging

from assets._windows import parse_day


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
    from resources.settings import ConfigError, Settings

    console = Console()
    logging.getLogger("dagster").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        start, end = default_range(settings, 1)
        first = args.start or start
        summary = run_sync(first, args.end or args.start or end, include_snapshots=args.snapshots, console=console)
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        return 2
    print_summary(summary, console)
    return 0 if summary.success else 1
