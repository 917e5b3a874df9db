from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from bench.webhook_bench import ReceiverProcess
from pipelines.cli import main
from tests.webhooks.platform import TOKEN


def test_serve_refuses_a_malformed_token_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = TOKEN[:20]
    monkeypatch.setenv("TMEET_WEBHOOK_TOKEN", bad)
    assert main(["webhook", "serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "TMEET_WEBHOOK_TOKEN" in err and "25 letters or digits" in err
    assert bad not in err


def test_serve_requires_the_token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TMEET_WEBHOOK_TOKEN", raising=False)
    assert main(["webhook", "serve"]) == 2
    assert "TMEET_WEBHOOK_TOKEN is not set" in capsys.readouterr().err


def test_webhook_serve_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["webhook", "serve", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "TMEET_WEBHOOK_TOKEN" in out


def test_serve_drops_connections_that_send_no_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limits reach the real command, not only the app: a silent client is cut off after the header timeout."""
    monkeypatch.setenv("TMEET_WEBHOOK_HEADER_TIMEOUT_S", "1")
    receiver = ReceiverProcess(tmp_path, token=TOKEN)
    receiver.start()
    try:
        sockets = [socket.create_connection(("127.0.0.1", receiver.port), timeout=15) for _ in range(20)]
        started = time.monotonic()
        for sock in sockets:
            with sock:
                assert sock.recv(1) == b""  # EOF from the server, long before the 15 s client timeout
        assert time.monotonic() - started < 12
    finally:
        receiver.kill()
