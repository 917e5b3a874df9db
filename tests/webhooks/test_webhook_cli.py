from __future__ import annotations

import pytest

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
