"""OAuth against the emulator over loopback: login, state checks, single-use codes, single-flight refresh."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from pipelines.auth_cli import login, status_lines
from resources.settings import Settings
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import ReauthorizeRequired
from resources.tencent.oauth import LoginSession, OAuthFlowError, TokenManager
from resources.tencent.stats import CallStats
from resources.tencent.token_store import TokenStore
from resources.tencent.transport import Transport
from tests.client.conftest import CANARY_SECRET, settings_for, write_apps


def browser_for(login_userid: str | None = None) -> Any:
    """A stand-in browser: follows the authorize redirect to the loopback callback, in a thread."""

    def open_url(url: str) -> None:
        def run() -> None:
            if login_userid:
                target = url + "&" + urlencode({"login_userid": login_userid})
            else:
                target = url
            resp = httpx.get(target, follow_redirects=False, timeout=10)
            assert resp.status_code == 302
            httpx.get(resp.headers["location"], timeout=10)

        threading.Thread(target=run, daemon=True).start()

    return open_url


def do_login(settings: Settings, login_userid: str | None = None) -> Any:
    return login(settings, open_browser=browser_for(login_userid), out=lambda _: None, timeout=20)


def test_login_end_to_end_through_loopback(emulator: Any, tmp_path: Path, redirect_uri: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(emulator.base_url, tmp_path / "data", redirect=redirect_uri)
    printed: list[str] = []
    token = login(settings, open_browser=browser_for(), out=printed.append, timeout=20)
    assert any(line.startswith(emulator.base_url + "/marketplace/authorize.html?") for line in printed)
    assert set(token.scopes) >= {"VIEW_ALL_MEETINGS"}
    assert emulator.stats()["oauth"]["code_exchanges"] == 1
    lines = status_lines(settings)
    assert token.open_id in lines[0] and token.access_token not in lines[0]
    with TencentMeetingClient(settings) as client:
        info = client.get_user_info()
    assert isinstance(info, dict)
    secrets = [token.access_token, token.refresh_token, CANARY_SECRET]
    for record in caplog.records:
        text = record.getMessage()
        assert not any(s in text for s in secrets), text


def test_mismatched_and_replayed_state_refused(emulator: Any, tmp_path: Path, redirect_uri: str) -> None:
    settings = settings_for(emulator.base_url, tmp_path / "data", redirect=redirect_uri)
    transport = Transport(settings, limiter=None, stats=CallStats(), quota_key="t")
    store = TokenStore.for_app(settings.state_dir, settings.sdk_id, None)
    manager = TokenManager(settings, store, transport.post_oauth)
    session = LoginSession(settings, manager)
    other = LoginSession(settings, manager)
    code = emulator.authorize(settings.sdk_id, redirect_uri, other.state)
    with pytest.raises(OAuthFlowError, match="state mismatch"):
        session.complete(f"{redirect_uri}?auth_code={code}&state={other.state}")
    assert emulator.stats()["oauth"]["code_exchanges"] == 0  # refused before any exchange
    good = f"{redirect_uri}?auth_code={code}&state={session.state}"
    session.complete(good)
    with pytest.raises(OAuthFlowError, match="already completed"):
        session.complete(good)
    assert emulator.stats()["oauth"]["code_exchanges"] == 1
    with pytest.raises(OAuthFlowError, match="not the configured redirect"):
        other.complete(f"http://127.0.0.1:1/elsewhere?auth_code={code}&state={other.state}")
    transport.close()


def test_reused_code_refused(emulator: Any, tmp_path: Path, redirect_uri: str) -> None:
    settings = settings_for(emulator.base_url, tmp_path / "data", redirect=redirect_uri)
    transport = Transport(settings, limiter=None, stats=CallStats(), quota_key="t")
    manager = TokenManager(settings, TokenStore.for_app(settings.state_dir, settings.sdk_id, None),
                           transport.post_oauth)
    first, second = LoginSession(settings, manager), LoginSession(settings, manager)
    code = emulator.authorize(settings.sdk_id, redirect_uri, first.state)
    first.complete(f"{redirect_uri}?auth_code={code}&state={first.state}")
    with pytest.raises(OAuthFlowError, match="re-authorize") as exc:
        # a second login that somehow got the same code: the platform refuses it
        second.state = first.state
        second.complete(f"{redirect_uri}?auth_code={code}&state={first.state}")
    assert code not in str(exc.value)
    stats = emulator.stats()["oauth"]
    assert stats["code_exchanges"] == 1 and stats["rejected_exchanges"] == 1
    transport.close()


def test_user_level_app_keeps_one_token_per_user(emulator: Any, tmp_path: Path, redirect_uri: str) -> None:
    settings = settings_for(emulator.base_url, tmp_path / "data", sdk="300000002", app_type="user",
                            redirect=redirect_uri)
    users = sorted(emulator.enterprise.users)[:2] if isinstance(emulator.enterprise.users, dict) else [
        u.userid for u in list(emulator.enterprise.users)[:2]]
    a = do_login(settings, users[0])
    b = do_login(settings, users[1])
    assert a.open_id != b.open_id
    assert TencentMeetingClient.principals(settings) == sorted([a.open_id, b.open_id])
    clients = TencentMeetingClient.for_all_principals(settings)
    assert {c.transport.quota_key for c in clients} == {f"user:300000002:{a.open_id}", f"user:300000002:{b.open_id}"}
    for c in clients:
        c.get_user_info()
        c.close()
    with pytest.raises(ReauthorizeRequired):
        TencentMeetingClient(settings)  # two users stored: the caller must choose


def _refresh_worker(env: dict[str, str], barrier: Any, out: Any) -> None:
    settings = Settings.from_env(env)
    client = TencentMeetingClient(settings)
    barrier.wait()
    client.get_user_info()
    assert client.tokens is not None
    token = client.tokens.token(client.open_id or "")
    out.put(hashlib.sha256(token.access_token.encode()).hexdigest())
    client.close()


def test_eight_processes_refresh_once(emulator: Any, tmp_path: Path, redirect_uri: str) -> None:
    data = tmp_path / "data"
    settings = settings_for(emulator.base_url, data, redirect=redirect_uri)
    before = do_login(settings)
    assert emulator.expire_tokens() >= 1
    emulator.reset_stats()
    env = {
        "TMEET_API_BASE_URL": emulator.base_url, "TMEET_OAUTH_BASE_URL": emulator.base_url,
        "TMEET_SDK_ID": settings.sdk_id, "TMEET_SECRET": CANARY_SECRET, "TMEET_DATA_DIR": str(data),
    }
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_refresh_worker, args=(env, barrier, out)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    hashes = {out.get(timeout=5) for _ in procs}
    assert len(hashes) == 1
    assert emulator.stats()["oauth"]["refreshes"] == 1
    stored = TokenStore.for_app(settings.state_dir, settings.sdk_id, None).get(before.open_id)
    assert stored is not None and stored.access_token != before.access_token
    assert hashlib.sha256(stored.access_token.encode()).hexdigest() in hashes


def test_dead_refresh_token_says_reauthorize(emulator: Any, tmp_path: Path, redirect_uri: str) -> None:
    settings = settings_for(emulator.base_url, tmp_path / "data", redirect=redirect_uri)
    token = do_login(settings)
    store = TokenStore.for_app(settings.state_dir, settings.sdk_id, None)
    from dataclasses import replace

    with store.lock:
        store.put(replace(token, refresh_token="not-a-real-refresh-token-123", expires=0))
    with TencentMeetingClient(settings) as client, pytest.raises(ReauthorizeRequired, match="tmeet-etl auth login"):
        client.get_user_info()


def test_pasted_redirect_for_non_loopback_uri(tmp_path: Path) -> None:
    # An https redirect the CLI cannot listen on: the user pastes the URL they landed on.
    from datetime import UTC, datetime

    from emulator.testing import running_emulator

    redirect = "https://etl.example.com/cb"
    with running_emulator(apps_path=str(write_apps(tmp_path, redirect)), scale="small", rate_limit="off",
                          now=datetime(2026, 3, 1, tzinfo=UTC)) as emulator:
        settings = settings_for(emulator.base_url, tmp_path / "data", redirect=redirect)
        captured: dict[str, str] = {}

        def fake_browser(url: str) -> None:
            captured.update(dict(parse_qsl(urlsplit(url).query)))

        # nobody listens at the https URI, so build the callback ourselves, with a code that is not valid
        def paste(_: str) -> str:
            return f"{redirect}?auth_code=bogus-code-123456&state={captured['state']}"

        with pytest.raises(OAuthFlowError, match="re-authorize"):
            login(settings, open_browser=fake_browser, read_line=paste, out=lambda _: None)
        assert emulator.stats()["oauth"]["rejected_exchanges"] == 1
