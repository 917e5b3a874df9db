"""The client's error taxonomy: every platform failure is classified on the body's ``error_code``.

There is no HTTP 429 on this platform; throttling, expiry and missing resources all arrive as an
``error_info.error_code`` under a 400/403/500 status, so the status alone never decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from resources.json_decode import decode_json

RETRYABLE_CODES = frozenset({41, 960000, 5108, 190301})
# A signature timestamp outside the platform's ±300 s window: retrying with the same clock cannot help.
CLOCK_SKEW_CODES = frozenset({190300})
QUOTA_WAIT_CODES = frozenset({190310, 190313, 9061})
QUOTA_STOP_CODES = frozenset({190311})
AUTH_CODES = frozenset({190303})
SIGNATURE_CODES = frozenset({200003})
PERMISSION_CODES = frozenset({9042, 500014, 403})
GONE_CODES = frozenset({9003, 190457, 4051, 4049, 500277, 20001})
NOT_READY_CODES = frozenset({4044})
BAD_REQUEST_CODES = frozenset({190004})

REAUTHORIZE_HINT = "re-authorize: run `tmeet-etl auth login`"


class TencentError(Exception):
    """Base of every client error; carries the route template, never a URL with parameters."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        code: int | None = None,
        http_status: int | None = None,
        trace_id: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.code = code
        self.http_status = http_status
        self.trace_id = trace_id
        self.detail = message
        where = f" [{endpoint}]" if endpoint else ""
        tail = f" (error_code {code}, HTTP {http_status})" if code is not None else ""
        trace = f" trace={trace_id}" if trace_id else ""
        super().__init__(f"{message}{where}{tail}{trace}")


class RetryableError(TencentError):
    """Transient: network failure, 5xx with an internal-error code, or a truncated body."""


class ApiUnreachable(RetryableError):
    """No connection could be made (refused, DNS, connect timeout): the request never reached the platform."""


class DeadlineExceeded(RetryableError):
    """One call took longer than its overall deadline (e.g. a slow-drip body)."""


class QuotaWait(TencentError):
    """The platform says a per-minute window is full: wait it out, then retry."""


class QuotaExhausted(TencentError):
    """The daily budget is spent; nothing more can be fetched until ``resume_at``."""

    def __init__(self, message: str, *, resume_at: datetime, **kwargs: Any) -> None:
        self.resume_at = resume_at
        super().__init__(f"{message}; resume after {resume_at.isoformat()}", **kwargs)


class AuthError(TencentError):
    """Credentials were refused (after one refresh for OAuth)."""


class ReauthorizeRequired(AuthError):
    """The OAuth grant is gone; a person must log in again."""


class RefreshRefused(ReauthorizeRequired):
    """The token endpoint refused the stored refresh token; the refusal is recorded in the token store."""


class TokenEndpointFailed(TencentError):
    """The token endpoint kept failing transiently for the whole refresh budget; the stored token is kept."""


class ClockSkew(AuthError):
    """The platform refused the request's timestamp (190300): the local clock is too far off."""


class PermissionDenied(TencentError):
    """The app lacks a scope (or the operator a console role) for this resource."""

    def __init__(self, message: str, *, missing_scope: str = "", platform_message: str = "", **kwargs: Any) -> None:
        self.missing_scope = missing_scope
        self.platform_message = platform_message or message
        super().__init__(message, **kwargs)


class AuthModeUnsupported(PermissionDenied):
    """The platform refuses this auth mode on this endpoint (the API reference documents it).

    Not a missing scope and not a bug: the asset is skipped with ``fix``, which names the
    credentials that reach the endpoint.
    """

    def __init__(
        self, message: str, *, auth_mode: str, fix: str, platform_message: str = "", **kwargs: Any
    ) -> None:
        self.auth_mode = auth_mode
        self.fix = fix
        super().__init__(message, platform_message=platform_message, **kwargs)


class ResponseShapeError(TencentError):
    """A 200 whose body lacks every list the endpoint is documented to return.

    Never read as an empty page: the page is quarantined as received and the asset's
    ``response_shape`` check fails. ``raw`` is the body as received (bodies carry no credentials).
    """

    def __init__(self, message: str, *, raw: bytes = b"", **kwargs: Any) -> None:
        self.raw = raw
        super().__init__(message, **kwargs)


class ResourceGone(TencentError):
    """The meeting, recording or user no longer exists: skip it and record why."""


