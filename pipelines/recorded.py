"""Run a command-line task as a run of the deployment's instance, with the materializations it made.

`tmeet-etl rebuild` and the demo's webhook step write the lake without Dagster's assets; run
through here they show in the UI as runs of their own, like every other write of the lake.
"""

# No `from __future__ import annotations`: Dagster reads the op's context annotation at definition time.

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
from dagster import OpExecutionContext

from pipelines.instance import cli_run_tags, dagster_home, deployment_instance
from pipelines.instance_sqlite import quick_instance_commits
from pipelines.run_queue import run_within_limits

T = TypeVar("T")


def run_recorded(
    command: str,
    work: Callable[[], T],
    materializations: Callable[[T], Iterable[dg.AssetMaterialization]],
    data_dir: Path | None = None,
) -> T:
    """Do ``work`` inside a one-step run named after ``command``; its exceptions reach the caller unchanged."""
    outcome: list[T] = []
    raised: list[BaseException] = []

    @dg.op(name=command.replace("-", "_").replace(" ", "_"))
    def step(context: OpExecutionContext) -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            raised.append(exc)
            raise
        for event in materializations(outcome[0]):
            context.log_event(event)

    job = dg.GraphDefinition(name=f"tmeet_etl_{step.name}", node_defs=[step]).to_job(
        description=f"`tmeet-etl {command}` from the command line",
    )
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    tags = cli_run_tags(command)
    with quick_instance_commits(dagster_home(data_dir)), deployment_instance(data_dir) as instance:
        run_within_limits(instance, tags, lambda run_id: job.execute_in_process(
            instance=instance, tags=tags, run_config=quiet, raise_on_error=False, run_id=run_id))
    if raised:
        raise raised[0]
    return outcome[0]


def materialize_as(
    job_name: str,
    assets: Sequence[dg.AssetsDefinition],
    *,
    selection: dg.AssetSelection,
    resources: Mapping[str, object],
    instance: dg.DagsterInstance,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> dg.ExecuteInProcessResult:
    """``dg.materialize`` under a job name the UI can show (it would say ``__ephemeral_asset_job__``),
    started once the instance's run limits leave room for it."""
    defs = dg.Definitions(
        jobs=[dg.define_asset_job(job_name, selection=selection)], assets=list(assets), resources=dict(resources),
    )
    job = defs.resolve_job_def(job_name)
    return run_within_limits(instance, tags, lambda run_id: job.execute_in_process(
        run_config=dict(run_config), instance=instance, raise_on_error=False, tags=dict(tags), run_id=run_id,
    ))
