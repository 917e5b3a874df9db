"""`tmeet-etl rebuild`: argument parsing only; the rebuild is imported when the command runs."""

from __future__ import annotations

import argparse

from assets._windows import parse_day


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rebuild",
        help="re-derive lake tables from the raw-page archive (no API calls), then publish the warehouse",
        description="Replay the archived API pages of START..END (default: every archived date) through the "
        "normalizers, replace those lake partitions, and publish warehouse.duckdb. Makes no API call.",
    )
    parser.add_argument("--start", type=parse_day, help="first business date (YYYY-MM-DD)")
    parser.add_argument("--end", type=parse_day, help="last business date (YYYY-MM-DD), inclusive")
    parser.add_argument("--tables", nargs="+", metavar="TABLE", help="only these tables (default: all)")
    parser.add_argument("--no-publish", action="store_true", help="rebuild the lake only; leave the warehouse")
    parser.set_defaults(func=cmd_rebuild)


def cmd_rebuild(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from pipelines.rebuild import rebuild
    from resources.settings import ConfigError, Settings

    console = Console()
    try:
        settings = Settings.from_env()
        summary = rebuild(
            settings.data_dir, settings.timezone, start=args.start, end=args.end or args.start,
            tables=args.tables, publish_warehouse=not args.no_publish,
        )
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        return 2
    except FileNotFoundError as exc:
        console.print(f"[red]nothing to rebuild from:[/red] {exc}")
        return 1
    scrubbed = {column: action for column, action in settings.pii_policy.items() if action != "keep"}
    if scrubbed:
        policy = ", ".join(f"{column}={action}" for column, action in sorted(scrubbed.items()))
        console.print(
            f"[yellow]TMEET_PII_POLICY ({policy}) turns the raw-page archive off:[/yellow] pages synced under "
            "this policy were never archived and cannot be rebuilt; re-run `tmeet-etl sync` for those dates "
            "instead. Pages archived before the policy was set are replayed, and the policy is applied to "
            "what they land."
        )
    if not summary.rows_by_table:
        console.print(f"No archived pages under {settings.data_dir / 'raw'} for that range; run `tmeet-etl sync` first.")
        return 1
    table = Table(title="Rebuilt from the raw archive", show_edge=False)
    table.add_column("table")
    table.add_column("partitions", justify="right")
    table.add_column("rows", justify="right")
    for name, rows in sorted(summary.rows_by_table.items()):
        table.add_row(name, str(summary.partitions_by_table.get(name, 0)), f"{rows:,}")
    console.print(table)
    if summary.published is not None:
        console.print(f"Published {summary.published.path}")
    return 0
