"""Progress reporting for long asset work: silent under Dagster, a live display in the CLI."""

from __future__ import annotations

import threading
from typing import Protocol


class Progress(Protocol):
    def begin(self, label: str, total: int | None = None) -> None: ...

    def advance(self, label: str, amount: int = 1) -> None: ...

    def end(self, label: str) -> None: ...


class NullProgress:
    """Dagster runs report through the event log instead."""

    def begin(self, label: str, total: int | None = None) -> None:
        return None

    def advance(self, label: str, amount: int = 1) -> None:
        return None

    def end(self, label: str) -> None:
        return None


class _Holder:
    """The process-wide sink; the CLI installs a live one around an in-process run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sink: Progress = NullProgress()

    def get(self) -> Progress:
        with self._lock:
            return self._sink

    def set(self, sink: Progress) -> Progress:
        with self._lock:
            previous, self._sink = self._sink, sink
            return previous


_holder = _Holder()


def current_progress() -> Progress:
    return _holder.get()


def install_progress(sink: Progress) -> Progress:
    """Install ``sink`` and return the previous one, so callers can restore it."""
    return _holder.set(sink)
