"""`tmeet-etl auth status|logout` and `tmeet-etl doctor` against the emulator."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from resources.tencent.oauth import TokenManager
from resources.tencent.token_store import StoredToken, TokenStore
from tests.client.conftest import CANARY_SECRET, settings_for
from tests.client.test_oauth_emulator import do_login


def env_of(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: str) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    values = {"TMEET_API_BASE_URL": settings.api_base_url, "TMEET_OAUTH_BASE_URL": settings.oauth_base_url,
              "TMEET_SDK_ID": settings.sdk_id, "TMEET_SECRET": CANARY_SECRET, "TMEET_CORP_ID": "demo-corp",
              "TMEET_DATA_DIR": str(settings.data_dir), **extra}
    for k, v in values.items():
        monkeypatch.setenv(k, v)


def test_status_doctor_logout(scope_table_emulator: Any, tmp_path: Path, redirect_uri: str,
                              monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_for(scope_table_emulator.base_url, tmp_path / "data", redirect=redirect_uri)
    token = do_login(settings)
    env_of(settings, monkeypatch, tmp_path)
    assert main(["auth", "status"]) == 0
    out = capsys.readouterr().out
    assert token.open_id in out and "VIEW_ALL_MEETINGS" in out and token.access_token not in out
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[ok] connectivity" in out and "[ok] clock" in out and "will run: users" in out
    assert token.access_token not in out and token.refresh_token not in out and CANARY_SECRET not in out
    assert main(["auth", "logout"]) == 0
    assert "forgot 1" in capsys.readouterr().out
    assert main(["doctor"]) == 1
    assert "auth login" in capsys.readouterr().out


def test_doctor_aksk_and_bad_config(emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from emulator.app import super_admin_of
    from tests.client.conftest import CANARY_SECRET_KEY

    settings = settings_for(emulator.base_url, tmp_path / "data")
    env_of(settings, monkeypatch, tmp_path, TMEET_AUTH_MODE="aksk", TMEET_APP_ID="310000001",
           TMEET_SECRET_ID="AKIDcanary0001", TMEET_SECRET_KEY=CANARY_SECRET_KEY,
           TMEET_OPERATOR_ID=super_admin_of(emulator.enterprise))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "not reported for AK/SK" in out and CANARY_SECRET_KEY not in out
    monkeypatch.setenv("TMEET_API_BASE_URL", "http://api.example.com")
    assert main(["doctor"]) == 1
    assert "TMEET_API_BASE_URL" in capsys.readouterr().out


def test_refresh_token_lapse_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for("http://127.0.0.1:9", tmp_path / "data")
    store = TokenStore.for_app(settings.state_dir, settings.sdk_id, None)
    now = 1_800_000_000
    store.put(StoredToken("o1", "at-canary-123456", "rt-canary-654321", expires=now + 3600,
                          refresh_expires=now + 2 * 86400))
    manager = TokenManager(settings, store, post=lambda *a: (500, None), clock=lambda: now)
    with caplog.at_level(logging.WARNING):
        assert manager.token("o1").access_token == "at-canary-123456"
    assert any("lapses in 2.0 days" in r.getMessage() for r in caplog.records)
    assert os.stat(store.path).st_mode & 0o777 == 0o600
