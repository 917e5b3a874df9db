"""Tiny stand-ins for the data model and endpoints, so platform-edge tests exercise only the edge."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from emulator.errors import ApiError

SUPER_ADMIN = "admin001"
USERS = ("admin001", "alice", "bob")


class FakeEnterprise:
    def __init__(self, events: list[dict[str, Any]] | None = None) -> None:
        self.users = [{"userid": u} for u in USERS]
        self.super_admin_userid = SUPER_ADMIN
        self.events = events or []
        self.event_queries: list[tuple[int, int]] = []

    def webhook_events(self, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        self.event_queries.append((start_ms, end_ms))
        return [e for e in self.events if start_ms < e["payload"][0]["operate_time"] <= end_ms]


async def _whoami(request: Request) -> JSONResponse:
    p = request.state.principal
    return JSONResponse(
        {"userid": p.userid, "mode": p.mode, "sdk_id": p.sdk_id, "open_id": p.open_id,
         "quota_key": p.quota_key, "path_params": request.path_params}
    )


async def _participants(request: Request) -> JSONResponse:
    rows = [{"userid": f"u{i}", "user_name": "dGVzdA==", "join_time": "1700000000"} for i in range(100)]
    return JSONResponse({"meeting_id": request.path_params["meeting_id"], "participants": rows,
                         "has_remaining": False, "next_pos": 0})


async def _gone(_: Request) -> JSONResponse:
    raise ApiError(9003, "MEETING NOT EXIST", 500)


async def _boom(_: Request) -> JSONResponse:
    raise RuntimeError("handler bug")


ROUTE_SCOPES = {
    "/v1/meetings/{meeting_id}/participants": "meetings",
    "/v1/meetings/{meeting_id}": "meetings",
    "/v1/history/meetings/{userid}": "meetings",
    "/v1/corp/meetings": "meetings",
    "/v1/corp/records": "records",
    "/v1/records": "records",
    "/v1/users/list": "users",
    "/v1/users/{userid}": "users",
    "/v1/boom": "meetings",
}


def fake_routes() -> list[Route]:
    return [
        Route("/v1/meetings/{meeting_id}/participants", _participants, methods=["GET"]),
        Route("/v1/meetings/{meeting_id}", _gone, methods=["GET"]),
        Route("/v1/history/meetings/{userid}", _whoami, methods=["GET"]),
        Route("/v1/corp/meetings", _whoami, methods=["GET"]),
        Route("/v1/corp/records", _whoami, methods=["GET"]),
        Route("/v1/records", _whoami, methods=["GET"]),
        Route("/v1/users/list", _whoami, methods=["GET"]),
        Route("/v1/users/{userid}", _whoami, methods=["GET"]),
        Route("/v1/boom", _boom, methods=["GET"]),
    ]


def fake_world(**extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``running_emulator`` that swap in the fakes."""
    return {"enterprise": FakeEnterprise(), "api_routes": fake_routes(), "route_scopes": ROUTE_SCOPES, **extra}


CALLBACK = "http://127.0.0.1:8765/callback"
ACCOUNT_APP = "300000001"
USER_APP = "300000002"
INACTIVE_APP = "300000003"
OTHER_USER_APP = "300000004"

APPS_DOCUMENT: dict[str, Any] = {
    "apps": [
        {"sdk_id": ACCOUNT_APP, "secret": "acct-secret", "type": "account", "corp_id": "corp-a",
         "redirect_uris": [CALLBACK, "http://127.0.0.1:8765/cb?tenant=t1"],
         "scopes": ["VIEW_ALL_MEETINGS", "VIEW_ALL_USERS"], "activated": True,
         "app_id": "410000001", "secret_id": "AKIDaccount", "secret_key": "account-key"},
        {"sdk_id": USER_APP, "secret": "user-secret", "type": "user", "corp_id": "corp-a",
         "redirect_uris": [CALLBACK], "scopes": ["VIEW_MEETING", "VIEW_USER_INFO"], "activated": True},
        {"sdk_id": INACTIVE_APP, "secret": "off-secret", "type": "user", "corp_id": "corp-a",
         "redirect_uris": [CALLBACK], "scopes": ["VIEW_MEETING"], "activated": False},
        {"sdk_id": OTHER_USER_APP, "secret": "other-secret", "type": "user", "corp_id": "corp-a",
         "redirect_uris": [CALLBACK], "scopes": ["VIEW_MEETING", "VIEW_VIDEO"], "activated": True},
    ]
}


def write_apps(directory: Any) -> str:
    import json
    from pathlib import Path

    path = Path(directory) / "apps.json"
    path.write_text(json.dumps(APPS_DOCUMENT), encoding="utf-8")
    return str(path)


def oauth_headers(token: dict[str, Any]) -> dict[str, str]:
    import secrets
    import time

    return {"AccessToken": token["access_token"], "OpenId": token["open_id"],
            "X-TC-Timestamp": str(int(time.time())), "X-TC-Nonce": str(secrets.randbelow(10**9))}
