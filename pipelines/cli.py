"""`tmeet-etl`: the command line of the Tencent Meeting pipeline.

Each command group lives in the module that owns it and exposes ``register(subparsers)``;
this file only assembles them, so adding a command never touches another command's code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from resources.tencent.redact import install_log_scrubbing

# (module, attribute) pairs; each ``register`` adds its sub-commands and sets ``func``.
COMMAND_MODULES: tuple[str, ...] = (
    "pipelines.sync_cli",
    "pipelines.rebuild_cli",
    "pipelines.report_cli",
    "pipelines.demo_cli",
    "pipelines.dev_cli",
    "pipelines.auth_cli",
    "emulator.cli",
    "pipelines.webhook_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tmeet-etl",
        description="Tencent Meeting analytics pipeline: sync, auth, emulator and warehouse tools.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    install_log_scrubbing()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    return int(func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
