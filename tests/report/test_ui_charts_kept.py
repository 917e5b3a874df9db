"""The Dagster UI's charts are drawn once per change of what they show, not in every publish."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.report.conftest import Synced

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A publish and the warehouse's UI metadata in a fresh interpreter, as a run's last step makes them:
# what it shows, and whether it had to load the chart renderer to show it.
PUBLISH_AND_DESCRIBE = """
import json, sys
from resources.dagster_resources import StorageResource
from assets.warehouse import publish, usage_metadata
storage = StorageResource(data_dir=sys.argv[1])
published = publish(storage)
charts = usage_metadata(storage, published)["usage_charts"].value
print(json.dumps({"charts": charts, "altair_imported": "altair" in sys.modules,
                  "reloaded": {table: list(days) for table, days in published.reloaded.items()}}))
"""


def publish_and_describe(data_dir: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TMEET_TIMEZONE": "Asia/Shanghai"}
    done = subprocess.run([sys.executable, "-c", PUBLISH_AND_DESCRIBE, str(data_dir)], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def pngs(markdown: str) -> list[bytes]:
    return [base64.b64decode(image)
            for image in re.findall(r"!\[[^\]]+\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)]


def own_copy(synced: Synced, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(synced.data_dir, data_dir, ignore=shutil.ignore_patterns("*.lock"))
    return data_dir


def test_a_republish_that_changed_nothing_reuses_the_charts_without_loading_the_renderer(
    synced: Synced, tmp_path: Path
) -> None:
    data_dir = own_copy(synced, tmp_path)
    kept = json.loads((data_dir / "report" / "ui_charts.json").read_text(encoding="utf-8"))
    assert len(pngs(kept["markdown"])) == 2

    # The copy's new inodes make the publish reload every table; the data the charts show is the same.
    again = publish_and_describe(data_dir)

    assert again["charts"] == kept["markdown"]
    assert again["altair_imported"] is False


def test_the_charts_are_drawn_again_when_the_data_they_show_changed(synced: Synced, tmp_path: Path) -> None:
    data_dir = own_copy(synced, tmp_path)
    kept_file = data_dir / "report" / "ui_charts.json"
    kept = json.loads(kept_file.read_text(encoding="utf-8"))
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        (busiest,) = con.execute(
            "SELECT business_date FROM meetings GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()
    # The busiest day's meetings leave the lake: its bar must go from the attendee-hours chart.
    for table in ("meetings", "participant_sessions", "attendance"):
        shutil.rmtree(data_dir / "lake" / table / f"date={busiest.isoformat()}")

    again = publish_and_describe(data_dir)

    assert "meetings" in again["reloaded"]
    assert again["altair_imported"] is True
    assert again["charts"] != kept["markdown"]
    drawn = pngs(str(again["charts"]))
    assert len(drawn) == 2 and all(png[:8] == PNG_MAGIC for png in drawn)
    assert json.loads(kept_file.read_text(encoding="utf-8"))["markdown"] == again["charts"]
