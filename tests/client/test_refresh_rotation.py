"""Refresh against a rotating platform: lost answers, refusals recorded once, the alert hook, login refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emulator.testing import running_emulator
from resources.tencent.auth_events import RefreshRefusedEvent, add_refresh_refused_listener
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import RefreshRefused
from resources.tencent.stats import CallStats
from resources.tencent.transport import Transport
from tests.client.conftest import free_port, settings_for
from tests.pipeline.cli_runner import log_in, oauth_env, quiet_enough, run_cli, show

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def events() -> Iterator[list[RefreshRefusedEvent]]:
    seen: list[RefreshRefusedEvent] = []
    remove = add_refresh_refused_listener(seen.append)
    yield seen
    remove()


@pytest.mark.parametrize("profile", ["lost_refresh", "lost_refresh_drop"])
def test_lost_answer_after_rotation_is_refused_once_and_announced(
    profile: str, tmp_path: Path, events: list[RefreshRefusedEvent]
) -> None:
    with running_emulator(scale="small", now=NOW, rate_limit="off", faults=profile) as emu:
        env = oauth_env(emu, tmp_path / "data")
        token = log_in(emu, env)
        emu.expire_tokens()
        settings = settings_for(emu.base_url, tmp_path / "data", sdk=env["TMEET_SDK_ID"], **{
            "TMEET_SECRET": env["TMEET_SECRET"], "TMEET_CORP_ID": env["TMEET_CORP_ID"]})
        with TencentMeetingClient(settings) as client:
            for _ in range(3):
                with pytest.raises(RefreshRefused, match="refresh token refused by the platform at .*auth login"):
                    client.get_user_info()
        oauth = emu.stats()["oauth"]
    # Rotated once, refused once (the retry with the rotated-away token); later calls ask nobody.
    assert oauth["refreshes"] == 1 and oauth["rejected_refreshes"] == 1, oauth
    assert len(events) == 1, events
    event = events[0]
    assert event.open_id == token.open_id and event.answer_lost_before and event.http_status == 400
    assert token.refresh_token not in event.message and token.access_token not in event.message


def test_refresh_behind_a_gateway_timeout_recovers(tmp_path: Path, events: list[RefreshRefusedEvent]) -> None:
    with running_emulator(scale="small", now=NOW, rate_limit="off", faults="refresh_unavailable") as emu:
        env = oauth_env(emu, tmp_path / "data")
        log_in(emu, env)
        emu.expire_tokens()
        settings = settings_for(emu.base_url, tmp_path / "data", sdk=env["TMEET_SDK_ID"], **{
            "TMEET_SECRET": env["TMEET_SECRET"], "TMEET_CORP_ID": env["TMEET_CORP_ID"]})
        with TencentMeetingClient(settings) as client:
            assert isinstance(client.get_user_info(), dict)
        stats = emu.stats()
    assert stats["faults"]["refresh_unavailable_504"] == 2 and stats["oauth"]["refreshes"] == 1
    assert events == []


def test_token_endpoint_that_keeps_failing_leaves_the_token_alone(tmp_path: Path) -> None:
    with running_emulator(scale="small", now=NOW, rate_limit="off", faults="refresh_unavailable") as emu:
        env = oauth_env(emu, tmp_path / "data")
        log_in(emu, env)
        settings = settings_for(emu.base_url, tmp_path / "data", sdk=env["TMEET_SDK_ID"], **{
            "TMEET_SECRET": env["TMEET_SECRET"], "TMEET_CORP_ID": env["TMEET_CORP_ID"],
            "TMEET_RETRY_ATTEMPTS": "2"})
        transport = Transport(settings, limiter=None, stats=CallStats(), quota_key="t")
        try:
            from resources.tencent.client import token_manager_for
            from resources.tencent.errors import TokenEndpointFailed
            from resources.tencent.transport import fingerprint

            manager = token_manager_for(settings, transport)
            open_id = manager.principals()[0]
            before = manager.store.get(open_id)
            assert before is not None
            with pytest.raises(TokenEndpointFailed, match="stored token is unchanged"):
                manager.refresh(open_id, stale=fingerprint(before.access_token))
            after = manager.store.get(open_id)
        finally:
            transport.close()
    assert after == before and not after.refused


def test_login_stops_when_the_authorization_page_refuses_the_redirect(tmp_path: Path) -> None:
    with running_emulator(scale="small", now=NOW, rate_limit="off") as emu:
        unlisted = f"http://127.0.0.1:{free_port()}/callback"
        assert unlisted not in emu.default_app.redirect_uris
        env = {**oauth_env(emu, tmp_path / "data"), "TMEET_REDIRECT_URI": unlisted}
        run = run_cli(["auth", "login", "--no-browser", "--timeout", "120"], env, tmp_path)
    assert run.code != 0 and quiet_enough(run), show(run)
    assert "redirect_uri is not in the app's whitelist" in run.text, show(run)
    assert f"register {unlisted} as a redirect URI" in run.text, show(run)
    # The old command waited the whole --timeout for a redirect that could never come.
    assert run.seconds < 60, show(run)
