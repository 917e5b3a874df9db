"""The assembled app: scope enforcement, envelopes, admin endpoints and the real endpoints wired in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.oauth import OAUTH_PREFIX
from emulator.signing import signed_headers
from emulator.testing import EmulatorHandle, running_emulator
from tests.emulator.edge_fakes import (
    ACCOUNT_APP, APPS_DOCUMENT, CALLBACK, OTHER_USER_APP, USER_APP, fake_world, oauth_headers, write_apps,
)

SECRETS = {app["sdk_id"]: app["secret"] for app in APPS_DOCUMENT["apps"]}


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    apps = write_apps(tmp_path_factory.mktemp("apps"))
    # The scope table's reading: account-level OAuth apps reach /v1/corp/* within their scopes.
    with running_emulator(**fake_world(apps_path=apps, rate_limit="off", platform="scope-table")) as handle:
        yield handle


def _token(emu: EmulatorHandle, sdk_id: str, login_userid: str | None = None) -> dict[str, Any]:
    code = emu.authorize(sdk_id, CALLBACK, "s", login_userid=login_userid)
    response = emu.http.post(f"{emu.base_url}{OAUTH_PREFIX}/access_token",
                             json={"sdk_id": sdk_id, "secret": SECRETS[sdk_id], "auth_code": code})
    return response.json()["data"]  # type: ignore[no-any-return]


def _error(response: httpx.Response) -> tuple[int, int, str]:
    info = response.json()["error_info"]
    return response.status_code, info["error_code"], info["message"]


@pytest.mark.parametrize("path", ["/v1/corp/meetings", "/v1/users/list", "/v1/users/alice"])
def test_user_level_apps_cannot_call_account_level_routes(emu: EmulatorHandle, path: str) -> None:
    token = _token(emu, USER_APP, "alice")
    status, code, message = _error(emu.http.get(emu.base_url + path, headers=oauth_headers(token)))
    assert (status, code) == (403, 9042)
    assert "account-level" in message


def test_user_level_app_without_the_scope_gets_9042_naming_it(emu: EmulatorHandle) -> None:
    token = _token(emu, USER_APP, "alice")
    status, code, message = _error(emu.http.get(emu.base_url + "/v1/records", headers=oauth_headers(token)))
    assert (status, code) == (403, 9042)
    assert "VIEW_VIDEO" in message
    other = _token(emu, OTHER_USER_APP, "alice")
    assert emu.http.get(emu.base_url + "/v1/records", headers=oauth_headers(other)).status_code == 200


def test_account_level_app_without_the_scope_gets_9042_naming_it(emu: EmulatorHandle) -> None:
    token = _token(emu, ACCOUNT_APP)
    assert emu.http.get(emu.base_url + "/v1/corp/meetings", headers=oauth_headers(token)).status_code == 200
    status, code, message = _error(emu.http.get(emu.base_url + "/v1/corp/records", headers=oauth_headers(token)))
    assert (status, code) == (403, 9042)
    assert "VIEW_ALL_RECORDS" in message


def test_the_api_reference_reading_limits_corp_routes_to_aksk(tmp_path: Path) -> None:
    with running_emulator(**fake_world(apps_path=write_apps(tmp_path), platform="api-reference")) as emu:
        token = _token(emu, ACCOUNT_APP)
        status, code, message = _error(emu.http.get(emu.base_url + "/v1/corp/meetings", headers=oauth_headers(token)))
        assert (status, code) == (403, 9042) and "目前暂不支持 OAuth2.0 鉴权访问" in message and "AK/SK" in message
        app = emu.apps.get(ACCOUNT_APP)
        assert app is not None
        signed = emu.http.get(emu.base_url + "/v1/corp/meetings", headers=signed_headers(app, "GET", "/v1/corp/meetings"))
        assert signed.status_code == 200


def test_only_get_exists_under_v1(emu: EmulatorHandle) -> None:
    response = emu.http.post(emu.base_url + "/v1/records", json={})
    status, code, _ = _error(response)
    assert status == 405 and code == 405


def test_unknown_api_path_answers_the_envelope(emu: EmulatorHandle) -> None:
    status, _, message = _error(emu.http.get(emu.base_url + "/v1/nope"))
    assert status == 404 and "/v1/nope" in message


def test_missing_credentials_are_190303(emu: EmulatorHandle) -> None:
    assert _error(emu.http.get(emu.base_url + "/v1/records"))[:2] == (400, 190303)


def test_handler_errors_pass_through_and_bugs_become_960000(emu: EmulatorHandle) -> None:
    app = emu.default_app
    gone = emu.http.get(emu.base_url + "/v1/meetings/1", headers=signed_headers(app, "GET", "/v1/meetings/1"))
    assert _error(gone) == (500, 9003, "MEETING NOT EXIST")
    assert "x-tc-trace" in gone.headers
    boom = emu.http.get(emu.base_url + "/v1/boom", headers=signed_headers(app, "GET", "/v1/boom"))
    assert _error(boom)[:2] == (500, 960000)
    assert "handler bug" not in boom.text


def test_stats_count_routes_statuses_codes_and_quota_keys(tmp_path: Path) -> None:
    with running_emulator(**fake_world(apps_path=write_apps(tmp_path))) as emu:
        app = emu.apps.get(ACCOUNT_APP)
        assert app is not None
        for meeting in ("m1", "m2", "m3"):
            target = f"/v1/meetings/{meeting}/participants"
            assert emu.http.get(emu.base_url + target, headers=signed_headers(app, "GET", target)).status_code == 200
        emu.http.get(emu.base_url + "/v1/meetings/m1", headers=signed_headers(app, "GET", "/v1/meetings/m1"))
        emu.http.get(emu.base_url + "/v1/records")
        stats = emu.stats()
        assert stats["calls"] == {
            "GET /v1/meetings/{meeting_id}/participants": 3,
            "GET /v1/meetings/{meeting_id}": 1,
            "GET /v1/records": 1,
        }
        assert stats["status"] == {"200": 3, "500": 1, "400": 1}
        assert stats["error_codes"] == {"9003": 1, "190303": 1}
        assert stats["quota_keys"] == {f"app:{ACCOUNT_APP}": 4}
        assert stats["peaks"][f"app:{ACCOUNT_APP}"]["per_minute"] == 4
        emu.reset_stats()
        after = emu.stats()
        assert (after["total_calls"], after["calls"], after["oauth"]["code_exchanges"]) == (0, {}, 0)


def test_clock_endpoint_sets_and_advances_the_data_clock() -> None:
    start = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    with running_emulator(**fake_world(now=start)) as emu:
        emu.advance(90)
        assert emu.clock.now() == datetime(2026, 3, 1, 1, 1, 30, tzinfo=UTC)
        emu.set_now(datetime(2026, 3, 2, tzinfo=UTC))
        assert emu.http.get(emu.base_url + "/_emulator/health").json()["now"] == "2026-03-02T00:00:00+00:00"
        bad = emu.http.post(emu.base_url + "/_emulator/clock", json={"now": "2026-03-02"})
        assert bad.status_code == 400 and "aware" in bad.json()["error"]


NOW = datetime(2026, 11, 18, 7, 30, tzinfo=UTC)


def test_real_endpoints_behind_the_gate() -> None:
    # The scope table's reading, where the account-level OAuth app below may list corp users.
    with running_emulator(now=NOW, scale="small", days=7, platform="scope-table") as emu:
        app = emu.default_app
        admin = emu.enterprise.super_admin
        end = int(NOW.timestamp())
        target = (f"/v1/corp/meetings?meeting_state=1&page=1&page_size=20&operator_id={admin}"
                  f"&operator_id_type=1&start_time={end - 7 * 86400}&end_time={end}")
        listing = emu.http.get(emu.base_url + target, headers=signed_headers(app, "GET", target))
        assert listing.status_code == 200, listing.text
        meetings = listing.json()["meeting_info_list"]
        assert meetings
        mid = meetings[0]["meeting_id"]
        target = f"/v1/meetings/{mid}/participants?size=100&operator_id={admin}&operator_id_type=1"
        page = emu.http.get(emu.base_url + target, headers=signed_headers(app, "GET", target))
        assert page.status_code == 200 and page.json()["meeting_id"] == mid
        code = emu.authorize(app.sdk_id, app.redirect_uris[0], "s")
        token = emu.http.post(f"{emu.base_url}{OAUTH_PREFIX}/access_token",
                              json={"sdk_id": app.sdk_id, "secret": app.secret, "auth_code": code}).json()["data"]
        users = emu.http.get(f"{emu.base_url}/v1/corp/users?page_size=20&operator_id={admin}&operator_id_type=1",
                             headers=oauth_headers(token))
        assert users.status_code == 200, users.text
        assert emu.stats()["calls"] == {"GET /v1/corp/meetings": 1, "GET /v1/meetings/{meeting_id}/participants": 1,
                                         "GET /v1/corp/users": 1}
