"""A downstream asset whose upstream day was never pulled fails once, says what to run, writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from emulator.testing import EmulatorHandle
from tests.ops.services import PROJECT_ROOT
from tests.pipeline.conftest import LAST

# The production retry policy (two retries), shortened: the guard must make it irrelevant.
RETRYING = {"TMEET_STEP_RETRIES": "2", "TMEET_STEP_RETRY_DELAY": "1"}

MATERIALIZE_ALONE = """
import json, sys
import dagster as dg
from assets.participants import participants
from resources.dagster_resources import StorageResource, TencentMeetingResource

with dg.instance_for_test() as instance:
    outcome = dg.materialize(
        [participants], partition_key=sys.argv[1], instance=instance, raise_on_error=False,
        resources={"tencent": TencentMeetingResource(), "storage": StorageResource()},
    )
    events = outcome.all_events
    failure = next(e for e in events if e.is_step_failure)
    print(json.dumps({
        "success": outcome.success,
        "starts": sum(1 for e in events if e.event_type_value == "STEP_START"),
        "retries": sum(1 for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"),
        "message": failure.step_failure_data.error.message,
    }))
"""


def test_participants_without_meetings_fail_once_and_write_nothing(
    pipeline_env: tuple[EmulatorHandle, Path],
) -> None:
    _, data_dir = pipeline_env
    env = {**os.environ, **RETRYING, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-c", MATERIALIZE_ALONE, LAST.isoformat()], env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert not outcome["success"]
    assert (outcome["starts"], outcome["retries"]) == (1, 0), outcome
    message = outcome["message"]
    assert "meetings" in message and LAST.isoformat() in message, message
    assert f"tmeet-etl sync --start {LAST} --end {LAST}" in message, message
    assert "KeyError" not in message
    written = sorted(p for p in data_dir.rglob("*") if p.is_file()) if data_dir.exists() else []
    assert not [p for p in written if "lake" in p.parts or "raw" in p.parts], written
