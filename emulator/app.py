"""The emulator's ASGI app: admin and OAuth routes, and the guarded ``/v1/*`` API."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.apps import App, AppRegistry, load_apps
from emulator.clock import Clock, WallClock
from emulator.corruption import ROUTES as CORRUPTIBLE_ROUTES
from emulator.corruption import DEFAULT_RATE as DEFAULT_CORRUPT_RATE
from emulator.corruption import RecordCorrupter
from emulator.errors import ApiError, no_permission, token_invalid
from emulator.faults import FaultInjector
from emulator.limits import LimitConfig, RateLimiter
from emulator.oauth import ACCESS_TTL_SECONDS, REFRESH_TTL_SECONDS, OAuthService
from emulator.platform import (
    DEFAULT_PLATFORM,
    Platform,
    auth_mode_refusal,
    check_platform,
    check_roles_shape,
    with_reach,
)
from emulator.principal import Principal
from emulator.signing import AkSkVerifier
from emulator.stats import Stats
from emulator.webhooks import WebhookSender, push_events

log = logging.getLogger("emulator")

API_PREFIX = "/v1/"
UNMATCHED_ROUTE = "<unmatched>"

ACCOUNT_FAMILY_SCOPES: dict[str, tuple[str, str]] = {
    "meetings": ("VIEW_ALL_MEETINGS", "MANAGE_ALL_MEETINGS"),
    "records": ("VIEW_ALL_RECORDS", "MANAGE_ALL_RECORDS"),
    "users": ("VIEW_ALL_USERS", "MANAGE_ALL_USERS"),
}
USER_FAMILY_SCOPES: dict[str, tuple[str, str]] = {
    "meetings": ("VIEW_MEETING", "MANAGE_MEETING"),
    "records": ("VIEW_VIDEO", "MANAGE_VIDEO"),
    "users": ("VIEW_USER_INFO", "MANAGE_USER_INFO"),
}
# Routes only account-level callers may use, besides every /v1/corp/* route
# (docs/platform.md, "Auth rules per endpoint").
ACCOUNT_ONLY_ROUTES = frozenset({"/v1/users/list", "/v1/users/advance/list", "/v1/users/{userid}"})


@dataclass
class EmulatorConfig:
    seed: int = 7
    scale: str = "demo"
    days: int = 30
    # None follows the real clock; a datetime freezes the data clock there.
    now: datetime | None = None
    faults: str = "none"
    rate_limit: str = "real"
    time_scale: float = 1.0
    apps_path: str | Path | None = None
    webhook_url: str | None = None
    webhook_token: str | None = None
    webhook_aes_key: str | None = None
    access_ttl_seconds: float = ACCESS_TTL_SECONDS
    refresh_ttl_seconds: float = REFRESH_TTL_SECONDS
    quota_http_status: int = 500
    signature_http_status: int = 400
    # Which official source's rules to enforce where they disagree (emulator/platform.py):
    # "api-reference" (the API reference pages) or "scope-table" (the OAuth-apps page).
    platform: Platform = DEFAULT_PLATFORM
    # /v1/corp/user-roles without role_code: "role-list" answers {user_role_list} (older Java SDK),
    # "reference" answers the users of every role, {users, has_remaining, next_pos} (1095/52496).
    roles_shape: str = "role-list"
    # Calls before a hostile run revokes an access token; None keeps the profile's default.
    revoke_after: int | None = None
    tz: str = "Asia/Shanghai"
    limits: LimitConfig | None = None
    webhook_poll_seconds: float = 0.5
    # Share of list records the corrupt fault profile mutates.
    corrupt_rate: float = DEFAULT_CORRUPT_RATE

    def limit_config(self) -> LimitConfig:
        if self.rate_limit not in ("real", "off"):
            raise ValueError(f"rate_limit must be 'real' or 'off', not {self.rate_limit!r}")
        base = self.limits or LimitConfig()
        return LimitConfig(
            per_minute=base.per_minute,
            per_day=base.per_day,
            corp_per_minute=base.corp_per_minute,
            corp_route_per_minute=dict(base.corp_route_per_minute),
            time_scale=self.time_scale,
            http_status=self.quota_http_status,
            enabled=self.rate_limit == "real",
        )

    def public(self) -> dict[str, Any]:
        """The configuration without secrets, for health and stats."""
        data = asdict(self)
        for secret in ("webhook_token", "webhook_aes_key"):
            data[secret] = "***" if data[secret] else None
        data["now"] = self.now.isoformat() if self.now else None
        data["apps_path"] = str(self.apps_path) if self.apps_path else None
        data.pop("limits", None)
        return data


@dataclass
class Emulator:
    """Every live part of one emulator instance (``app.state.emulator``)."""

    config: EmulatorConfig
    clock: Clock
    enterprise: Any
    apps: AppRegistry
    oauth: OAuthService
    aksk: AkSkVerifier
    limiter: RateLimiter
    faults: FaultInjector
    stats: Stats
    route_scopes: Mapping[str, str]
    webhook: WebhookSender | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    wall: WallClock = field(default_factory=WallClock)

    @property
    def default_app(self) -> App:
        return self.apps.default

    def snapshot(self) -> dict[str, Any]:
        data = self.stats.snapshot()
        data["oauth"] = dict(self.oauth.counters)
        data["quota_rejections"] = {str(code): n for code, n in self.limiter.rejections.items()}
        data["peaks"] = self.limiter.peaks()
        data["faults"] = dict(self.faults.injected)
        if self.webhook is not None:
            data["webhooks"] = self.webhook.stats()
        return data

    def reset_stats(self) -> None:
        self.stats.reset()
        self.oauth.reset_counters()
        self.limiter.reset_stats()
        self.faults.injected.clear()


def super_admin_of(enterprise: Any) -> str:
    """The enterprise's super admin userid, whatever the data model names the attribute."""
    for name in ("super_admin_userid", "super_admin", "admin_userid"):
        value = getattr(enterprise, name, None)
        if callable(value):
            value = value()
        if isinstance(value, str) and value:
            return value
        userid = getattr(value, "userid", None)
        if isinstance(userid, str) and userid:
            return userid
    raise TypeError("the enterprise exposes no super admin userid (expected .super_admin_userid)")


