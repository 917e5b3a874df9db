"""Seeded fault injection for API calls: transient errors, slowness, broken bodies, quota bursts,
and (profile ``corrupt``) corrupted records inside well-formed responses."""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass
from typing import Literal

from emulator.corruption import DEFAULT_RATE as DEFAULT_CORRUPT_RATE
from emulator.corruption import RecordCorrupter
from emulator.errors import ApiError

FaultKind = Literal["server_error", "slow", "drop", "truncate", "quota_burst", "too_often"]
# What happens to one refresh-token request: "lost_504" performs the refresh (the token rotates) and
# answers 504 as a load balancer whose upstream timed out would; "lost_drop" performs it and drops the
# connection mid-answer; "unavailable_504" answers 504 without performing it.
RefreshFault = Literal["lost_504", "lost_drop", "unavailable_504"]
PROFILES = ("none", "flaky", "hostile", "corrupt", "lost_refresh", "lost_refresh_drop", "refresh_unavailable")
# Profiles that only touch the token endpoint: the faults of its first refreshes, in order.
REFRESH_FAULTS: dict[str, tuple[RefreshFault, ...]] = {
    "lost_refresh": ("lost_504",),
    "lost_refresh_drop": ("lost_drop",),
    "refresh_unavailable": ("unavailable_504", "unavailable_504"),
}

# Probability per API call of each fault kind. flaky totals 5 %; hostile adds the nastier kinds.
_RATES: dict[str, tuple[tuple[FaultKind, float], ...]] = {
    "none": (),
    "flaky": (("server_error", 0.02), ("slow", 0.015), ("drop", 0.015)),
    "hostile": (
        ("server_error", 0.03),
        ("slow", 0.015),
        ("drop", 0.02),
        ("truncate", 0.02),
        ("quota_burst", 0.01),
        ("too_often", 0.015),
    ),
    # Every call answers; the records inside do not all make sense (see emulator.corruption).
    "corrupt": (),
    **{name: () for name in REFRESH_FAULTS},
}
# A hostile run revokes one caller's access token after this many API calls.
DEFAULT_REVOKE_AFTER = 40


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    delay: float = 0.0
    error: ApiError | None = None


class FaultInjector:
    """Decides, deterministically from (seed, request target, per-target counter), what goes wrong."""

    def __init__(
        self,
        profile: str,
        seed: int,
        *,
        burst_length: tuple[int, int] = (3, 6),
        revoke_after: int | None = None,
        quota_http_status: int = 500,
        corrupt_rate: float = DEFAULT_CORRUPT_RATE,
    ) -> None:
        if profile not in _RATES:
            raise ValueError(f"unknown fault profile {profile!r}; use one of {', '.join(PROFILES)}")
        self.profile = profile
        self._rates = _RATES[profile]
        self._seed = seed
        self._burst_length = burst_length
        self._quota_status = quota_http_status
        if revoke_after is None and profile == "hostile":
            revoke_after = DEFAULT_REVOKE_AFTER
        self._revoke_after = revoke_after
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._calls = 0
        self._burst_left = 0
        self._revoked = False
        self._refresh_faults = list(REFRESH_FAULTS.get(profile, ()))
        self.injected: dict[str, int] = {}
        self.corrupter = RecordCorrupter(seed, corrupt_rate) if profile == "corrupt" else None

    @property
    def active(self) -> bool:
        return bool(self._rates) or self._revoke_after is not None

    def decide(self, target: str) -> Fault | None:
        """The fault for this call of ``target`` (path and query), or None."""
        if not self._rates:
            with self._lock:
                self._calls += 1
            return None
        with self._lock:
            self._calls += 1
            n = self._counters.get(target, 0) + 1
            self._counters[target] = n
            if self._burst_left > 0:
                self._burst_left -= 1
                return self._record(Fault("quota_burst", error=self._quota_error()))
            digest = hashlib.sha256(f"{self._seed}\x00{target}\x00{n}".encode()).digest()
            rnd = random.Random(digest)
            roll = rnd.random()
            for kind, rate in self._rates:
                if roll < rate:
                    return self._record(self._build(kind, rnd))
                roll -= rate
            return None

    def take_revocation(self) -> bool:
        """True exactly once, on the first authenticated call after ``revoke_after`` calls."""
        if self._revoke_after is None or self._revoked:
            return False
        with self._lock:
            if self._revoked or self._calls < self._revoke_after:
                return False
            self._revoked = True
            self.injected["revoke_token"] = self.injected.get("revoke_token", 0) + 1
            return True

    def take_refresh_fault(self) -> RefreshFault | None:
        """The fault for this refresh-token request, or None; each planned fault happens once."""
        with self._lock:
            if not self._refresh_faults:
                return None
            fault = self._refresh_faults.pop(0)
            self.injected[f"refresh_{fault}"] = self.injected.get(f"refresh_{fault}", 0) + 1
            return fault

    def _build(self, kind: FaultKind, rnd: random.Random) -> Fault:
        if kind == "server_error":
            code = rnd.choice((41, 960000))
            return Fault(kind, error=ApiError(code, "internal error, please retry", 500))
        if kind == "slow":
            return Fault(kind, delay=rnd.uniform(0.2, 1.5))
        if kind == "quota_burst":
            low, high = self._burst_length
            self._burst_left = rnd.randint(low, high) - 1
            return Fault(kind, error=self._quota_error())
        if kind == "too_often":
            return Fault(kind, error=ApiError(9061, "querying meetings too often (查询会议过于频繁)", 500))
        return Fault(kind)

    def _quota_error(self) -> ApiError:
        return ApiError(190310, "calls per minute exceeded the limit (每分钟总接口调用次数超过限制)", self._quota_status)

    def _record(self, fault: Fault) -> Fault:
        self.injected[fault.kind] = self.injected.get(fault.kind, 0) + 1
        return fault
