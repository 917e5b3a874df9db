from __future__ import annotations

import logging

import pytest

from resources.tencent.redact import install_log_scrubbing, register_secret


def test_registered_secret_never_reaches_a_handler(caplog: pytest.LogCaptureFixture) -> None:
    install_log_scrubbing()
    canary = "canary-secret-7f3a9c2e41"
    register_secret(canary)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("some.library").warning("token %s refused", canary)
        logging.getLogger("httpx").debug(f"GET /x?token={canary}")
    assert caplog.records, "the log lines should still be emitted"
    for record in caplog.records:
        assert canary not in record.getMessage()
    assert "********" in caplog.records[0].getMessage()
