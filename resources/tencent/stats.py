"""Per-endpoint call statistics, shared by the threads of one client; written to ``sync_log``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EndpointStats:
    calls: int = 0
    pages: int = 0
    rows: int = 0
    retries: int = 0
    quota_waits: int = 0
    quota_wait_seconds: float = 0.0
    skipped: list[dict[str, Any]] = field(default_factory=list)


class CallStats:
    """Thread-safe counters keyed by endpoint template (``GET /v1/meetings/{meeting_id}/participants``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: dict[str, EndpointStats] = {}
        self._quota: dict[str, tuple[int, int]] = {}

    def note_quota(self, quota_key: str, used_today: int, daily_limit: int) -> None:
        """Record how much of a quota key's daily budget is spent (read from the shared limiter)."""
        with self._lock:
            self._quota[quota_key] = (used_today, daily_limit)

    def quota(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            return dict(self._quota)

    def _entry(self, endpoint: str) -> EndpointStats:
        return self._by_endpoint.setdefault(endpoint, EndpointStats())

    def add(self, endpoint: str, **increments: float) -> None:
        with self._lock:
            entry = self._entry(endpoint)
            for name, value in increments.items():
                setattr(entry, name, getattr(entry, name) + value)

    def skip(self, endpoint: str, resource: str, code: int | None, reason: str) -> None:
        with self._lock:
            self._entry(endpoint).skipped.append({"resource": resource, "code": code, "reason": reason})

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {
                ep: {
                    "calls": s.calls,
                    "pages": s.pages,
                    "rows": s.rows,
                    "retries": s.retries,
                    "quota_waits": s.quota_waits,
                    "quota_wait_seconds": round(s.quota_wait_seconds, 3),
                    "skipped": len(s.skipped),
                    "skip_reasons": list(s.skipped),
                }
                for ep, s in sorted(self._by_endpoint.items())
            }

    def totals(self) -> dict[str, float]:
        snap = self.snapshot()
        keys = ("calls", "pages", "rows", "retries", "quota_waits", "quota_wait_seconds", "skipped")
        return {k: sum(v[k] for v in snap.values()) for k in keys}
