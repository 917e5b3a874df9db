"""One setting, read when it is used, for the storage code that has no ``Settings`` at hand (the
lake, the archive, file modes, the PII policy). The value, its default and its validation come from
the settings model (:func:`resources.settings.setting_now`); a ``.env`` file reaches it the way it
reaches every setting: the command line loads it into the environment first (``tmeet-etl --env-file``)."""

from __future__ import annotations

from typing import Any


def env_setting(field: str) -> Any:
    # Imported here: the settings module imports the storage modules that call this.
    from resources.settings import setting_now

    return setting_now(field)
