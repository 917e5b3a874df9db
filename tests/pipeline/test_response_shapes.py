"""Pages that come without their documented list, and the two documented shapes of the roles list."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator.api import ROUTE_SCOPES, build_api_routes
from emulator.clock import Clock
from emulator.enterprise import Enterprise
from emulator.testing import EmulatorHandle, running_emulator
from pipelines.auth_cli import login
from pipelines.definitions import ASSETS
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.lake import Lake
from resources.settings import Settings
from tests.pipeline.conftest import LAST, NOW, aksk_env
from tests.pipeline.test_scopes import REDIRECT, _apps_file
from tests.ports import free_port

WORLD = {"seed": 11, "scale": "small", "days": 6, "now": NOW, "rate_limit": "off"}


def _evaluations(outcome: dg.ExecuteInProcessResult) -> list[object]:
    return [e.event_specific_data for e in outcome.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]


def _materialize(*assets: str, partition: str | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS, selection=dg.AssetSelection.assets(*assets),
        resources={"tencent": TencentMeetingResource(), "storage": StorageResource()},
        partition_key=partition, raise_on_error=False,
    )


@pytest.fixture
def drifted_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, dict[str, object]], EmulatorHandle]]:
    """Start an emulator whose ``route_name`` answers 200 with ``body`` (every other route is real)."""
    stack: list[object] = []

    def start(route_name: str, body: dict[str, object]) -> EmulatorHandle:
        enterprise = Enterprise(WORLD["seed"], WORLD["scale"], WORLD["days"], Clock(NOW), tz="Asia/Shanghai")

        async def drifted(_: Request) -> Response:
            return JSONResponse(body)

        routes = [Route(r.path, drifted, methods=["GET"], name=r.name) if r.name == route_name else r
                  for r in build_api_routes(enterprise)]
        manager = running_emulator(**WORLD, enterprise=enterprise, api_routes=routes, route_scopes=ROUTE_SCOPES)
        emu = manager.__enter__()
        stack.append(manager)
        for name, value in aksk_env(emu, tmp_path / "data").items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        return emu

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)  # type: ignore[attr-defined]


def test_a_page_without_its_list_is_quarantined_and_fails_the_shape_check(
    drifted_platform: Callable[[str, dict[str, object]], EmulatorHandle], tmp_path: Path,
) -> None:
    # The list renamed: a 200 that a lenient reader would take for "no meetings that day".
    drifted = {"total_count": 3, "current_page": 1, "meetings": [{"meeting_id": "1"}]}
    drifted_platform("corp_meetings", drifted)
    outcome = _materialize("meetings", partition=LAST.isoformat())
    assert outcome.success
    shape = [ev for ev in _evaluations(outcome) if ev.check_name == "response_shape"]  # type: ignore[attr-defined]
    assert len(shape) == 1 and not shape[0].passed  # type: ignore[attr-defined]
    assert shape[0].severity == dg.AssetCheckSeverity.ERROR  # type: ignore[attr-defined]
    assert "meeting_info_list" in shape[0].description  # type: ignore[attr-defined]

    lake = Lake.from_data_dir(tmp_path / "data")
    quarantine = lake.read("quarantine")
    rows = quarantine[quarantine["reason"].str.startswith("response shape")]
    assert len(rows) == 1 and rows["table_name"].iloc[0] == "meetings"
    assert json.loads(rows["record_json"].iloc[0]) == drifted, "the page is kept as received"
    log = lake.read("sync_log")
    assert "meeting_info_list" in " ".join(log["skip_reasons"])
    assert not lake.has_files("meetings"), "an unread day is not landed as an empty partition"
    event = outcome.get_asset_materialization_events()[0]
    assert "kept its last good state" in event.step_materialization_data.materialization.metadata["not_replaced"].value


def test_a_roles_answer_in_neither_documented_shape_keeps_the_last_roles(
    drifted_platform: Callable[[str, dict[str, object]], EmulatorHandle], tmp_path: Path,
) -> None:
    drifted_platform("user_roles", {"total_count": 4, "roles": []})
    outcome = _materialize("users", "user_departments", "roles")
    assert outcome.success
    materialized = {e.asset_key.to_user_string() for e in outcome.get_asset_materialization_events()}
    assert materialized == {"users", "user_departments"}, "roles must not be replaced by an unread answer"
    shape = {ev.asset_key.to_user_string(): ev for ev in _evaluations(outcome)  # type: ignore[attr-defined]
             if ev.check_name == "response_shape"}  # type: ignore[attr-defined]
    assert not shape["roles"].passed and shape["users"].passed is False  # one step, one verdict
    lake = Lake.from_data_dir(tmp_path / "data")
    assert not lake.has_files("roles")
    assert len(lake.read("users")) > 0


@pytest.mark.parametrize("roles_shape", ["role-list", "reference"])
def test_roles_land_from_either_documented_shape(
    roles_shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_emulator(**WORLD, roles_shape=roles_shape) as emu:
        for name, value in aksk_env(emu, tmp_path / "data").items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        outcome = _materialize("users", "user_departments", "roles")
        assert outcome.success
        roles = Lake.from_data_dir(tmp_path / "data").read("roles")
        ent = emu.enterprise
        members = {r.role_code: 0 for r in ent.roles}
        for user in ent.users:
            members[user.role_code] += 1
        # The users-of-roles shape knows only roles that have members.
        want = {code: n for code, n in members.items() if n or roles_shape == "role-list"}
        assert dict(zip(roles["role_code"], roles["member_count"].astype(int), strict=True)) == want
        names = {r.role_code: r.role_name for r in ent.roles}
        assert all(names[code] == name for code, name in zip(roles["role_code"], roles["role_name"], strict=True))

        event = next(e for e in outcome.get_asset_materialization_events()
                     if e.asset_key.to_user_string() == "roles")
        seen = event.step_materialization_data.materialization.metadata["roles_shape"].value
        assert ("user_role_list" in seen) == (roles_shape == "role-list")
        assert ("1095/52496" in seen) == (roles_shape == "reference")
        log = Lake.from_data_dir(tmp_path / "data").read("sync_log")
        assert any(ep.startswith("shape of GET /v1/corp/user-roles") and seen.split(" (")[0] in ep
                   for ep in log["endpoint"])


def test_a_users_answer_without_its_list_keeps_the_last_directory(
    drifted_platform: Callable[[str, dict[str, object]], EmulatorHandle], tmp_path: Path,
) -> None:
    drifted_platform("corp_users", {"has_remaining": False, "next_pos": "", "user_list": []})
    outcome = _materialize("users", "user_departments", "roles")
    assert outcome.success
    materialized = {e.asset_key.to_user_string() for e in outcome.get_asset_materialization_events()}
    assert materialized == {"roles"}
    shape = {ev.asset_key.to_user_string(): ev for ev in _evaluations(outcome)  # type: ignore[attr-defined]
             if ev.check_name == "response_shape"}  # type: ignore[attr-defined]
    assert not shape["users"].passed and "'users'" in shape["users"].description
    assert not Lake.from_data_dir(tmp_path / "data").has_files("users")


def test_a_snapshot_cut_short_by_a_shape_error_is_not_written(
    drifted_platform: Callable[[str, dict[str, object]], EmulatorHandle], tmp_path: Path,
) -> None:
    drifted_platform("corp_meetings", {"total_count": 2, "current_page": 1, "meetings": []})
    outcome = _materialize("upcoming_meetings", "live_meetings")
    assert outcome.success
    assert not outcome.get_asset_materialization_events(), "a partial snapshot would show meetings as gone"
    shape = [ev for ev in _evaluations(outcome) if ev.check_name == "response_shape"]  # type: ignore[attr-defined]
    assert {ev.asset_key.to_user_string() for ev in shape} == {"upcoming_meetings", "live_meetings"}  # type: ignore[attr-defined]
    assert not any(ev.passed for ev in shape)  # type: ignore[attr-defined]
    lake = Lake.from_data_dir(tmp_path / "data")
    assert not lake.has_files("upcoming_meetings") and not lake.has_files("live_meetings")
    quarantine = lake.read("quarantine")
    assert quarantine["reason"].str.startswith("response shape").sum() >= 1


def test_a_user_info_answer_that_is_not_the_documented_object_keeps_the_last_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrapped = {"code": 0, "data": {"username": "someone", "status": "1"}}
    enterprise = Enterprise(WORLD["seed"], WORLD["scale"], WORLD["days"], Clock(NOW), tz="Asia/Shanghai")

    async def drifted(_: Request) -> Response:
        return JSONResponse(wrapped)

    routes = [Route(r.path, drifted, methods=["GET"], name=r.name) if r.name == "basic_info" else r
              for r in build_api_routes(enterprise)]
    port = free_port()
    apps = _apps_file(tmp_path, port, ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"])
    with running_emulator(**WORLD, enterprise=enterprise, api_routes=routes, route_scopes=ROUTE_SCOPES,
                          apps_path=str(apps), platform="api-reference") as emu:
        env = {
            "TMEET_API_BASE_URL": emu.base_url, "TMEET_OAUTH_BASE_URL": emu.base_url, "TMEET_AUTH_MODE": "oauth",
            "TMEET_APP_TYPE": "account", "TMEET_SDK_ID": "300000001", "TMEET_SECRET": "scope-test-secret-0001",
            "TMEET_CORP_ID": "scope-corp", "TMEET_REDIRECT_URI": REDIRECT.format(port=port),
            "TMEET_DATA_DIR": str(tmp_path / "data"), "TMEET_STEP_RETRIES": "0", "TMEET_QUOTA_WINDOW_SECONDS": "1",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        login(Settings.from_env(), open_browser=lambda url: httpx.get(url, follow_redirects=True),
              out=lambda _line: None, timeout=30)
        outcome = _materialize("users", "user_departments", "roles")
    assert outcome.success
    assert not outcome.get_asset_materialization_events(), "an unread user record must not replace the users table"
    shape = {ev.asset_key.to_user_string(): ev for ev in _evaluations(outcome)  # type: ignore[attr-defined]
             if ev.check_name == "response_shape"}  # type: ignore[attr-defined]
    assert not shape["users"].passed and "username" in shape["users"].description
    lake = Lake.from_data_dir(tmp_path / "data")
    assert not lake.has_files("users")
    quarantine = lake.read("quarantine")
    rows = quarantine[quarantine["reason"].str.startswith("response shape")]
    assert [json.loads(r) for r in rows["record_json"]] == [wrapped], "the body is kept as received"
