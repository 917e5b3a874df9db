"""The bench's split of a sync process into phases, read back from the run's own event log."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench.emulator_process import EmulatorProcess
from bench.run_split import median_split, run_split
from bench.sync_runner import run_sync

DAY = date(2026, 11, 17)


def test_a_sync_is_split_into_its_steps_and_the_time_around_them(tmp_path: Path) -> None:
    with EmulatorProcess(scale="small", days=3) as emu:
        sync = run_sync(emu, tmp_path / "data", DAY, DAY)
    assert sync.returncode == 0, sync.output
    split = run_split(tmp_path / "data", sync.started_at, sync.ended_at)
    assert {"directory", "meetings_asset", "participants", "warehouse"} <= set(split.steps)
    assert all(seconds > 0 for seconds in split.steps.values())
    assert split.events > 2 * len(split.steps)  # at least each step's start and end
    # The phases tile the process's wall time (clocks read in two processes: a little slack).
    total = split.before_run_s + split.run_s + split.after_run_s
    assert abs(total - sync.seconds) < 0.05 * sync.seconds + 1.0
    assert sum(split.steps.values()) <= split.run_s
    assert sync.cpu_s > 0
    assert median_split([split, split]).steps == split.steps
