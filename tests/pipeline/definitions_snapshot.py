"""The code location as reviewable data: every asset, check, job, schedule and sensor, sorted.

``python -m tests.pipeline.definitions_snapshot`` rewrites the committed snapshot after a reviewed
change to the definitions (``TMEET_UPDATE_DEFINITIONS_SNAPSHOT=1`` on the test does the same).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg

SNAPSHOT_PATH = Path(__file__).with_name("definitions_snapshot.json")
UPDATE_ENV = "TMEET_UPDATE_DEFINITIONS_SNAPSHOT"


def _partitions(spec: dg.AssetSpec) -> str | None:
    if spec.partitions_def is None:
        return None
    definition = spec.partitions_def
    if isinstance(definition, dg.TimeWindowPartitionsDefinition):
        return (f"{type(definition).__name__}(start={definition.start.date().isoformat()}, "
                f"cron={definition.cron_schedule!r}, timezone={definition.timezone!r}, "
                f"end_offset={definition.end_offset})")
    return type(definition).__name__


def describe(defs: dg.Definitions) -> dict[str, Any]:
    """What a reviewer must see change: names, groups, tags, partitions, checks, selections, triggers."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for spec in sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string()):
        assets[spec.key.to_user_string()] = {
            "group": spec.group_name,
            "tags": dict(sorted(spec.tags.items())),
            "kinds": sorted(spec.kinds),
            "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
            "partitions": _partitions(spec),
            "skippable": spec.skippable,
        }
    checks = sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys)
    jobs = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        selected = job.asset_layer.selected_asset_keys if job.asset_layer else set()
        jobs[job.name] = sorted(key.to_user_string() for key in selected)
    schedules = {
        s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone}
        for s in sorted(defs.schedules or [], key=lambda s: s.name)
    }
    sensors = {
        s.name: {"job": s.job_name if s.has_jobs else None, "interval": s.minimum_interval_seconds}
        for s in sorted(defs.sensors or [], key=lambda s: s.name)
    }
    return {"assets": assets, "checks": checks, "jobs": jobs, "schedules": schedules, "sensors": sensors}


def render(defs: dg.Definitions) -> str:
    return json.dumps(describe(defs), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> None:
    from pipelines.definitions import defs

    SNAPSHOT_PATH.write_text(render(defs()), encoding="utf-8")
    print(f"wrote {SNAPSHOT_PATH}")


if __name__ == "__main__":
    main()
