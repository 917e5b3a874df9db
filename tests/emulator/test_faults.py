"""Fault profiles: deterministic decisions, rates, and what a client sees on the wire."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from emulator.faults import FaultInjector
from emulator.oauth import OAUTH_PREFIX
from emulator.signing import signed_headers
from emulator.testing import EmulatorHandle, running_emulator
from tests.emulator.edge_fakes import ACCOUNT_APP, CALLBACK, fake_world, oauth_headers, write_apps

SEED = 11


def _decisions(profile: str, seed: int, n: int = 3000) -> list[str | None]:
    injector = FaultInjector(profile, seed, revoke_after=None)
    return [
        (fault.kind if (fault := injector.decide(f"/v1/records?page={i % 50}")) else None) for i in range(n)
    ]


def test_decisions_are_deterministic_by_seed() -> None:
    assert _decisions("hostile", SEED) == _decisions("hostile", SEED)
    assert _decisions("hostile", SEED) != _decisions("hostile", SEED + 1)


def test_none_profile_never_injects() -> None:
    assert set(_decisions("none", SEED)) == {None}


def test_flaky_is_about_five_percent_transient_failures() -> None:
    kinds = Counter(_decisions("flaky", SEED, 6000))
    rate = 1 - kinds[None] / 6000
    assert 0.03 < rate < 0.07
    assert set(kinds) - {None} == {"server_error", "slow", "drop"}


def test_hostile_adds_broken_bodies_bursts_and_9061() -> None:
    kinds = Counter(_decisions("hostile", SEED, 6000))
    assert set(kinds) - {None} == {"server_error", "slow", "drop", "truncate", "quota_burst", "too_often"}


def test_quota_burst_is_a_run_of_190310() -> None:
    injector = FaultInjector("hostile", SEED)
    seq = [injector.decide(f"/v1/records?i={i}") for i in range(3000)]
    start = next(i for i, f in enumerate(seq) if f and f.kind == "quota_burst")
    run = [f for f in seq[start:start + 3]]
    assert all(f is not None and f.kind == "quota_burst" and f.error and f.error.error_code == 190310 for f in run)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="none, flaky, hostile"):
        FaultInjector("chaos", 1)


def _first_target_with(profile: str, kind: str, revoke_after: int | None = None) -> str:
    """A request target whose first call gets ``kind`` under (profile, SEED)."""
    for i in range(5000):
        target = f"/v1/records?page={i}"
        fault = FaultInjector(profile, SEED, revoke_after=revoke_after).decide(target)
        if fault is not None and fault.kind == kind:
            return target
    raise AssertionError(f"no {kind} fault in 5000 targets")


def _clean_targets(profile: str, n: int, path: str = "/v1/history/meetings/x") -> list[str]:
    """``n`` request targets whose first call gets no fault under (profile, SEED)."""
    targets = []
    for i in range(5000):
        target = f"{path}?clean={i}"
        if FaultInjector(profile, SEED).decide(target) is None:
            targets.append(target)
        if len(targets) == n:
            return targets
    raise AssertionError("not enough fault-free targets")


def _get(emu: EmulatorHandle, target: str) -> httpx.Response:
    return httpx.get(emu.base_url + target, headers=signed_headers(emu.default_app, "GET", target), trust_env=False)


def test_flaky_server_error_and_drop_on_the_wire() -> None:
    with running_emulator(**fake_world(faults="flaky", seed=SEED, rate_limit="off")) as emu:
        error = _get(emu, _first_target_with("flaky", "server_error"))
        assert error.status_code == 500
        assert error.json()["error_info"]["error_code"] in (41, 960000)
        with pytest.raises(httpx.RemoteProtocolError):
            _get(emu, _first_target_with("flaky", "drop"))
        # The same request again gets the next decision of the seeded sequence.
        assert emu.stats()["faults"] == {"server_error": 1, "drop": 1}


def test_hostile_truncated_body_is_valid_http_with_broken_json() -> None:
    with running_emulator(**fake_world(faults="hostile", seed=SEED, rate_limit="off")) as emu:
        response = _get(emu, _first_target_with("hostile", "truncate"))
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)


def test_hostile_revokes_one_access_token_but_its_refresh_token_works(tmp_path: Path) -> None:
    apps = write_apps(tmp_path)
    world = fake_world(faults="hostile", seed=SEED, rate_limit="off", apps_path=apps, revoke_after=3)
    with running_emulator(**world) as emu:
        code = emu.authorize(ACCOUNT_APP, CALLBACK, "s")
        token = httpx.post(f"{emu.base_url}{OAUTH_PREFIX}/access_token", trust_env=False,
                           json={"sdk_id": ACCOUNT_APP, "secret": "acct-secret", "auth_code": code}).json()["data"]
        targets = _clean_targets("hostile", 5)
        answers = [httpx.get(emu.base_url + t, headers=oauth_headers(token), trust_env=False) for t in targets[:4]]
        codes = [r.json().get("error_info", {}).get("error_code") for r in answers]
        # The third API call revokes the token in use; it stays dead afterwards.
        assert codes == [None, None, 190303, 190303]
        fresh = httpx.post(f"{emu.base_url}{OAUTH_PREFIX}/refresh_token", trust_env=False,
                           json={"sdk_id": ACCOUNT_APP, "refresh_token": token["refresh_token"],
                                 "open_id": token["open_id"]}).json()["data"]
        response = httpx.get(emu.base_url + targets[4], headers=oauth_headers(fresh), trust_env=False)
        assert response.status_code == 200
        assert emu.stats()["faults"]["revoke_token"] == 1


def test_no_faults_on_admin_and_oauth_endpoints() -> None:
    with running_emulator(**fake_world(faults="hostile", seed=SEED)) as emu:
        for _ in range(150):
            assert emu.http.get(f"{emu.base_url}/_emulator/health").status_code == 200
        for _ in range(50):
            code = emu.authorize(emu.default_app.sdk_id, CALLBACK, "s")
            assert code
        assert emu.stats()["faults"] == {}
