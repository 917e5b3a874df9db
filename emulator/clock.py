"""The emulator's clock: frozen for reproducible tests, or the real one, and movable at run time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Current time for every part of the emulator.

    A frozen clock (``now`` given) stays put until moved with :meth:`set` or :meth:`advance`,
    so the same inputs give the same bytes. A live clock follows the wall clock from an offset.
    """

    def __init__(self, now: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: float | None = None if now is None else _epoch(now)
        self._offset = 0.0

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def time(self) -> float:
        """Unix seconds as a float."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def ms(self) -> int:
        return int(self.time() * 1000)

    def set(self, now: datetime) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen = _epoch(now)
            else:
                self._offset = _epoch(now) - time.time()

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("the emulator clock needs an aware datetime (add a UTC offset, e.g. Z)")
    return moment.timestamp()


class WallClock:
    """The server's protocol clock (signature timestamps, token lifetimes, the ``Date`` header).

    It follows the real clock; an offset makes the server's clock disagree with the client's, as
    a client machine whose clock drifted would see it.
    """

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset_seconds = offset_seconds

    def time(self) -> float:
        return time.time() + self.offset_seconds
