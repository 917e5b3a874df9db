"""A loopback port for a server a test starts (an OAuth callback, a service)."""

from __future__ import annotations

import socket


def free_port() -> int:
    # Bound and released: the caller binds it next, so tests running side by side rarely meet.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
