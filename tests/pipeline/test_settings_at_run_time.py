"""Settings are read when they are used: loading the code location captures none of them, except
the definition-shaping ones documented in assets.partitions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from resources.dagster_resources import build_resources
from resources.settings import DefinitionSettings

ROOT = Path(__file__).resolve().parents[2]
RUN_TIME_ZONE = "America/New_York"

# Loads the code location with no TMEET_* variable at all, then sets them, as a deployment's run
# worker would see them, and reports what each consumer uses.
CHILD = """
import json, os, sys
from pipelines.definitions import defs

loaded = defs()
os.environ.update({"TMEET_TIMEZONE": sys.argv[1], "TMEET_DATA_DIR": sys.argv[2],
                   "TMEET_MAX_WORKERS": "3", "TMEET_LOOKBACK_DAYS": "7", "TMEET_PUBLISH_INTERVAL_SECONDS": "45"})

from assets.partitions import account_timezone, daily_partitions
from pipelines.publish import publish_interval_seconds
from pipelines.schedules import lookback_days
from resources.warehouse import default_report_date

resources = loaded.resources
settings = resources["tencent"].settings()
print(json.dumps({
    "resource_timezone": settings.timezone,
    "resource_max_workers": settings.max_workers,
    "storage_root": str(resources["storage"].root()),
    "account_timezone": account_timezone(),
    "report_date": default_report_date().isoformat(),
    "lookback_days": lookback_days(),
    "publish_interval": publish_interval_seconds(),
    "partition_timezone": daily_partitions.timezone,
}))
"""


def test_loading_with_an_empty_environment_captures_nothing_used_at_run_time(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMEET_")}
    data_dir = tmp_path / "data"
    before = datetime.now(ZoneInfo(RUN_TIME_ZONE)).date()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, RUN_TIME_ZONE, str(data_dir)],
        env={**env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )
    after = datetime.now(ZoneInfo(RUN_TIME_ZONE)).date()
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["resource_timezone"] == RUN_TIME_ZONE and seen["account_timezone"] == RUN_TIME_ZONE
    assert seen["resource_max_workers"] == 3
    assert seen["storage_root"] == str(data_dir)
    assert seen["report_date"] in {before.isoformat(), after.isoformat()}
    assert (seen["lookback_days"], seen["publish_interval"]) == (7, 45)
    # The documented exception: a partitions definition is fixed when the code location loads.
    assert seen["partition_timezone"] == DefinitionSettings.model_fields["timezone"].default


def test_variables_bound_at_load_resolve_when_the_run_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TMEET_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("TMEET_MAX_WORKERS", "2")
    monkeypatch.setenv("TMEET_DATA_DIR", str(tmp_path / "at-load"))
    resources = build_resources()
    assert isinstance(resources["tencent"].timezone, dg.EnvVar)  # the UI shows it as env-backed
    monkeypatch.setenv("TMEET_TIMEZONE", RUN_TIME_ZONE)
    monkeypatch.setenv("TMEET_MAX_WORKERS", "6")
    monkeypatch.setenv("TMEET_DATA_DIR", str(tmp_path / "at-run"))
    with dg.build_resources(resources) as started:
        settings = started.tencent.settings()
        assert (settings.timezone, settings.max_workers) == (RUN_TIME_ZONE, 6)
        assert started.storage.root() == tmp_path / "at-run"


def test_a_wrong_value_bound_on_the_resource_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMEET_TIMEZONE", "Mars/Base")
    resources = build_resources()
    with dg.build_resources({"tencent": resources["tencent"]}) as started:
        with pytest.raises(ValueError, match="TMEET_TIMEZONE='Mars/Base' is not an IANA time zone"):
            started.tencent.settings()
