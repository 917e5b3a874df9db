"""The real sync under each reading of the platform lands exactly what its caller may see."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pandas as pd
import pytest

from assets.schemas import KEYS
from emulator.api.meetings import attended
from emulator.clock import Clock
from emulator.enterprise import Enterprise
from emulator.testing import running_emulator
from emulator.truth import Viewer, compute_truth, compute_viewer_truth
from pipelines.auth_cli import login
from pipelines.cli import main
from pipelines.sync import run_sync
from resources.lake import Lake
from resources.settings import Settings
from tests.ports import free_port
from tests.pipeline.conftest import FIRST, LAST, NOW, TRUTH_TABLES, assert_tables_equal, pipeline_emulator
from tests.pipeline.test_user_level import apps_file, ended_instances, log_in, user_env

ACCOUNT_SDK, ACCOUNT_SECRET, CORP = "300000009", "platform-account-secret-09", "platform-corp"
# A user-level app lands meetings with their scheduled times, so rows are compared by what
# identifies them, not by the actual start the whole truth keys them with.
SCHEDULE_DEPENDENT = frozenset({"start_time", "meeting_start_time"})


def keys(table: str, frame: pd.DataFrame) -> set[tuple[Any, ...]]:
    columns = [c for c in KEYS[table] if c not in SCHEDULE_DEPENDENT]
    return set(frame[columns].itertuples(index=False, name=None))


def test_aksk_sync_lands_the_whole_truth_under_the_api_reference(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pipeline_emulator(monkeypatch, tmp_path, platform="api-reference") as (emu, data_dir):
        summary = run_sync(FIRST, LAST)
        assert summary.success, summary.failures
        assert not summary.failed_checks
        viewer = Viewer(platform="api-reference", auth_mode="aksk")
        truth = compute_viewer_truth(emu.enterprise, start=FIRST, end=LAST, viewer=viewer)
        lake = Lake.from_data_dir(data_dir)
        for table in TRUTH_TABLES:
            assert len(truth[table]) > 0, f"the emulator produced no {table}; the test would prove nothing"
            assert_tables_equal(table, lake.read(table), truth[table])


def oauth_users(ent: Any) -> list[str]:
    """The creators of the window's OAuth-created meetings, and one who only attended one of them."""
    made = [i for i in ended_instances(ent) if i.oauth_created]
    creators = sorted({i.creator for i in made})
    guests = sorted({s.userid for i in made for s in ent.visible_sessions(i)
                     if s.userid and s.userid not in creators and attended(ent, i, s.userid)})
    assert len(creators) >= 2 and guests, "too few OAuth-created meetings in the window to prove anything"
    return [*creators, guests[0]]


def test_user_level_oauth_sync_lands_the_oauth_visible_truth_under_the_api_reference(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off",
                          apps_path=str(apps_file(tmp_path)), platform="api-reference") as emu:
        data_dir = tmp_path / "data"
        for name, value in user_env(emu, data_dir).items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        ent = emu.enterprise
        userids = oauth_users(ent)
        for userid in userids:
            log_in(emu, userid)

        summary = run_sync(FIRST, LAST)
        assert summary.success, summary.failures
        assert not summary.failed_checks

        viewer = Viewer(platform="api-reference", auth_mode="oauth", app_type="user", userids=frozenset(userids))
        visible = compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=viewer)
        whole = compute_truth(ent, start=FIRST, end=LAST)
        lake = Lake.from_data_dir(data_dir)
        # A user-level app knows its users by open_id, so they are matched by name.
        assert set(lake.read("users")["user_name"]) == set(visible["users"]["user_name"])
        for table in (t for t in TRUTH_TABLES if t != "users"):
            landed = lake.read(table) if lake.has_files(table) else visible[table].iloc[0:0]
            assert keys(table, landed) == keys(table, visible[table]), table
        for table in ("meetings", "participant_sessions", "recordings", "recording_files", "recording_events"):
            assert 0 < len(visible[table]) < len(whole[table]), table
        # A user-level app never reaches for the account-wide lists.
        calls = emu.stats()["calls"]
        assert not any(route.startswith("GET /v1/corp/") for route in calls), calls


def _account_apps(tmp_path: Path, redirect: str, admin: str | None = None) -> Path:
    path = tmp_path / "apps.json"
    app: dict[str, Any] = {
        "sdk_id": ACCOUNT_SDK, "secret": ACCOUNT_SECRET, "type": "account", "corp_id": CORP,
        "redirect_uris": [redirect], "activated": True,
        "scopes": ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"],
    }
    if admin is not None:
        app["admin_userid"] = admin
    path.write_text(json.dumps({"apps": [app]}), encoding="utf-8")
    return path


def busiest_oauth_creator(ent: Any) -> str:
    """The user who created the most OAuth-created, recorded meetings of the window: the admin to act for."""
    made = Counter(i.creator for i in ended_instances(ent) if i.oauth_created and i.has_recording)
    assert made, "no recorded OAuth-created meeting in the window to prove anything"
    return made.most_common(1)[0][0]


