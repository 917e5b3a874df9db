"""The webhook receiver beside the demo emulator, and a short account of what it has received."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn

from assets.webhook_inbox import iter_inbox
from assets.partitions import account_timezone
from resources.webhooks import CALLBACK_PATH, InboxRow, WebhookSettings, create_app
from resources.webhooks.server import server_config

STARTUP_TIMEOUT_SECONDS = 30.0
RECENT_EVENTS = 5


def run_receiver_in_thread(
    data_dir: Path | str, token: str, aes_key: str | None = None
) -> tuple[str, Callable[[], None]]:
    """Serve the receiver on a free loopback port; returns its callback URL and a function that stops it.

    The inbox is ``<data_dir>/inbox/webhooks.sqlite``, the same file the sensor reads.
    """
    settings = WebhookSettings(token=token, aes_key=aes_key, data_dir=Path(data_dir))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The same limits as `tmeet-etl webhook serve`; the access log stays off there too.
    config = server_config(create_app(settings), settings, host="127.0.0.1", port=port, log_level="warning")
    config.timeout_graceful_shutdown = 2
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"webhook-receiver-{port}", daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()

    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f"the webhook receiver on 127.0.0.1:{port} did not start; see the log above")
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}", stop


def recent_events_summary(inbox_path: Path | str, tz: str | None = None) -> str:
    """Events stored so far by type, and the latest few, as a few lines of plain text."""
    path = Path(inbox_path)
    by_event: Counter[str] = Counter()
    recent: list[InboxRow] = []
    for page in iter_inbox(path):
        by_event.update(row.event for row in page)
        recent = (recent + page)[-RECENT_EVENTS:]
    if not by_event:
        return f"No webhook events received yet ({path})."
    zone = ZoneInfo(tz or account_timezone())
    total = sum(by_event.values())
    lines = [f"{total} webhook event(s) received: " + ", ".join(f"{name} {n}" for name, n in by_event.most_common())]
    lines.append("Latest:")
    for row in recent:
        lines.append(f"  #{row.seq} {_describe(row, zone)}")
    return "\n".join(lines)


def _describe(row: InboxRow, zone: ZoneInfo) -> str:
    """When (the event's own time, else arrival), what, who and which meeting."""
    try:
        item = json.loads(row.payload_json)["payload"][0]
        operator, meeting = item.get("operator") or {}, item.get("meeting_info") or {}
        when = datetime.fromtimestamp(int(item["operate_time"]) / 1000, tz=UTC)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return f"{row.received_at.astimezone(zone):%Y-%m-%d %H:%M:%S} {row.event}"
    who = operator.get("user_name") or operator.get("userid") or "someone"
    where = meeting.get("subject") or meeting.get("meeting_code") or meeting.get("meeting_id") or "?"
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M:%S} {row.event}: {who} in {where}"
