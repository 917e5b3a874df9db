"""OAuth 2.0 for third-party apps (docs/platform.md, "OAuth"): login, code exchange and single-flight refresh."""

from __future__ import annotations

import logging
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay

from resources.settings import ConfigError, Settings, check_url
from resources.tencent.auth_events import RefreshRefusedEvent
from resources.tencent.auth_events import emit_refresh_refused
from resources.tencent.errors import (
    REAUTHORIZE_HINT,
    ApiUnreachable,
    AuthError,
    ReauthorizeRequired,
    RefreshRefused,
    RetryableError,
    TokenEndpointFailed,
)
from resources.tencent.redact import register_secret
from resources.tencent.signer import new_nonce
from resources.tencent.token_store import StoredToken, TokenStore
from resources.tencent.transport import (
    OAUTH_REFRESH_PATH,
    OAUTH_TOKEN_PATH,
    OAUTH_USER_INFO_PATH,
    connect_budget_spent,
    connect_aware_wait,
    fingerprint,
)

log = logging.getLogger(__name__)

AUTHORIZE_PATH = "/marketplace/authorize.html"
STATE_ALPHABET = string.ascii_letters + string.digits
STATE_LENGTH = 40  # the platform allows [A-Za-z0-9] up to 64 bytes

Poster = Callable[[str, Mapping[str, Any]], tuple[int, Any]]


class OAuthFlowError(AuthError):
    """The authorization callback is not acceptable (state mismatch, replay, missing code)."""


def new_state() -> str:
    return "".join(secrets.choice(STATE_ALPHABET) for _ in range(STATE_LENGTH))


def check_redirect_uri(settings: Settings) -> str:
    if not settings.redirect_uri:
        raise ConfigError("TMEET_REDIRECT_URI is not set; set it to the redirect URL registered for the app")
    return check_url(settings.redirect_uri, "TMEET_REDIRECT_URI")


def authorize_url(settings: Settings, state: str) -> str:
    settings.require("sdk_id", "corp_id", "redirect_uri")
    query = urlencode(
        {"corp_id": settings.corp_id, "sdk_id": settings.sdk_id, "redirect_uri": check_redirect_uri(settings), "state": state}
    )
    return f"{settings.oauth_base_url}{AUTHORIZE_PATH}?{query}"


def authorize_page_refusal(url: str, timeout: float = 10.0) -> str | None:
    """What the authorization page says when it refuses this request; None when it does not (or cannot tell).

    The browser shows the platform's refusal (e.g. a redirect URI missing from the whitelist) only
    to the person at it; reading the page here lets the command say the same and stop at once.
    """
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(url)
    except httpx.HTTPError:
        return None
    if response.status_code < 400:
        query = parse_qs(urlsplit(response.headers.get("location", "")).query)
        if "error" in query and "auth_code" not in query:
            return (query.get("error_description") or query["error"])[0][:200]
        return None
    return _page_message(response)


def _page_message(response: httpx.Response) -> str:
    from resources.tencent.redact import scrub

    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        code = f" (code {body['code']})" if body.get("code") is not None else ""
        return scrub(str(body["message"]))[:200] + code
    text = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())
    return scrub(text)[:200] or f"HTTP {response.status_code}"


def refusal_fix(refusal: str, settings: Settings) -> str:
    if "redirect" in refusal.lower():
        return (
            f"register {settings.redirect_uri} as a redirect URI of the app in the developer console, "
            "or set TMEET_REDIRECT_URI to one that is registered"
        )
    return "check TMEET_SDK_ID, TMEET_CORP_ID and TMEET_REDIRECT_URI against the app's page in the developer console"


