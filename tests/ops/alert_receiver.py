"""A local stand-in for a chat group's incoming webhook: it records what arrives and answers as the platform does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What each platform answers to an accepted message.
ACCEPTED: dict[str, bytes] = {
    "slack": b"ok",
    "wecom": b'{"errcode":0,"errmsg":"ok"}',
    "feishu": b'{"code":0,"msg":"success","data":{}}',
}


@dataclass
class Receiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def alert_receiver(fmt: str) -> Iterator[Receiver]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(json.loads(body))
            answer = ACCEPTED[fmt]
            self.send_response(200)
            self.send_header("Content-Type", "text/plain" if fmt == "slack" else "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook/bot-key-123", received)
    finally:
        server.shutdown()
        server.server_close()


def text_of(fmt: str, body: dict[str, Any]) -> str:
    """The message text, read the way each platform reads its own format (a wrong shape raises)."""
    if fmt == "wecom":
        assert body["msgtype"] == "text"
        return str(body["text"]["content"])
    if fmt == "feishu":
        assert body["msg_type"] == "text"
        return str(body["content"]["text"])
    return str(body["text"])
