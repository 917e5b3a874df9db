"""Permissions of everything written under the data directory: owner-only unless a BI group may read.

The lake, the raw pages and the warehouse hold names, e-mail addresses and phone hashes, so files
are 0600 and directories 0700 by default. ``TMEET_FILE_MODE=group-read`` gives 0640/0750 for a BI
group that reads the lake or the warehouse directly. Modes are set explicitly (``fchmod``/``chmod``
after creation) rather than through the umask: DuckDB, SQLite and Arrow create files themselves, and
a umask is process-wide state that a library or a service manager can change under us.

Secrets (the token store, its key, the emulator's app file) stay owner-only in every mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from resources.env_setting import env_setting

FILE_MODE_ENV = "TMEET_FILE_MODE"


@dataclass(frozen=True, slots=True)
class Modes:
    file: int
    directory: int


PRIVATE = Modes(file=0o600, directory=0o700)
GROUP_READ = Modes(file=0o640, directory=0o750)
_BY_NAME = {"private": PRIVATE, "group-read": GROUP_READ}


def parse_file_mode(value: str) -> Modes:
    """``private`` (default, also for an empty value) or ``group-read``."""
    name = value.strip().lower() or "private"
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"{FILE_MODE_ENV} must be 'private' (files 0600, directories 0700) or 'group-read' "
            f"(0640/0750 for a BI group); got {value!r}"
        ) from None


def current_modes() -> Modes:
    """The modes for data files, from ``TMEET_FILE_MODE`` (environment, then ``.env``)."""
    return parse_file_mode(env_setting("file_mode"))


def umask_of(modes: Modes) -> int:
    """The umask that creates files and directories no more open than ``modes``."""
    return 0o777 & ~modes.directory


@contextmanager
def restricted_umask(modes: Modes | None = None) -> Iterator[None]:
    """While third-party code creates files of its own under the data directory (Dagster's instance
    storage, logs and schedules), let them be created no more open than the data modes allow."""
    previous = os.umask(umask_of(modes or current_modes()))
    try:
        yield
    finally:
        os.umask(previous)


def make_dirs(directory: Path, modes: Modes | None = None) -> list[Path]:
    """Create ``directory`` and its missing parents with the data directory mode; return those created.

    Directories that already exist keep their mode: an operator may have set up the data root.
    """
    mode = (modes or current_modes()).directory
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            continue  # a concurrent writer made it first; it used the same helper
        os.chmod(path, mode)
        created.append(path)
    return created


def restrict(path: Path | int, modes: Modes | None = None) -> None:
    """Give a file (a path, or an open descriptor) the data file mode."""
    mode = (modes or current_modes()).file
    if isinstance(path, int):
        os.fchmod(path, mode)
    else:
        os.chmod(path, mode)


def precreate(path: Path, modes: Modes | None = None) -> None:
    """Create ``path`` empty with the data file mode unless it exists.

    For SQLite databases: SQLite creates its ``-wal`` and ``-shm`` files with the database file's own
    permissions, so creating the database file first fixes all three.
    """
    mode = (modes or current_modes()).file
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
