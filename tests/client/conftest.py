from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resources.settings import Settings
from tests.ports import free_port

CANARY_SECRET = "CANARYoauthSecret4242xyz"
CANARY_SECRET_KEY = "CANARYsecretKey9191abc"


def write_apps(tmp_path: Path, redirect: str) -> Path:
    apps = {
        "apps": [
            {
                "sdk_id": "300000001", "secret": CANARY_SECRET, "type": "account", "corp_id": "demo-corp",
                "redirect_uris": [redirect], "scopes": ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"],
                "activated": True, "app_id": "310000001", "secret_id": "AKIDcanary0001",
                "secret_key": CANARY_SECRET_KEY, "name": "account",
            },
            {
                "sdk_id": "300000002", "secret": CANARY_SECRET + "u", "type": "user", "corp_id": "demo-corp",
                "redirect_uris": [redirect], "scopes": ["VIEW_MEETING", "VIEW_VIDEO", "VIEW_USER_INFO"],
                "activated": True, "name": "user",
            },
        ]
    }
    path = tmp_path / "apps.json"
    path.write_text(json.dumps(apps))
    return path


def settings_for(base_url: str, data_dir: Path, *, sdk: str = "300000001", mode: str = "oauth",
                 app_type: str = "account", redirect: str = "", **extra: str) -> Settings:
    env = {
        "TMEET_API_BASE_URL": base_url,
        "TMEET_OAUTH_BASE_URL": base_url,
        "TMEET_AUTH_MODE": mode,
        "TMEET_APP_TYPE": app_type,
        "TMEET_SDK_ID": sdk,
        "TMEET_SECRET": CANARY_SECRET if sdk == "300000001" else CANARY_SECRET + "u",
        "TMEET_CORP_ID": "demo-corp",
        "TMEET_REDIRECT_URI": redirect,
        "TMEET_DATA_DIR": str(data_dir),
        "TMEET_RETRY_MAX_WAIT": "0.2",
        **extra,
    }
    if mode == "aksk":
        env.update(TMEET_APP_ID="310000001", TMEET_SECRET_ID="AKIDcanary0001", TMEET_SECRET_KEY=CANARY_SECRET_KEY)
    return Settings.from_env(env)


@pytest.fixture
def redirect_uri() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


@pytest.fixture
def apps_file(tmp_path: Path, redirect_uri: str) -> Path:
    return write_apps(tmp_path, redirect_uri)


@pytest.fixture
def emulator(apps_file: Path) -> Iterator[Any]:
    from datetime import UTC, datetime

    from emulator.testing import running_emulator

    with running_emulator(apps_path=str(apps_file), scale="small", now=datetime(2026, 3, 1, tzinfo=UTC),
                          rate_limit="off") as emu:
        yield emu


@pytest.fixture
def scope_table_emulator(apps_file: Path) -> Iterator[Any]:
    """The same world under the OAuth page's reading: account-level OAuth reaches /v1/corp/*."""
    from datetime import UTC, datetime

    from emulator.testing import running_emulator

    with running_emulator(apps_path=str(apps_file), scale="small", now=datetime(2026, 3, 1, tzinfo=UTC),
                          rate_limit="off", platform="scope-table") as emu:
        yield emu


@pytest.fixture
def reference_emulator(apps_file: Path) -> Iterator[Any]:
    """The same world, refusing OAuth on /v1/corp/* as the API reference says."""
    from datetime import UTC, datetime

    from tests.platform_readings import api_reference_emulator

    with api_reference_emulator(apps_path=str(apps_file), scale="small", now=datetime(2026, 3, 1, tzinfo=UTC),
                                rate_limit="off") as emu:
        yield emu