class LoginSession:
    """One login attempt: its ``state`` is generated here, accepted once, and bound to this object."""

    def __init__(self, settings: Settings, manager: TokenManager) -> None:
        self.settings = settings
        self.manager = manager
        self.state = new_state()
        self.url = authorize_url(settings, self.state)
        self._used = False
        self._lock = threading.Lock()

    def complete(self, callback_url: str) -> StoredToken:
        """Check the callback's origin and ``state``, then exchange its ``auth_code`` exactly once."""
        parts = urlsplit(callback_url.strip())
        expected = urlsplit(self.settings.redirect_uri)
        if parts.scheme and (parts.scheme, parts.netloc, parts.path) != (expected.scheme, expected.netloc, expected.path):
            raise OAuthFlowError("the pasted URL is not the configured redirect URI (TMEET_REDIRECT_URI)")
        params = parse_qs(parts.query if parts.scheme else callback_url.lstrip("?"))
        state = (params.get("state") or [""])[-1]
        code = (params.get("auth_code") or [""])[-1]
        with self._lock:
            if self._used:
                raise OAuthFlowError("this login was already completed; start a new one with `tmeet-etl auth login`")
            if not secrets.compare_digest(state.encode(), self.state.encode()):
                raise OAuthFlowError("state mismatch: the callback does not belong to this login (possible CSRF)")
            if not code:
                raise OAuthFlowError("the callback carries no auth_code; the user may have declined")
            self._used = True
        register_secret(code)
        return self.manager.exchange(code)


