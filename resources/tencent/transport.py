"""The one HTTP client: read-only by construction, bounded in time, retried and quota-limited.

Only ``GET /v1/...`` on the API host and ``POST`` to the three OAuth token endpoints can leave
this module; anything else raises before a socket is touched.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from resources.settings import Settings
from resources.tencent.errors import (
    ApiUnreachable,
    ClockSkew,
    DeadlineExceeded,
    QuotaWait,
    ReadOnlyViolation,
    RetryableError,
    TencentError,
    classify,
)
from resources.tencent.quota import Limit, QuotaBudget
from resources.tencent.stats import CallStats

log = logging.getLogger(__name__)

OAUTH_TOKEN_PATH = "/wemeet-webapi/v2/oauth2/oauth/access_token"
OAUTH_REFRESH_PATH = "/wemeet-webapi/v2/oauth2/oauth/refresh_token"
OAUTH_USER_INFO_PATH = "/wemeet-webapi/v2/oauth2/oauth/user_info"
OAUTH_PATHS = frozenset({OAUTH_TOKEN_PATH, OAUTH_REFRESH_PATH, OAUTH_USER_INFO_PATH})
CORP_PREFIX = "/v1/corp/"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
# After one call gave up on an origin, later calls of the same process (the other asset steps of a
# sync) try it once instead of spending the whole connect budget again.
UNREACHABLE_MEMORY_SECONDS = 60.0
_unreachable_since: dict[tuple[str, str, int | None], float] = {}
_unreachable_lock = threading.Lock()


@dataclass(frozen=True)
class ApiResponse:
    endpoint: str
    params: dict[str, Any]
    body: dict[str, Any]
    status: int
    fetched_at: datetime
    date_header: str = ""
    # Unix seconds of the emulator's data clock (header X-Emulator-Now); the real platform sends none.
    data_clock: str = ""
    # The body exactly as received, so the raw archive can keep it without re-encoding.
    raw: bytes = b""


def fingerprint(secret: str) -> str:
    """A stable digest to compare credentials without holding them."""
    return hashlib.sha256(secret.encode()).hexdigest() if secret else ""


class RetryBudget:
    """Retries stay a bounded share of requests, so a sick server is not hammered (SRE retry budget)."""

    def __init__(self, ratio: float = 0.2, floor: int = 20) -> None:
        self._lock = threading.Lock()
        self._ratio = ratio
        self._floor = floor
        self.requests = 0
        self.retries = 0

    def on_request(self) -> None:
        with self._lock:
            self.requests += 1

    def try_spend(self) -> bool:
        with self._lock:
            if self.retries < self._floor + self._ratio * self.requests:
                self.retries += 1
                return True
            return False


class RequestGuard:
    """Refuses every request that is not a read: the pipeline never changes anything on the platform."""

    def __init__(self, api_base_url: str, oauth_base_url: str) -> None:
        self._api = _origin(api_base_url)
        self._oauth = _origin(oauth_base_url)

    def check(self, method: str, url: httpx.URL | str) -> None:
        url = url if isinstance(url, httpx.URL) else httpx.URL(url)
        origin = (url.scheme, url.host, url.port)
        path = url.path
        if method == "GET" and origin == self._api and path.startswith("/v1/"):
            return
        if method == "POST" and origin == self._oauth and path in OAUTH_PATHS:
            return
        raise ReadOnlyViolation(f"refusing {method} {path}: this client only reads (GET /v1/...) and refreshes tokens")

    def hook(self, request: httpx.Request) -> None:
        self.check(request.method, request.url)


def _origin(base: str) -> tuple[str, str, int | None]:
    url = httpx.URL(base)
    return (url.scheme, url.host, url.port)


def proxy_settings() -> str:
    """The proxy variables httpx honours, with any user:password removed."""
    shown = []
    for name in PROXY_VARIABLES:
        value = os.environ.get(name) or os.environ.get(name.lower())
        if value:
            shown.append(f"{name}={_without_credentials(value) if name != 'NO_PROXY' else value}")
    if not shown:
        return "no proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY are unset)"
    return "proxy settings " + ", ".join(shown)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        return "<unparsable URL>"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def unreachable_error(url: httpx.URL | str, exc: Exception, endpoint: str) -> ApiUnreachable:
    parsed = httpx.URL(str(url))
    origin = f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
    reason = str(exc).strip() or type(exc).__name__
    return ApiUnreachable(
        f"cannot connect to {origin} ({type(exc).__name__}: {reason[:120]}); {proxy_settings()}; "
        "check the network, the proxy and TMEET_API_BASE_URL / TMEET_OAUTH_BASE_URL",
        endpoint=endpoint,
    )


def clock_skew_seconds(date_header: str, now: float | None = None) -> float | None:
    """Local clock minus the server's ``Date`` (positive: ours is ahead); None without a usable header."""
    if not date_header:
        return None
    try:
        server = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=UTC)
    return (time.time() if now is None else now) - server.timestamp()


