"""A receiver and an emulator pushing to it over loopback, with the pipeline pointed at both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from resources.webhooks.inbox import inbox_path
from emulator.testing import EmulatorHandle, running_emulator
from pipelines.webhook_demo import run_receiver_in_thread
from resources.webhooks import Inbox
from tests.pipeline.conftest import aksk_env

TOKEN = "Tk8d2Jq0vNn4Wb6Zp1Xr3Ls5Y"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
DAY = date(2026, 6, 16)
# Local midnight of DAY in Asia/Shanghai; the simulated day runs from here.
DAY_START = datetime(2026, 6, 15, 16, 0, tzinfo=UTC)
DELIVERY_TIMEOUT_SECONDS = 90.0


@dataclass
class PushedWorld:
    emu: EmulatorHandle
    data_dir: Path
    receiver_url: str

    @property
    def inbox(self) -> Path:
        return inbox_path(self.data_dir)

    def advance_to(self, moment: datetime) -> int:
        """Move the data clock and wait until the receiver stored every event the platform sent so far."""
        before = self.emu.clock.ms()
        self.emu.set_now(moment)
        return self.wait_for_events(before)

    def wait_for_events(self, since_ms: int) -> int:
        expected = {e["trace_id"] for e in self.emu.enterprise.webhook_events(since_ms, self.emu.clock.ms())}
        deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
        with Inbox(self.inbox) as inbox:
            while not all(inbox.contains(trace) for trace in expected):
                if time.monotonic() > deadline:
                    missing = sum(not inbox.contains(t) for t in expected)
                    raise AssertionError(f"{missing} of {len(expected)} pushed events never reached the inbox")
                time.sleep(0.1)
        return len(expected)


@pytest.fixture
def pushed_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[PushedWorld]:
    data_dir = tmp_path / "data"
    url, stop = run_receiver_in_thread(data_dir, TOKEN, AES_KEY)
    try:
        with running_emulator(
            seed=11, scale="small", days=3, now=DAY_START, rate_limit="off",
            webhook_url=url, webhook_token=TOKEN, webhook_aes_key=AES_KEY, webhook_poll_seconds=0.05,
        ) as emu:
            for name, value in aksk_env(emu, data_dir).items():
                monkeypatch.setenv(name, value)
            monkeypatch.chdir(tmp_path)
            yield PushedWorld(emu, data_dir, url)
    finally:
        stop()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)

