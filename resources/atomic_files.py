"""Temp-file-then-rename discipline shared by the lake, the raw archive and the warehouse.

A file is written under a hidden ``.<name>.<pid>.<random>.inprogress`` name in the target's own
directory (same filesystem, so ``os.replace`` is atomic; a ``*.parquet`` glob never matches it),
fsynced, renamed over the target, and the directory fsynced. The writer holds an exclusive
``flock`` on its temp file for its whole life, so :func:`sweep_debris` can tell a killed writer's
debris (lock free) from a live writer's file (lock held) without trusting pids or clocks alone.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from resources.file_modes import current_modes, make_dirs

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".inprogress"
DEFAULT_SWEEP_GRACE_SECONDS = 3600.0

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


class StorageWriteError(OSError):
    """A write to the data directory failed; the previous version of the file is untouched."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        self.path = path
        code = getattr(cause, "errno", None)
        super().__init__(code, describe_write_failure(path, cause))

    def __str__(self) -> str:
        return str(self.strerror)


def describe_write_failure(path: Path, cause: BaseException) -> str:
    """A message naming the path, what went wrong and how to fix it."""
    code = getattr(cause, "errno", None)
    reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    if code in _NO_SPACE:
        fix = (
            f"the filesystem holding {path.parent} is full; free space there (or point "
            "TMEET_DATA_DIR at a larger volume) and re-run the partition"
        )
    elif code in _NO_PERMISSION:
        fix = (
            f"this process (uid {os.getuid()}) may not write to {path.parent}; make the "
            "directory writable or point TMEET_DATA_DIR elsewhere, then re-run the partition"
        )
    else:
        fix = "check the filesystem and re-run the partition"
    return f"Could not write {path}: {reason}. The previous version is unchanged; {fix}."


def temp_path_for(target: Path) -> Path:
    """A unique hidden temp name beside ``target``."""
    token = secrets.token_hex(6)
    return target.with_name(f".{target.name}.{os.getpid()}.{token}{TEMP_SUFFIX}")


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mkdirs(directory: Path) -> None:
    created = make_dirs(directory)
    # New directory entries must be durable too, or a crash can lose a renamed file's parent.
    for path in created:
        fsync_dir(path.parent)


def _open_temp(path: Path) -> BinaryIO:
    """Open a new temp file exclusively with the data file mode; tests replace this to simulate a failing disk."""
    mode = current_modes().file

    def opener(name: str, flags: int) -> int:
        fd = os.open(name, flags | os.O_NOFOLLOW, mode)
        try:
            os.fchmod(fd, mode)  # the umask may have taken bits away; the mode is ours to decide
        except OSError:
            os.close(fd)
            raise
        return fd

    # ``open`` with an opener keeps ``handle.name`` the path, which the lake hands to Arrow.
    return open(path, "xb", opener=opener)  # noqa: SIM115 - lifetime is managed by atomic_file


@contextmanager
def atomic_file(target: Path) -> Iterator[BinaryIO]:
    """Yield a locked temp file; on clean exit it atomically and durably replaces ``target``.

    On any exception the temp file is removed and ``target`` is left as it was. OS errors
    (disk full, permissions) are re-raised as :class:`StorageWriteError` naming the path.
    """
    temp: Path | None = None
    handle: BinaryIO | None = None
    try:
        try:
            _mkdirs(target.parent)
            temp = temp_path_for(target)
            handle = _open_temp(temp)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise StorageWriteError(target, exc) from exc
        # The body's own errors (a network error while streaming pages, say) pass through
        # unchanged; only the writes it makes through this module's callers are relabelled.
        yield handle
        try:
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(temp, target)
            temp = None
            fsync_dir(target.parent)
        except OSError as exc:
            raise StorageWriteError(target, exc) from exc
    finally:
        if handle is not None:
            try:
                handle.close()
            except OSError:
                pass  # the write already failed or succeeded; a close error adds nothing
        if temp is not None:
            _remove_quietly(temp)


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove temp file %s: %s; the next sweep retries", path, exc)


def _is_abandoned(path: Path) -> bool:
    """True when no process holds the writer's lock on ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def sweep_debris(
    root: Path, grace_seconds: float = DEFAULT_SWEEP_GRACE_SECONDS, now: float | None = None
) -> list[Path]:
    """Remove temp files of killed writers under ``root``; return what was removed.

    A file is removed only when it is older than ``grace_seconds`` *and* no live writer holds
    its lock, so a slow writer is never disturbed.
    """
    if not root.exists():
        return []
    cutoff = (time.time() if now is None else now) - grace_seconds
    removed: list[Path] = []
    for path in sorted(root.rglob(f".*{TEMP_SUFFIX}")):
        try:
            if path.stat().st_mtime > cutoff or not _is_abandoned(path):
                continue
        except FileNotFoundError:
            continue
        _remove_quietly(path)
        if not path.exists():
            removed.append(path)
    return removed
