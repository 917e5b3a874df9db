from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assets import registry
from assets.schemas import KEYS
from emulator.platform import DEFAULT_PLATFORM
from emulator.testing import EmulatorHandle, running_emulator

# A Wednesday noon in Beijing: the five days before it hold working days and a weekend.
NOW = datetime(2026, 6, 17, 4, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 6, 12), date(2026, 6, 16)
# The daily pull's tables, as the assets declare them; the emulator's truth export has each.
TRUTH_TABLES = registry.tables(kind="pull")


def aksk_env(emu: EmulatorHandle, data_dir: Path) -> dict[str, str]:
    """Environment for the pipeline to reach the emulator as its default AK/SK enterprise app."""
    app = emu.default_app
    return {
        "TMEET_API_BASE_URL": emu.base_url,
        "TMEET_OAUTH_BASE_URL": emu.base_url,
        "TMEET_AUTH_MODE": "aksk",
        "TMEET_APP_ID": str(app.app_id),
        "TMEET_SECRET_ID": str(app.secret_id),
        "TMEET_SECRET_KEY": str(app.secret_key),
        "TMEET_SDK_ID": app.sdk_id,
        "TMEET_OPERATOR_ID": app.admin_userid or emu.enterprise.super_admin,
        "TMEET_DATA_DIR": str(data_dir),
        "TMEET_STEP_RETRIES": "0",
        "TMEET_QUOTA_WINDOW_SECONDS": "1",
    }


@pytest.fixture
def pipeline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[EmulatorHandle, Path]]:
    """A frozen-clock emulator and the pipeline's environment pointed at it."""
    with pipeline_emulator(monkeypatch, tmp_path) as world:
        yield world


@contextmanager
def pipeline_emulator(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, platform: str = DEFAULT_PLATFORM, **config: Any
) -> Iterator[tuple[EmulatorHandle, Path]]:
    """:func:`pipeline_env` under a chosen reading of the platform (and other emulator settings)."""
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off", platform=platform,
                          **config) as emu:
        data_dir = tmp_path / "data"
        for name, value in aksk_env(emu, data_dir).items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield emu, data_dir


def canonical(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in key order with a fresh index, so two sources compare by content alone."""
    key = list(KEYS[table])
    return frame.sort_values(key, ignore_index=True).reset_index(drop=True)


def assert_tables_equal(table: str, got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(canonical(table, got), canonical(table, want), check_dtype=True, obj=table)
