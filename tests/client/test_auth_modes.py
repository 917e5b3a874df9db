"""A permission refusal on an endpoint the API reference closes to the auth mode is AuthModeUnsupported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from resources.settings import Settings
from resources.tencent import auth_modes
from resources.tencent import scopes as sc
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import AuthModeUnsupported, PermissionDenied
from tests.client.conftest import settings_for
from tests.client.test_oauth_emulator import do_login

DAY = (1772208000, 1772294399)  # 2026-02-28 UTC, inside the emulator's history


def test_oauth_refused_on_corp_lists_is_classified_with_the_fix(
    reference_emulator: Any, tmp_path: Path, redirect_uri: str
) -> None:
    settings = settings_for(reference_emulator.base_url, tmp_path / "data", redirect=redirect_uri)
    token = do_login(settings)
    with TencentMeetingClient(settings) as client:
        for pull in (lambda: list(client.iter_corp_users()), lambda: list(client.iter_corp_meetings(1, *DAY)),
                     lambda: list(client.iter_corp_records(*DAY)), lambda: list(client.iter_roles())):
            with pytest.raises(AuthModeUnsupported) as caught:
                pull()
            exc = caught.value
            assert exc.code == 9042 and exc.auth_mode == "oauth"
            assert "TMEET_AUTH_MODE=aksk" in exc.fix and "企业级自建应用" in exc.fix
            assert auth_modes.reference_page(exc.endpoint) in str(exc)
            assert token.access_token not in str(exc)
        # What OAuth is documented to reach still answers.
        assert list(client.iter_records(*DAY)) is not None


def test_a_missing_scope_stays_a_missing_scope(tmp_path: Path) -> None:
    import httpx

    from emulator.testing import running_emulator
    from pipelines.auth_cli import login
    from tests.pipeline.test_scopes import REDIRECT, _apps_file
    from tests.ports import free_port

    port = free_port()
    apps = _apps_file(tmp_path, port, ["VIEW_ALL_MEETINGS"])
    with running_emulator(apps_path=str(apps), scale="small", now=datetime(2026, 3, 1, tzinfo=UTC),
                          rate_limit="off") as emu:
        settings = Settings.from_env({
            "TMEET_API_BASE_URL": emu.base_url, "TMEET_OAUTH_BASE_URL": emu.base_url, "TMEET_AUTH_MODE": "oauth",
            "TMEET_APP_TYPE": "account", "TMEET_SDK_ID": "300000001", "TMEET_SECRET": "scope-test-secret-0001",
            "TMEET_CORP_ID": "scope-corp", "TMEET_REDIRECT_URI": REDIRECT.format(port=port),
            "TMEET_DATA_DIR": str(tmp_path / "data"),
        })
        login(settings, open_browser=lambda url: httpx.get(url, follow_redirects=True), out=lambda _: None,
              timeout=30)
        with TencentMeetingClient(settings) as client, pytest.raises(PermissionDenied) as caught:
            list(client.iter_records(*DAY))  # OAuth reaches /v1/records; the scope is what is missing
    assert not isinstance(caught.value, AuthModeUnsupported)
    assert "VIEW_ALL_RECORDS" in caught.value.missing_scope


def test_the_table_follows_the_api_reference() -> None:
    for endpoint in (sc.E_CORP_MEETINGS, sc.E_CORP_RECORDS, sc.E_CORP_USERS, sc.E_CORP_ROLES, sc.E_USERS_LIST):
        assert auth_modes.supports(endpoint, "aksk") and not auth_modes.supports(endpoint, "oauth")
    assert auth_modes.supports(sc.E_USER_INFO, "oauth") and not auth_modes.supports(sc.E_USER_INFO, "aksk")
    assert auth_modes.supports(sc.E_PARTICIPANTS, "oauth") and auth_modes.supports(sc.E_PARTICIPANTS, "aksk")
    # The platform's own wording marks a refusal the table does not list yet.
    assert auth_modes.is_mode_refusal(sc.E_RECORDS, "oauth", "目前暂不支持 OAuth2.0 鉴权访问")
    assert not auth_modes.is_mode_refusal(sc.E_RECORDS, "oauth", "missing scope VIEW_ALL_RECORDS")
