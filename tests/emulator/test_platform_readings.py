"""The two readings of the platform: auth-mode refusals and what an OAuth caller may read under each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.api.meetings import attended
from emulator.enterprise import Enterprise, Instance
from emulator.enterprise.ids import KIND_SERIES
from emulator.oauth import OAUTH_PREFIX
from emulator.platform import AKSK_ONLY_ROUTES, OAUTH_ONLY_ROUTES
from emulator.signing import signed_headers
from emulator.testing import EmulatorHandle, running_emulator
from tests.emulator.edge_fakes import oauth_headers

NOW = datetime(2026, 6, 17, 4, 0, tzinfo=UTC)
CALLBACK = "http://127.0.0.1:8765/callback"
ACCOUNT_APP, USER_APP = "500000001", "500000002"
SECRETS = {ACCOUNT_APP: "platform-account-secret", USER_APP: "platform-user-secret"}
APPS = {"apps": [
    {"sdk_id": ACCOUNT_APP, "secret": SECRETS[ACCOUNT_APP], "type": "account", "corp_id": "corp-p",
     "redirect_uris": [CALLBACK], "scopes": ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"],
     "activated": True, "app_id": "420000001", "secret_id": "AKIDplatform", "secret_key": "platform-key"},
    {"sdk_id": USER_APP, "secret": SECRETS[USER_APP], "type": "user", "corp_id": "corp-p",
     "redirect_uris": [CALLBACK], "scopes": ["VIEW_MEETING", "VIEW_VIDEO", "VIEW_USER_INFO"], "activated": True},
]}
# A valid query for each route the readings treat differently, so an accepted call answers 200.
END = int(NOW.timestamp())
QUERIES = {
    "/v1/corp/meetings": f"meeting_state=1&page=1&page_size=20&start_time={END - 7 * 86400}&end_time={END}",
    "/v1/corp/records": f"start_time={END - 7 * 86400}&end_time={END}",
    "/v1/corp/users": "page_size=20",
    "/v1/corp/user-roles": "",
    "/v1/users/list": "page=1&page_size=20",
    "/v1/users/info/basic": "",
}
WINDOW = f"start_time={END - 30 * 86400}&end_time={END}"


@dataclass
class World:
    emu: EmulatorHandle
    tokens: dict[str, dict[str, Any]]  # "account" | "user" -> token data

    @property
    def ent(self) -> Enterprise:
        return self.emu.enterprise  # type: ignore[no-any-return]

    def get(self, target: str, caller: str) -> httpx.Response:
        if caller == "aksk":
            app = self.emu.apps.get(ACCOUNT_APP)
            assert app is not None
            return self.emu.http.get(self.emu.base_url + target, headers=signed_headers(app, "GET", target))
        return self.emu.http.get(self.emu.base_url + target, headers=oauth_headers(self.tokens[caller]))

    def open_id(self, caller: str) -> str:
        return str(self.tokens[caller]["open_id"])


def _token(emu: EmulatorHandle, sdk_id: str, login_userid: str | None) -> dict[str, Any]:
    code = emu.authorize(sdk_id, CALLBACK, "s", login_userid=login_userid)
    response = emu.http.post(f"{emu.base_url}{OAUTH_PREFIX}/access_token",
                             json={"sdk_id": sdk_id, "secret": SECRETS[sdk_id], "auth_code": code})
    return response.json()["data"]  # type: ignore[no-any-return]


def ended(ent: Enterprise) -> list[Instance]:
    now_s = ent.now_s()
    return [i for d in ent.covered_days(None, ent.anchor) for i in ent.day(d)
            if i.held and ent.state(i) == "ended" and i.sched_end <= now_s]


def done_recording(ent: Enterprise, inst: Instance) -> bool:
    rec = ent.prepared(inst).recording
    return rec is not None and rec.state_at(ent.now_ms()) == 3


def owner_with_both(ent: Enterprise) -> tuple[str, Instance, Instance]:
    """A user who created an OAuth-created meeting with a viewed recording and a client one with a recording."""
    meetings = [i for i in ended(ent) if i.meeting_type != KIND_SERIES and done_recording(ent, i)]
    for made in (i for i in meetings if i.oauth_created and ent.visible_events(ent.prepared(i).recording)):
        client = [i for i in meetings if i.creator == made.creator and not i.oauth_created]
        if client:
            return made.creator, made, client[0]
    raise AssertionError("no user created both kinds of recorded meeting; the tests would prove nothing")


def world(tmp_path: Path, platform: str) -> Iterator[World]:
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps(APPS), encoding="utf-8")
    with running_emulator(seed=7, scale="small", days=30, now=NOW, rate_limit="off", apps_path=str(apps),
                          platform=platform) as emu:
        owner, _, _ = owner_with_both(emu.enterprise)
        yield World(emu, {"account": _token(emu, ACCOUNT_APP, None), "user": _token(emu, USER_APP, owner)})


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from world(tmp_path_factory.mktemp("reference"), "api-reference")


@pytest.fixture(scope="module")
def scope_table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from world(tmp_path_factory.mktemp("scope-table"), "scope-table")


def _error(response: httpx.Response) -> tuple[int, int, str]:
    info = response.json()["error_info"]
    return response.status_code, info["error_code"], info["message"]


def _target(route: str) -> str:
    return f"{route}?{QUERIES[route]}" if QUERIES[route] else route


# -- auth-mode refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["account", "user"])
@pytest.mark.parametrize("route", sorted(AKSK_ONLY_ROUTES))
def test_api_reference_refuses_oauth_on_the_aksk_only_routes(reference: World, route: str, caller: str) -> None:
    status, code, message = _error(reference.get(_target(route), caller))
    assert (status, code) == (403, 9042)
    assert "目前暂不支持 OAuth2.0 鉴权访问" in message and route in message


@pytest.mark.parametrize("route", sorted(AKSK_ONLY_ROUTES))
def test_api_reference_serves_the_aksk_only_routes_to_aksk(reference: World, route: str) -> None:
    response = reference.get(_target(route), "aksk")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", sorted(OAUTH_ONLY_ROUTES))
def test_api_reference_refuses_aksk_on_the_oauth_only_route(reference: World, route: str) -> None:
    status, code, message = _error(reference.get(_target(route), "aksk"))
    assert (status, code) == (403, 9042)
    assert "仅支持 OAuth 2.0 鉴权用户" in message
    for caller in ("account", "user"):
        assert reference.get(_target(route), caller).status_code == 200


@pytest.mark.parametrize("route", sorted(AKSK_ONLY_ROUTES) + sorted(OAUTH_ONLY_ROUTES))
def test_scope_table_serves_account_level_oauth_and_aksk_everywhere(scope_table: World, route: str) -> None:
    for caller in ("account", "aksk"):
        response = scope_table.get(_target(route), caller)
        assert response.status_code == 200, (caller, response.text)


@pytest.mark.parametrize("route", sorted(AKSK_ONLY_ROUTES))
def test_scope_table_still_keeps_user_level_apps_off_account_routes(scope_table: World, route: str) -> None:
    status, code, message = _error(scope_table.get(_target(route), "user"))
    assert (status, code) == (403, 9042) and "account-level" in message


# -- what an OAuth caller reads ------------------------------------------------------------------


def test_meeting_by_id_and_code_only_when_created_through_oauth(reference: World, scope_table: World) -> None:
    ent = reference.ent
    owner, made, client = owner_with_both(ent)
    admin_sees = [i for i in (made, client) if i.creator == ent.super_admin or attended(ent, i, ent.super_admin)]
    assert not admin_sees, "pick meetings the admin has no part in"
    for inst in (made, client):
        for target in (f"/v1/meetings/{inst.meeting_id}?instanceid=1",
                       f"/v1/meetings?meeting_code={inst.meeting_code}&instanceid=1"):
            by_owner = reference.get(target, "user")
            if inst is made:
                assert by_owner.status_code == 200, by_owner.text
            else:
                assert _error(by_owner)[:2] == (403, 9042), target
            # An account-level OAuth app reads as its admin, who neither created nor attended either.
            assert _error(reference.get(target, "account"))[:2] == (403, 9042), target
            assert scope_table.get(target, "user").status_code == 200
            assert scope_table.get(target, "account").status_code == 200
            assert reference.get(target, "aksk").status_code == 200


def test_participants_only_of_oauth_created_meetings(reference: World, scope_table: World) -> None:
    _, made, client = owner_with_both(reference.ent)
    got = reference.get(f"/v1/meetings/{made.meeting_id}/participants?size=100", "user")
    assert got.status_code == 200, got.text
    assert got.json()["total_count"] == len(reference.ent.visible_sessions(made)) > 0
    target = f"/v1/meetings/{client.meeting_id}/participants?size=100"
    assert _error(reference.get(target, "user"))[:2] == (403, 9042)
    assert reference.get(target, "aksk").status_code == 200
    assert scope_table.get(target, "user").status_code == 200


def _history(w: World, caller: str, userid: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    page = 1
    while True:
        response = w.get(f"/v1/history/meetings/{userid}?page={page}&page_size=20&{WINDOW}", caller)
        assert response.status_code == 200, response.text
        body = response.json()
        found |= {(m["meeting_id"], m["sub_meeting_id"]) for m in body["meeting_info_list"]}
        if page >= body["total_page"]:
            return found
        page += 1


def _involved(ent: Enterprise, owner: str) -> list[Instance]:
    start = END - 30 * 86400
    return [i for i in ended(ent) if start <= i.sched_start <= END and (i.creator == owner or attended(ent, i, owner))]


def test_the_users_ended_list_holds_only_oauth_created_meetings(reference: World, scope_table: World) -> None:
    owner, made, client = owner_with_both(reference.ent)
    got = _history(reference, "user", reference.open_id("user"))
    want = {i.key for i in _involved(reference.ent, owner) if i.oauth_created}
    assert made.key in got and client.key not in got
    assert got == want
    everything = _history(scope_table, "user", scope_table.open_id("user"))
    assert everything == {i.key for i in _involved(scope_table.ent, owner)} > got


def test_the_users_upcoming_list_holds_only_oauth_created_meetings(reference: World) -> None:
    ent = reference.ent
    soon = ent.live_instances() + ent.upcoming_instances()
    creators = {i.creator for i in soon if i.oauth_created}
    assert creators, "no OAuth-created meeting is upcoming; the test would prove nothing"
    hidden = 0
    for userid in sorted(creators):
        token = _token(reference.emu, USER_APP, userid)
        response = reference.emu.http.get(
            f"{reference.emu.base_url}/v1/meetings?userid={token['open_id']}&instanceid=1",
            headers=oauth_headers(token))
        assert response.status_code == 200, response.text
        got = {m["meeting_id"] for m in response.json()["meeting_info_list"]}
        mine = {i.meeting_id for i in soon if i.creator == userid or attended(ent, i, userid)}
        assert got == {i.meeting_id for i in soon if i.meeting_id in mine and i.oauth_created} != set()
        hidden += len(mine - got)
    assert hidden, "none of these users has an upcoming client meeting; the test would prove nothing"


def _records(w: World, caller: str, operator: str) -> set[str]:
    response = w.get(f"/v1/records?start_time={END - 31 * 86400}&end_time={END}&page_size=20"
                     f"&operator_id={operator}&operator_id_type=2", caller)
    assert response.status_code == 200, response.text
    return {r["meeting_record_id"] for r in response.json()["record_meetings"]}


def test_recordings_list_and_access_only_of_oauth_created_meetings(reference: World, scope_table: World) -> None:
    _, made, client = owner_with_both(reference.ent)
    ent = reference.ent
    ours, theirs = ent.prepared(made).recording, ent.prepared(client).recording
    assert ours is not None and theirs is not None
    listed = _records(reference, "user", reference.open_id("user"))
    assert ours.meeting_record_id in listed and theirs.meeting_record_id not in listed
    assert all(ent.recording(r).instance.oauth_created for r in listed)  # type: ignore[union-attr]
    assert theirs.meeting_record_id in _records(scope_table, "user", scope_table.open_id("user"))
    span = f"start_time={END - 31 * 86400}&end_time={END}"
    for rec in (ours, theirs):
        file_id = rec.files[0].record_file_id
        targets = [
            f"/v1/addresses?meeting_record_id={rec.meeting_record_id}",
            f"/v1/addresses/{file_id}",
            f"/v1/metrics/records?meeting_record_id={rec.meeting_record_id}",
            f"/v1/records/events?meeting_record_id={rec.meeting_record_id}&event_type=2&{span}",
            f"/v1/records/view-details?record_file_id={file_id}",
        ]
        for target in targets:
            response = reference.get(target, "user")
            if rec is ours:
                assert response.status_code == 200, (target, response.text)
            else:
                assert _error(response)[:2] == (403, 9042), target
                assert scope_table.get(target, "user").status_code == 200
                assert reference.get(target, "aksk").status_code == 200
    views = reference.get(f"/v1/records/events?meeting_record_id={ours.meeting_record_id}&event_type=2&{span}", "user")
    assert views.json()["total_count"] == sum(1 for e in ent.visible_events(ours) if e.event_type == 2)


def test_account_level_oauth_acts_as_its_admin_under_the_api_reference(reference: World, scope_table: World) -> None:
    owner, _, _ = owner_with_both(reference.ent)
    admin = reference.ent.super_admin
    assert owner != admin
    # Under the API reference the app names only itself (its admin, by open_id).
    refused = reference.get(f"/v1/history/meetings/{owner}?page=1&page_size=20&{WINDOW}", "account")
    assert _error(refused)[:2] == (403, 9042)
    assert _history(reference, "account", reference.open_id("account")) == {
        i.key for i in _involved(reference.ent, admin) if i.oauth_created}
    # Under the scope table it reads any user's list.
    assert _history(scope_table, "account", owner) == {i.key for i in _involved(scope_table.ent, owner)}


def test_the_serve_command_and_the_config_take_the_reading() -> None:
    import argparse

    from emulator.app import EmulatorConfig, build_emulator
    from emulator.cli import config_from_args, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert config_from_args(parser.parse_args(["emulator"])).platform == "api-reference"
    assert config_from_args(parser.parse_args(["emulator", "--platform", "scope-table"])).platform == "scope-table"
    with pytest.raises(ValueError, match="api-reference, scope-table"):
        build_emulator(EmulatorConfig(platform="seed", scale="small", days=1))  # type: ignore[arg-type]


def test_the_serve_command_takes_the_roles_shape() -> None:
    import argparse

    from emulator.app import EmulatorConfig, build_emulator
    from emulator.cli import config_from_args, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert config_from_args(parser.parse_args(["emulator"])).roles_shape == "role-list"
    assert config_from_args(parser.parse_args(["emulator", "--roles-shape", "reference"])).roles_shape == "reference"
    with pytest.raises(SystemExit):
        parser.parse_args(["emulator", "--roles-shape", "roles"])
    with pytest.raises(ValueError, match="role-list, reference"):
        build_emulator(EmulatorConfig(roles_shape="roles", scale="small", days=1))