def test_account_level_oauth_sync_lands_the_whole_truth_under_the_scope_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A free port: the login binds it, and tests running side by side must not race for one.
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off",
                          apps_path=str(_account_apps(tmp_path, redirect)), platform="scope-table") as emu:
        data_dir = tmp_path / "data"
        env = {
            "TMEET_API_BASE_URL": emu.base_url, "TMEET_OAUTH_BASE_URL": emu.base_url, "TMEET_AUTH_MODE": "oauth",
            "TMEET_APP_TYPE": "account", "TMEET_SDK_ID": ACCOUNT_SDK, "TMEET_SECRET": ACCOUNT_SECRET,
            "TMEET_CORP_ID": CORP, "TMEET_REDIRECT_URI": redirect, "TMEET_DATA_DIR": str(data_dir),
            "TMEET_STEP_RETRIES": "0", "TMEET_QUOTA_WINDOW_SECONDS": "1",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        login(Settings.from_env(),
              open_browser=lambda url: httpx.get(url, follow_redirects=True, trust_env=False),
              out=lambda _line: None, timeout=30)

        summary = run_sync(FIRST, LAST)
        assert summary.success, summary.failures
        assert not summary.failed_checks
        viewer = Viewer(platform="scope-table", auth_mode="oauth", app_type="account")
        truth = compute_viewer_truth(emu.enterprise, start=FIRST, end=LAST, viewer=viewer)
        lake = Lake.from_data_dir(data_dir)
        for table in TRUTH_TABLES:
            assert len(truth[table]) > 0, f"the emulator produced no {table}; the test would prove nothing"
            assert_tables_equal(table, lake.read(table), truth[table])
        assert any(route.startswith("GET /v1/corp/") for route in emu.stats()["calls"])


def test_account_level_oauth_sync_lands_its_admins_visible_truth_under_the_api_reference(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A free port: the login binds it, and tests running side by side must not race for one.
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    world = Enterprise(11, "small", 6, Clock(NOW), tz="Asia/Shanghai")
    admin = busiest_oauth_creator(world)
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off", enterprise=world,
                          apps_path=str(_account_apps(tmp_path, redirect, admin)), platform="api-reference") as emu:
        data_dir = tmp_path / "data"
        env = {
            "TMEET_API_BASE_URL": emu.base_url, "TMEET_OAUTH_BASE_URL": emu.base_url, "TMEET_AUTH_MODE": "oauth",
            "TMEET_APP_TYPE": "account", "TMEET_SDK_ID": ACCOUNT_SDK, "TMEET_SECRET": ACCOUNT_SECRET,
            "TMEET_CORP_ID": CORP, "TMEET_REDIRECT_URI": redirect, "TMEET_DATA_DIR": str(data_dir),
            "TMEET_STEP_RETRIES": "0", "TMEET_QUOTA_WINDOW_SECONDS": "1",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        login(Settings.from_env(),
              open_browser=lambda url: httpx.get(url, follow_redirects=True, trust_env=False),
              out=lambda _line: None, timeout=30)

        assert main(["sync", "--start", FIRST.isoformat(), "--end", LAST.isoformat()]) == 0
        printed = " ".join(capsys.readouterr().out.split())  # the console wraps long lines

        ent = emu.enterprise
        viewer = Viewer(platform="api-reference", auth_mode="oauth", app_type="account", userids=frozenset({admin}))
        visible = compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=viewer)
        whole = compute_truth(ent, start=FIRST, end=LAST)
        lake = Lake.from_data_dir(data_dir)
        # The admin's own record comes from /v1/users/info/basic, keyed by open_id: match it by name.
        assert set(lake.read("users")["user_name"]) == set(visible["users"]["user_name"]) == {
            ent.user_by_id[admin].user_name}
        for table in (t for t in TRUTH_TABLES if t != "users"):
            landed = lake.read(table) if lake.has_files(table) else visible[table].iloc[0:0]
            assert keys(table, landed) == keys(table, visible[table]), table
        for table in ("meetings", "participant_sessions", "recordings"):
            assert 0 < len(visible[table]) < len(whole[table]), f"{table}: the admin's share proves nothing"

        # The tables no OAuth-capable endpoint fills are named, with the fix, in the output and sync_log.
        refused = {"user_departments", "roles"}
        for table in refused:
            assert not lake.has_files(table), f"{table} must not land as an empty table"
            line = printed.split(f"skipped {table}: ", 1)[-1].split(" skipped ", 1)[0]
            assert f"skipped {table}: auth mode not supported" in printed, printed
            assert "TMEET_AUTH_MODE=aksk" in line and "企业级自建应用" in line, line
        log = lake.read("sync_log")
        named = " ".join(log[log["endpoint"] == "(not run: auth mode)"]["skip_reasons"])
        for table in refused:
            assert f'"resource": "{table}"' in named, named
        # Each refused account-wide list is recorded with what was read instead, and the fix.
        narrowed = " ".join(log[log["endpoint"].str.startswith("GET /v1/corp/")]["skip_reasons"])
        for own in ("/v1/history/meetings/{userid}", "/v1/records", "/v1/users/info/basic"):
            assert f"through GET {own} instead" in narrowed, narrowed
        assert "TMEET_AUTH_MODE=aksk" in narrowed
        # The refused tables do not hold the warehouse back: it publishes what was read.
        assert "not run" not in printed, printed
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
            (meetings,) = con.execute("SELECT count(*) FROM meetings").fetchone()  # type: ignore[misc]
        assert meetings == len(visible["meetings"])