def user_ids_of(enterprise: Any) -> frozenset[str]:
    users = getattr(enterprise, "users", ())
    if isinstance(users, Mapping):
        return frozenset(str(key) for key in users)
    ids = set()
    for user in users:
        userid = user.get("userid") if isinstance(user, Mapping) else getattr(user, "userid", None)
        if userid:
            ids.add(str(userid))
    return frozenset(ids)


def _server_secret(seed: int) -> bytes:
    # Derived from the seed so open_ids are the same across restarts of the same world.
    return hashlib.sha256(f"tmeet-emulator-server-secret:{seed}".encode()).digest()


def required_scopes(principal: Principal, route: str, family: str | None, *, platform: str) -> None:
    """Raise 9042 unless ``principal`` may call ``route`` under ``platform``."""
    refusal = auth_mode_refusal(platform, principal, route)
    if refusal is not None:
        raise refusal
    corp = route.startswith("/v1/corp/")
    if not principal.account_level and (corp or route in ACCOUNT_ONLY_ROUTES):
        raise no_permission(
            f"{route} needs an account-level app (AK/SK or account-level OAuth); "
            "a user-level app can only read the authorizing user's own data"
        )
    if family is None:
        raise no_permission(f"{route} has no scope family in ROUTE_SCOPES, so no scope grants it")
    table = ACCOUNT_FAMILY_SCOPES if principal.account_level else USER_FAMILY_SCOPES
    needed = table.get(family)
    if needed is None:
        raise no_permission(f"{route} belongs to unknown scope family {family!r}")
    if not principal.scopes.intersection(needed):
        raise no_permission(f"missing scope {needed[0]} (or {needed[1]}) needed by {route}")


DATA_CLOCK_HEADER = b"x-emulator-now"


