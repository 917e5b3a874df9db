"""`tmeet-etl rebuild`: the lake re-derived from the raw archive, with the emulator gone, equals the truth."""

from __future__ import annotations

import hashlib
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from assets import registry
from emulator.testing import running_emulator
from emulator.truth import compute_truth
from pipelines.cli import main
from pipelines.sync import run_sync
from resources.lake import Lake
from tests.pipeline.conftest import FIRST, LAST, NOW, TRUTH_TABLES, aksk_env, assert_tables_equal

SNAPSHOT_TABLES = registry.tables(kind="snapshot")


def digests(root: Path) -> dict[str, str]:
    """Every committed Parquet file under ``root`` except the run logs, with its SHA-256."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
        if p.relative_to(root).parts[0] != "sync_log"
    }


def counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
                for t in (*TRUTH_TABLES, *SNAPSHOT_TABLES)}


def test_rebuild_without_the_platform_gives_the_same_lake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off") as emu:
        for name, value in aksk_env(emu, data_dir).items():
            monkeypatch.setenv(name, value)
        summary = run_sync(FIRST, LAST, include_snapshots=True)
        assert summary.success, summary.failures
        # A second snapshot the same day (files are named by the second they were taken).
        time.sleep(1.1)
        assert run_sync(LAST, LAST, include_snapshots=True).success
        truth = compute_truth(emu.enterprise, start=FIRST, end=LAST)
    lake_root = data_dir / "lake"
    synced, synced_counts = digests(lake_root), counts(data_dir / "warehouse.duckdb")
    assert len([name for name in synced if name.startswith("upcoming_meetings/")]) == 2

    # The emulator is stopped: any API call would fail to connect.
    shutil.rmtree(lake_root)
    (data_dir / "warehouse.duckdb").unlink()
    assert main(["rebuild"]) == 0

    lake = Lake.from_data_dir(data_dir)
    for table in TRUTH_TABLES:
        assert len(truth[table]) > 0, f"the emulator produced no {table}; the test would prove nothing"
        assert_tables_equal(table, lake.read(table), truth[table])
    assert digests(lake_root) == synced
    assert counts(data_dir / "warehouse.duckdb") == synced_counts


def test_rebuild_of_chosen_tables_and_dates_touches_nothing_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off") as emu:
        for name, value in aksk_env(emu, data_dir).items():
            monkeypatch.setenv(name, value)
        assert run_sync(FIRST, LAST).success
        emu.reset_stats()
        lake = Lake.from_data_dir(data_dir)
        day = date(2026, 6, 15)
        target = lake.partition_path("meetings", day)
        kept = lake.partition_path("participant_sessions", day)
        other_day = lake.partition_path("meetings", date(2026, 6, 16))
        before = {p: p.read_bytes() for p in (target, kept, other_day)}
        target.unlink()
        kept.unlink()
        other_day.unlink()

        assert main(["rebuild", "--start", day.isoformat(), "--tables", "meetings", "--no-publish"]) == 0

        assert emu.stats()["total_calls"] == 0
        assert target.read_bytes() == before[target]
        assert not kept.exists() and not other_day.exists()
        assert main(["rebuild", "--tables", "no_such_table"]) == 2
