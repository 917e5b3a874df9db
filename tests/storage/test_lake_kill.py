"""SIGKILL a lake writer at random points: the lake only ever holds complete old or new files."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from resources.lake import Lake
from tests.storage.helpers import EVENTS_SCHEMA, events_frame
from tests.storage.workers import rewrite_partition_forever

DAY = dt.date(2026, 3, 2)


def _kill_loop(tmp_path: Path, iterations: int) -> None:
    root = tmp_path / "lake"
    lake = Lake(root)
    old = events_frame(DAY, 1500, "old")
    new = events_frame(DAY, 4000, "new")
    lake.write_partition("events", EVENTS_SCHEMA, DAY, old)
    ctx = multiprocessing.get_context("spawn")
    rng = random.Random(20260302)
    outcomes: set[str] = set()
    for _ in range(iterations):
        ready = ctx.Event()
        child = ctx.Process(target=rewrite_partition_forever, args=(str(root), DAY.isoformat(), ready))
        child.start()
        assert ready.wait(30), "writer process did not start"
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL

        for path in root.rglob("*.parquet"):
            data = path.read_bytes()
            assert data[:4] == b"PAR1" and data[-4:] == b"PAR1", f"torn file {path}"
            pq.read_metadata(path)
        back = lake.read("events")
        version = set(back["version"])
        assert len(version) == 1
        expected = old if version == {"old"} else new
        assert back["event_id"].tolist() == expected["event_id"].tolist()
        outcomes.add(version.pop())

    # Debris is swept only once it is past the grace period and nobody holds its lock.
    leftovers = [p for p in root.rglob("*.inprogress")]
    assert lake.sweep(grace_seconds=3600) == []
    removed = lake.sweep(grace_seconds=0)
    assert sorted(removed) == sorted(leftovers)
    assert list(root.rglob("*.inprogress")) == []
    # Kills must land mid-write, or this test proves nothing.
    assert leftovers, "no kill interrupted a write"
    print(f"outcomes={outcomes} debris={len(leftovers)}")


def test_sigkilled_writer_leaves_old_or_new_partition(tmp_path: Path) -> None:
    _kill_loop(tmp_path, iterations=20)


@pytest.mark.soak
def test_sigkilled_writer_soak(tmp_path: Path) -> None:
    _kill_loop(tmp_path, iterations=200)


def test_sweep_never_removes_a_live_writers_file(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    with lake.partition_writer("events", EVENTS_SCHEMA, DAY) as writer:
        writer.write(events_frame(DAY, 10))
        live = list((tmp_path / "lake").rglob("*.inprogress"))
        assert len(live) == 1
        assert lake.sweep(grace_seconds=0) == []
        assert live[0].exists()
    assert len(lake.read("events")) == 10
