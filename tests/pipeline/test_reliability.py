"""The pipeline under injected faults, real (time-scaled) quota limits and re-runs equals the truth."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from emulator.limits import LimitConfig
from emulator.testing import EmulatorHandle, running_emulator
from emulator.truth import compute_truth
from pipelines.sync import run_sync
from resources.lake import Lake
from tests.pipeline.conftest import FIRST, LAST, NOW, TRUTH_TABLES, aksk_env, assert_tables_equal

# Seeds whose fault rolls land on this small enterprise's few dozen calls (checked in each test).
FLAKY_SEED = 5
HOSTILE_SEED = 11
# A minute lasts 0.6 s: windows pass quickly, but every limit is still enforced by the emulator.
TIME_SCALE = 0.01
# Logs of the runs themselves: new files per run by design, not part of the data.
RUN_LOGS = ("sync_log",)


@contextmanager
def pipeline_against(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **emulator: Any
) -> Iterator[tuple[EmulatorHandle, Path]]:
    """A frozen-clock emulator with ``emulator`` overrides; the pipeline's env points at it."""
    config: dict[str, Any] = {"seed": 11, "scale": "small", "days": 6, "now": NOW, "rate_limit": "off",
                              "time_scale": TIME_SCALE, **emulator}
    with running_emulator(**config) as emu:
        data_dir = tmp_path / "data"
        for name, value in aksk_env(emu, data_dir).items():
            monkeypatch.setenv(name, value)
        # The client's windows match the emulator's scaled minute, so a quota wait lasts one window.
        monkeypatch.setenv("TMEET_QUOTA_WINDOW_SECONDS", str(60 * config["time_scale"]))
        monkeypatch.setenv("TMEET_RETRY_MAX_WAIT", "0.5")
        monkeypatch.chdir(tmp_path)
        yield emu, data_dir


def assert_lake_equals_truth(emu: EmulatorHandle, data_dir: Path) -> None:
    truth = compute_truth(emu.enterprise, start=FIRST, end=LAST)
    lake = Lake.from_data_dir(data_dir)
    for table in TRUTH_TABLES:
        assert len(truth[table]) > 0, f"the emulator produced no {table}; the test would prove nothing"
        assert_tables_equal(table, lake.read(table), truth[table])


def skipped_resources(data_dir: Path) -> list[dict[str, Any]]:
    log = Lake.from_data_dir(data_dir).read("sync_log")
    assert log["skipped"].sum() == sum(len(json.loads(r)) for r in log["skip_reasons"])
    return [reason for reasons in log["skip_reasons"] for reason in json.loads(reasons)]


def lake_digests(data_dir: Path) -> dict[str, str]:
    """Every committed lake file (run logs aside) by relative path, with its SHA-256."""
    root = data_dir / "lake"
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.parquet"))
        if path.relative_to(root).parts[0] not in RUN_LOGS
    }


def warehouse_counts(data_dir: Path) -> dict[str, int]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        tables = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
            for t in sorted(tables) if t not in RUN_LOGS
        }


def test_flaky_platform_gives_the_exact_truth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pipeline_against(monkeypatch, tmp_path, seed=FLAKY_SEED, faults="flaky") as (emu, data_dir):
        summary = run_sync(FIRST, LAST)
        assert summary.success, summary.failures
        assert not summary.failed_checks
        injected = emu.stats()["faults"]
        assert injected.get("server_error", 0) >= 1, f"no transient fault was injected: {injected}"
        assert_lake_equals_truth(emu, data_dir)
        assert skipped_resources(data_dir) == []


def test_hostile_platform_gives_the_truth_and_records_every_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pipeline_against(monkeypatch, tmp_path, seed=HOSTILE_SEED, faults="hostile") as (emu, data_dir):
        summary = run_sync(FIRST, LAST)
        assert summary.success, summary.failures
        stats = emu.stats()
        assert stats["faults"].get("truncate", 0) >= 1 and stats["faults"].get("too_often", 0) >= 1, stats["faults"]
        # The truth comes from the same hostile enterprise: its deleted meetings have no sessions.
        assert_lake_equals_truth(emu, data_dir)
        deleted = sorted(
            (inst.meeting_id, inst.sub_meeting_id)
            for day in emu.enterprise.covered_days(FIRST, LAST)
            for inst in emu.enterprise.day(day)
            if inst.deleted and inst.held and emu.enterprise.state(inst, emu.enterprise.now_ms()) == "ended"
        )
        assert deleted, "the hostile enterprise deleted no meeting; the test would prove nothing"
        skips = skipped_resources(data_dir)
        assert all(s["code"] == 9003 for s in skips), skips
        expected = sorted(f"meeting {m}/{s}" if s else f"meeting {m}" for m, s in deleted)
        assert sorted(s["resource"] for s in skips) == expected
        assert stats["error_codes"].get("9003", 0) == len(deleted)


@pytest.mark.parametrize("who_limits", ["client", "platform"])
def test_real_quota_limits_give_the_same_tables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, who_limits: str
) -> None:
    # Both limits are tighter than the platform's so a run of this size meets them several times:
    # either the client paces itself, or it believes in 300/min and the platform answers 190310.
    # The platform's is low enough (10 calls a second) that even a sync slowed by a loaded machine
    # meets it.
    limits = LimitConfig(per_minute=300 if who_limits == "client" else 6)
    with pipeline_against(monkeypatch, tmp_path, rate_limit="real", limits=limits) as (emu, data_dir):
        monkeypatch.setenv("TMEET_PER_MINUTE_LIMIT", "20" if who_limits == "client" else "300")
        summary = run_sync(FIRST, LAST)
        assert summary.success, summary.failures
        assert not summary.failed_checks
        assert_lake_equals_truth(emu, data_dir)
        log = Lake.from_data_dir(data_dir).read("sync_log")
        assert log["quota_waits"].sum() > 0, "the client never waited for a window; the test would prove nothing"
        rejections = emu.stats()["quota_rejections"]
        if who_limits == "platform":
            assert rejections, "the platform never rejected a call; the test would prove nothing"
        else:
            assert not rejections, rejections


def test_rerunning_any_partition_changes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pipeline_against(monkeypatch, tmp_path) as (emu, data_dir):
        assert run_sync(FIRST, LAST).success
        files, counts = lake_digests(data_dir), warehouse_counts(data_dir)
        assert any(name.startswith("meetings/") for name in files)

        one_day = date(2026, 6, 15)
        assert run_sync(one_day, one_day).success
        assert lake_digests(data_dir) == files
        assert warehouse_counts(data_dir) == counts

        assert run_sync(FIRST, LAST).success
        assert lake_digests(data_dir) == files
        assert warehouse_counts(data_dir) == counts
        assert_lake_equals_truth(emu, data_dir)
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
            (runs,) = con.execute("SELECT count(DISTINCT run_id) FROM sync_log").fetchone()
        assert runs == 3
