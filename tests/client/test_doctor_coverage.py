"""`tmeet-etl doctor`'s coverage plan: probed families, what will run, what is refused and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulator.app import super_admin_of
from pipelines.cli import main
from tests.client.conftest import CANARY_SECRET, CANARY_SECRET_KEY, settings_for
from tests.client.test_auth_cli import env_of
from tests.client.test_oauth_emulator import do_login

ACCOUNT_ASSETS = "will run: users, user_departments, roles, meetings, participant_sessions, attendance, recordings"


def _doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["doctor"])
    out = capsys.readouterr().out
    print(out)
    return code, out.splitlines()


def _line(lines: list[str], prefix: str) -> str:
    found = [line for line in lines if line.startswith(prefix)]
    assert found, f"no line starts with {prefix!r}:\n" + "\n".join(lines)
    return found[0]


def test_doctor_under_aksk_plans_every_asset(emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_for(emulator.base_url, tmp_path / "data")
    env_of(settings, monkeypatch, tmp_path, TMEET_AUTH_MODE="aksk", TMEET_APP_ID="310000001",
           TMEET_SECRET_ID="AKIDcanary0001", TMEET_SECRET_KEY=CANARY_SECRET_KEY,
           TMEET_OPERATOR_ID=super_admin_of(emulator.enterprise))
    emulator.reset_stats()
    code, lines = _doctor(capsys)
    assert code == 0
    probes = _line(lines, "[ok] probes: ")
    for family in ("corp meetings ok", "corp records ok", "corp users ok", "user roles ok", "records ok"):
        assert family in probes
    assert "participants ok" in probes
    assert "users/info/basic" in probes  # OAuth-only: answered or refused, never hidden
    assert _line(lines, "[ok] assets: ").startswith(f"[ok] assets: {ACCOUNT_ASSETS}")
    assert not [line for line in lines if line.startswith(("[skip]", "[note]"))]
    calls = emulator.stats()["calls"]
    print(f"doctor API calls: {sum(calls.values())} over {len(calls)} routes")
    assert all(n <= 2 for n in calls.values()), f"one cheap call per family (plus connectivity): {calls}"
    assert CANARY_SECRET_KEY not in "\n".join(lines)


def test_doctor_under_account_oauth_names_refusals_and_the_fix(
    reference_emulator: Any, tmp_path: Path, redirect_uri: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(reference_emulator.base_url, tmp_path / "data", redirect=redirect_uri)
    token = do_login(settings)
    env_of(settings, monkeypatch, tmp_path)
    code, lines = _doctor(capsys)
    assert code == 0, "a refusal is a plan, not a broken setup"
    probes = _line(lines, "[ok] probes: ")
    assert "corp meetings refused" in probes and "corp users refused" in probes and "records ok" in probes
    assert "user meeting history ok" in probes and "user meetings ok" in probes and "participants ok" in probes
    admin_share = ("users", "meetings", "participant_sessions", "attendance", "recordings", "upcoming_meetings")
    will_run = _line(lines, "[ok] assets: ")
    narrowed = _line(lines, "[ok] narrowed: ")
    for asset in admin_share:
        assert asset in will_run and asset in narrowed
    assert "the admin's own share" in narrowed and "TMEET_AUTH_MODE=aksk" in narrowed
    skipped = [line for line in lines if line.startswith("[skip] skipped: ")]
    departments = _line(skipped, "[skip] skipped: user_departments — auth mode not supported: GET /v1/corp/users")
    roles = _line(skipped, "[skip] skipped: roles — auth mode not supported: GET /v1/corp/user-roles")
    assert len(skipped) == 2
    for line in (departments, roles):
        assert "auth mode not supported" in line and "TMEET_AUTH_MODE=aksk" in line and "企业级自建应用" in line
    note = _line(lines, "[note] note: ")
    assert "created through OAuth apps" in note and "TMEET_AUTH_MODE=aksk" in note
    text = "\n".join(lines)
    assert token.access_token not in text and token.refresh_token not in text


def test_doctor_under_account_oauth_without_refusals(
    scope_table_emulator: Any, tmp_path: Path, redirect_uri: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(scope_table_emulator.base_url, tmp_path / "data", redirect=redirect_uri)
    do_login(settings)
    env_of(settings, monkeypatch, tmp_path)
    code, lines = _doctor(capsys)
    assert code == 0
    probes = _line(lines, "[ok] probes: ")
    assert "corp meetings ok" in probes
    # The world is frozen months before today and the admin names no userid to list upcoming
    # meetings by: only a probe of the server's last days finds a meeting to ask participants of.
    assert "participants ok" in probes
    assert _line(lines, "[ok] assets: ").startswith(f"[ok] assets: {ACCOUNT_ASSETS}")
    assert not [line for line in lines if line.startswith(("[skip]", "[ok] narrowed"))]
    assert "created through OAuth apps" in _line(lines, "[note] note: ")


def test_doctor_under_a_user_level_app_names_what_the_app_type_cannot_reach(
    emulator: Any, tmp_path: Path, redirect_uri: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(emulator.base_url, tmp_path / "data", sdk="300000002", app_type="user",
                            redirect=redirect_uri)
    do_login(settings)
    env_of(settings, monkeypatch, tmp_path, TMEET_SDK_ID="300000002", TMEET_APP_TYPE="user",
           TMEET_SECRET=CANARY_SECRET + "u")
    code, lines = _doctor(capsys)
    assert code == 0
    probes = _line(lines, "[ok] probes: ")
    assert "corp" not in probes, "a user-level app has no account-level family to probe"
    assert "user meeting history ok" in probes and "users/info/basic ok" in probes
    assert "meetings" in _line(lines, "[ok] assets: ")
    for asset in ("user_departments", "roles"):
        assert "user-level apps have no endpoint" in _line(lines, f"[skip] skipped: {asset} — ")
    assert "created through OAuth apps" in _line(lines, "[note] note: ")
