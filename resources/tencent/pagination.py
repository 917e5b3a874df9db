"""The platform's three pagination styles, guarded against loops; every received record is handed on."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from resources.tencent.errors import PaginationError, ResponseShapeError
from resources.tencent.transport import ApiResponse

Fetch = Callable[[dict[str, Any]], ApiResponse]
KeyFn = Callable[[dict[str, Any]], Hashable]

REPEAT_REFETCHES = 2  # a repeated cursor is re-requested this often before it counts as a loop


@dataclass(frozen=True)
class Page:
    """One response as received: ``records`` holds every row of the body's list, repeats included."""

    endpoint: str
    params: dict[str, Any]
    records: list[dict[str, Any]]
    body: dict[str, Any]
    status: int
    fetched_at: datetime
    raw: bytes = b""


class Deduper:
    """Notes records whose raw key repeats earlier in the same walk, and hands every record on.

    Nothing is dropped here: this runs before validation, so records with an empty or corrupt key
    (four users with ``userid: ""``) would collapse into one and vanish without a trace. The
    normalizers de-duplicate valid rows on their normalized table key and count what they drop.
    """

    def __init__(self, key: KeyFn) -> None:
        self._key = key
        self._seen: set[Hashable] = set()
        self.repeats = 0

    def fresh(self, records: list[Any]) -> list[Any]:
        for record in records:
            if not isinstance(record, dict):
                continue
            try:
                k = self._key(record)
                repeated = k in self._seen
            except (TypeError, KeyError):
                continue  # an unhashable or absent key is for the normalizer to reject
            if repeated:
                self.repeats += 1
            else:
                self._seen.add(k)
        return list(records)


def records_of(resp: ApiResponse, *keys: str) -> list[Any]:
    """The page's list under the first of ``keys`` present; a 200 with none of them is a shape error.

    A present-but-null list is an empty page; an absent one is never read as empty.
    """
    for key in keys:
        if key in resp.body:
            value = resp.body[key]
            if value is None:
                return []
            if isinstance(value, list):
                return value
            raise ResponseShapeError(f"{key!r} is a {type(value).__name__}, not a list", endpoint=resp.endpoint,
                                     http_status=resp.status, raw=resp.raw)
    present = ", ".join(sorted(str(k) for k in resp.body)[:12]) or "none"
    raise ResponseShapeError(
        f"the response has no {' or '.join(repr(k) for k in keys)} list (keys present: {present})",
        endpoint=resp.endpoint, http_status=resp.status, raw=resp.raw,
    )


def object_of(resp: ApiResponse, fields: Collection[str]) -> dict[str, Any]:
    """A single-object answer: a JSON object holding at least one of the documented ``fields``.

    A wrapper such as ``{"data": {...}}`` or an object of another endpoint is a shape error, never
    a record with every field missing.
    """
    body = resp.body
    if isinstance(body, dict) and any(name in body for name in fields):
        return body
    present = ", ".join(sorted(str(k) for k in body)[:12]) if isinstance(body, dict) else type(body).__name__
    raise ResponseShapeError(
        f"the response is not the documented object: none of {', '.join(sorted(fields))} "
        f"(keys present: {present or 'none'})",
        endpoint=resp.endpoint, http_status=resp.status, raw=resp.raw,
    )


def _page(resp: ApiResponse, records: list[dict[str, Any]]) -> Page:
    return Page(resp.endpoint, dict(resp.params), records, resp.body, resp.status, resp.fetched_at, resp.raw)


def walk_pages(
    fetch: Fetch,
    params: dict[str, Any],
    page_size: int,
    records_key: str,
    dedup: Deduper,
    first: ApiResponse | None = None,
) -> Iterator[Page]:
    """``page``/``page_size`` with ``total_page``/``total_count``; walks every page the totals announce.

    ``first`` is page 1 when the caller already fetched it (e.g. to read the totals).
    """
    page = 1
    while True:
        if first is not None:
            resp, first = first, None
        else:
            resp = fetch({**params, "page": page, "page_size": page_size})
        raw = records_of(resp, records_key)
        yield _page(resp, dedup.fresh(raw))
        total_page = _int(resp.body.get("total_page"))
        if total_page is None:
            total_count = _int(resp.body.get("total_count"))
            if total_count is not None:
                total_page = math.ceil(total_count / page_size)
        if total_page is None:
            if len(raw) < page_size:
                return
        elif page >= total_page:
            return
        page += 1


def walk_pos(
    fetch: Fetch,
    params: dict[str, Any],
    size_param: str,
    page_size: int,
    records_key: str,
    dedup: Deduper,
    first_pos: Any = 0,
) -> Iterator[Page]:
    """``pos`` + ``size`` → ``has_remaining`` + ``next_pos``."""
    pos = first_pos
    requested: set[str] = set()
    repeats = 0
    while True:
        resp = fetch({**params, "pos": pos, size_param: page_size})
        body = resp.body
        yield _page(resp, dedup.fresh(records_of(resp, records_key)))
        if not _truthy(body.get("has_remaining")):
            return
        next_pos = body.get("next_pos")
        requested.add(str(pos))
        if next_pos is None or str(next_pos) in requested:
            repeats += 1
            if repeats > REPEAT_REFETCHES:
                raise PaginationError(
                    "the server keeps returning a cursor it already gave; stopping instead of looping",
                    endpoint=resp.endpoint,
                )
            requested.discard(str(pos))
            continue
        repeats = 0
        pos = next_pos


def walk_cursory(
    fetch: Fetch, params: dict[str, Any], records_key: str, dedup: Deduper
) -> Iterator[Page]:
    """``/v1/meetings``: ``pos`` + ``cursory`` → ``remaining`` + ``next_pos`` + ``next_cursory``."""
    cursor: tuple[Any, Any] = (0, 0)
    requested: set[tuple[str, str]] = set()
    repeats = 0
    while True:
        resp = fetch({**params, "pos": cursor[0], "cursory": cursor[1]})
        body = resp.body
        yield _page(resp, dedup.fresh(records_of(resp, records_key)))
        if not _int(body.get("remaining")):
            return
        nxt = (body.get("next_pos"), body.get("next_cursory"))
        requested.add((str(cursor[0]), str(cursor[1])))
        if nxt[0] is None or (str(nxt[0]), str(nxt[1])) in requested:
            repeats += 1
            if repeats > REPEAT_REFETCHES:
                raise PaginationError(
                    "the server keeps returning a cursor it already gave; stopping instead of looping",
                    endpoint=resp.endpoint,
                )
            requested.discard((str(cursor[0]), str(cursor[1])))
            continue
        repeats = 0
        cursor = (nxt[0], nxt[1] if nxt[1] is not None else 0)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)
