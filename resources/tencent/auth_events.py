"""Events a person must hear about, for alerting: today, a refresh token the platform refused.

An alert channel subscribes with :func:`add_refresh_refused_listener`; without one, the event is
still logged once as a structured record (``extra={"event": REFRESH_REFUSED_EVENT, ...}``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)

REFRESH_REFUSED_EVENT = "tmeet.auth.refresh_refused"


@dataclass(frozen=True)
class RefreshRefusedEvent:
    """One refusal, recorded in the token store at ``refused_at`` (unix seconds); no token in it."""

    sdk_id: str
    open_id: str
    refused_at: int
    http_status: int
    platform_code: int | None
    answer_lost_before: bool
    message: str


_listeners: list[Callable[[RefreshRefusedEvent], None]] = []
_lock = threading.Lock()


def add_refresh_refused_listener(listener: Callable[[RefreshRefusedEvent], None]) -> Callable[[], None]:
    """Call ``listener`` on every new refusal; returns a function that unsubscribes it."""
    with _lock:
        _listeners.append(listener)

    def remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return remove


def emit_refresh_refused(event: RefreshRefusedEvent) -> None:
    """Log the refusal once and tell every listener; a failing listener never hides the refusal."""
    fields = {k: v for k, v in asdict(event).items() if k != "message"}  # "message" is a LogRecord attribute
    log.error(event.message, extra={"event": REFRESH_REFUSED_EVENT, **fields})
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # noqa: BLE001 - an alert channel's bug must not mask the auth failure
            log.exception("a refresh-refused listener failed")
