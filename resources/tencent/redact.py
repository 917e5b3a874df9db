"""A process-wide list of secret values, so any text leaving the client can be scrubbed of them."""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
_MIN_LENGTH = 6  # shorter values would redact ordinary words


def register_secret(value: str | None) -> None:
    """Remember a token, secret or code so :func:`scrub` removes it from any text."""
    if value and len(value) >= _MIN_LENGTH:
        with _lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for value in secrets:
        if value in text:
            text = text.replace(value, "********")
    return text


class ScrubbingFilter(logging.Filter):
    """Last line of defence on log handlers: replaces any registered secret in a record's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_scrubbing() -> None:
    """Scrub every log record the process creates, whichever handler or library later formats it.

    A handler filter only guards the handlers that exist when it is attached; Dagster and uvicorn
    add their own later, so the scrubbing happens where records are born instead.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "scrubs_secrets", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _secrets:
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return record

    factory.scrubs_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
