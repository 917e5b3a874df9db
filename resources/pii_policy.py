"""The deployment's PII policy (``TMEET_PII_POLICY``) and its hashing salt, for the lake and the archive.

The salt is a deployment secret kept like the token key: ``TMEET_PII_SALT``, else a random 32-byte
key created once in ``$TMEET_DATA_DIR/state/pii.salt`` (0600, in the 0700 state directory). It is
never logged. Losing it changes every hash from then on; keep it with the token key in backups.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any
from pathlib import Path

import pandas as pd

from assets.normalize.pii import JSON_COLUMNS, PiiPolicy, PiiPolicyError
from resources.env_setting import env_setting
from resources.file_modes import PRIVATE, make_dirs

SALT_FILE = "pii.salt"


def _setting(field: str, environ: Mapping[str, str] | None) -> Any:
    if environ is None:
        return env_setting(field)
    # Imported here: the settings module imports the storage modules this one uses.
    from resources.settings import Settings

    return getattr(Settings.from_env(environ), field)


def policy_actions(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The configured actions (validated), without touching the salt."""
    return dict(_setting("pii_policy", environ))


def raw_archive_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Raw pages carry every personal field as received: archive them only when the policy keeps all."""
    return all(action == "keep" for action in policy_actions(environ).values())


def load_pii_policy(data_dir: Path, environ: Mapping[str, str] | None = None) -> PiiPolicy:
    """The policy for writes under ``data_dir``; the salt is read (or created) only when a column is hashed."""
    actions = policy_actions(environ)
    if "hash" not in actions.values():
        return PiiPolicy(actions)
    configured = _setting("pii_salt", environ)
    salt_text = configured.get_secret_value() if configured is not None else ""
    return PiiPolicy(actions, salt=_salt(data_dir / "state", salt_text))


def _salt(state_dir: Path, configured_text: str) -> bytes:
    configured = configured_text.strip()
    if configured:  # its length is checked by the settings model
        return configured.encode("utf-8")
    make_dirs(state_dir, PRIVATE)
    path = state_dir / SALT_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE.file)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            os.fchmod(fh.fileno(), PRIVATE.file)
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
    mode = path.lstat().st_mode & 0o777
    if mode & 0o077:
        raise PiiPolicyError(f"{path} is readable by others (mode {oct(mode)}); chmod 600 it")
    salt = path.read_text(encoding="ascii").strip()
    if len(salt) < 16:
        raise PiiPolicyError(f"{path} is empty or truncated; restore it from backup (or delete it to start new hashes)")
    return salt.encode("ascii")


def redact_preview(table: str, frame: pd.DataFrame, environ: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A preview for run metadata without the columns the policy hashes or drops (nor raw JSON then).

    Metadata lives in Dagster's run storage, outside the lake, so it gets no hashed values either.
    """
    actions = policy_actions(environ)
    if all(action == "keep" for action in actions.values()):
        return frame
    hidden = [c for c, action in actions.items() if action != "keep"]
    json_column = JSON_COLUMNS.get(table)
    if json_column is not None:
        hidden.append(json_column)
    return frame.drop(columns=[c for c in hidden if c in frame.columns])
