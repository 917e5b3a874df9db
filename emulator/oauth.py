"""OAuth 2.0 for third-party apps (docs/platform.md, "OAuth"): authorize, code exchange, rotating refresh."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from emulator.apps import App, AppRegistry
from emulator.errors import token_invalid
from emulator.principal import Principal
from emulator.signing import check_timestamp

ACCESS_TTL_SECONDS = 6 * 3600
REFRESH_TTL_SECONDS = 30 * 86400
AUTH_CODE_TTL_SECONDS = 300

OAUTH_PREFIX = "/wemeet-webapi/v2/oauth2/oauth"
AUTHORIZE_PATH = "/marketplace/authorize.html"

# The real error body of the token endpoints is undocumented (docs/platform.md, "OAuth"): these codes are the
# emulator's own, kept in one table so a client never depends on a scattered magic number.
OAUTH_ERRORS: dict[str, tuple[int, str]] = {
    "bad_request": (100001, "request body must be a JSON object with the documented fields"),
    "missing_parameter": (100002, "missing required parameter"),
    "unknown_app": (100003, "unknown sdk_id"),
    "app_not_activated": (100004, "the app is not activated; activate it in the developer console"),
    "corp_mismatch": (100005, "corp_id does not match the app's enterprise"),
    "redirect_not_whitelisted": (100006, "redirect_uri is not in the app's whitelist"),
    "bad_state": (100007, "state must be 1-64 letters or digits"),
    "unknown_user": (100008, "login_userid is not a user of this enterprise"),
    "bad_secret": (100009, "secret does not match sdk_id"),
    "invalid_auth_code": (100010, "auth_code is invalid, expired or already used"),
    "invalid_refresh_token": (100011, "refresh_token is invalid, expired or already rotated"),
    "open_id_mismatch": (100012, "open_id does not match the token"),
    "invalid_access_token": (100013, "access_token is invalid, expired or already rotated"),
}

_STATE_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")


class OAuthError(Exception):
    """A token-endpoint failure: HTTP 400 with ``{"code", "message", "nonce"}``."""

    def __init__(self, kind: str, detail: str = "") -> None:
        code, message = OAUTH_ERRORS[kind]
        super().__init__(f"{code}: {message}")
        self.kind = kind
        self.code = code
        self.message = f"{message}: {detail}" if detail else message

    def to_response(self) -> JSONResponse:
        return JSONResponse(
            {"code": self.code, "message": self.message, "nonce": secrets.token_hex(8)}, status_code=400
        )


@dataclass(slots=True)
class Grant:
    """One authorization's live token pair; replaced wholesale on every refresh."""

    sdk_id: str
    userid: str
    open_id: str
    scopes: frozenset[str]
    access_token: str
    access_expires: float
    refresh_token: str
    refresh_expires: float


@dataclass(frozen=True, slots=True)
class _AuthCode:
    sdk_id: str
    userid: str
    expires: float


