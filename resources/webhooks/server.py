"""uvicorn set up for an endpoint on the open internet: every connection must make progress or go.

uvicorn's own ``timeout_keep_alive`` only runs between requests, and the first byte of a new request
cancels it; nothing bounds how long a client may take to finish its request line and headers. The
protocol below adds that deadline (and a cap on header bytes) on top of uvicorn's httptools protocol,
which ``uvicorn[standard]`` always installs. The body is bounded by the app itself (see receiver).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from resources.webhooks.settings import WebhookSettings


class _HeadersTooLargeError(Exception):
    """Raised inside the parser callback; httptools turns it into a parser error, uvicorn into a 400."""


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """httptools protocol that drops a connection whose request headers are not complete in time."""

    header_timeout_s: float = 10.0
    max_header_bytes: int = 32_768

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_bytes = 0
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            raise _HeadersTooLargeError

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Waiting for the next request on a kept-alive connection: the clock starts again, unless a
        # pipelined request (headers already in) has just been started.
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm_header_deadline()


def protocol_for(settings: WebhookSettings) -> type[DeadlineHttpToolsProtocol]:
    """The protocol class with this receiver's limits bound (uvicorn instantiates it per connection)."""
    return type(
        "WebhookHttpProtocol",
        (DeadlineHttpToolsProtocol,),
        {"header_timeout_s": settings.header_timeout_s, "max_header_bytes": settings.max_header_bytes},
    )


def server_config(app: Any, settings: WebhookSettings, *, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """The one uvicorn configuration the CLI and the tests run the receiver with."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_for(settings),
        # One worker on purpose: the nonce cache and the inbox writer live in this process.
        workers=1,
        # The access log is off because it would print query strings (check_str) verbatim.
        access_log=False,
        server_header=False,
        log_level=log_level,
        timeout_keep_alive=settings.keep_alive_s,
        # Past this many open connections new requests get 503 (which the platform retries) instead
        # of the process running out of file descriptors or memory.
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=5,
    )