def describe_skew(error: ClockSkew, date_header: str) -> ClockSkew:
    """Say how far off the local clock is, measured against the platform's ``Date`` header."""
    skew = clock_skew_seconds(date_header)
    if skew is None:
        return error
    direction = "ahead of" if skew > 0 else "behind"
    return ClockSkew(
        f"the local clock is {abs(skew):.0f} s {direction} the platform's (limit ±300 s), so every signed "
        "request is refused: sync this machine's clock (e.g. `timedatectl set-ntp true` or `chronyc makestep`)",
        endpoint=error.endpoint, code=error.code, http_status=error.http_status, trace_id=error.trace_id,
    )


def _remember_unreachable(url: httpx.URL) -> None:
    with _unreachable_lock:
        _unreachable_since[(url.scheme, url.host, url.port)] = time.monotonic()


def _recently_unreachable(url: httpx.URL) -> bool:
    with _unreachable_lock:
        since = _unreachable_since.get((url.scheme, url.host, url.port))
    return since is not None and time.monotonic() - since < UNREACHABLE_MEMORY_SECONDS


def _forget_unreachable(url: httpx.URL) -> None:
    with _unreachable_lock:
        _unreachable_since.pop((url.scheme, url.host, url.port), None)


def build_http_client(settings: Settings, guard: RequestGuard) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.write_timeout,
        pool=settings.call_deadline,
    )
    limits = httpx.Limits(
        max_connections=max(10, settings.max_workers * 2), max_keepalive_connections=max(5, settings.max_workers)
    )
    return httpx.Client(
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        event_hooks={"request": [guard.hook]},
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "tmeet-etl/0.1"},
    )


