"""OAuth authorize, exchange, rotating refresh and token checks, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from emulator.apps import AppConfigError, load_apps, parse_apps
from emulator.oauth import OAUTH_PREFIX, OAuthError, OAuthService
from emulator.testing import EmulatorHandle, running_emulator
from tests.emulator.edge_fakes import (
    ACCOUNT_APP, APPS_DOCUMENT, CALLBACK, INACTIVE_APP, OTHER_USER_APP, SUPER_ADMIN, USER_APP,
    fake_world, oauth_headers, write_apps,
)

SECRETS = {app["sdk_id"]: app["secret"] for app in APPS_DOCUMENT["apps"]}


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    apps = write_apps(tmp_path_factory.mktemp("apps"))
    with running_emulator(**fake_world(apps_path=apps, rate_limit="off")) as handle:
        yield handle


def _post(emu: EmulatorHandle, action: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{emu.base_url}{OAUTH_PREFIX}/{action}", json=body, trust_env=False)


def _authorize(emu: EmulatorHandle, **params: str) -> httpx.Response:
    return httpx.get(f"{emu.base_url}/marketplace/authorize.html", params=params, trust_env=False)


def _login(emu: EmulatorHandle, sdk_id: str, login_userid: str | None = None) -> dict[str, Any]:
    code = emu.authorize(sdk_id, CALLBACK, "s1", login_userid=login_userid)
    response = _post(emu, "access_token", {"sdk_id": sdk_id, "secret": SECRETS[sdk_id], "auth_code": code})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _whoami(emu: EmulatorHandle, token: dict[str, Any]) -> httpx.Response:
    return httpx.get(f"{emu.base_url}/v1/history/meetings/x", headers=oauth_headers(token), trust_env=False)


def test_authorize_redirects_with_code_and_state_keeping_the_query(emu: EmulatorHandle) -> None:
    uri = "http://127.0.0.1:8765/cb?tenant=t1"
    response = _authorize(emu, corp_id="corp-a", sdk_id=ACCOUNT_APP, redirect_uri=uri, state="abcXYZ09")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://127.0.0.1:8765/cb"
    query = parse_qs(location.query)
    assert query["tenant"] == ["t1"] and query["state"] == ["abcXYZ09"] and query["auth_code"][0]


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"redirect_uri": "http://127.0.0.1:8765/callback/evil"}, "not whitelisted"),
        ({"redirect_uri": "http://evil.example/callback"}, "not whitelisted"),
        ({"state": "has space"}, "bad state"),
        ({"state": "a" * 65}, "state too long"),
        ({"corp_id": "other-corp"}, "corp mismatch"),
        ({"sdk_id": INACTIVE_APP}, "not activated"),
        ({"sdk_id": "999"}, "unknown app"),
        ({"sdk_id": USER_APP, "login_userid": "nobody"}, "unknown user"),
    ],
)
def test_authorize_refuses_without_redirecting(emu: EmulatorHandle, params: dict[str, str], why: str) -> None:
    query = {"corp_id": "corp-a", "sdk_id": ACCOUNT_APP, "redirect_uri": CALLBACK, "state": "ok1", **params}
    response = _authorize(emu, **query)
    assert response.status_code == 400, why
    assert "location" not in response.headers
    assert response.json()["code"] != 0 and response.json()["nonce"]


def test_exchange_answers_the_documented_envelope(emu: EmulatorHandle) -> None:
    before = time.time()
    code = emu.authorize(ACCOUNT_APP, CALLBACK, "s1")
    response = _post(emu, "access_token", {"sdk_id": ACCOUNT_APP, "secret": "acct-secret", "auth_code": code})
    body = response.json()
    assert (response.status_code, body["code"], body["message"]) == (200, 0, "SUCCESS")
    assert body["nonce"]
    data = body["data"]
    assert set(data) == {"access_token", "refresh_token", "expires", "open_id", "scopes", "open_corp_id"}
    # expires is an absolute unix time six hours out, not a duration.
    assert before + 6 * 3600 - 2 <= data["expires"] <= time.time() + 6 * 3600 + 1
    assert data["scopes"] == ["VIEW_ALL_MEETINGS", "VIEW_ALL_USERS"]


def test_auth_code_is_single_use(emu: EmulatorHandle) -> None:
    code = emu.authorize(ACCOUNT_APP, CALLBACK, "s1")
    body = {"sdk_id": ACCOUNT_APP, "secret": "acct-secret", "auth_code": code}
    assert _post(emu, "access_token", body).status_code == 200
    again = _post(emu, "access_token", body)
    assert again.status_code == 400 and again.json()["code"] != 0


def test_exchange_with_wrong_secret_is_refused(emu: EmulatorHandle) -> None:
    code = emu.authorize(ACCOUNT_APP, CALLBACK, "s1")
    response = _post(emu, "access_token", {"sdk_id": ACCOUNT_APP, "secret": "wrong", "auth_code": code})
    assert response.status_code == 400
    assert "wrong" not in response.text


def test_code_of_one_app_cannot_be_exchanged_by_another(emu: EmulatorHandle) -> None:
    code = emu.authorize(USER_APP, CALLBACK, "s1")
    response = _post(emu, "access_token", {"sdk_id": OTHER_USER_APP, "secret": "other-secret", "auth_code": code})
    assert response.status_code == 400


def test_account_level_token_acts_as_the_admin_with_app_quota(emu: EmulatorHandle) -> None:
    token = _login(emu, ACCOUNT_APP)
    me = _whoami(emu, token).json()
    assert me["userid"] == SUPER_ADMIN
    assert me["quota_key"] == f"app:{ACCOUNT_APP}"


def test_user_level_token_acts_as_the_consenting_user_with_user_quota(emu: EmulatorHandle) -> None:
    token = _login(emu, USER_APP, login_userid="alice")
    me = _whoami(emu, token).json()
    assert me["userid"] == "alice"
    assert me["quota_key"] == f"user:{USER_APP}:{token['open_id']}"
    default = _login(emu, USER_APP)
    assert _whoami(emu, default).json()["userid"] == SUPER_ADMIN


def test_open_id_is_stable_per_app_and_user_and_differs_across_apps(emu: EmulatorHandle) -> None:
    first = _login(emu, USER_APP, login_userid="bob")
    again = _login(emu, USER_APP, login_userid="bob")
    other_app = _login(emu, OTHER_USER_APP, login_userid="bob")
    other_user = _login(emu, USER_APP, login_userid="alice")
    assert first["open_id"] == again["open_id"]
    assert first["access_token"] != again["access_token"]
    assert other_app["open_id"] != first["open_id"]
    assert other_user["open_id"] != first["open_id"]


def test_refresh_rotates_and_the_old_pair_stops_working(emu: EmulatorHandle) -> None:
    old = _login(emu, ACCOUNT_APP)
    refreshed = _post(emu, "refresh_token", {"sdk_id": ACCOUNT_APP, "refresh_token": old["refresh_token"],
                                             "open_id": old["open_id"]})
    assert refreshed.status_code == 200 and refreshed.json()["code"] == 0
    new = refreshed.json()["data"]
    assert new["open_id"] == old["open_id"]
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert _whoami(emu, new).status_code == 200
    stale = _whoami(emu, old)
    assert stale.json()["error_info"]["error_code"] == 190303
    assert stale.json()["error_info"]["new_error_code"] == 200190303
    reused = _post(emu, "refresh_token", {"sdk_id": ACCOUNT_APP, "refresh_token": old["refresh_token"],
                                          "open_id": old["open_id"]})
    assert reused.status_code == 400


def test_refresh_needs_the_matching_open_id(emu: EmulatorHandle) -> None:
    token = _login(emu, USER_APP, login_userid="alice")
    other = _login(emu, USER_APP, login_userid="bob")
    response = _post(emu, "refresh_token", {"sdk_id": USER_APP, "refresh_token": token["refresh_token"],
                                            "open_id": other["open_id"]})
    assert response.status_code == 400


def test_mismatched_open_id_header_is_190303(emu: EmulatorHandle) -> None:
    token = _login(emu, USER_APP, login_userid="alice")
    other = _login(emu, USER_APP, login_userid="bob")
    response = _whoami(emu, {**token, "open_id": other["open_id"]})
    assert response.json()["error_info"]["error_code"] == 190303


def test_user_info_introspects_a_live_token(emu: EmulatorHandle) -> None:
    token = _login(emu, USER_APP, login_userid="alice")
    response = _post(emu, "user_info", {"access_token": token["access_token"], "open_id": token["open_id"]})
    assert response.json()["data"] == {"expires": token["expires"], "open_id": token["open_id"],
                                       "scopes": ["VIEW_MEETING", "VIEW_USER_INFO"]}
    bad = _post(emu, "user_info", {"access_token": "nope", "open_id": token["open_id"]})
    assert bad.status_code == 400


def test_malformed_token_requests_are_400(emu: EmulatorHandle) -> None:
    assert _post(emu, "access_token", {"sdk_id": ACCOUNT_APP}).status_code == 400
    raw = httpx.post(f"{emu.base_url}{OAUTH_PREFIX}/access_token", content=b"not json", trust_env=False)
    assert raw.status_code == 400 and raw.json()["code"] != 0


def test_expire_endpoint_forces_a_refresh_and_stats_count_it(tmp_path: Path) -> None:
    with running_emulator(**fake_world(apps_path=write_apps(tmp_path))) as emu:
        token = _login(emu, ACCOUNT_APP)
        assert emu.expire_tokens() == 1
        assert _whoami(emu, token).json()["error_info"]["error_code"] == 190303
        body = {"sdk_id": ACCOUNT_APP, "refresh_token": token["refresh_token"], "open_id": token["open_id"]}
        fresh = _post(emu, "refresh_token", body).json()["data"]
        assert _whoami(emu, fresh).status_code == 200
        assert _post(emu, "refresh_token", body).status_code == 400
        oauth = emu.stats()["oauth"]
        assert (oauth["code_exchanges"], oauth["refreshes"], oauth["rejected_refreshes"]) == (1, 1, 1)


class FakeWall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _service(wall: FakeWall, **kwargs: float) -> OAuthService:
    return OAuthService(parse_apps(APPS_DOCUMENT), server_secret=b"s", super_admin=SUPER_ADMIN,
                        is_user={SUPER_ADMIN, "alice"}.__contains__, wall=wall, **kwargs)


def _code(service: OAuthService) -> str:
    location = service.authorize({"corp_id": "corp-a", "sdk_id": ACCOUNT_APP, "redirect_uri": CALLBACK,
                                  "state": "s"})
    return parse_qs(urlsplit(location).query)["auth_code"][0]


def test_auth_code_lives_five_minutes() -> None:
    wall = FakeWall()
    service = _service(wall)
    code = _code(service)
    wall.now += 301
    with pytest.raises(OAuthError):
        service.exchange({"sdk_id": ACCOUNT_APP, "secret": "acct-secret", "auth_code": code})
    fresh = _code(service)
    wall.now += 299
    assert service.exchange({"sdk_id": ACCOUNT_APP, "secret": "acct-secret", "auth_code": fresh})["access_token"]


def test_token_lifetimes_are_configurable_and_refresh_extends_the_refresh_token() -> None:
    wall = FakeWall()
    service = _service(wall, access_ttl=60, refresh_ttl=600)
    data = service.exchange({"sdk_id": ACCOUNT_APP, "secret": "acct-secret", "auth_code": _code(service)})
    assert data["expires"] == int(wall.now) + 60
    headers = {"accesstoken": data["access_token"], "openid": data["open_id"]}
    wall.now += 61
    with pytest.raises(Exception, match="190303"):
        service.authenticate(headers)
    # 500 s in, the refresh token (600 s) still works and its life restarts.
    wall.now += 439
    data = service.refresh({"sdk_id": ACCOUNT_APP, "refresh_token": data["refresh_token"], "open_id": data["open_id"]})
    wall.now += 500
    data = service.refresh({"sdk_id": ACCOUNT_APP, "refresh_token": data["refresh_token"], "open_id": data["open_id"]})
    wall.now += 601
    with pytest.raises(OAuthError):
        service.refresh({"sdk_id": ACCOUNT_APP, "refresh_token": data["refresh_token"], "open_id": data["open_id"]})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scopes": ["VIEW_ALL_MEETINGS"], "type": "user"}, "not valid for a user-level app"),
        ({"scopes": ["VIEW_VIDEO"]}, "not valid for a account-level app"),
        ({"secret": None}, "missing required field(s): secret"),
        ({"secret_key": None}, "AK/SK needs app_id, secret_id and secret_key"),
    ],
)
def test_apps_file_errors_name_the_fix(change: dict[str, Any], message: str) -> None:
    app = {**APPS_DOCUMENT["apps"][0], **change}
    app = {k: v for k, v in app.items() if v is not None}
    with pytest.raises(AppConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_apps({"apps": [app]})


def test_duplicate_sdk_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "apps.json"
    path.write_text('{"apps": [' + ",".join([_json(APPS_DOCUMENT["apps"][1])] * 2) + "]}")
    with pytest.raises(AppConfigError, match="duplicate sdk_id"):
        load_apps(path)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def test_default_registry_is_the_documented_demo_app() -> None:
    demo = load_apps(None).default
    assert (demo.sdk_id, demo.corp_id, demo.type, demo.activated) == ("200000001", "demo-corp", "account", True)
    assert demo.redirect_uris == ("http://127.0.0.1:8765/callback", "http://localhost:8765/callback")
    assert demo.scopes == {"VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_LIVE", "VIEW_ALL_USERS"}
    assert demo.has_aksk
