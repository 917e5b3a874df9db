"""`tmeet-etl doctor`'s storage rows: the lake, the raw archive and the data directory can be written.

A sync that cannot write its lake fails after it has spent quota on the pull, so doctor finds out
first: it writes and deletes one small probe object (or file) where each store is configured.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from resources.objectstore import ObjectStoreError, filesystem_for, is_remote
from resources.settings import Settings

Row = tuple[str, bool, str]
PROBE_PREFIX = ".tmeet-doctor-probe-"
AWS_HINT = ("check that the bucket exists and that AWS_ENDPOINT_URL, AWS_REGION and the credentials "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) allow listing and writing it")


def storage_rows(settings: Settings) -> list[Row]:
    """One row per store: the object-storage lake and archive when configured, and the data directory."""
    rows = [_remote_row(label, url) for label, url in (("lake", settings.lake_url), ("archive", settings.archive_url))
            if url and is_remote(url)]
    rows.append(_local_row(settings.data_dir))
    return rows


def _remote_row(label: str, url: str) -> Row:
    try:
        filesystem, base = filesystem_for(url)
        probe = f"{base.rstrip('/')}/{PROBE_PREFIX}{secrets.token_hex(6)}"
        with filesystem.open_output_stream(probe) as out:
            out.write(b"ok")
        filesystem.delete_file(probe)
    except (ObjectStoreError, OSError) as exc:
        return ("storage", False, f"{label} {url}: cannot write ({_first_line(exc)}); {AWS_HINT}")
    return ("storage", True, f"{label} {url}: writable (a probe object was written and deleted)")


def _local_row(data_dir: Path) -> Row:
    existing = data_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return ("storage", False, f"data directory {data_dir}: {existing} is not a writable directory; "
                "set TMEET_DATA_DIR to a directory this user may write, or fix its permissions")
    if existing != data_dir:
        return ("storage", True, f"data directory {data_dir}: not created yet; the first sync creates it")
    try:
        probe = data_dir / f"{PROBE_PREFIX}{secrets.token_hex(6)}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return ("storage", False, f"data directory {data_dir}: cannot write ({exc.strerror or exc}); "
                "free space or fix its permissions")
    return ("storage", True, f"data directory {data_dir}: writable")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