class OAuthService:
    """Issues and checks OAuth tokens; protocol lifetimes follow the wall clock, not the data clock."""

    def __init__(
        self,
        apps: AppRegistry,
        *,
        server_secret: bytes,
        super_admin: str,
        is_user: Callable[[str], bool],
        access_ttl: float = ACCESS_TTL_SECONDS,
        refresh_ttl: float = REFRESH_TTL_SECONDS,
        code_ttl: float = AUTH_CODE_TTL_SECONDS,
        wall: Callable[[], float] = time.time,
        refresh_fault: Callable[[], str | None] | None = None,
    ) -> None:
        self._apps = apps
        self._refresh_fault = refresh_fault
        self._secret = server_secret
        self._super_admin = super_admin
        self._is_user = is_user
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._code_ttl = code_ttl
        self._wall = wall
        self._lock = threading.Lock()
        self._codes: dict[str, _AuthCode] = {}
        self._by_access: dict[str, Grant] = {}
        self._by_refresh: dict[str, Grant] = {}
        self.counters: dict[str, int] = {
            "authorizations": 0,
            "code_exchanges": 0,
            "rejected_exchanges": 0,
            "refreshes": 0,
            "rejected_refreshes": 0,
            "revocations": 0,
        }

    # -- identities -------------------------------------------------------------------------

    def admin_of(self, app: App) -> str:
        return app.admin_userid or self._super_admin

    def open_id(self, sdk_id: str, userid: str) -> str:
        """Stable per (sdk_id, userid), different across apps, unguessable without the server secret."""
        mac = hmac.new(self._secret, f"open_id:{sdk_id}:{userid}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:21]).decode("ascii")

    def open_corp_id(self, sdk_id: str, corp_id: str) -> str:
        mac = hmac.new(self._secret, f"open_corp_id:{sdk_id}:{corp_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:15]).decode("ascii")

    # -- flow -------------------------------------------------------------------------------

    def authorize(self, params: Mapping[str, str]) -> str:
        """Validate an authorize request, auto-consent, and answer the redirect Location."""
        for name in ("corp_id", "sdk_id", "redirect_uri", "state"):
            if not params.get(name):
                raise OAuthError("missing_parameter", name)
        app = self._active_app(params["sdk_id"])
        if params["corp_id"] != app.corp_id:
            raise OAuthError("corp_mismatch")
        redirect_uri = params["redirect_uri"]
        if redirect_uri not in app.redirect_uris:
            raise OAuthError("redirect_not_whitelisted")
        state = params["state"]
        if not _STATE_RE.match(state):
            raise OAuthError("bad_state")
        if app.type == "account":
            userid = self.admin_of(app)
        else:
            userid = params.get("login_userid") or self._super_admin
            if not self._is_user(userid):
                raise OAuthError("unknown_user")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._purge_codes()
            self._codes[code] = _AuthCode(app.sdk_id, userid, self._wall() + self._code_ttl)
            self.counters["authorizations"] += 1
        return _append_query(redirect_uri, {"auth_code": code, "state": state})

    def exchange(self, body: Mapping[str, Any]) -> dict[str, Any]:
        sdk_id, secret, auth_code = _fields(body, "sdk_id", "secret", "auth_code")
        with self._lock:
            try:
                app = self._active_app(sdk_id)
                if not hmac.compare_digest(secret.encode(), app.secret.encode()):
                    raise OAuthError("bad_secret")
                code = self._codes.pop(auth_code, None)
                if code is None or code.sdk_id != sdk_id or code.expires < self._wall():
                    raise OAuthError("invalid_auth_code")
            except OAuthError:
                self.counters["rejected_exchanges"] += 1
                raise
            grant = self._issue(app, code.userid)
            self.counters["code_exchanges"] += 1
            return self._token_data(grant, app, with_corp=True)

    def refresh(self, body: Mapping[str, Any]) -> dict[str, Any]:
        sdk_id, refresh_token, open_id = _fields(body, "sdk_id", "refresh_token", "open_id")
        with self._lock:
            try:
                app = self._active_app(sdk_id)
                grant = self._by_refresh.get(refresh_token)
                if grant is None or grant.sdk_id != sdk_id or grant.refresh_expires < self._wall():
                    raise OAuthError("invalid_refresh_token")
                if grant.open_id != open_id:
                    raise OAuthError("open_id_mismatch")
            except OAuthError:
                self.counters["rejected_refreshes"] += 1
                raise
            # Rotation: the previous pair stops working the moment the new one exists.
            self._by_access.pop(grant.access_token, None)
            self._by_refresh.pop(grant.refresh_token, None)
            fresh = self._issue(app, grant.userid)
            self.counters["refreshes"] += 1
            return self._token_data(fresh, app, with_corp=False)

    def user_info(self, body: Mapping[str, Any]) -> dict[str, Any]:
        access_token, open_id = _fields(body, "access_token", "open_id")
        with self._lock:
            grant = self._by_access.get(access_token)
            if grant is None or grant.access_expires <= self._wall():
                raise OAuthError("invalid_access_token")
            if grant.open_id != open_id:
                raise OAuthError("open_id_mismatch")
            return {"expires": int(grant.access_expires), "open_id": grant.open_id, "scopes": sorted(grant.scopes)}

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The Principal of an API call carrying ``AccessToken`` and ``OpenId`` (lower-case keys)."""
        return self.authenticate_with_token(headers)[0]

    def authenticate_with_token(self, headers: Mapping[str, str]) -> tuple[Principal, str]:
        """Principal and access token of an API call carrying ``AccessToken`` and ``OpenId``."""
        token = headers.get("accesstoken", "")
        open_id = headers.get("openid", "")
        if "x-tc-timestamp" in headers:
            check_timestamp(headers.get("x-tc-timestamp"), self._wall())
        grant = self._by_access.get(token)
        if grant is None or grant.access_expires <= self._wall():
            raise token_invalid("AccessToken invalid or expired: refresh it or authorize again")
        if grant.open_id != open_id:
            raise token_invalid("OpenId does not match the AccessToken")
        app = self._apps.get(grant.sdk_id)
        if app is None or not app.activated:
            raise token_invalid("the app behind this AccessToken is no longer active")
        quota_key = f"app:{app.sdk_id}" if app.type == "account" else f"user:{app.sdk_id}:{grant.open_id}"
        principal = Principal(
            sdk_id=app.sdk_id,
            app_type=app.type,
            mode="oauth",
            userid=grant.userid,
            open_id=grant.open_id,
            scopes=grant.scopes,
            quota_key=quota_key,
        )
        return principal, token

    # -- admin ------------------------------------------------------------------------------

    def expire_access_tokens(self) -> int:
        """Expire every live access token now; refresh tokens keep working."""
        with self._lock:
            now = self._wall()
            grants = list(self._by_access.values())
            for grant in grants:
                grant.access_expires = min(grant.access_expires, now - 1)
            return len(grants)

    def revoke_access_token(self, access_token: str) -> bool:
        """Stop one access token (a mid-run revocation); its refresh token still works."""
        with self._lock:
            grant = self._by_access.pop(access_token, None)
            if grant is not None:
                self.counters["revocations"] += 1
            return grant is not None

    def reset_counters(self) -> None:
        with self._lock:
            for key in self.counters:
                self.counters[key] = 0

    # -- internals --------------------------------------------------------------------------

    def _active_app(self, sdk_id: str) -> App:
        app = self._apps.get(sdk_id)
        if app is None:
            raise OAuthError("unknown_app")
        if not app.activated:
            raise OAuthError("app_not_activated")
        return app

    def _issue(self, app: App, userid: str) -> Grant:
        now = self._wall()
        grant = Grant(
            sdk_id=app.sdk_id,
            userid=userid,
            open_id=self.open_id(app.sdk_id, userid),
            scopes=app.scopes,
            access_token=secrets.token_urlsafe(32),
            access_expires=float(int(now + self._access_ttl)),
            refresh_token=secrets.token_urlsafe(32),
            refresh_expires=now + self._refresh_ttl,
        )
        self._by_access[grant.access_token] = grant
        self._by_refresh[grant.refresh_token] = grant
        return grant

    def _token_data(self, grant: Grant, app: App, *, with_corp: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires": int(grant.access_expires),
            "open_id": grant.open_id,
            "scopes": sorted(grant.scopes),
        }
        if with_corp:
            data["open_corp_id"] = self.open_corp_id(app.sdk_id, app.corp_id)
        return data

    def _purge_codes(self) -> None:
        now = self._wall()
        for code in [c for c, entry in self._codes.items() if entry.expires < now]:
            del self._codes[code]

    # -- HTTP -------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route(AUTHORIZE_PATH, self._authorize_endpoint, methods=["GET"]),
            Route(f"{OAUTH_PREFIX}/access_token", self._json_endpoint(self.exchange), methods=["POST"]),
            Route(f"{OAUTH_PREFIX}/refresh_token", _FaultyRefresh(self), methods=["POST"]),
            Route(f"{OAUTH_PREFIX}/user_info", self._json_endpoint(self.user_info), methods=["POST"]),
        ]

    async def _authorize_endpoint(self, request: Request) -> Response:
        try:
            location = self.authorize(dict(request.query_params))
        except OAuthError as exc:
            return exc.to_response()
        return RedirectResponse(location, status_code=302)

    def _json_endpoint(
        self, action: Callable[[Mapping[str, Any]], dict[str, Any]]
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                try:
                    body = json.loads(await request.body() or b"null")
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise OAuthError("bad_request") from None
                if not isinstance(body, dict):
                    raise OAuthError("bad_request")
                data = action(body)
            except OAuthError as exc:
                return exc.to_response()
            return JSONResponse({"code": 0, "message": "SUCCESS", "nonce": secrets.token_hex(8), "data": data})

        return endpoint


class _FaultyRefresh:
    """The refresh endpoint as an ASGI app, so a fault can lose its answer after the refresh happened."""

    def __init__(self, service: OAuthService) -> None:
        self._service = service
        self._endpoint = service._json_endpoint(service.refresh)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault = self._service._refresh_fault() if self._service._refresh_fault is not None else None
        if fault == "unavailable_504":
            await _gateway_timeout()(scope, receive, send)
            return
        response = await self._endpoint(Request(scope, receive))
        if fault == "lost_504":
            await _gateway_timeout()(scope, receive, send)
            return
        if fault == "lost_drop":
            # Promise more bytes than are sent: the client sees the connection close mid-answer.
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"code":0,', "more_body": True})
            return
        await response(scope, receive, send)


def _gateway_timeout() -> Response:
    return Response(b"<html><body><h1>504 Gateway Time-out</h1></body></html>", status_code=504,
                    media_type="text/html")


def _fields(body: Mapping[str, Any], *names: str) -> tuple[str, ...]:
    values = []
    for name in names:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise OAuthError("missing_parameter", name)
        values.append(value)
    return tuple(values)


def _append_query(url: str, extra: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
