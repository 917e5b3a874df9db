"""Command-line runs keep the instance's SQLite files open: no checkpoint and WAL delete per stored event."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.events.log import EventLogEntry

from pipelines.instance import INSTANCE_CONFIG
from pipelines.instance_sqlite import quick_instance_commits


def _store_events(instance: dg.DagsterInstance, run_id: str, count: int) -> None:
    for i in range(count):
        event = DagsterEvent(DagsterEventType.ENGINE_EVENT.value, "job", event_specific_data=EngineEventData())
        instance.event_log_storage.store_event(EventLogEntry(
            error_info=None, level=20, user_message=f"event {i}", run_id=run_id, timestamp=time.time(),
            step_key=None, job_name="job", dagster_event=event))


def test_events_are_stored_without_a_checkpoint_each_and_all_survive(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
    run_id = str(uuid.uuid4())
    shard_wal = home / "history" / "runs" / f"{run_id}.db-wal"
    with quick_instance_commits(home), dg.DagsterInstance.from_config(str(home)) as instance:
        _store_events(instance, run_id, 5)
        # Dagster closed its connection after each event; ours keeps the log, so no checkpoint ran.
        assert shard_wal.exists()
    assert not shard_wal.exists(), "the held connections are closed (and the log checkpointed) on exit"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert [e.user_message for e in instance.all_logs(run_id)] == [f"event {i}" for i in range(5)]
        # Without the context, Dagster's own behaviour is unchanged: the last close checkpoints.
        _store_events(instance, run_id, 1)
        assert not shard_wal.exists()
