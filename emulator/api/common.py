"""Parameter parsing, pagination and JSON responses shared by the read endpoints."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from emulator import errors
from emulator.principal import Principal

T = TypeVar("T")
DAY_S = 86_400
JSON_TYPE = "application/json; charset=utf-8"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def respond(obj: Any) -> Response:
    return Response(dumps(obj), media_type=JSON_TYPE)


def raw_response(body: bytes) -> Response:
    return Response(body, media_type=JSON_TYPE)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def principal(request: Request) -> Principal:
    found = getattr(request.state, "principal", None)
    if not isinstance(found, Principal):
        raise RuntimeError("request.state.principal is not set: the auth middleware must run before the read routes")
    return found


def q_str(request: Request, name: str, *, required: bool = False) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        if required:
            raise errors.invalid_param(f"{name} is required")
        return None
    return value


def q_int(
    request: Request, name: str, *, required: bool = False, default: int | None = None,
    lo: int | None = None, hi: int | None = None,
) -> int | None:
    raw = q_str(request, name, required=required)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.invalid_param(f"{name} must be an integer, got {raw!r}") from None
    if lo is not None and value < lo:
        raise errors.invalid_param(f"{name} must be >= {lo}")
    if hi is not None and value > hi:
        raise errors.invalid_param(f"{name} must be <= {hi}")
    return value


def need_int(request: Request, name: str, **kwargs: Any) -> int:
    value = q_int(request, name, **kwargs)
    assert value is not None
    return value


def page_params(request: Request, *, default_size: int, cap: int, required: bool = False) -> tuple[int, int]:
    page = need_int(request, "page", required=required, default=1, lo=1)
    size = need_int(request, "page_size", required=required, default=default_size, lo=1, hi=cap)
    return page, size


def page_slice(items: Sequence[T], page: int, size: int) -> tuple[list[T], dict[str, int]]:
    """One page of a page/page_size list and the totals the platform reports with it."""
    chunk = list(items[(page - 1) * size : page * size])
    totals = {
        "total_count": len(items),
        "total_page": math.ceil(len(items) / size),
        "current_page": page,
        "current_size": len(chunk),
    }
    return chunk, totals


def pos_param(request: Request, name: str = "pos") -> int:
    raw = request.query_params.get(name, "")
    if raw == "":
        return 0
    if not raw.isdigit():
        raise errors.invalid_param(f"{name} must be a non-negative integer position, got {raw!r}")
    return int(raw)


def window(
    request: Request, *, max_days: int, default_days: int | None, now_s: int, required: bool = False,
    unit_ms: bool = False, one_bound_days: int | None = None,
) -> tuple[int, int] | None:
    """The [start, end] filter in the request's unit, with the platform's span limit and defaults."""
    start = q_int(request, "start_time", required=required, lo=0)
    end = q_int(request, "end_time", required=required, lo=0)
    scale = 1000 if unit_ms else 1
    now = now_s * scale
    span = one_bound_days if one_bound_days is not None else max_days
    if start is None and end is None:
        if default_days is None:
            return None
        return now - default_days * DAY_S * scale, now
    if start is None:
        assert end is not None
        start = end - span * DAY_S * scale
    elif end is None:
        end = start + span * DAY_S * scale
    if end < start:
        raise errors.invalid_param("end_time must not be earlier than start_time")
    if end - start > max_days * DAY_S * scale:
        raise errors.invalid_param(f"the time window may span at most {max_days} days; split the query")
    return start, end
