"""Parallel processes share one limiter: the emulator never sees the quota exceeded."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator.limits import LimitConfig
from emulator.testing import running_emulator
from resources.settings import Settings
from resources.tencent.client import TencentMeetingClient
from tests.client.conftest import CANARY_SECRET_KEY, write_apps

SCALE = 0.02  # a platform minute lasts 1.2 s
WINDOW = 60 * SCALE
PER_MINUTE, CORP, ROUTE = 30, 20, 5
CALLS_USERS, CALLS_ROLES = 12, 3


def _worker(env: dict[str, str], barrier: Any) -> None:
    client = TencentMeetingClient(Settings.from_env(env))
    barrier.wait()
    for i in range(CALLS_USERS):
        client.get("GET /v1/corp/users", "/v1/corp/users", {**client.operator, "page_size": 1, "pos": i})
        if i < CALLS_ROLES:
            client.get("GET /v1/corp/user-roles", "/v1/corp/user-roles", {**client.operator, "page": 1})
    client.close()


def test_parallel_processes_stay_under_every_limit(tmp_path: Path) -> None:
    apps = write_apps(tmp_path, "http://127.0.0.1:9/cb")
    limits = LimitConfig(per_minute=PER_MINUTE, corp_per_minute=CORP,
                         corp_route_per_minute={"/v1/corp/records": ROUTE, "/v1/corp/user-roles": ROUTE})
    with running_emulator(apps_path=str(apps), scale="small", now=datetime(2026, 3, 1, tzinfo=UTC),
                          rate_limit="real", time_scale=SCALE, limits=limits) as emu:
        from emulator.app import super_admin_of

        env = {
            "TMEET_API_BASE_URL": emu.base_url, "TMEET_OAUTH_BASE_URL": emu.base_url, "TMEET_AUTH_MODE": "aksk",
            "TMEET_APP_ID": "310000001", "TMEET_SECRET_ID": "AKIDcanary0001", "TMEET_SECRET_KEY": CANARY_SECRET_KEY,
            "TMEET_SDK_ID": "300000001", "TMEET_OPERATOR_ID": super_admin_of(emu.enterprise),
            "TMEET_DATA_DIR": str(tmp_path / "data"), "TMEET_QUOTA_WINDOW_SECONDS": str(WINDOW),
            "TMEET_PER_MINUTE_LIMIT": str(PER_MINUTE), "TMEET_CORP_PER_MINUTE_LIMIT": str(CORP),
            "TMEET_ROUTE_LIMITS": f"/v1/corp/user-roles={ROUTE},/v1/corp/records={ROUTE}",
        }
        emu.reset_stats()
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(4)
        procs = [ctx.Process(target=_worker, args=(env, barrier)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert all(p.exitcode == 0 for p in procs)
        stats = emu.stats()
    assert stats["quota_rejections"] == {}
    assert stats["calls"]["GET /v1/corp/users"] == 4 * CALLS_USERS
    assert stats["calls"]["GET /v1/corp/user-roles"] == 4 * CALLS_ROLES
    peaks = stats["peaks"]
    route_peak = max(v.get("per_minute", 0) for k, v in peaks.items() if k.endswith("/v1/corp/user-roles"))
    corp_peak = max(v.get("per_minute", 0) for k, v in peaks.items() if k.startswith("corp:") and k.count(":") == 1)
    # More calls than one window allows were sent at once, yet no window ever held more than its limit.
    assert 0 < route_peak <= ROUTE < 4 * CALLS_ROLES
    assert 0 < corp_peak <= CORP < 4 * (CALLS_USERS + CALLS_ROLES)
    app_peak = max(v.get("per_minute", 0) for k, v in peaks.items() if not k.startswith("corp:"))
    assert 0 < app_peak <= PER_MINUTE
