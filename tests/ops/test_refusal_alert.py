"""A refresh token the platform refuses raises one alert, naming the user and the fix, with no secret in it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from emulator.oauth import OAUTH_PREFIX
from emulator.testing import running_emulator
from resources.dagster_resources import TencentMeetingResource
from resources.settings import Settings
from resources.tencent.errors import RefreshRefused
from resources.tencent.token_store import TokenStore
from tests.ops.alert_receiver import alert_receiver, text_of
from tests.pipeline.cli_runner import log_in, oauth_env, run_cli, show
from tests.pipeline.conftest import NOW

DAY = "2026-06-16"


def test_a_refused_refresh_in_a_cli_sync_alerts_once(tmp_path: Path) -> None:
    with (running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off", faults="lost_refresh") as emu,
          alert_receiver("wecom") as receiver):
        env = {**oauth_env(emu, tmp_path / "data"), "TMEET_ALERT_WEBHOOK_URL": receiver.url,
               "TMEET_ALERT_FORMAT": "wecom"}
        token = log_in(emu, env)
        emu.expire_tokens()
        run = run_cli(["sync", "--start", DAY, "--end", DAY], env, tmp_path)
        assert run.code != 0, show(run)
        # Later commands meet the recorded refusal; they say it, but it was already announced.
        status = run_cli(["doctor"], env, tmp_path)
        assert status.code != 0, show(status)
        oauth = emu.stats()["oauth"]
    assert oauth["rejected_refreshes"] == 1, oauth
    assert len(receiver.received) == 1, receiver.received
    text = text_of("wecom", receiver.received[0])
    assert token.open_id in text and "tmeet-etl auth login" in text, text
    assert "answer was lost" in text, text
    for secret in (token.access_token, token.refresh_token, env["TMEET_SECRET"], "bot-key-123"):
        assert secret not in text


def test_a_refused_refresh_in_a_dagster_run_alerts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off") as emu,
          alert_receiver("slack") as receiver):
        env = oauth_env(emu, tmp_path / "data")
        token = log_in(emu, env)
        for name, value in {**env, "TMEET_ALERT_WEBHOOK_URL": receiver.url, "TMEET_ALERT_FORMAT": "slack"}.items():
            monkeypatch.setenv(name, value)
        # Another installation refreshes with the same grant: the platform rotates ours away.
        answer = httpx.post(f"{emu.base_url}{OAUTH_PREFIX}/refresh_token", trust_env=False, json={
            "sdk_id": env["TMEET_SDK_ID"], "refresh_token": token.refresh_token, "open_id": token.open_id})
        assert answer.json()["code"] == 0
        emu.expire_tokens()
        (client,) = TencentMeetingResource().clients()
        with pytest.raises(RefreshRefused):
            client.get_user_info()
    assert len(receiver.received) == 1, receiver.received
    text = text_of("slack", receiver.received[0])
    assert token.open_id in text and "tmeet-etl auth login" in text, text
    settings = Settings.from_env(env)
    stored = TokenStore.for_app(settings.state_dir, settings.sdk_id, settings.token_key).read_all()
    assert all(t.refused for t in stored.values())
    for secret in (token.access_token, token.refresh_token, env["TMEET_SECRET"]):
        assert secret not in text

