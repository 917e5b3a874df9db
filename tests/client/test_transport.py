"""Transport behaviour with in-process fake servers: read-only guard, deadlines, retries, quota waits, caps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from resources.settings import Settings
from resources.tencent.client import TencentMeetingClient
from resources.tencent.errors import (
    AuthError,
    DeadlineExceeded,
    PaginationError,
    QuotaExhausted,
    ReadOnlyViolation,
    RetryableError,
)
from resources.tencent.pagination import Deduper, walk_cursory, walk_pos
from resources.tencent.quota import Limit, QuotaLimiter
from resources.tencent.signer import sign
from resources.tencent.transport import ApiResponse

CANARY_KEY = "CANARYsk-transport-77aa"
BASE = "https://api.meeting.qq.com"


def settings(tmp_path: Path, **extra: str) -> Settings:
    env = {"TMEET_AUTH_MODE": "aksk", "TMEET_APP_ID": "app", "TMEET_SECRET_ID": "AKIDx",
           "TMEET_SECRET_KEY": CANARY_KEY, "TMEET_OPERATOR_ID": "admin", "TMEET_DATA_DIR": str(tmp_path),
           "TMEET_RETRY_MAX_WAIT": "0.01", **extra}
    return Settings.from_env(env)


def error(code: int, status: int = 500) -> httpx.Response:
    return httpx.Response(status, json={"error_info": {"error_code": code, "message": "x"}})


def client_with(tmp_path: Path, handler: Any, **extra: str) -> TencentMeetingClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return TencentMeetingClient(settings(tmp_path, **extra), http=http, sleep=lambda s: None)


def test_only_reads_leave_the_client(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []
    client = client_with(tmp_path, lambda r: sent.append(r) or httpx.Response(200, json={}))
    for method, url in [("POST", f"{BASE}/v1/meetings"), ("DELETE", f"{BASE}/v1/records/1"),
                        ("PUT", f"{BASE}/v1/users/a"), ("GET", f"{BASE}/v2/anything"),
                        ("GET", "https://evil.example/v1/meetings"),
                        ("POST", "https://meeting.tencent.com/wemeet-webapi/v2/oauth2/oauth/other")]:
        with pytest.raises(ReadOnlyViolation):
            client.transport.http.request(method, url)
    assert sent == []
    client.get("GET /v1/corp/users", "/v1/corp/users", {"page_size": 1})
    assert len(sent) == 1


def test_retries_are_resigned_and_bounded(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return error(960000) if len(sent) < 3 else httpx.Response(200, json={"ok": 1})

    client = client_with(tmp_path, handler)
    assert client.get("GET /v1/corp/users", "/v1/corp/users", {"page_size": 1}).body == {"ok": 1}
    assert len({r.headers["X-TC-Nonce"] for r in sent}) == 3
    for r in sent:
        assert r.headers["X-TC-Signature"] == sign(CANARY_KEY, "GET", "AKIDx", r.headers["X-TC-Nonce"],
                                                    r.headers["X-TC-Timestamp"], r.url.raw_path.decode(), b"")
    assert client.stats.snapshot()["GET /v1/corp/users"]["retries"] == 2

    always: list[httpx.Request] = []
    client = client_with(tmp_path / "b", lambda r: always.append(r) or error(41), TMEET_RETRY_ATTEMPTS="4")
    with pytest.raises(RetryableError):
        client.get("GET /v1/corp/users", "/v1/corp/users", {})
    assert len(always) == 4


def test_truncated_body_is_retried(tmp_path: Path) -> None:
    n = []

    def handler(request: httpx.Request) -> httpx.Response:
        n.append(1)
        return httpx.Response(200, content=b'{"users": [' if len(n) == 1 else b'{"users": []}')

    assert client_with(tmp_path, handler).get("GET /v1/corp/users", "/v1/corp/users", {}).body == {"users": []}


DRIP_SECONDS = 20.0


def test_slow_drip_body_hits_overall_deadline(tmp_path: Path) -> None:
    def drip() -> Iterator[bytes]:
        yield b'{"a":'
        for _ in range(int(DRIP_SECONDS / 0.05)):
            time.sleep(0.05)
            yield b" "

    client = client_with(tmp_path, lambda r: httpx.Response(200, content=drip()), TMEET_CALL_DEADLINE="0.3",
                         TMEET_RETRY_ATTEMPTS="1")
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        client.get("GET /v1/corp/users", "/v1/corp/users", {})
    # The body would take DRIP_SECONDS; the deadline cut it long before, with room for a loaded machine.
    assert time.monotonic() - started < DRIP_SECONDS / 2


def test_quota_codes(tmp_path: Path) -> None:
    n = []

    def handler(request: httpx.Request) -> httpx.Response:
        n.append(1)
        return error(190310) if len(n) <= 2 else httpx.Response(200, json={})

    client = client_with(tmp_path, handler, TMEET_QUOTA_WINDOW_SECONDS="0.05")
    client.get("GET /v1/corp/users", "/v1/corp/users", {})
    assert client.stats.snapshot()["GET /v1/corp/users"]["quota_waits"] == 2
    with pytest.raises(QuotaExhausted, match="resume after"):
        client_with(tmp_path / "d", lambda r: error(190311)).get("GET /v1/corp/users", "/v1/corp/users", {})


def test_aksk_auth_failure_is_a_config_error_without_secrets(tmp_path: Path) -> None:
    client = client_with(tmp_path, lambda r: error(190303, 400))
    with pytest.raises(AuthError, match="TMEET_SECRET_KEY") as exc:
        client.get("GET /v1/corp/users", "/v1/corp/users", {})
    assert CANARY_KEY not in str(exc.value)


def test_participants_cap_splits_window_then_records_the_unavoidable(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        lo, hi, pos = int(q["start_time"]), int(q["end_time"]), int(q["pos"])
        hot = lo <= 4000 <= hi  # 60,000 joins in one second: splitting cannot help there
        if hi - lo >= 1000 or (hot and hi > lo):
            return httpx.Response(200, json={"total_count": 60000, "has_remaining": True, "next_pos": 100,
                                             "participants": []})
        rows = [{"userid": f"u{lo}", "join_time": str(lo)}]
        return httpx.Response(200, json={"total_count": 60000 if hot else 1, "has_remaining": False,
                                         "next_pos": pos + 1, "participants": rows})

    client = client_with(tmp_path, handler)
    got = [r for p in client.iter_participants("m1", "", 0, 5000) for r in p.records]
    assert len(got) >= 8 and all(r["userid"] == f"u{r['join_time']}" for r in got)
    skipped = client.stats.snapshot()["GET /v1/meetings/{meeting_id}/participants"]["skip_reasons"]
    assert len(skipped) == 1 and "50000" in skipped[0]["reason"] and skipped[0]["code"] is None


def fake_fetch(bodies: list[dict[str, Any]]) -> Any:
    def fetch(params: dict[str, Any]) -> ApiResponse:
        from datetime import UTC, datetime

        return ApiResponse("GET /x", params, bodies.pop(0), 200, datetime.now(UTC))

    return fetch


def test_pos_walk_hands_on_repeats_and_refuses_a_looping_cursor() -> None:
    ok = fake_fetch([
        {"has_remaining": True, "next_pos": 2, "r": [{"k": 1}, {"k": 2}]},
        {"has_remaining": False, "next_pos": 3, "r": [{"k": 2}, {"k": 3}, {"k": ""}, {"k": ""}]},
    ])
    dedup = Deduper(lambda r: r["k"])
    pages = list(walk_pos(ok, {}, "size", 2, "r", dedup))
    # Repeats reach the normalizers, which validate first and then de-duplicate on the table key.
    assert [r["k"] for p in pages for r in p.records] == [1, 2, 2, 3, "", ""]
    assert dedup.repeats == 2
    loop = fake_fetch([{"has_remaining": True, "next_pos": 0, "r": []}] * 10)
    with pytest.raises(PaginationError):
        list(walk_pos(loop, {}, "size", 2, "r", Deduper(lambda r: r["k"])))
    cursory = fake_fetch([{"remaining": 1, "next_pos": 5, "next_cursory": 9, "m": [{"id": "a"}]}] * 10)
    with pytest.raises(PaginationError):
        list(walk_cursory(cursory, {}, "m", Deduper(lambda r: r["id"])))


def test_limiter_keeps_sliding_window_and_daily_budget(tmp_path: Path) -> None:
    now = [1000.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lim = QuotaLimiter(tmp_path / "q.sqlite", daily_limit=7, clock=lambda: now[0], sleep=sleep, margin=0.0)
    limits = [Limit("k:minute", 3, 60.0)]
    stamps = []
    for _ in range(7):
        lim.acquire(limits, "k")
        stamps.append(now[0])
        now[0] += 1
    assert all(b - a >= 60 for a, b in zip(stamps, stamps[3:]))
    assert lim.daily_used("k") == 7
    with pytest.raises(QuotaExhausted):
        lim.acquire(limits, "k")
    again = QuotaLimiter(tmp_path / "q.sqlite", daily_limit=7, clock=lambda: now[0])
    assert again.daily_used("k") == 7  # persisted across runs
    assert json.dumps(lim.report())


@pytest.mark.parametrize("path", ["/v1/meetings/1/participants", "/v1/corp/users", "/v1/records/a%2Fb"])
@pytest.mark.parametrize("params", [
    {}, {"pos": 0, "size": 100, "sub_meeting_id": "7"},
    {"operator_id": "u+1@x y/z&=é中", "flag": True, "off": False, "none": None, "ratio": 1.5, "many": ["1", "2"]},
])
def test_get_requests_are_those_httpx_would_build(tmp_path: Path, path: str, params: dict[str, Any]) -> None:
    """The request built with one URL parse is, byte for byte, the one ``Client.build_request`` makes."""
    client = client_with(tmp_path, lambda r: httpx.Response(200, json={}))
    transport = client.transport
    expected = transport.http.build_request("GET", BASE + path, params=params)
    built = transport.get_request(httpx.URL(BASE + path), params)
    assert str(built.url) == str(expected.url) and built.url.raw_path == expected.url.raw_path
    assert built.headers.multi_items() == expected.headers.multi_items()
    assert built.extensions == expected.extensions