class TokenManager:
    """Keeps each principal's access token fresh; refresh is single-flight across processes.

    Transient token-endpoint failures are retried inside the refresh lock within
    ``refresh_retry_seconds``. A refusal is recorded in the store, announced once through
    :mod:`resources.tencent.auth_events`, and answered from the store afterwards without
    calling the platform again.
    """

    def __init__(
        self,
        settings: Settings,
        store: TokenStore,
        post: Poster,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.store = store
        self._post = post
        self._clock = clock
        self._sleep = sleep
        self._cache: dict[str, StoredToken] = {}
        self._lock = threading.Lock()
        if settings.secret is not None:
            register_secret(settings.secret.get_secret_value())

    # -- login --------------------------------------------------------------------------------
    def exchange(self, auth_code: str) -> StoredToken:
        self.settings.require("sdk_id", "secret")
        assert self.settings.secret is not None
        status, body, _ = self._post_retrying(
            OAUTH_TOKEN_PATH,
            {"sdk_id": self.settings.sdk_id, "secret": self.settings.secret.get_secret_value(), "auth_code": auth_code},
            "exchanging the authorization code",
        )
        data = _token_data(status, body, "exchanging the authorization code")
        token = StoredToken.from_token_response(data, now=self._clock())
        with self.store.lock:
            self.store.put(token)
        with self._lock:
            self._cache[token.open_id] = token
        return token

    def principals(self) -> list[str]:
        return self.store.principals()

    # -- use ----------------------------------------------------------------------------------
    def token(self, open_id: str) -> StoredToken:
        """A token that stays valid for at least the refresh skew; refreshes when it would not."""
        with self._lock:
            cached = self._cache.get(open_id)
        if cached is None or cached.expires_within(self.settings.refresh_skew_seconds, self._clock()):
            stored = self.store.get(open_id)
            if stored is None:
                raise ReauthorizeRequired(f"no stored token for this principal; {REAUTHORIZE_HINT}")
            if stored.refused:
                raise _refused(stored)
            cached = stored
            if cached.expires_within(self.settings.refresh_skew_seconds, self._clock()):
                cached = self.refresh(open_id, stale=fingerprint(cached.access_token))
            with self._lock:
                self._cache[open_id] = cached
        self._warn_if_refresh_lapses(cached)
        return cached

    def refresh(self, open_id: str, stale: str) -> StoredToken:
        """Lock, re-read, refresh only if the stored token is still the stale one, write, use.

        ``stale`` is the :func:`fingerprint` of the access token that was refused or is expiring.
        """
        with self.store.lock:
            current = self.store.get(open_id)
            if current is None:
                raise ReauthorizeRequired(f"no stored token for this principal; {REAUTHORIZE_HINT}")
            if current.refused:
                raise _refused(current)
            if fingerprint(current.access_token) != stale and not current.expires_within(
                self.settings.refresh_skew_seconds, self._clock()
            ):
                log.debug("another process already refreshed the token")
                fresh = current
            else:
                self._require_secret(current)
                fresh = self._refresh_now(current)
                self.store.put(fresh)
        with self._lock:
            self._cache[open_id] = fresh
        return fresh

    def _require_secret(self, current: StoredToken) -> None:
        if self.settings.secret is not None and self.settings.secret.get_secret_value():
            return
        expiry = datetime.fromtimestamp(current.expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        why = (
            f"the stored access token expires at {expiry}"
            if current.expires_within(self.settings.refresh_skew_seconds, self._clock())
            else "the platform refused the stored access token"
        )
        raise ConfigError(
            f"{why}, so it must be refreshed, which needs TMEET_SECRET: "
            "set TMEET_SECRET to the app's secret (environment or .env)"
        )

    def _refresh_now(self, current: StoredToken) -> StoredToken:
        status, body, lost = self._post_retrying(
            OAUTH_REFRESH_PATH,
            {"sdk_id": self.settings.sdk_id, "refresh_token": current.refresh_token, "open_id": current.open_id},
            "refreshing the access token",
        )
        if not _succeeded(status, body):
            if isinstance(body, dict) and body.get("code") not in (None, 0):
                raise self._record_refusal(current, status, body, lost)
            # Not the platform's own refusal (e.g. a proxy's error page): nothing to record against the token.
            raise TokenEndpointFailed(
                f"the token endpoint answered HTTP {status} without the platform's error body (a proxy in "
                "between?); the stored token is unchanged: check HTTPS_PROXY and TMEET_OAUTH_BASE_URL",
                endpoint=f"POST {OAUTH_REFRESH_PATH}", http_status=status,
            )
        data = _token_data(status, body, "refreshing the access token", reauthorize=True)
        data.setdefault("open_id", current.open_id)
        if not data.get("scopes"):
            data["scopes"] = list(current.scopes)
        data.setdefault("open_corp_id", current.open_corp_id)
        log.info("refreshed the OAuth access token")
        return StoredToken.from_token_response(data, now=self._clock())

    def _record_refusal(self, current: StoredToken, status: int, body: Any, lost: str) -> RefreshRefused:
        """Persist the refusal (caller holds the store lock), announce it once, return the error to raise."""
        code = body.get("code") if isinstance(body, dict) else None
        from resources.tencent.redact import scrub

        platform = scrub(str(body.get("message", ""))[:120]) if isinstance(body, dict) else ""
        detail = f"HTTP {status}, code {code}: {platform}"
        if lost:
            detail += f"; an earlier attempt's answer was lost ({lost}) after the platform had probably rotated it"
        refused = replace(current, refused_at=int(self._clock()), refused_detail=detail)
        self.store.put(refused)
        message = refused.refused_message()
        emit_refresh_refused(
            RefreshRefusedEvent(
                sdk_id=self.settings.sdk_id, open_id=current.open_id, refused_at=refused.refused_at,
                http_status=status, platform_code=code if isinstance(code, int) else None,
                answer_lost_before=bool(lost), message=f"{message} ({detail})",
            )
        )
        return _refused(refused)

    def _post_retrying(self, path: str, payload: Mapping[str, Any], action: str) -> tuple[int, Any, str]:
        """POST with bounded retries of transient failures; also says whether an answer was lost.

        A lost answer (5xx from a gateway, a dropped connection, a read timeout) may hide a request the
        platform did process; the third item describes the last such loss, empty when none happened.
        """
        s = self.settings
        lost = ""

        def attempt() -> tuple[int, Any]:
            nonlocal lost
            try:
                status, body = self._post(path, payload)
            except ApiUnreachable:
                raise
            except RetryableError as exc:
                lost = exc.detail
                raise
            if status >= 500 or status in TRANSIENT_STATUSES:
                if status != 429:  # a throttled request was not processed; the others may have been
                    lost = f"HTTP {status}"
                raise _TransientAnswer(f"the token endpoint answered HTTP {status}", http_status=status)
            return status, body

        def note(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info("retrying the token endpoint (%s) after: %s", action, exc)

        retrying = Retrying(
            stop=stop_after_attempt(s.retry_attempts)
            | stop_after_delay(s.refresh_retry_seconds)
            | connect_budget_spent(s.connect_retry_seconds),
            wait=connect_aware_wait(min(s.retry_max_wait, 10.0), s.connect_retry_seconds),
            retry=retry_if_exception_type(RetryableError),
            before_sleep=note,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            status, body = retrying(attempt)
        except ApiUnreachable:
            raise
        except RetryableError as exc:
            # Not retryable any more: the API call around this refresh must not start the budget again.
            raise TokenEndpointFailed(
                f"the token endpoint kept failing while {action} ({exc.detail}); the stored token is "
                "unchanged and the next run tries again",
                endpoint=f"POST {path}", http_status=exc.http_status,
            ) from None
        return status, body, lost

    def user_info(self, open_id: str) -> dict[str, Any]:
        token = self.token(open_id)
        status, body = self._post(OAUTH_USER_INFO_PATH, {"access_token": token.access_token, "open_id": open_id})
        return _token_data(status, body, "introspecting the access token")

    def _warn_if_refresh_lapses(self, token: StoredToken) -> None:
        if not token.refresh_expires:
            return
        left = token.refresh_expires - self._clock()
        if left < self.settings.refresh_warn_days * 86400:
            log.warning(
                "the refresh token lapses in %.1f days unless the pipeline runs before then; %s",
                max(0.0, left / 86400),
                REAUTHORIZE_HINT,
            )


def _refused(token: StoredToken) -> RefreshRefused:
    detail = f" ({token.refused_detail})" if token.refused_detail else ""
    return RefreshRefused(token.refused_message() + detail)


# Besides 5xx: a gateway's request timeout and a throttled refresh (refreshing too often is throttled).
TRANSIENT_STATUSES = frozenset({408, 429})


class _TransientAnswer(RetryableError):
    """A 5xx from the token endpoint: the platform, or a gateway in front of it, failed this attempt."""


def _succeeded(status: int, body: Any) -> bool:
    return status == 200 and isinstance(body, dict) and body.get("code") == 0 and isinstance(body.get("data"), dict)


def _token_data(status: int, body: Any, action: str, reauthorize: bool = False) -> dict[str, Any]:
    if _succeeded(status, body):
        data = dict(body["data"])
        for key in ("access_token", "refresh_token"):
            register_secret(data.get(key))
        return data
    code = body.get("code") if isinstance(body, dict) else None
    message = str(body.get("message", ""))[:120] if isinstance(body, dict) else ""
    from resources.tencent.redact import scrub

    text = f"token endpoint refused {action} (HTTP {status}, code {code}: {scrub(message)})"
    if reauthorize:
        raise ReauthorizeRequired(f"{text}; {REAUTHORIZE_HINT}")
    raise OAuthFlowError(f"{text}; {REAUTHORIZE_HINT}")


class OAuthAuth(httpx.Auth):
    """Adds ``AccessToken``/``OpenId`` and a fresh timestamp and nonce to every attempt."""

    def __init__(self, manager: TokenManager, open_id: str) -> None:
        self.manager = manager
        self.open_id = open_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.manager.token(self.open_id)
        request.headers["AccessToken"] = token.access_token
        request.headers["OpenId"] = token.open_id
        request.headers["X-TC-Timestamp"] = str(int(time.time()))
        request.headers["X-TC-Nonce"] = new_nonce()
        request.headers["X-TC-Registered"] = "1"
        yield request
