"""One variable, read when it is used, for the storage code that has no ``Settings`` at hand (the
lake, the archive, file modes). A ``.env`` file reaches it the way it reaches every setting: the
command line loads it into the environment first (``tmeet-etl --env-file``)."""

from __future__ import annotations

import os


def env_setting(name: str, default: str = "") -> str:
    return os.environ.get(name, default)