class ResourceNotReady(ResourceGone):
    """The resource exists but is not available yet (e.g. a recording still transcoding)."""


class BadRequest(TencentError):
    """The platform rejected our parameters: a bug in this client, so fail loudly."""


class ApiError(TencentError):
    """A failure with a code this client does not know; never retried, never swallowed."""


class ReadOnlyViolation(TencentError):
    """Something tried to send a request the read-only client must never send."""


class PaginationError(TencentError):
    """The server kept returning a cursor it had already given us."""


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: int | None
    new_code: int | None
    message: str



def parse_error_info(body: Any) -> ErrorInfo | None:
    """Pull ``error_info`` out of a decoded body; None when the body has none."""
    if not isinstance(body, dict):
        return None
    info = body.get("error_info")
    if not isinstance(info, dict):
        return None
    code = _as_int(info.get("error_code"))
    new_code = _as_int(info.get("new_error_code"))
    message = str(info.get("message", ""))[:200]
    return ErrorInfo(code, new_code, message)


def classify(
    status: int,
    raw: bytes,
    *,
    endpoint: str,
    trace_id: str = "",
    missing_scope: str = "",
) -> tuple[Any, TencentError | None]:
    """Decode one response: ``(body, None)`` on success, else ``(body_or_None, error)``.

    A 200 whose body is not JSON is treated as truncated and therefore retryable.
    """
    try:
        body = decode_json(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        body = None
        if status == 200 or status >= 500:
            return None, RetryableError("undecodable or truncated JSON body", endpoint=endpoint, http_status=status)
        return None, ApiError("non-JSON error body", endpoint=endpoint, http_status=status)
    info = parse_error_info(body)
    if status == 200 and info is None:
        if not isinstance(body, dict):
            return body, RetryableError("empty or non-object JSON body", endpoint=endpoint, http_status=status)
        return body, None
    if info is None or info.code is None:
        if status >= 500:
            return body, RetryableError("server error without error_info", endpoint=endpoint, http_status=status)
        return body, ApiError("failure without error_info", endpoint=endpoint, http_status=status)
    return body, error_for_code(info, status=status, endpoint=endpoint, trace_id=trace_id, missing_scope=missing_scope)


def error_for_code(
    info: ErrorInfo, *, status: int, endpoint: str, trace_id: str = "", missing_scope: str = ""
) -> TencentError:
    code = info.code
    kw: dict[str, Any] = {"endpoint": endpoint, "code": code, "http_status": status, "trace_id": trace_id}
    msg = _safe_message(info.message)
    if code in CLOCK_SKEW_CODES:
        return ClockSkew(
            f"the platform refused the request time (local clock more than 300 s off): {msg}; "
            "sync this machine's clock (e.g. `timedatectl set-ntp true`)",
            **kw,
        )
    if code in RETRYABLE_CODES:
        return RetryableError(f"transient platform error: {msg}", **kw)
    if code in QUOTA_WAIT_CODES:
        return QuotaWait(f"per-minute quota reached: {msg}", **kw)
    if code in QUOTA_STOP_CODES:
        from resources.tencent.quota import next_daily_reset

        return QuotaExhausted(f"daily call quota exhausted: {msg}", resume_at=next_daily_reset(), **kw)
    if code in AUTH_CODES:
        return AuthError(f"credentials refused: {msg}", **kw)
    if code in SIGNATURE_CODES:
        return AuthError(f"signature refused, check TMEET_SECRET_ID/TMEET_SECRET_KEY: {msg}", **kw)
    if code in PERMISSION_CODES:
        need = f"; grant the scope {missing_scope!r}" if missing_scope else ""
        return PermissionDenied(f"permission denied: {msg}{need}", missing_scope=missing_scope,
                                platform_message=msg, **kw)
    if code in NOT_READY_CODES:
        return ResourceNotReady(f"resource not ready: {msg}", **kw)
    if code in GONE_CODES:
        return ResourceGone(f"resource gone: {msg}", **kw)
    if code in BAD_REQUEST_CODES:
        return BadRequest(f"request rejected as invalid (a client bug): {msg}", **kw)
    return ApiError(f"unexpected platform error: {msg}", **kw)


def _safe_message(message: str) -> str:
    # Platform messages are short, fixed texts; cap them so an echoed request can never flood a log.
    from resources.tencent.redact import scrub

    return scrub(message.replace("\n", " "))[:200]


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
