"""`tmeet-etl`: the command line of the Tencent Meeting pipeline.

Each command group lives in the module that owns it and exposes ``register(subparsers)``;
this file only assembles them, so adding a command never touches another command's code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.cli_errors import CommandFailed, explain, trace_of, where_trace_is, write_trace
from pipelines.env_file import DEFAULT_ENV_FILE, load_env_file
from resources.refusal_alerts import install_refresh_refused_alerts
from resources.tencent.redact import install_log_scrubbing, scrub

# Each module's ``register`` adds its sub-commands and sets ``func``.
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
# Commands that run the bundled emulator: a deployment without the `emulator` package has none of them.
EMULATOR_COMMAND_MODULES = frozenset({"pipelines.demo_cli", "pipelines.dev_cli", "emulator.cli"})


def emulator_installed() -> bool:
    try:
        return importlib.util.find_spec("emulator") is not None
    except ImportError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tmeet-etl",
        description="Tencent Meeting analytics pipeline: sync, auth, emulator and warehouse tools.",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        metavar="PATH",
        help=f"read settings from this file (default: {DEFAULT_ENV_FILE} in the working directory, if present); "
        "the environment wins over it",
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the full trace of a failure (it is always in <data dir>/logs)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    with_emulator = emulator_installed()
    for module_name in COMMAND_MODULES:
        if module_name in EMULATOR_COMMAND_MODULES and not with_emulator:
            continue
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    install_log_scrubbing()
    # Every command that builds a client (sync, doctor, auth refresh, ...) alerts on a refused refresh.
    install_refresh_refused_alerts()
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_to_stderr(debug=args.debug)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        load_env_file(args.env_file)
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except CommandFailed as exc:
        return _report(exc.lines, exc.exit_code, exc.trace, args)
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes a message, not a trace
        data_dir = _data_dir()
        explained = explain(exc, data_dir)
        return _report([explained.message], explained.exit_code, trace_of(exc), args)


class _NotAnEvent(logging.Filter):
    """Structured events (``extra={"event": ...}``) are for alert channels; the command says it itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not hasattr(record, "event")


def _log_to_stderr(debug: bool) -> None:
    root = logging.getLogger()
    if any(getattr(h, "tmeet_cli", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if debug else "warning: %(message)s"))
    handler.addFilter(_NotAnEvent())
    handler.tmeet_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if debug:
        root.setLevel(logging.DEBUG)


def _report(lines: list[str], exit_code: int, trace: str, args: argparse.Namespace) -> int:
    command = " ".join(a for a in (getattr(args, "command", None), getattr(args, "auth_command", None)) if a)
    if args.debug and trace:
        print(scrub(trace), file=sys.stderr, end="")
    for line in lines:
        print(f"error: {scrub(line)}" if line is lines[0] else scrub(line), file=sys.stderr)
    if trace and not args.debug:
        print(where_trace_is(write_trace(_data_dir(), command or "tmeet-etl", trace)), file=sys.stderr)
    return exit_code


def _data_dir() -> Path:
    """TMEET_DATA_DIR as the commands see it, even when the rest of the configuration is broken."""
    from resources.settings import DEFAULT_DATA_DIR, Settings

    try:
        return Settings.from_env().data_dir
    except Exception:  # noqa: BLE001 - a broken setting must not hide the original failure
        return Path(os.environ.get(Settings.env_name("data_dir")) or DEFAULT_DATA_DIR)


if __name__ == "__main__":
    sys.exit(main())
