"""Ordinary mistakes and outages end `tmeet-etl` in at most three lines that name the fix.

Every case runs the real command in a child process against the emulator and checks the exit
status, the number of lines a person has to read, and that the fix is named.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from emulator.oauth import OAUTH_PREFIX
from emulator.testing import EmulatorHandle, running_emulator
from resources.settings import Settings
from resources.tencent.token_store import TokenStore
from tests.pipeline.cli_runner import log_in, mounted_tmpfs, oauth_env, quiet_enough, run_cli, show
from tests.pipeline.conftest import NOW, aksk_env

DAY = "2026-06-16"
SYNC = ["sync", "--start", DAY, "--end", DAY]
REFUSED = re.compile(r"refresh token refused by the platform at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: run `tmeet-etl auth login`")


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off") as handle:
        yield handle


def test_missing_secret_with_a_valid_token_still_syncs(emu: EmulatorHandle, tmp_path: Path) -> None:
    env = oauth_env(emu, tmp_path / "data", secret=False)
    log_in(emu, env)
    run = run_cli(SYNC, env, tmp_path)
    assert run.code == 0, show(run)
    assert emu.stats()["oauth"]["refreshes"] == 0


def test_missing_secret_when_a_refresh_is_due_names_the_variable(emu: EmulatorHandle, tmp_path: Path) -> None:
    env = oauth_env(emu, tmp_path / "data", secret=False)
    log_in(emu, env)
    emu.expire_tokens()
    run = run_cli(SYNC, env, tmp_path)
    assert run.code != 0 and quiet_enough(run), show(run)
    assert "set TMEET_SECRET" in run.text, show(run)
    assert "Traceback" not in run.text


def test_revoked_refresh_token_is_recorded_and_reported(emu: EmulatorHandle, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = oauth_env(emu, data_dir)
    token = log_in(emu, env)
    # Another installation refreshes with the same grant: the platform rotates ours away.
    answer = httpx.post(f"{emu.base_url}{OAUTH_PREFIX}/refresh_token", trust_env=False, json={
        "sdk_id": env["TMEET_SDK_ID"], "refresh_token": token.refresh_token, "open_id": token.open_id})
    assert answer.json()["code"] == 0
    run = run_cli(SYNC, env, tmp_path)
    assert run.code != 0 and quiet_enough(run), show(run)
    assert REFUSED.search(run.text), show(run)
    oauth = emu.stats()["oauth"]
    assert oauth["rejected_refreshes"] == 1, oauth  # said once, not once per asset

    status = run_cli(["auth", "status"], env, tmp_path)
    assert REFUSED.search(status.text) and "access token expires" not in status.text, show(status)
    doctor = run_cli(["doctor"], env, tmp_path)
    assert doctor.code != 0 and REFUSED.search(doctor.text), show(doctor)
    assert emu.stats()["oauth"]["rejected_refreshes"] == 1


def test_wrong_aksk_key_names_the_variables(emu: EmulatorHandle, tmp_path: Path) -> None:
    env = {**aksk_env(emu, tmp_path / "data"), "TMEET_SECRET_KEY": "not-the-key-at-all"}
    run = run_cli(SYNC, env, tmp_path)
    assert run.code != 0 and quiet_enough(run), show(run)
    assert "TMEET_SECRET_KEY" in run.text, show(run)


def test_clock_skew_is_measured_and_not_retried(emu: EmulatorHandle, tmp_path: Path) -> None:
    emu.shift_server_clock(900)  # the server is 15 minutes ahead: our clock is 900 s behind
    run = run_cli(SYNC, aksk_env(emu, tmp_path / "data"), tmp_path)
    assert run.code != 0 and quiet_enough(run), show(run)
    found = re.search(r"local clock is (\d+) s behind", run.text)
    assert found is not None and abs(int(found.group(1)) - 900) < 60, show(run)
    assert "sync this machine's clock" in run.text
    # Not retried: the old client spent about three minutes on retries here.
    assert run.seconds < 90, show(run)


def test_unreachable_api_fails_fast_naming_url_and_proxy(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed: every connect is refused at once.
    url = f"http://127.0.0.1:{port}"
    env = {
        "TMEET_API_BASE_URL": url, "TMEET_OAUTH_BASE_URL": url, "TMEET_AUTH_MODE": "aksk",
        "TMEET_APP_ID": "210000001", "TMEET_SECRET_ID": "AKIDx", "TMEET_SECRET_KEY": "k" * 12,
        "TMEET_OPERATOR_ID": "admin", "TMEET_DATA_DIR": str(tmp_path / "data"),
        "HTTPS_PROXY": "http://proxyuser:proxypass@proxy.example:3128", "NO_PROXY": "127.0.0.1,localhost",
    }
    run = run_cli(SYNC, env, tmp_path)
    assert run.code != 0 and quiet_enough(run), show(run)
    assert url in run.text and "HTTPS_PROXY=http://proxy.example:3128" in run.text, show(run)
    assert "proxypass" not in run.text and "proxyuser" not in run.text
    # About 15 s is the promise; the child's start-up (Dagster import) is on top, on a loaded machine.
    assert run.seconds < 45, show(run)


def test_full_data_dir_names_path_and_fix(emu: EmulatorHandle, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with mounted_tmpfs(data_dir, "size=96k"):
        run = run_cli(SYNC, aksk_env(emu, data_dir), tmp_path)
    assert run.code != 0 and quiet_enough(run), show(run)
    assert "no space is left on the device" in run.text and "TMEET_DATA_DIR" in run.text, show(run)
    assert str(data_dir) in run.text, show(run)


def test_read_only_data_dir_names_path_and_fix(emu: EmulatorHandle, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with mounted_tmpfs(data_dir, "ro,size=1m"):
        run = run_cli(SYNC, aksk_env(emu, data_dir), tmp_path)
    assert run.code != 0 and quiet_enough(run), show(run)
    assert "read-only" in run.text and "TMEET_DATA_DIR" in run.text and str(data_dir) in run.text, show(run)


def test_lost_refresh_answer_ends_in_the_documented_message(tmp_path: Path) -> None:
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off", faults="lost_refresh") as emu:
        data_dir = tmp_path / "data"
        env = oauth_env(emu, data_dir)
        log_in(emu, env)
        emu.expire_tokens()
        run = run_cli(SYNC, env, tmp_path)
        oauth = emu.stats()["oauth"]
    assert run.code != 0 and quiet_enough(run), show(run)
    assert REFUSED.search(run.text) and "answer was lost" in run.text, show(run)
    # The platform did rotate (one refresh) and then refused the retry with the old token (one rejection).
    assert oauth["refreshes"] == 1 and oauth["rejected_refreshes"] == 1, oauth
    settings = Settings.from_env(env)
    stored = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key).read_all()
    assert [t.refused for t in stored.values()] == [True]
    assert stored and all(t.refused_at <= datetime.now(UTC).timestamp() for t in stored.values())


def test_refresh_through_a_gateway_timeout_recovers(tmp_path: Path) -> None:
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off",
                          faults="refresh_unavailable") as emu:
        env = oauth_env(emu, tmp_path / "data")
        log_in(emu, env)
        emu.expire_tokens()
        run = run_cli(SYNC, env, tmp_path)
        oauth = emu.stats()["oauth"]
        faults = emu.stats()["faults"]
    assert run.code == 0, show(run)
    assert faults.get("refresh_unavailable_504") == 2 and oauth["refreshes"] == 1, (faults, oauth)
