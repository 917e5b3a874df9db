"""A refresh token the platform refused reaches the alert channel (``TMEET_ALERT_WEBHOOK_URL``).

Nothing runs for that user again until someone signs in, and a scheduled run fails at night: the
person who can fix it must hear it. :func:`install_refresh_refused_alerts` subscribes once per
process; every place that builds API clients calls it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from resources.alerts import AlertSettings, send_alert
from resources.tencent.auth_events import RefreshRefusedEvent, add_refresh_refused_listener
from resources.tencent.redact import scrub

TITLE = "Tencent Meeting: the platform refused a refresh token"

_lock = threading.Lock()
_remove: Callable[[], None] | None = None
# A refusal is announced where it is recorded in the token store; this guards a process that
# hears the same recorded refusal twice (several clients of one user) from sending it twice.
_sent: set[tuple[str, str, int]] = set()


def refusal_alert(event: RefreshRefusedEvent) -> tuple[str, list[str]]:
    """The alert's title and lines: who is cut off, since when, and the fix. No token or secret."""
    at = datetime.fromtimestamp(event.refused_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    code = f", platform code {event.platform_code}" if event.platform_code is not None else ""
    lines = [
        f"app (sdk_id) {event.sdk_id}, user open_id {event.open_id}",
        f"refused at {at} (HTTP {event.http_status}{code}) on {socket.gethostname()}",
    ]
    if event.answer_lost_before:
        lines.append("an earlier refresh's answer was lost after the platform had probably rotated the token")
    lines += [
        "no data of this user is read until they sign in again",
        f"fix: run `tmeet-etl auth login` as open_id {event.open_id} (the app's admin for an account-level app)",
    ]
    return TITLE, [scrub(line) for line in lines]


def alert_refresh_refused(event: RefreshRefusedEvent, settings: AlertSettings | None = None) -> bool:
    """Send the alert for ``event`` once; False when no alert URL is set or it was already sent."""
    chosen = settings or AlertSettings.from_env()
    if not chosen.enabled:
        return False
    key = (event.sdk_id, event.open_id, event.refused_at)
    with _lock:
        if key in _sent:
            return False
        _sent.add(key)
    title, lines = refusal_alert(event)
    return send_alert(chosen, title, lines)


def install_refresh_refused_alerts() -> None:
    """Subscribe the alert channel to refusals in this process (again is a no-op).

    The alert settings are read when a refusal happens, so a misconfigured channel never stops a
    command that meets no refusal; when it does, the failure is logged beside the refusal.
    """
    global _remove
    with _lock:
        if _remove is None:
            _remove = add_refresh_refused_listener(alert_refresh_refused)
