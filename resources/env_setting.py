"""One setting read the way ``Settings.from_env`` reads it: the environment first, then ``./.env``.

For the storage code that has no ``Settings`` at hand (the lake, the archive, file modes): a value
put in ``.env`` must take effect there exactly as it does for the rest of the pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values


def env_setting(name: str, default: str = "") -> str:
    if name in os.environ:
        return os.environ[name]
    dotenv = Path(".env")
    if dotenv.is_file():
        value = dotenv_values(dotenv).get(name)
        if value is not None:
            return value
    return default
