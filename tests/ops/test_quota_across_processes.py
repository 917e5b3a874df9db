"""One quota budget, hammered by several processes at once, never admits more than a window allows.

The same test runs on the host's SQLite file and on a PostgreSQL server (the scaled-out store):
each process counts its calls through its own limiter object on one store, the admitted stamps
are read back, and no window of the limit's length holds more calls than the limit.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from emulator.limits import LimitConfig
from emulator.testing import running_emulator
from resources.settings import ConfigError, Settings
from resources.tencent.errors import QuotaExhausted
from resources.tencent.quota import Limit, QuotaBudget, QuotaLimiter, quota_limiter
from resources.tencent.quota_postgres import PostgresQuotaLimiter, QuotaStoreUnavailable
from tests.ops.postgres import postgres_server
from tests.ports import free_port
from tests.pipeline.cli_runner import CliRun, run_cli
from tests.pipeline.conftest import FIRST, LAST, NOW, aksk_env

PROCESSES = 4
ATTEMPTS_PER_PROCESS = 12
WINDOW_SECONDS = 0.5
PER_WINDOW = 5
# Fewer than the attempts: the day's budget must also hold across processes, to the call.
DAILY_LIMIT = 40
APP = "app:310000001:300000001"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _limiter(store: str, daily_limit: int) -> QuotaBudget:
    if store.startswith("postgresql"):
        return PostgresQuotaLimiter(store, daily_limit)
    return QuotaLimiter(Path(store), daily_limit)


def _hammer(store: str, out: str, barrier: Any) -> None:
    limiter = _limiter(store, DAILY_LIMIT)
    limits = [Limit(f"{APP}:minute", PER_WINDOW, WINDOW_SECONDS)]
    admitted: list[float] = []
    refused = 0
    barrier.wait()
    for _ in range(ATTEMPTS_PER_PROCESS):
        try:
            admitted.append(limiter.acquire(limits, daily_key=APP).admitted_at)
        except QuotaExhausted:
            refused += 1
    Path(out).write_text(json.dumps({"admitted": admitted, "refused": refused}))


def _busiest_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps[i:] if t < start + window) for i, start in enumerate(stamps))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_processes_sharing_one_budget_stay_within_every_window(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = request.getfixturevalue("postgres_url") if backend == "postgres" else str(tmp_path / "quota.sqlite")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    outs = [tmp_path / f"worker-{i}.json" for i in range(PROCESSES)]
    workers = [ctx.Process(target=_hammer, args=(store, str(out), barrier)) for out in outs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(240)
    assert [w.exitcode for w in workers] == [0] * PROCESSES

    results = [json.loads(out.read_text()) for out in outs]
    stamps = [t for r in results for t in r["admitted"]]
    assert len(stamps) == DAILY_LIMIT, "the day's budget admitted more or fewer calls than it holds"
    assert sum(r["refused"] for r in results) == PROCESSES * ATTEMPTS_PER_PROCESS - DAILY_LIMIT
    assert _limiter(store, DAILY_LIMIT).daily_used(APP) == DAILY_LIMIT
    # Every process was admitted some calls: the store is shared, not won by whoever started first.
    assert all(r["admitted"] for r in results)
    assert _busiest_window(stamps, WINDOW_SECONDS) <= PER_WINDOW
    # The calls were paced rather than let through at once: 40 calls at 5 a window span 7 windows.
    assert max(stamps) - min(stamps) >= (DAILY_LIMIT // PER_WINDOW - 1) * WINDOW_SECONDS


def test_two_apps_on_one_database_keep_separate_budgets(postgres_url: str) -> None:
    limiter = PostgresQuotaLimiter(postgres_url, daily_limit=2)
    for app in ("app:1", "app:2"):
        for _ in range(2):
            limiter.acquire([Limit(f"{app}:minute", 100, 60)], daily_key=app)
    with pytest.raises(QuotaExhausted):
        limiter.acquire([Limit("app:1:minute", 100, 60)], daily_key="app:1")
    assert limiter.report()["app:2"]["calls_today"] == 2


def test_the_setting_picks_the_store(postgres_url: str, tmp_path: Path) -> None:
    local = quota_limiter(Settings.from_env({"TMEET_DATA_DIR": str(tmp_path)}, dotenv_path=None))
    assert isinstance(local, QuotaLimiter) and local.path == tmp_path / "state" / "quota.sqlite"
    settings = Settings.from_env({"TMEET_DATA_DIR": str(tmp_path), "TMEET_QUOTA_URL": postgres_url}, dotenv_path=None)
    assert "127.0.0.1" not in repr(settings), "the quota URL can hold a password: settings must not show it"
    assert isinstance(quota_limiter(settings), PostgresQuotaLimiter)
    with pytest.raises(ConfigError, match="TMEET_QUOTA_URL must be a postgresql://"):
        Settings.from_env({"TMEET_QUOTA_URL": "mysql://u:p@h/db"}, dotenv_path=None)


def test_an_unreachable_store_names_the_fix_and_hides_the_password() -> None:
    url = f"postgresql://tmeet:CanaryPassw0rd@127.0.0.1:{free_port()}/dagster"
    with pytest.raises(QuotaStoreUnavailable) as caught:
        PostgresQuotaLimiter(url, daily_limit=1)
    message = str(caught.value)
    assert "TMEET_QUOTA_URL" in message and "127.0.0.1" in message
    assert "CanaryPassw0rd" not in message and "tmeet" not in message.split("(")[0]


# The emulator's quotas, shrunk so that two small syncs press against them: a minute lasts 1.2 s.
# Each sync alone reaches the app limit in its bursts; two without a shared budget exceed it.
TIME_SCALE = 0.02
APP_LIMIT, CORP_LIMIT, ROUTE_LIMIT = 8, 5, 2
ROUTES = ("/v1/corp/records", "/v1/corp/user-roles")


def _two_hosts_sync(tmp_path: Path, quota_url: str | None) -> tuple[list[CliRun], dict[str, Any]]:
    """Two `tmeet-etl sync` processes with data directories of their own, as on two hosts."""
    limits = LimitConfig(per_minute=APP_LIMIT, corp_per_minute=CORP_LIMIT,
                         corp_route_per_minute=dict.fromkeys(ROUTES, ROUTE_LIMIT))
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="real", time_scale=TIME_SCALE,
                          limits=limits) as emu:
        envs = [{
            **aksk_env(emu, tmp_path / f"host-{i}" / "data"),
            "TMEET_QUOTA_WINDOW_SECONDS": str(60 * TIME_SCALE),
            "TMEET_PER_MINUTE_LIMIT": str(APP_LIMIT), "TMEET_CORP_PER_MINUTE_LIMIT": str(CORP_LIMIT),
            "TMEET_ROUTE_LIMITS": ",".join(f"{route}={ROUTE_LIMIT}" for route in ROUTES),
            **({"TMEET_QUOTA_URL": quota_url} if quota_url else {}),
        } for i in range(2)]
        for i in range(2):
            (tmp_path / f"host-{i}").mkdir()
        args = ["sync", "--start", FIRST.isoformat(), "--end", LAST.isoformat()]
        with ThreadPoolExecutor(2) as hosts:
            runs = list(hosts.map(lambda i: run_cli(args, envs[i], tmp_path / f"host-{i}"), range(2)))
        return runs, emu.stats()


@pytest.mark.timeout(900)
def test_two_syncs_on_two_hosts_share_the_quota_through_postgres(postgres_url: str, tmp_path: Path) -> None:
    runs, stats = _two_hosts_sync(tmp_path, postgres_url)
    assert [run.code for run in runs] == [0, 0], [run.text[-2000:] for run in runs]
    # Not one call was refused for quota, although the two syncs together pressed on the limits.
    assert stats["quota_rejections"] == {}
    app_peak = max(v.get("per_minute", 0) for k, v in stats["peaks"].items() if k.startswith("app:"))
    assert 0 < app_peak <= APP_LIMIT
    # Ten windows' worth of calls: unshared, the two syncs draw dozens of refusals (190310/190313).
    assert stats["total_calls"] > 10 * APP_LIMIT, "too few calls to press on the quota: the test proves nothing"