class ApiGate:
    """Pure ASGI guard for ``/v1/*``: count, faults, authenticate, scope, limits, then the handler."""

    def __init__(self, app: ASGIApp, emulator: Emulator, api_routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.emulator = emulator
        self.routes = list(api_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        await self._serve(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[BaseRoute | None, str, Scope | None, bool]:
        """(route, template, child scope, method allowed)."""
        partial: tuple[BaseRoute, str] | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return route, getattr(route, "path", UNMATCHED_ROUTE), child, True
            if match is Match.PARTIAL and partial is None:
                partial = (route, getattr(route, "path", UNMATCHED_ROUTE))
        if partial is not None:
            return partial[0], partial[1], None, False
        return None, UNMATCHED_ROUTE, None, False

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        em = self.emulator
        method: str = scope["method"]
        route, template, child, method_ok = self._match(scope)
        status: list[int | str] = [0]
        error_code: int | None = None
        quota_key: str | None = None

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                # The data clock, which a frozen world keeps apart from the wall clock of the Date
                # header: a client probing "the last day" asks about the world's last day.
                now = str(int(em.clock.time())).encode("latin-1")
                message = {**message, "headers": [*message.get("headers", []), (DATA_CLOCK_HEADER, now)]}
            await send(message)

        try:
            if route is None:
                raise ApiError(404, f"no such API: {scope['path']}", 404)
            if method != "GET" or not method_ok:
                raise ApiError(405, f"method {method} is not allowed on {template}; only GET exists", 405)
            query = scope.get("query_string", b"")
            raw_path = scope.get("raw_path") or scope["path"].encode()
            target = (raw_path + b"?" + query if query else raw_path).decode("latin-1")
            fault = em.faults.decide(target) if em.faults.active else None
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.error is not None:
                    raise fault.error
                if fault.kind == "drop":
                    status[0] = "dropped"
                    await _drop_connection(send)
                    return
            body, receive = await _buffer_body(receive)
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            principal = self._authenticate(method, target, headers, body)
            quota_key = principal.quota_key
            required_scopes(principal, template, em.route_scopes.get(template), platform=em.config.platform)
            principal = with_reach(em.config.platform, principal)
            em.limiter.check(principal.quota_key, principal.sdk_id, template)
            assert child is not None
            inner = {**scope, **child, "state": {**scope.get("state", {}), "principal": principal}}
            if fault is not None and fault.kind == "truncate":
                status[0] = "truncated"
                await _truncated(route, inner, receive, send)
            elif em.faults.corrupter is not None and template in CORRUPTIBLE_ROUTES:
                await _corrupted(em.faults.corrupter, template, target, route, inner, receive, tracking_send)
            else:
                await route.handle(inner, receive, tracking_send)
        except ApiError as exc:
            error_code = exc.error_code
            await exc.to_response()(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error serving %s %s", method, template)
            error_code = 960000
            if status[0] == 0:
                await ApiError(960000, "internal server error", 500).to_response()(scope, receive, tracking_send)
        finally:
            em.stats.record(method, template, status[0], error_code, quota_key)

    def _authenticate(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Principal:
        em = self.emulator
        if "x-tc-key" in headers:
            return em.aksk.authenticate(method, target, headers, body)
        if "accesstoken" in headers:
            principal, token = em.oauth.authenticate_with_token(headers)
            if em.faults.take_revocation():
                em.oauth.revoke_access_token(token)
                raise token_invalid("AccessToken invalid or expired: refresh it or authorize again")
            return principal
        raise ApiError(
            190303,
            "no credentials: send AccessToken + OpenId (OAuth) or the X-TC-Key signature headers (AK/SK)",
            400,
        )


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body and give back a receive that replays it to the handler."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _drop_connection(send: Send) -> None:
    # Promise more bytes than are sent, then return: the server closes the connection mid-body.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"total_count":', "more_body": True})


async def _truncated(route: BaseRoute, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the handler, then send a syntactically broken half of its JSON with a correct length."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await route.handle(scope, receive, capture)
    body = b"".join(chunks)
    cut = body[: max(1, len(body) // 2)]
    assert start is not None
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(cut)).encode()))
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": cut, "more_body": False})


class ServerDate:
    """Stamps every response with a ``Date`` from the server clock, as the platform's front ends do."""

    def __init__(self, app: ASGIApp, wall: WallClock) -> None:
        self.app = app
        self.wall = wall

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                stamp = email.utils.formatdate(self.wall.time(), usegmt=True).encode("latin-1")
                message = {**message, "headers": [*headers, (b"date", stamp)]}
            await send(message)

        await self.app(scope, receive, dated)


# -- admin endpoints -----------------------------------------------------------------------------


async def _corrupted(
    corrupter: RecordCorrupter, template: str, target: str, route: BaseRoute, scope: Scope, receive: Receive, send: Send
) -> None:
    """Serve the handler's answer with some of its records corrupted (only a 200 is touched)."""
    start: list[Message] = []
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.append(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await route.handle(scope, receive, capture)
    body = b"".join(chunks)
    head = start[0]
    if head["status"] == 200:
        body = corrupter.corrupt(template, target, body)
    headers = [(k, v) for k, v in head.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**head, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _admin_routes(em: Emulator) -> list[Route]:
    async def health(_: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "now": em.clock.now().isoformat(), "frozen": em.clock.frozen,
             "seed": em.config.seed, "scale": em.config.scale, "faults": em.config.faults,
             "platform": em.config.platform}
        )

    async def stats(_: Request) -> Response:
        return JSONResponse(em.snapshot())

    async def reset_stats(_: Request) -> Response:
        em.reset_stats()
        return JSONResponse({"reset": True})

    async def clock(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ({"now", "advance_seconds", "wall_offset_seconds"} & body.keys()):
            return _admin_error(
                'send {"now": "<ISO-8601 with offset>"}, {"advance_seconds": <number>} '
                'or {"wall_offset_seconds": <number>} (the server clock against the real one)'
            )
        try:
            if "wall_offset_seconds" in body:
                em.wall.offset_seconds = float(body["wall_offset_seconds"])
            elif "now" in body:
                em.clock.set(datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00")))
            else:
                em.clock.advance(float(body["advance_seconds"]))
        except (TypeError, ValueError) as exc:
            return _admin_error(str(exc))
        return JSONResponse({"now": em.clock.now().isoformat(), "frozen": em.clock.frozen,
                             "wall_offset_seconds": em.wall.offset_seconds})

    async def expire(_: Request) -> Response:
        return JSONResponse({"expired": em.oauth.expire_access_tokens()})

    async def mutations(_: Request) -> Response:
        corrupter = em.faults.corrupter
        body = {"profile": em.config.faults, "mutations": corrupter.mutations() if corrupter else []}
        # ASCII escapes: the mutated records hold lone surrogates, which UTF-8 cannot carry.
        return Response(json.dumps(body, ensure_ascii=True), media_type="application/json")

    async def plan_mutation(request: Request) -> Response:
        corrupter = em.faults.corrupter
        if corrupter is None:
            return _admin_error("planned mutations need the corrupt fault profile: start with --faults corrupt")
        try:
            body = await request.json()
            corrupter.plan(str(body["route"]), dict(body["match"]), str(body["mutation"]))
        except (ValueError, KeyError, TypeError) as exc:
            return _admin_error(f'send {{"route": ..., "match": {{field: value}}, "mutation": ...}}: {exc}')
        return JSONResponse({"planned": True})

    return [
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/stats/reset", reset_stats, methods=["POST"]),
        Route("/_emulator/clock", clock, methods=["POST"]),
        Route("/_emulator/oauth/expire", expire, methods=["POST"]),
        Route("/_emulator/mutations", mutations, methods=["GET"]),
        Route("/_emulator/mutations", plan_mutation, methods=["POST"]),
    ]


def _admin_error(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


# -- assembly ------------------------------------------------------------------------------------


def build_emulator(
    config: EmulatorConfig,
    *,
    enterprise: Any = None,
    clock: Clock | None = None,
) -> Emulator:
    """Every part of the emulator except the HTTP app (the enterprise is built here if not given)."""
    check_platform(config.platform)
    check_roles_shape(config.roles_shape)
    clock = clock or Clock(config.now)
    if enterprise is None:
        from emulator.enterprise import Enterprise

        # Only the hostile profile changes the data itself (meetings deleted between list and detail).
        data_faults = "hostile" if config.faults == "hostile" else "none"
        enterprise = Enterprise(config.seed, config.scale, config.days, clock, faults=data_faults, tz=config.tz)
    apps = load_apps(config.apps_path)
    super_admin = super_admin_of(enterprise)
    users = user_ids_of(enterprise)
    wall = WallClock()
    faults = FaultInjector(
        config.faults, config.seed, revoke_after=config.revoke_after, quota_http_status=config.quota_http_status,
        corrupt_rate=config.corrupt_rate,
    )
    oauth = OAuthService(
        apps,
        server_secret=_server_secret(config.seed),
        super_admin=super_admin,
        is_user=users.__contains__,
        access_ttl=config.access_ttl_seconds,
        refresh_ttl=config.refresh_ttl_seconds,
        wall=wall.time,
        refresh_fault=faults.take_refresh_fault,
    )
    webhook = None
    if config.webhook_url:
        webhook = WebhookSender(
            config.webhook_url, config.webhook_token or "", config.webhook_aes_key, config.seed
        )
    return Emulator(
        config=config,
        clock=clock,
        enterprise=enterprise,
        apps=apps,
        oauth=oauth,
        aksk=AkSkVerifier(apps, oauth.admin_of, signature_http_status=config.signature_http_status, wall=wall.time),
        limiter=RateLimiter(config.limit_config()),
        faults=faults,
        stats=Stats(),
        route_scopes={},
        webhook=webhook,
        wall=wall,
    )


def build_app(
    config: EmulatorConfig | None = None,
    *,
    enterprise: Any = None,
    api_routes: Iterable[BaseRoute] | None = None,
    route_scopes: Mapping[str, str] | None = None,
) -> Starlette:
    """The emulator app. ``enterprise``, ``api_routes`` and ``route_scopes`` replace the real data
    model and endpoints (tests of the platform edge use tiny fakes)."""
    config = config or EmulatorConfig()
    em = build_emulator(config, enterprise=enterprise)
    if api_routes is None:
        from emulator.api import ROUTE_SCOPES, build_api_routes

        api_routes = build_api_routes(em.enterprise)
        route_scopes = ROUTE_SCOPES if route_scopes is None else route_scopes
    em.route_scopes = dict(route_scopes or {})
    routes: list[BaseRoute] = [*_admin_routes(em), *em.oauth.routes()]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(ServerDate, wall=em.wall),
            Middleware(ApiGate, emulator=em, api_routes=list(api_routes)),
        ],
        lifespan=_lifespan(em),
    )
    app.state.emulator = em
    return app


def _lifespan(em: Emulator) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if em.webhook is None:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(
            push_events(em.enterprise, em.clock, em.webhook, stop, poll_seconds=em.config.webhook_poll_seconds)
        )
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=10)
            em.webhook.close()

    return lifespan
