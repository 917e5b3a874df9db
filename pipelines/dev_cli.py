"""`tmeet-etl dev`: argument parsing; the emulator and Dagster start when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dev",
        help="start the emulator, the webhook receiver and Dagster (webserver + daemon) on the demo's data",
        description="Serve the emulator and the webhook receiver, sign in through OAuth, and run the Dagster "
        "webserver and daemon on the instance under the data directory (the one `tmeet-etl demo` filled).",
    )
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"), help="default: data/demo, as `make demo`")
    parser.add_argument("--port", type=int, default=3000, help="Dagster UI port (default 3000)")
    parser.set_defaults(func=cmd_dev)


def cmd_dev(args: argparse.Namespace) -> int:
    from rich.console import Console

    from pipelines.dev import run_dev

    return run_dev(args.data_dir, args.port, Console())
