"""Run a real emulator on loopback for a test: ``with running_emulator(now=...) as emu: ...``.

The emulator is served by uvicorn in a background thread on a free 127.0.0.1 port and stopped on
exit. ``emu.base_url`` serves both the API (``TMEET_API_BASE_URL``) and OAuth
(``TMEET_OAUTH_BASE_URL``). Every handle method talks to the server over HTTP, like a client would.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette

from emulator.app import Emulator, EmulatorConfig, build_app
from emulator.apps import App, AppRegistry
from emulator.clock import Clock

STARTUP_TIMEOUT_SECONDS = 60.0


@dataclass
class EmulatorHandle:
    base_url: str
    config: EmulatorConfig
    app: Starlette
    # One pooled client for the admin calls: a fresh httpx client per call costs ~40 ms.
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10, trust_env=False))

    @property
    def emulator(self) -> Emulator:
        return self.app.state.emulator  # type: ignore[no-any-return]

    @property
    def apps(self) -> AppRegistry:
        return self.emulator.apps

    @property
    def default_app(self) -> App:
        return self.emulator.apps.default

    @property
    def platform(self) -> str:
        """The reading of the platform's rules this emulator enforces (docs/platform.md)."""
        return self.config.platform

    @property
    def enterprise(self) -> Any:
        return self.emulator.enterprise

    @property
    def clock(self) -> Clock:
        return self.emulator.clock

    def _admin(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        response = self.http.request(method, f"{self.base_url}{path}", json=json)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        """Calls per route, status, error code and quota key; OAuth counters; quota peaks."""
        return self._admin("GET", "/_emulator/stats")

    def reset_stats(self) -> None:
        self._admin("POST", "/_emulator/stats/reset")

    def mutations(self) -> list[dict[str, Any]]:
        """Under ``faults="corrupt"``: every record the emulator corrupted, before and after, and
        whether a sane reader must quarantine it or land it exactly as the original."""
        return list(self._admin("GET", "/_emulator/mutations")["mutations"])

    def plan_mutation(self, route: str, match: dict[str, Any], mutation: str) -> None:
        """Under ``faults="corrupt"``: corrupt every record of ``route`` whose fields equal ``match``."""
        self._admin("POST", "/_emulator/mutations", {"route": route, "match": match, "mutation": mutation})

    def set_now(self, now: datetime) -> None:
        """Move the data clock (needs an aware datetime)."""
        self._admin("POST", "/_emulator/clock", {"now": now.isoformat()})

    def advance(self, seconds: float) -> None:
        self._admin("POST", "/_emulator/clock", {"advance_seconds": seconds})

    def shift_server_clock(self, seconds: float) -> None:
        """Make the server's protocol clock run ``seconds`` ahead of the real one (negative: behind)."""
        self._admin("POST", "/_emulator/clock", {"wall_offset_seconds": seconds})

    def expire_tokens(self) -> int:
        """Expire every OAuth access token now; refresh tokens keep working."""
        return int(self._admin("POST", "/_emulator/oauth/expire")["expired"])

    def authorize(
        self, sdk_id: str, redirect_uri: str, state: str, login_userid: str | None = None
    ) -> str:
        """Walk the authorize page as the consenting user and return the auth_code."""
        app = self.apps.get(sdk_id)
        params = {
            "corp_id": app.corp_id if app else "",
            "sdk_id": sdk_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if login_userid is not None:
            params["login_userid"] = login_userid
        response = self.http.get(f"{self.base_url}/marketplace/authorize.html", params=params)
        if response.status_code != 302:
            raise RuntimeError(f"authorize answered HTTP {response.status_code}: {response.text}")
        query = parse_qs(urlsplit(response.headers["location"]).query)
        if query.get("state") != [state]:
            raise RuntimeError("authorize redirected without the state it was given")
        return query["auth_code"][0]


@contextmanager
def running_emulator(**config_overrides: Any) -> Iterator[EmulatorHandle]:
    """Serve a fresh emulator (``EmulatorConfig`` fields as keywords) for the ``with`` block.

    ``platform="scope-table"`` lets account-level OAuth apps reach ``/v1/corp/*``; the default,
    ``"api-reference"``, serves those to AK/SK alone (docs/platform.md).

    ``enterprise=``, ``api_routes=`` and ``route_scopes=`` are passed to :func:`build_app` to
    replace the data model and endpoints with fakes.
    """
    build_kwargs = {k: config_overrides.pop(k) for k in ("enterprise", "api_routes", "route_scopes") if k in config_overrides}
    config = EmulatorConfig(**config_overrides)
    app = build_app(config, **build_kwargs)
    with serving(app, health_path="/_emulator/health", date_header=False) as base_url:
        handle = EmulatorHandle(base_url=base_url, config=config, app=app)
        try:
            yield handle
        finally:
            handle.http.close()


@contextmanager
def serving(app: Any, health_path: str | None = None, date_header: bool = True) -> Iterator[str]:
    """Serve any ASGI app with uvicorn on a free loopback port; yields its base URL.

    ``date_header=False`` leaves the ``Date`` header to the app (the emulator sends its own).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False, timeout_graceful_shutdown=2,
                       date_header=date_header)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"asgi-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_started(server, thread, base_url, health_path)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread, base_url: str, health_path: str | None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with httpx.Client(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            if _started(server, thread, client, base_url, health_path):
                return
            time.sleep(0.01)
    raise RuntimeError(f"the server at {base_url} did not start within {STARTUP_TIMEOUT_SECONDS:.0f} s")


def _started(
    server: uvicorn.Server, thread: threading.Thread, client: httpx.Client, base_url: str, health_path: str | None
) -> bool:
    if not thread.is_alive():
        raise RuntimeError("the server thread stopped during start-up; see the log above")
    if not server.started:
        return False
    if health_path is None:
        return True
    try:
        return client.get(f"{base_url}{health_path}").status_code == 200
    except httpx.HTTPError:
        return False
