"""SIGKILL `tmeet-etl sync` at random points: the lake stays readable and the next run repairs it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from emulator.testing import EmulatorHandle, running_emulator
from emulator.truth import compute_truth
from resources.atomic_files import TEMP_SUFFIX
from resources.lake import Lake
from tests.pipeline.conftest import FIRST, LAST, NOW, TRUTH_TABLES, aksk_env, assert_tables_equal

KILL_SEED = 20260617
# Kills land anywhere between a sync's first API call and its end (publish included), as fractions
# of how long a whole sync takes on this machine now: start-up and load vary too much to guess.
KILL_AT_FRACTION = (0.05, 0.95)
SWEEP_AGE_SECONDS = 2 * 3600
PROGRESS_TIMEOUT_SECONDS = 180


def tmeet_etl() -> list[str]:
    """The installed console script, as an operator would run it."""
    script = Path(sys.executable).parent / "tmeet-etl"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]


def start_sync(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [*tmeet_etl(), "sync", "--start", FIRST.isoformat(), "--end", LAST.isoformat()],
            env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
        )


def assert_readable(data_dir: Path) -> None:
    """Every committed Parquet file is whole and the published warehouse opens."""
    for path in (data_dir / "lake").rglob("*.parquet"):
        with path.open("rb") as handle:
            handle.seek(-4, os.SEEK_END)
            assert handle.read() == b"PAR1", f"{path} has no Parquet footer"
        pq.read_metadata(path)
        pq.read_table(path)
    warehouse = data_dir / "warehouse.duckdb"
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            con.execute("SELECT count(*) FROM meetings").fetchone()


def debris(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob(f".*{TEMP_SUFFIX}"))


WRITER = """
import sys, time
from pathlib import Path
from resources.lake import Lake
from assets.schemas import SCHEMAS
lake = Lake.from_data_dir(Path(sys.argv[1]))
with lake.partition_writer("meetings", SCHEMAS["meetings"], sys.argv[2]) as writer:
    writer.write(lake.read("meetings", schema=SCHEMAS["meetings"]))
    print("writing", flush=True)
    time.sleep(120)
"""


def kill_a_writer_mid_partition(data_dir: Path) -> None:
    """A lake writer killed with its partition half-written: the runs' writes are too quick to hit reliably."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), FIRST.isoformat()],
                              stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    assert writer.stdout is not None
    assert writer.stdout.readline() == b"writing\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()


def api_calls(emu: EmulatorHandle) -> int:
    return sum(emu.stats()["calls"].values())


def wait_for_first_call(emu: EmulatorHandle, process: subprocess.Popen[bytes], before: int) -> float:
    """When the sync reached the API (it has started up); fails if it never does."""
    deadline = time.monotonic() + PROGRESS_TIMEOUT_SECONDS
    while api_calls(emu) == before:
        assert process.poll() is None, f"the sync exited ({process.returncode}) before its first API call"
        assert time.monotonic() < deadline, f"no API call within {PROGRESS_TIMEOUT_SECONDS} s of starting the sync"
        time.sleep(0.02)
    return time.monotonic()


def sync_span(emu: EmulatorHandle, tmp_path: Path) -> float:
    """Seconds from a whole sync's first API call to its end, measured on a scratch data directory."""
    scratch = tmp_path / "reference"
    scratch.mkdir()
    env = {**os.environ, **aksk_env(emu, scratch / "data")}
    log = scratch / "sync.log"
    process = start_sync(env, scratch, log)
    first_call = wait_for_first_call(emu, process, api_calls(emu))
    assert process.wait(timeout=PROGRESS_TIMEOUT_SECONDS * 2) == 0, log.read_text(errors="replace")[-3000:]
    return time.monotonic() - first_call


def kill_and_recover(emu: EmulatorHandle, data_dir: Path, tmp_path: Path, kills: int) -> None:
    env = {**os.environ, **aksk_env(emu, data_dir)}
    log = tmp_path / "sync.log"
    rng = random.Random(KILL_SEED)
    span = sync_span(emu, tmp_path)
    killed_mid_run = 0
    for _ in range(kills):
        before = api_calls(emu)
        process = start_sync(env, tmp_path, log)
        first_call = wait_for_first_call(emu, process, before)
        time.sleep(max(0.0, first_call + rng.uniform(*KILL_AT_FRACTION) * span - time.monotonic()))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        process.wait(timeout=60)
        assert_readable(data_dir)
        # Debris never looks like data: hidden names that no *.parquet glob or reader matches.
        assert all(p.name.startswith(".") and not p.name.endswith(".parquet") for p in debris(data_dir))
    assert killed_mid_run >= kills // 2, "most runs finished before the kill; the test would prove little"

    kill_a_writer_mid_partition(data_dir)
    assert debris(data_dir), "the killed writer left no temp file; the sweep below would prove nothing"
    assert_readable(data_dir)
    # Age whatever the kills left past the sweep's grace period; the next run must clear it.
    aged = time.time() - SWEEP_AGE_SECONDS
    for path in debris(data_dir):
        os.utime(path, (aged, aged))
    final = start_sync(env, tmp_path, log)
    assert final.wait(timeout=120) == 0, log.read_text(errors="replace")[-3000:]
    assert debris(data_dir) == []
    assert_readable(data_dir)
    truth = compute_truth(emu.enterprise, start=FIRST, end=LAST)
    lake = Lake.from_data_dir(data_dir)
    for table in TRUTH_TABLES:
        assert_tables_equal(table, lake.read(table), truth[table])
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        for table in TRUTH_TABLES:
            (count,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
            assert count == len(truth[table]), table


@pytest.mark.timeout(900)
def test_killed_syncs_leave_a_readable_lake_and_a_rerun_repairs_it(tmp_path: Path) -> None:
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off") as emu:
        kill_and_recover(emu, tmp_path / "data", tmp_path, kills=5)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_many_killed_syncs_soak(tmp_path: Path) -> None:
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off") as emu:
        kill_and_recover(emu, tmp_path / "data", tmp_path, kills=60)
