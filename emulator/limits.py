"""Call quotas (docs/platform.md, "Limits"): fixed windows on monotonic time, per quota key and per corp route."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from emulator.errors import ApiError

MINUTE = 60.0
DAY = 86400.0


def _default_corp_routes() -> dict[str, int]:
    return {"/v1/corp/records": 10, "/v1/corp/user-roles": 10}


@dataclass(frozen=True)
class LimitConfig:
    per_minute: int = 300
    per_day: int = 200_000
    corp_per_minute: int = 100
    # Per-app limits of single corp routes, stricter than ``corp_per_minute``.
    corp_route_per_minute: Mapping[str, int] = field(default_factory=_default_corp_routes)
    # A minute lasts 60 * time_scale real seconds, a day 86400 * time_scale.
    time_scale: float = 1.0
    http_status: int = 500
    # Off: never reject, but still count, so tests can read the peak rate a client reached.
    enabled: bool = True


class _Window:
    __slots__ = ("index", "count", "peak")

    def __init__(self) -> None:
        self.index = -1
        self.count = 0
        self.peak = 0


class RateLimiter:
    """Thread-safe fixed-window counters; a rejected call consumes no quota."""

    def __init__(self, config: LimitConfig, monotonic: Callable[[], float] = time.monotonic) -> None:
        if config.time_scale <= 0:
            raise ValueError("time_scale must be positive, e.g. 0.01 to make a minute last 0.6 s")
        self.config = config
        self._minute = MINUTE * config.time_scale
        self._day = DAY * config.time_scale
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], _Window] = {}
        self.rejections: dict[int, int] = {}

    def check(self, quota_key: str, sdk_id: str, route: str) -> None:
        """Count one call of ``route`` (a path template) or raise the platform's quota error."""
        now = self._monotonic()
        minute_index = int(now // self._minute)
        day_index = int(now // self._day)
        cfg = self.config
        checks: list[tuple[tuple[str, str], int, int, int, str]] = [
            ((quota_key, "minute"), minute_index, cfg.per_minute, 190310, "calls per minute exceeded the limit (每分钟总接口调用次数超过限制)"),
            ((quota_key, "day"), day_index, cfg.per_day, 190311, "calls per day exceeded the limit (每天总接口调用次数超过限制)"),
        ]
        if route.startswith("/v1/corp/"):
            checks.append(
                ((f"corp:{sdk_id}", "minute"), minute_index, cfg.corp_per_minute, 190313,
                 "account-level API calls per minute exceeded the limit")
            )
            route_limit = cfg.corp_route_per_minute.get(route)
            if route_limit is not None:
                checks.append(
                    ((f"corp:{sdk_id}:{route}", "minute"), minute_index, route_limit, 190313,
                     f"calls per minute of {route} exceeded the limit")
                )
        with self._lock:
            windows = []
            for key, index, limit, code, message in checks:
                window = self._windows.get(key)
                if window is None:
                    window = self._windows[key] = _Window()
                if window.index != index:
                    window.index, window.count = index, 0
                if cfg.enabled and window.count >= limit:
                    self.rejections[code] = self.rejections.get(code, 0) + 1
                    raise ApiError(code, message, cfg.http_status)
                windows.append(window)
            for window in windows:
                window.count += 1
                if window.count > window.peak:
                    window.peak = window.count

    def peaks(self) -> dict[str, dict[str, int]]:
        """Highest count seen in any one window, per counter key and window kind."""
        with self._lock:
            result: dict[str, dict[str, int]] = {}
            for (key, kind), window in self._windows.items():
                result.setdefault(key, {})[f"per_{kind}"] = window.peak
            return result

    def reset_stats(self) -> None:
        """Forget peaks and rejection counts; quota already spent stays spent."""
        with self._lock:
            for window in self._windows.values():
                window.peak = window.count
            self.rejections.clear()

    def reset(self) -> None:
        """Forget everything: a fresh quota for every key."""
        with self._lock:
            self._windows.clear()
            self.rejections.clear()
