from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from resources.webhooks import Inbox, WebhookSettings, create_app
from resources.webhooks.server import server_config
from tests.webhooks.platform import AES_KEY, TOKEN, Platform


class ThreadedServer:
    """uvicorn on an ephemeral loopback port in a background thread."""

    def __init__(self, app: object, settings: WebhookSettings) -> None:
        self.server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the receiver did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Receiver:
    url: str
    inbox: Inbox
    platform: Platform
    client: httpx.Client

    def post(self, headers: dict[str, str] | list[tuple[str, str]], body: bytes) -> httpx.Response:
        return self.client.post(self.url + "/webhook", headers=headers, content=body)

    def get(self, headers: dict[str, str], query: str) -> httpx.Response:
        return self.client.get(self.url + "/webhook?" + query, headers=headers)


ReceiverFactory = Callable[..., Receiver]


@contextmanager
def running_receiver(data_dir: Path, *, aes: bool = False, **overrides: object) -> Iterator[Receiver]:
    settings = WebhookSettings(token=TOKEN, aes_key=AES_KEY if aes else None, data_dir=data_dir, **overrides)  # type: ignore[arg-type]
    inbox = Inbox(settings.inbox_path)
    try:
        with ThreadedServer(create_app(settings, inbox), settings) as url, httpx.Client(timeout=10) as client:
            yield Receiver(url, inbox, Platform(aes_key=AES_KEY if aes else None), client)
    finally:
        inbox.close()


@pytest.fixture
def make_receiver(tmp_path: Path) -> Iterator[ReceiverFactory]:
    numbers = itertools.count()
    with ExitStack() as stack:

        def factory(*, aes: bool = False, **overrides: object) -> Receiver:
            data_dir = tmp_path / f"data{next(numbers)}"
            return stack.enter_context(running_receiver(data_dir, aes=aes, **overrides))

        yield factory


@pytest.fixture(scope="module")
def shared_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """One receiver for a module's refusal cases; each case compares the inbox count before and after."""
    with running_receiver(tmp_path_factory.mktemp("plain")) as rx:
        yield rx


@pytest.fixture(scope="module")
def shared_aes_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    with running_receiver(tmp_path_factory.mktemp("aes"), aes=True) as rx:
        yield rx


@pytest.fixture
def receiver(make_receiver: ReceiverFactory) -> Receiver:
    return make_receiver()
