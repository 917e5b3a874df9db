"""Everything the product writes under the data directory is owner-only, or group-readable on request."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emulator.testing import EmulatorHandle
from pipelines.demo import demo_apps_file
from pipelines.env_file import load_env_file
from pipelines.sync import run_sync
from resources.file_modes import GROUP_READ, PRIVATE, Modes, current_modes
from resources.pii_policy import policy_actions, raw_archive_allowed
from resources.settings import ConfigError, Settings
from resources.tencent.token_store import StoredToken, TokenStore
from resources.webhooks import Inbox
from tests.pipeline.conftest import FIRST, LAST



def _is_secret(path: Path, data_dir: Path) -> bool:
    """The token store, its key and directory, and the demo's app file stay owner-only in every mode."""
    if path == data_dir / "state" or path.name in {"token.key", "emulator-apps.json"}:
        return True
    return path.parent == data_dir / "state" and path.name.startswith("tokens-")


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would leave everything world-readable: the modes must not depend on it."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _write_everything(data_dir: Path) -> None:
    summary = run_sync(FIRST, LAST)
    assert summary.success, summary.failures
    with Inbox(data_dir / "inbox" / "webhooks.sqlite") as inbox:
        assert inbox.append("trace-modes", "meeting.end", datetime.now(UTC), "{}")
    store = TokenStore.for_app(data_dir / "state", "sdk-modes", None)
    with store.lock:
        store.put(StoredToken("open-id", "access-canary", "refresh-canary", int(time.time()) + 3600))
    demo_apps_file(data_dir, 8765)


def _assert_modes(data_dir: Path, modes: Modes) -> None:
    seen = {"file": 0, "dir": 0}
    wrong: list[str] = []
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        is_dir = path.is_dir()
        kind = PRIVATE if _is_secret(path, data_dir) else modes
        wanted = kind.directory if is_dir else kind.file
        seen["dir" if is_dir else "file"] += 1
        if mode != wanted:
            wrong.append(f"{oct(mode)} (want {oct(wanted)}) {path.relative_to(data_dir.parent)}")
    assert not wrong, "\n".join(wrong)
    # The walk covered the lake, raw pages, warehouse, state, token store and inbox.
    names = {p.name for p in data_dir.rglob("*")}
    for expected in ("lake", "raw", "warehouse.duckdb", "quota.sqlite", "token.key", "webhooks.sqlite", "emulator-apps.json"):
        assert expected in names, expected
    assert any(n.endswith(".parquet") for n in names) and any(n.endswith(".jsonl.gz") for n in names)
    assert any(n.startswith("tokens-") for n in names)
    assert seen["file"] > 20 and seen["dir"] > 10


def test_a_synced_data_dir_is_owner_only_by_default(
    pipeline_env: tuple[EmulatorHandle, Path], loose_umask: None
) -> None:
    _, data_dir = pipeline_env
    _write_everything(data_dir)
    _assert_modes(data_dir, PRIVATE)


def test_group_read_mode_lets_a_bi_group_read_data_but_not_secrets(
    pipeline_env: tuple[EmulatorHandle, Path], loose_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, data_dir = pipeline_env
    monkeypatch.setenv("TMEET_FILE_MODE", "group-read")
    _write_everything(data_dir)
    _assert_modes(data_dir, GROUP_READ)


def test_an_unknown_file_mode_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="'private'.*'group-read'"):
        Settings.from_env({"TMEET_FILE_MODE": "world"})


def test_storage_settings_in_dotenv_take_effect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TMEET_FILE_MODE", "TMEET_PII_POLICY"):
        monkeypatch.setenv(name, "")  # restored after the test, whatever the .env loads
        monkeypatch.delenv(name)
    (tmp_path / ".env").write_text("TMEET_FILE_MODE=group-read\nTMEET_PII_POLICY=email=drop\n", encoding="utf-8")
    assert current_modes() == PRIVATE  # nothing reads a .env behind the command line's back
    assert load_env_file(None) == (tmp_path / ".env").resolve()  # what `tmeet-etl` does first
    assert current_modes() == GROUP_READ
    assert policy_actions() == {"email": "drop"} and not raw_archive_allowed()
    monkeypatch.setenv("TMEET_FILE_MODE", "private")  # the environment wins, as for every setting
    assert current_modes() == PRIVATE
