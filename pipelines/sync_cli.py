"""`tmeet-etl sync`: argument parsing only; the runner is imported when the command runs."""

from __future__ import annotations

import argparse
import logging
import re

from typing import TYPE_CHECKING

from assets._windows import parse_day
from pipelines.cli_errors import CommandFailed, explain_text

if TYPE_CHECKING:
    from pipelines.sync import SyncSummary
    from resources.accounts import Accounts


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
    parser.add_argument("--account", action="append", metavar="ID",
                        help="with TMEET_ACCOUNTS_FILE: sync only this account (repeatable; default: every account)")
    parser.add_argument("--parallel", type=int, default=1, metavar="N",
                        help="with TMEET_ACCOUNTS_FILE: sync N accounts at a time (default 1)")
    parser.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    from rich.console import Console

    from pipelines.sync import default_range, print_summary, run_sync
    from resources.accounts import acting_account, load_accounts
    from resources.settings import Settings

    # An account's own process (a child of the multi-account sync) syncs just that account.
    accounts = None if acting_account() else load_accounts()
    if accounts is not None or args.account:
        return cmd_sync_accounts(args, accounts)
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


def cmd_sync_accounts(args: argparse.Namespace, accounts: Accounts | None) -> int:
    """One sync per account of the accounts file; every account runs whatever another's outcome."""
    from pipelines.accounts_sync import print_account, sync_accounts
    from resources.accounts import ACCOUNTS_FILE_ENV

    if accounts is None:
        raise CommandFailed([f"--account needs an accounts file: set {ACCOUNTS_FILE_ENV} to its path "
                             "(or leave --account out to sync the one configured account)"], exit_code=2)
    results = sync_accounts(accounts, args.account, args.start, args.end or args.start, snapshots=args.snapshots,
                            parallel=args.parallel, debug=bool(getattr(args, "debug", False)), report=print_account)
    failed = [r.account.id for r in results if not r.success]
    if accounts.combined_warehouse is not None:
        print(f"Combined warehouse: {accounts.combined_warehouse}")
    if failed:
        raise CommandFailed([f"sync failed for account(s) {', '.join(failed)}; the other accounts' results are "
                             f"landed. Fix the cause printed above and re-run: tmeet-etl sync --account {failed[0]}"])
    return 0


def failed_sync(summary: SyncSummary) -> CommandFailed:
    """The cause a person must fix, in one line; the failed steps and where the trace is after it.

    Steps failing for the same reason differ only in endpoint, trace id or a measured number, so
    causes are told apart by class and by their text without those.
    """
    causes: dict[tuple[str, str], str] = {}
    for error in summary.errors:
        text = explain_text(error.cls_name, error.message, summary.data_dir)
        causes.setdefault((error.cls_name, _gist(text)), text)
    first = next(iter(causes.values()))
    steps = ", ".join(sorted({error.step for error in summary.errors}))
    others = f"; {len(causes) - 1} other cause(s) in the log" if len(causes) > 1 else ""
    lines = [f"sync {summary.start}..{summary.end} failed: {first}", f"failed steps: {steps}{others}"]
    trace = "\n".join(error.trace for error in summary.errors)
    return CommandFailed(lines, trace=trace)


def _gist(text: str) -> str:
    text = re.sub(r" \[(GET|POST) [^\]]*\].*$", "", text)
    return re.sub(r"\d+", "#", text)
