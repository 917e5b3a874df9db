"""The whole pipeline against the emulator: the lake and the warehouse equal the ground truth."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from emulator.testing import EmulatorHandle
from emulator.truth import compute_truth
from pipelines.sync import run_sync
from resources.lake import Lake
from tests.pipeline.conftest import FIRST, LAST, TRUTH_TABLES, assert_tables_equal, pipeline_emulator


@pytest.mark.parametrize("faults", ["none", "flaky"])
def test_sync_equals_ground_truth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, faults: str) -> None:
    """Transient server errors, slow answers and dropped connections change nothing in what lands."""
    with pipeline_emulator(monkeypatch, tmp_path, faults=faults) as (emu, data_dir):
        summary = run_sync(FIRST, LAST)
        injected = emu.stats()["faults"]
        truth = compute_truth(emu.enterprise, start=FIRST, end=LAST)
    assert summary.success, summary.failures
    assert not summary.failed_checks
    if faults == "none":
        assert not any(injected.values()), injected
    else:
        assert sum(injected.values()) > 0, f"the {faults} profile injected no fault; the test would prove nothing"
    lake = Lake.from_data_dir(data_dir)
    for table in TRUTH_TABLES:
        assert len(truth[table]) > 0, f"the emulator produced no {table}; the test would prove nothing"
        assert_tables_equal(table, lake.read(table), truth[table])


def test_warehouse_holds_the_lake(pipeline_env: tuple[EmulatorHandle, Path]) -> None:
    _, data_dir = pipeline_env
    summary = run_sync(FIRST, LAST)
    assert summary.success, summary.failures
    lake = Lake.from_data_dir(data_dir)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        for table in TRUTH_TABLES:
            (count,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
            assert count == len(lake.read(table)), table
