"""One real sync against the emulator, shared by the report, lake and warehouse-compatibility tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from emulator.enterprise.generator import is_dormant
from emulator.testing import running_emulator
from pipelines.demo import environment
from pipelines.sync import run_sync
from tests.pipeline.conftest import aksk_env

DAYS = 9
SEED = 11


@dataclass(frozen=True)
class Synced:
    data_dir: Path
    first: date
    last: date
    # userids the emulator's enterprise holds as enabled but never meeting
    dormant_userids: frozenset[str]
    enabled_userids: frozenset[str]

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"


@pytest.fixture(scope="session")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    """Nine days (a weekend included) ending yesterday, synced and published like production."""
    # Noon in Beijing today: the synced days are the 30 days a licence review looks at.
    now = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0)
    last = (now + timedelta(hours=8)).date() - timedelta(days=1)
    first = last - timedelta(days=DAYS - 1)
    data_dir = tmp_path_factory.mktemp("synced") / "data"
    with running_emulator(seed=SEED, scale="small", days=DAYS + 3, now=now, rate_limit="off") as emu:
        env = aksk_env(emu, data_dir) | {"TMEET_TIMEZONE": "Asia/Shanghai"}
        with environment(env):
            summary = run_sync(first, last, include_snapshots=True)
        users = list(emu.enterprise.users)
    assert summary.success, summary.failures
    return Synced(
        data_dir=data_dir,
        first=first,
        last=last,
        dormant_userids=frozenset(u.userid for u in users if is_dormant(SEED, u)),
        enabled_userids=frozenset(u.userid for u in users if u.status == 1),
    )
