"""An app without a scope: the assets it unlocks are skipped, the skip names the scope, the rest lands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

import httpx
import pytest

from emulator.testing import EmulatorHandle, running_emulator
from pipelines.definitions import ASSETS
from pipelines.auth_cli import login
from pipelines.sync import run_sync
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.lake import Lake
from resources.settings import Settings
from tests.pipeline.conftest import FIRST, LAST, NOW
from tests.ports import free_port

REDIRECT = "http://127.0.0.1:{port}/callback"


def _apps_file(tmp_path: Path, port: int, scopes: list[str]) -> Path:
    path = tmp_path / "apps.json"
    path.write_text(json.dumps({"apps": [{
        "sdk_id": "300000001", "secret": "scope-test-secret-0001", "type": "account", "corp_id": "scope-corp",
        "redirect_uris": [REDIRECT.format(port=port)], "scopes": scopes, "activated": True,
    }]}), encoding="utf-8")
    return path


@pytest.fixture
def no_records_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EmulatorHandle, Path]]:
    """An account-level OAuth app granted meetings and users but not recordings, signed in."""
    port = free_port()
    apps = _apps_file(tmp_path, port, ["VIEW_ALL_MEETINGS", "VIEW_ALL_USERS"])
    # The scope table's reading: the account-level OAuth app reaches /v1/corp/* within its scopes.
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off", apps_path=str(apps),
                          platform="scope-table") as emu:
        data_dir = tmp_path / "data"
        env = {
            "TMEET_API_BASE_URL": emu.base_url, "TMEET_OAUTH_BASE_URL": emu.base_url, "TMEET_AUTH_MODE": "oauth",
            "TMEET_APP_TYPE": "account", "TMEET_SDK_ID": "300000001", "TMEET_SECRET": "scope-test-secret-0001",
            "TMEET_CORP_ID": "scope-corp", "TMEET_REDIRECT_URI": REDIRECT.format(port=port),
            "TMEET_DATA_DIR": str(data_dir), "TMEET_STEP_RETRIES": "0", "TMEET_QUOTA_WINDOW_SECONDS": "1",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        login(Settings.from_env(), open_browser=lambda url: httpx.get(url, follow_redirects=True),
              out=lambda _line: None, timeout=30)
        yield emu, data_dir


def test_missing_scope_skips_its_assets_and_names_the_scope(no_records_scope: tuple[EmulatorHandle, Path]) -> None:
    emu, data_dir = no_records_scope
    summary = run_sync(FIRST, LAST)
    record_calls = {route: n for route, n in emu.stats()["calls"].items() if "record" in route}
    assert summary.success, summary.failures
    assert "recordings" in summary.skipped_assets
    assert "VIEW_ALL_RECORDS" in summary.skipped_assets["recordings"]
    assert "meetings" not in summary.skipped_assets
    assert not any(record_calls.values()), f"a skipped asset must not call its endpoints: {record_calls}"
    lake = Lake.from_data_dir(data_dir)
    assert len(lake.read("meetings")) > 0
    assert not lake.has_files("recordings")
    assert (data_dir / "warehouse.duckdb").exists(), "the warehouse publishes what the scopes allow"


def test_a_dagster_run_that_selects_a_forbidden_asset_skips_it_and_says_why(
    no_records_scope: tuple[EmulatorHandle, Path],
) -> None:
    _, data_dir = no_records_scope
    outcome = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.assets("meetings", "recordings", "recording_files"),
        resources={"tencent": TencentMeetingResource(), "storage": StorageResource()},
        partition_key=LAST.isoformat(),
    )
    assert outcome.success
    materialized = {e.asset_key.to_user_string() for e in outcome.get_asset_materialization_events()}
    assert materialized == {"meetings"}
    warnings = [e for e in outcome.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                and e.event_specific_data.asset_key.to_user_string() == "recordings"]
    assert warnings and all("VIEW_ALL_RECORDS" in (e.event_specific_data.description or "") for e in warnings)
    log = Lake.from_data_dir(data_dir).read("sync_log")
    skipped = log[log["endpoint"] == "(not run: scope)"]
    assert "VIEW_ALL_RECORDS" in " ".join(skipped["skip_reasons"])


def test_the_daily_schedule_leaves_out_what_the_scopes_forbid(no_records_scope: tuple[EmulatorHandle, Path]) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pipelines.schedules import daily_schedule

    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 6, 17, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
        resources={"tencent": TencentMeetingResource()},
    )
    request = daily_schedule(context)
    selected = {key.to_user_string() for key in request.asset_selection or []}
    assert "meetings" in selected and "warehouse" in selected
    assert not selected & {"recordings", "recording_files", "recording_events"}
