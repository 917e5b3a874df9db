"""The one place a ``.env`` file is read: ``tmeet-etl --env-file PATH``, else ``./.env`` if it exists.

Its variables go into the process environment before any command runs, under the variables already
set (the environment wins), so the settings model, Dagster runs started by the command and child
processes all see the same values.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

from pipelines.cli_errors import CommandFailed

DEFAULT_ENV_FILE = Path(".env")

_loaded: Path | None = None


def load_env_file(path: Path | None) -> Path | None:
    """Load ``path`` (it must exist), or ``./.env`` when no path is given; return the file loaded, if any."""
    global _loaded
    if path is None:
        if not DEFAULT_ENV_FILE.is_file():
            _loaded = None
            return None
        path = DEFAULT_ENV_FILE
    elif not path.is_file():
        raise CommandFailed(
            [f"--env-file {path}: no such file; create it (copy .env.example) or leave the option out"], exit_code=2
        )
    for name, value in dotenv_values(path).items():
        if value is not None:
            os.environ.setdefault(name, value)
    _loaded = path.resolve()
    return _loaded


def loaded_env_file() -> Path | None:
    """The ``.env`` file this process loaded, or None."""
    return _loaded


def describe_env_file() -> str:
    """For ``tmeet-etl doctor``: which file the settings came from besides the environment."""
    if _loaded is not None:
        return f"{_loaded} (the environment wins over it)"
    return f"none: no --env-file given and no .env in {Path.cwd()}; settings come from the environment only"
