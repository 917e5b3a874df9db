"""Call counters the admin endpoint reports: per route, status, error code and quota key."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe API call counters, cheap enough to update on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset_locked()

    def _reset_locked(self) -> None:
        self.since = time.time()
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.error_codes: Counter[str] = Counter()
        self.quota_keys: Counter[str] = Counter()
        self.total = 0

    def record(
        self, method: str, route: str, status: int | str, error_code: int | None, quota_key: str | None
    ) -> None:
        with self._lock:
            self.total += 1
            self.calls[f"{method} {route}"] += 1
            self.statuses[str(status)] += 1
            if error_code is not None:
                self.error_codes[str(error_code)] += 1
            if quota_key is not None:
                self.quota_keys[quota_key] += 1

    def reset(self) -> None:
        with self._lock:
            self._reset_locked()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "since": self.since,
                "total_calls": self.total,
                "calls": dict(self.calls),
                "status": dict(self.statuses),
                "error_codes": dict(self.error_codes),
                "quota_keys": dict(self.quota_keys),
            }
