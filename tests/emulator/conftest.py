"""A minimal Starlette app around the read routes, served over loopback for the emulator's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from emulator.api import build_api_routes
from emulator.clock import Clock
from emulator.enterprise import Enterprise
from emulator.errors import ApiError
from emulator.principal import Principal
from tests.ports import free_port

NOW = datetime(2026, 11, 18, 7, 30, tzinfo=UTC)  # a Wednesday, 15:30 in Beijing
PRINCIPAL_HEADER = "X-Test-Principal"


def principal_for(spec: str) -> Principal:
    """``account`` for an enterprise-level AK/SK app, ``user:<userid>`` for a user-level OAuth app."""
    if spec.startswith("user:"):
        userid = spec.split(":", 1)[1]
        return Principal("test-user-app", "user", "oauth", userid, f"oid-{userid}", frozenset(), userid)
    return Principal("test-corp-app", "account", "aksk", "u00000", None, frozenset(), "test-corp-app")


class TestPrincipalMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.principal = principal_for(request.headers.get(PRINCIPAL_HEADER, "account"))
        return await call_next(request)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.to_response()


@contextmanager
def serve(enterprise: Enterprise) -> Iterator[httpx.Client]:
    app = Starlette(routes=build_api_routes(enterprise), exception_handlers={ApiError: _api_error})
    app.add_middleware(TestPrincipalMiddleware)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start within 10 s")
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def make_enterprise(seed: int = 7, faults: str = "hostile", days: int = 6) -> Enterprise:
    return Enterprise(seed, "small", days, Clock(NOW), faults=faults)


@pytest.fixture(scope="module")
def ent() -> Enterprise:
    return make_enterprise()


@pytest.fixture(scope="module")
def client(ent: Enterprise) -> Iterator[httpx.Client]:
    with serve(ent) as c:
        yield c


Getter = Callable[..., httpx.Response]


def error_code(resp: httpx.Response) -> int:
    return int(resp.json()["error_info"]["error_code"])


def walk_pages(client: httpx.Client, path: str, params: dict[str, object], key: str, size: int,
               headers: dict[str, str] | None = None) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Walk a page/page_size list to its end; returns (rows, bodies)."""
    rows: list[dict[str, object]] = []
    bodies = []
    page = 1
    while True:
        resp = client.get(path, params={**params, "page": page, "page_size": size}, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        bodies.append(body)
        rows.extend(body[key])
        if page * size >= body["total_count"]:
            break
        page += 1
    return rows, bodies
