"""One or two lines a person can act on for every failure of a `tmeet-etl` command.

The full trace goes to ``<data dir>/logs/tmeet-etl.log`` (or to the terminal with ``--debug``);
the message names the fix and says where the trace is.
"""

from __future__ import annotations

import errno
import os
import re
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from resources.file_modes import make_dirs, precreate
from resources.tencent.redact import scrub

LOG_NAME = "tmeet-etl.log"

_ERRNO_RE = re.compile(r"\[Errno (\d+)\]")
_PATH_RE = re.compile(r"""['"](/[^'"]+)['"]""")
_PHRASES = {
    "No space left on device": errno.ENOSPC,
    # SQLite's own words (the Dagster instance and the quota ledger under the data directory).
    "database or disk is full": errno.ENOSPC,
    "Read-only file system": errno.EROFS,
    "Disk quota exceeded": errno.EDQUOT,
    "Permission denied": errno.EACCES,
}
_STORAGE_ERRNOS = {
    errno.ENOSPC: ("no space is left on the device", "free space there or point TMEET_DATA_DIR at a larger disk"),
    errno.EDQUOT: ("the disk quota is used up", "free space there or point TMEET_DATA_DIR at a larger disk"),
    errno.EROFS: (
        "the file system is read-only",
        "point TMEET_DATA_DIR at a writable directory or remount that file system read-write",
    ),
    errno.EACCES: (
        "permission denied",
        "give this user write access there (chown/chmod) or point TMEET_DATA_DIR at a writable directory",
    ),
    errno.EPERM: (
        "the operation is not permitted (immutable file or directory?)",
        "clear the attribute (`chattr -i`) or point TMEET_DATA_DIR at a writable directory",
    ),
}
# Exit status per kind of failure: configuration mistakes are 2, everything else 1.
CONFIG_EXIT = 2
FAILURE_EXIT = 1


class CommandFailed(Exception):
    """A command's own verdict: the lines to print, the exit status and the trace for the log."""

    def __init__(self, lines: list[str], *, exit_code: int = FAILURE_EXIT, trace: str = "") -> None:
        super().__init__(" ".join(lines))
        self.lines = lines
        self.exit_code = exit_code
        self.trace = trace


@dataclass(frozen=True)
class Explained:
    message: str
    exit_code: int = FAILURE_EXIT


def explain(exc: BaseException, data_dir: Path) -> Explained:
    """The message (naming the fix) and exit status for one exception raised by a command."""
    from resources.settings import ConfigError

    if isinstance(exc, ConfigError):
        return Explained(f"configuration error: {exc}", CONFIG_EXIT)
    storage = _storage_problem(exc, data_dir)
    if storage is not None:
        return Explained(storage)
    if isinstance(exc, TimeoutError) and type(exc).__module__.startswith("filelock"):
        return Explained(f"{exc}: another tmeet-etl process holds this lock; wait for it to finish, or stop it")
    return Explained(explain_text(type(exc).__name__, str(exc), data_dir))


def explain_text(cls_name: str, message: str, data_dir: Path) -> str:
    """The same, for an error known only by its class name and text (a Dagster step's failure)."""
    text = _strip_class_prefix(message.strip()).splitlines()[0] if message.strip() else cls_name
    storage = _storage_problem_text(text, None, data_dir)
    if storage is not None:
        return storage
    if cls_name in _TRANSIENT:
        return f"the platform kept failing ({text}); nothing was lost: run the same command again later"
    if cls_name in product_error_names():
        return text
    if cls_name == "OSError" or cls_name in _OS_ERRORS:
        return f"{text}; check that path and TMEET_DATA_DIR"
    return f"unexpected {cls_name}: {text}"


_TRANSIENT = {"RetryableError", "DeadlineExceeded", "QuotaWait"}
_OS_ERRORS = {"FileNotFoundError", "PermissionError", "IsADirectoryError", "NotADirectoryError", "FileExistsError"}


def product_error_names() -> set[str]:
    """Class names of the product's own errors (and Dagster's ``Failure``, which carries our message)."""
    from resources.settings import ConfigError
    from resources.tencent.errors import TencentError
    from resources.tencent.token_store import TokenStoreError

    names = {"Failure", "CommandFailed"}
    pending: list[type] = [TencentError, ConfigError, TokenStoreError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def _strip_class_prefix(message: str) -> str:
    # Dagster renders an error as "package.module.Class: text"; the person needs the text.
    match = re.match(r"^[A-Za-z_][\w.]*\.[A-Z]\w*: ", message)
    return message[match.end():] if match else message


def _storage_problem(exc: BaseException, data_dir: Path) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _STORAGE_ERRNOS:
            return _storage_message(current.errno, current.filename, data_dir)
        if isinstance(current, OSError) or type(current).__module__.split(".")[0] in ("duckdb", "pyarrow", "sqlite3"):
            text = _storage_problem_text(str(current), getattr(current, "filename", None), data_dir)
            if text is not None:
                return text
        current = current.__cause__ or current.__context__
    return None


def _storage_problem_text(message: str, filename: str | None, data_dir: Path) -> str | None:
    code: int | None = None
    found = _ERRNO_RE.search(message)
    if found is not None and int(found.group(1)) in _STORAGE_ERRNOS:
        code = int(found.group(1))
    else:
        for phrase, value in _PHRASES.items():
            if phrase in message:
                code = value
                break
    if code is None:
        return None
    path = filename or (m.group(1) if (m := _PATH_RE.search(message)) else None)
    return _storage_message(code, path, data_dir)


def _storage_message(code: int, path: object, data_dir: Path) -> str:
    what, fix = _STORAGE_ERRNOS[code]
    where = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) and path else f"under {data_dir}"
    return f"cannot write {where}: {what}; {fix}"


def log_path(data_dir: Path) -> Path:
    return data_dir / "logs" / LOG_NAME


def write_trace(data_dir: Path, command: str, trace: str) -> Path | None:
    """Append a scrubbed trace to the command log; None when the data dir cannot take it either."""
    path = log_path(data_dir)
    try:
        make_dirs(path.parent)
        precreate(path)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now(UTC).isoformat()} tmeet-etl {command}\n{scrub(trace)}\n")
    except OSError:
        return None
    return path


def trace_of(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def where_trace_is(path: Path | None) -> str:
    if path is None:
        return "the full trace could not be logged there; rerun with --debug to see it"
    return f"full trace in {path} (or rerun with --debug)"