class Transport:
    """Sends guarded, limited, retried requests; thread-safe, share one per principal."""

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: QuotaBudget | None,
        stats: CallStats,
        quota_key: str,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        budget: RetryBudget | None = None,
    ) -> None:
        self.settings = settings
        self.guard = RequestGuard(settings.api_base_url, settings.oauth_base_url)
        if http is None:
            http = build_http_client(settings, self.guard)
        else:
            # A caller-supplied client is still read-only: the guard runs before every send.
            http.event_hooks = {**http.event_hooks, "request": [*http.event_hooks["request"], self.guard.hook]}
        self.http = http
        self.limiter = limiter
        self.stats = stats
        self.quota_key = quota_key
        self._sleep = sleep
        self.budget = budget or RetryBudget()

    def close(self) -> None:
        self.http.close()

    # -- limits ---------------------------------------------------------------------------
    def limits_for(self, path: str, route: str) -> list[Limit]:
        s = self.settings
        window = s.quota_window_seconds
        limits = [Limit(f"{self.quota_key}:minute", s.per_minute_limit, window)]
        if path.startswith(CORP_PREFIX):
            limits.append(Limit(f"{self.quota_key}:corp", s.corp_per_minute_limit, window))
        route_limit = s.route_limits.get(route)
        if route_limit is not None:
            limits.append(Limit(f"{self.quota_key}:route:{route}", route_limit, window))
        return limits

    # -- API GET --------------------------------------------------------------------------
    def get(
        self,
        endpoint: str,
        path: str,
        params: Mapping[str, Any],
        auth: httpx.Auth,
        *,
        on_auth_error: Callable[[TencentError, str], bool] | None = None,
        missing_scope: str = "",
    ) -> ApiResponse:
        """One logical call: quota waits and a single re-authentication wrap the retried attempts."""
        url = httpx.URL(self.settings.api_base_url + path)
        self.guard.check("GET", url)
        route = endpoint.split(" ", 1)[-1]
        quota_waits = 0
        reauthed = False
        while True:
            try:
                return self._retrying(endpoint, url, path, route, dict(params), auth, missing_scope)
            except QuotaWait:
                quota_waits += 1
                if quota_waits > self.settings.quota_wait_attempts:
                    raise
                # The server's window is full (another client, or clock drift): sit it out with jitter.
                wait = self.settings.quota_window_seconds * random.uniform(1.0, 1.2)
                self.stats.add(endpoint, quota_waits=1, quota_wait_seconds=wait)
                log.warning("quota window full on %s; waiting %.1fs", endpoint, wait)
                self._sleep(wait)
            except TencentError as exc:
                if exc.code != 190303 or on_auth_error is None or reauthed:
                    raise
                reauthed = True
                if not on_auth_error(exc, getattr(exc, "credential_fingerprint", "")):
                    raise

    def _retrying(
        self, endpoint: str, url: httpx.URL, path: str, route: str, params: dict[str, Any], auth: httpx.Auth,
        missing_scope: str,
    ) -> ApiResponse:
        s = self.settings

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, ApiUnreachable) and _recently_unreachable(url):
                return False
            return isinstance(exc, RetryableError) and self.budget.try_spend()

        def count_retry(state: RetryCallState) -> None:
            self.stats.add(endpoint, retries=1)
            exc = state.outcome.exception() if state.outcome else None
            log.info("retrying %s after %s", endpoint, type(exc).__name__)

        retrying = Retrying(
            stop=stop_after_attempt(s.retry_attempts)
            | stop_after_delay(s.retry_max_seconds)
            | connect_budget_spent(s.connect_retry_seconds),
            wait=connect_aware_wait(s.retry_max_wait, s.connect_retry_seconds),
            retry=retry_if_exception(should_retry),
            before_sleep=count_retry,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response = retrying(self._attempt, endpoint, url, path, route, params, auth, missing_scope)
        except ApiUnreachable:
            _remember_unreachable(url)
            raise
        _forget_unreachable(url)
        return response

    def _attempt(
        self, endpoint: str, url: httpx.URL, path: str, route: str, params: dict[str, Any], auth: httpx.Auth,
        missing_scope: str,
    ) -> ApiResponse:
        if self.limiter is not None:
            got = self.limiter.acquire(self.limits_for(path, route), daily_key=self.quota_key)
            if got.waits:
                self.stats.add(endpoint, quota_waits=got.waits, quota_wait_seconds=got.waited_seconds)
        self.stats.add(endpoint, calls=1)
        self.budget.on_request()
        request = self.get_request(url, params)
        status, raw, headers = self._send(request, auth, endpoint)
        body, error = classify(
            status, raw, endpoint=endpoint, trace_id=headers.get("X-TC-Trace", ""), missing_scope=missing_scope
        )
        if isinstance(error, ClockSkew):
            error = describe_skew(error, headers.get("Date", ""))
        if error is not None:
            # Only a digest of the credential travels with the error, never the token itself.
            error.credential_fingerprint = fingerprint(request.headers.get("AccessToken", ""))  # type: ignore[attr-defined]
            raise error
        return ApiResponse(
            endpoint=endpoint,
            params=params,
            body=body,
            status=status,
            fetched_at=datetime.now(UTC),
            date_header=headers.get("Date", ""),
            data_clock=headers.get("X-Emulator-Now", ""),
            raw=raw,
        )

    def get_request(self, url: httpx.URL, params: Mapping[str, Any]) -> httpx.Request:
        """The GET ``Client.build_request`` would make, with its URL parsed once instead of three times.

        ``build_request`` re-parses and re-validates the whole URL when it merges the client's base
        URL, the query and the request: a sixth of a fetch thread's CPU, under the same GIL as the
        normalisation. The query is encoded as httpx encodes it (``QueryParams``).
        """
        query = str(httpx.QueryParams(params))
        full = url if not query else httpx.URL(f"{url}?{query}" if not url.query else f"{url}&{query}")
        client = self.http
        return httpx.Request(
            "GET", full, headers=client.headers, cookies=client.cookies or None,
            extensions={"timeout": client.timeout.as_dict()},
        )

    def _send(self, request: httpx.Request, auth: httpx.Auth | None, endpoint: str) -> tuple[int, bytes, httpx.Headers]:
        """Send with an overall deadline that also bounds a slow-drip body."""
        deadline = time.monotonic() + self.settings.call_deadline
        try:
            response = self.http.send(request, auth=auth, stream=True)
        except ReadOnlyViolation:
            raise
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
            raise unreachable_error(request.url, exc, endpoint) from None
        except httpx.RequestError as exc:
            raise RetryableError(f"network error: {type(exc).__name__}", endpoint=endpoint) from None
        try:
            chunks: list[bytes] = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise DeadlineExceeded(
                        f"call exceeded its {self.settings.call_deadline:.0f}s deadline", endpoint=endpoint
                    )
            raw = b"".join(chunks)
        except httpx.RequestError as exc:
            raise RetryableError(f"network error while reading: {type(exc).__name__}", endpoint=endpoint) from None
        finally:
            response.close()
        return response.status_code, raw, response.headers

    # -- OAuth POST -------------------------------------------------------------------------
    def post_oauth(self, path: str, payload: Mapping[str, Any]) -> tuple[int, Any]:
        """POST JSON to a token endpoint once; the token manager decides what to retry.

        Raises :class:`ApiUnreachable` when no connection was made (the platform saw nothing) and
        :class:`RetryableError` when the request may have been processed but its answer was lost.
        """
        url = self.settings.oauth_base_url + path
        self.guard.check("POST", url)
        endpoint = f"POST {path}"
        request = self.http.build_request("POST", url, json=dict(payload))
        self.stats.add(endpoint, calls=1)
        try:
            response = self.http.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
            raise unreachable_error(request.url, exc, endpoint) from None
        except httpx.TransportError as exc:
            raise RetryableError(
                f"the token endpoint's answer was lost ({type(exc).__name__})", endpoint=endpoint
            ) from None
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None


def connect_aware_wait(max_wait: float, connect_budget: float) -> Callable[[RetryCallState], float]:
    """Exponential jittered waits; a refused connection waits briefly and never past its budget."""
    base = wait_random_exponential(multiplier=0.5, max=max_wait)

    def wait(state: RetryCallState) -> float:
        delay = float(base(state))
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiUnreachable):
            return max(0.0, min(delay, 2.0, connect_budget - state.seconds_since_start))
        return delay

    return wait


def connect_budget_spent(seconds: float) -> Callable[[RetryCallState], bool]:
    """Stop retrying a connection that keeps failing once ``seconds`` have passed since the first try."""

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        return isinstance(exc, ApiUnreachable) and state.seconds_since_start >= seconds

    return stop
