"""Account-level OAuth against a platform that serves /v1/corp/* to AK/SK only (the API reference).

The run must not fail and must not land silent empty tables: an asset no OAuth-capable endpoint
fills is skipped and named with its fix (AK/SK) in the sync output, ``sync_log`` and its checks;
the others read the admin's own share through the per-user lists, and say so in ``sync_log``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest

from emulator.testing import EmulatorHandle
from pipelines.auth_cli import login
from pipelines.definitions import ASSETS
from pipelines.cli import main
from pipelines.sync import run_sync
from resources.dagster_resources import StorageResource, TencentMeetingResource
from resources.lake import Lake
from resources.settings import Settings
from tests.pipeline.conftest import FIRST, LAST, NOW
from tests.pipeline.test_scopes import REDIRECT, _apps_file
from tests.ports import free_port
from tests.platform_readings import api_reference_emulator

ALL_ACCOUNT_SCOPES = ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"]
# Only /v1/corp/users lists departments and only /v1/corp/user-roles lists roles.
REFUSED = {"user_departments", "roles"}
# Read through /v1/users/info/basic, /v1/history/meetings/{userid} and /v1/records instead.
NARROWED = {"users", "meetings", "recordings", "recording_files"}


@pytest.fixture
def oauth_on_reference_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[EmulatorHandle, Path]]:
    """An account-level OAuth app with every read scope, signed in, on a platform that refuses it /v1/corp/*."""
    port = free_port()
    apps = _apps_file(tmp_path, port, ALL_ACCOUNT_SCOPES)
    with api_reference_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off", apps_path=str(apps)) as emu:
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


def test_sync_skips_every_refused_asset_and_names_the_fix(
    oauth_on_reference_platform: tuple[EmulatorHandle, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    emu, data_dir = oauth_on_reference_platform
    assert main(["sync", "--start", FIRST.isoformat(), "--end", LAST.isoformat()]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    for asset in REFUSED:
        line = printed.split(f"skipped {asset}: ", 1)[-1].split(" skipped ", 1)[0]
        assert f"skipped {asset}: auth mode not supported" in printed, printed
        assert "TMEET_AUTH_MODE=aksk" in line and "企业级自建应用" in line, line

    emu.reset_stats()
    summary = run_sync(FIRST, LAST)
    assert summary.success, summary.failures
    assert summary.api_calls == sum(emu.stats()["calls"].values()) > 0, "refused calls are counted too"
    assert set(summary.skipped_assets) == REFUSED, summary.skipped_assets
    assert all("TMEET_AUTH_MODE=aksk" in reason for reason in summary.skipped_assets.values())

    lake = Lake.from_data_dir(data_dir)
    for asset in REFUSED:
        assert not lake.has_files(asset), f"{asset} must not land as an empty table"
    for asset in NARROWED:
        assert lake.has_files(asset), f"{asset}: the admin's own share was not landed"
    log = lake.read("sync_log")
    refused = log[log["endpoint"] == "(not run: auth mode)"]
    named = " ".join(refused["skip_reasons"])
    for asset in REFUSED:
        assert f'"resource": "{asset}"' in named, named
    assert "TMEET_AUTH_MODE=aksk" in named
    corp_rows = log[log["endpoint"].str.startswith("GET /v1/corp/")]
    assert (corp_rows["calls"] > 0).all() and (corp_rows["skipped"] > 0).all(), "the refusal was tried, then recorded"
    assert "read the admin's own" in " ".join(corp_rows["skip_reasons"])


def test_a_dagster_run_reports_the_refusal_on_every_check(
    oauth_on_reference_platform: tuple[EmulatorHandle, Path],
) -> None:
    outcome = dg.materialize(
        ASSETS,
        selection=dg.AssetSelection.assets("meetings", "users", "user_departments", "roles"),
        resources={"tencent": TencentMeetingResource(), "storage": StorageResource()},
        partition_key=LAST.isoformat(),
        raise_on_error=False,
    )
    assert outcome.success
    materialized = {e.asset_key.to_user_string() for e in outcome.get_asset_materialization_events()}
    assert materialized == {"meetings", "users"}, "each reads its admin's own share"
    evaluations = [e.event_specific_data for e in outcome.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    not_run = [ev for ev in evaluations if not ev.passed]
    assert {ev.asset_key.to_user_string() for ev in not_run} == REFUSED
    for ev in not_run:
        assert ev.severity == dg.AssetCheckSeverity.WARN
        assert "not run: auth mode not supported" in ev.description and "TMEET_AUTH_MODE=aksk" in ev.description
    assert {ev.asset_key.to_user_string() for ev in evaluations if ev.passed} >= {"meetings", "users"}
