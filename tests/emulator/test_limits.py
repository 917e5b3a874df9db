"""Quotas: per-key minute and day windows, corp route limits, time scaling, and the HTTP envelope."""

from __future__ import annotations

import threading

import httpx
import pytest

from emulator.errors import ApiError
from emulator.limits import LimitConfig, RateLimiter
from emulator.signing import signed_headers
from emulator.testing import running_emulator
from tests.emulator.edge_fakes import fake_world


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0 * 86400

    def __call__(self) -> float:
        return self.now


def _calls(limiter: RateLimiter, n: int, key: str = "app:1", route: str = "/v1/records") -> int:
    """How many of ``n`` calls pass before the first rejection."""
    for i in range(n):
        try:
            limiter.check(key, "1", route)
        except ApiError:
            return i
    return n


def test_300_calls_per_minute_then_190310_with_http_500() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(LimitConfig(), clock)
    assert _calls(limiter, 300) == 300
    with pytest.raises(ApiError) as exc:
        limiter.check("app:1", "1", "/v1/records")
    assert (exc.value.error_code, exc.value.http_status) == (190310, 500)
    # Another quota key has its own window.
    assert _calls(limiter, 5, key="user:2:o") == 5
    clock.now += 60
    assert _calls(limiter, 300) == 300


def test_daily_limit_is_190311() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(LimitConfig(per_minute=1000, per_day=1500), clock)
    passed = 0
    for _ in range(2):
        passed += _calls(limiter, 1000)
        clock.now += 60
    assert passed == 1500
    with pytest.raises(ApiError) as exc:
        limiter.check("app:1", "1", "/v1/records")
    assert exc.value.error_code == 190311


def test_corp_routes_have_per_app_and_per_route_limits() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(LimitConfig(), clock)
    assert _calls(limiter, 20, route="/v1/corp/records") == 10
    assert _calls(limiter, 20, route="/v1/corp/user-roles") == 10
    assert _calls(limiter, 200, route="/v1/corp/meetings") == 80
    with pytest.raises(ApiError) as exc:
        limiter.check("app:1", "1", "/v1/corp/users")
    assert exc.value.error_code == 190313
    # Non-corp routes still have the rest of the 300/min.
    assert _calls(limiter, 300, route="/v1/records") == 200


def test_rejected_calls_consume_no_quota_and_are_counted() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(LimitConfig(per_minute=3, per_day=5), clock)
    assert _calls(limiter, 10) == 3
    assert _calls(limiter, 10) == 0
    clock.now += 60
    assert _calls(limiter, 10) == 2
    assert limiter.rejections == {190310: 2, 190311: 1}


def test_time_scale_shrinks_the_windows() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(LimitConfig(per_minute=2, time_scale=0.01), clock)
    assert _calls(limiter, 5) == 2
    clock.now += 0.65
    assert _calls(limiter, 5) == 2


def test_disabled_limits_never_reject_but_record_peaks() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(LimitConfig(per_minute=2, enabled=False), clock)
    assert _calls(limiter, 50) == 50
    clock.now += 60
    assert _calls(limiter, 7) == 7
    assert limiter.peaks()["app:1"] == {"per_minute": 50, "per_day": 57}


def test_counting_is_exact_under_threads() -> None:
    limiter = RateLimiter(LimitConfig(per_minute=1000, enabled=True), FakeMonotonic())
    passed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        n = _calls(limiter, 200)
        with lock:
            passed.append(n)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(passed) == 1000


def test_quota_errors_over_http_use_the_envelope_and_configured_status() -> None:
    limits = LimitConfig(per_minute=3)
    with running_emulator(**fake_world(limits=limits, quota_http_status=429)) as emu:
        target = "/v1/records"
        answers = [
            httpx.get(emu.base_url + target, headers=signed_headers(emu.default_app, "GET", target), trust_env=False)
            for _ in range(5)
        ]
        assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
        assert answers[-1].json()["error_info"]["error_code"] == 190310
        stats = emu.stats()
        assert stats["quota_rejections"] == {"190310": 2}
        assert stats["peaks"]["app:200000001"]["per_minute"] == 3
        assert stats["error_codes"] == {"190310": 2}


def test_rate_limit_off_over_http() -> None:
    with running_emulator(**fake_world(limits=LimitConfig(per_minute=1), rate_limit="off")) as emu:
        target = "/v1/records"
        codes = {
            httpx.get(emu.base_url + target, headers=signed_headers(emu.default_app, "GET", target),
                      trust_env=False).status_code
            for _ in range(4)
        }
        assert codes == {200}
        assert emu.stats()["peaks"]["app:200000001"]["per_minute"] == 4
