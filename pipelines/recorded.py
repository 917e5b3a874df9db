"""Run a command-line task as a run of the deployment's instance, with the materializations it made.

`tmeet-etl rebuild` and the demo's webhook step write the lake without Dagster's assets; run
through here they show in the UI as runs of their own, like every other write of the lake.
"""

# No `from __future__ import annotations`: Dagster reads the op's context annotation at definition time.

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import dagster as dg
from dagster import OpExecutionContext

from pipelines.instance import cli_run_tags, deployment_instance

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
    with deployment_instance(data_dir) as instance:
        job.execute_in_process(instance=instance, tags=cli_run_tags(command), run_config=quiet, raise_on_error=False)
    if raised:
        raise raised[0]
    return outcome[0]
