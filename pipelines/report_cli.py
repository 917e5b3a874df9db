"""`tmeet-etl report`: argument parsing only; the report is imported when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from assets._windows import parse_day


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="draw the usage dashboard (offline HTML plus one PNG per chart) from the warehouse",
        description="Read warehouse.duckdb and write a self-contained index.html with the usage charts, "
        "and each chart as a PNG, to $TMEET_DATA_DIR/report/ (or --out).",
    )
    parser.add_argument("--start", type=parse_day, help="first business date (default: 30 days before --end)")
    parser.add_argument("--end", type=parse_day, help="last business date, inclusive (default: the last with data)")
    parser.add_argument("--department", help="only people whose main department has this id or name")
    parser.add_argument("--out", type=Path, help="output directory (default: $TMEET_DATA_DIR/report)")
    parser.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from rich.console import Console

    from assets.report import build_report
    from assets.report.data import ReportDataError
    from resources.settings import ConfigError, Settings

    console = Console()
    try:
        settings = Settings.from_env()
        result = build_report(
            settings.data_dir / "warehouse.duckdb", args.out or settings.data_dir / "report",
            start=args.start, end=args.end, department=args.department, timezone=settings.timezone,
        )
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        return 2
    except ReportDataError as exc:
        console.print(f"[red]cannot draw the report:[/red] {exc}")
        return 1
    if result.panels_without_data:
        console.print(f"No data for {result.filter.label} in: {', '.join(result.panels_without_data)}")
    console.print(f"Report for {result.filter.label}: {result.html.resolve()}")
    return 0
