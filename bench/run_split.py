"""Where a ``tmeet-etl sync`` process spent its wall time, read back from the run's Dagster event log.

The process is timed from outside (start and exit); the event log dates the run's first and last
events and each step's start and end. Between the two: the time before the run (interpreter,
imports, opening the instance, building the job), each step, Dagster's work between steps, and
the time after the run (summary, exit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

STEP_ENDS = ("STEP_SUCCESS", "STEP_FAILURE")


@dataclass
class RunSplit:
    """Seconds of one sync process, split by phase; ``events`` is how many events the run stored."""

    events: int
    before_run_s: float
    run_s: float
    after_run_s: float
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def between_steps_s(self) -> float:
        """Run time outside every step: launching the run, Dagster's hand-over from one step to the next."""
        return max(self.run_s - sum(self.steps.values()), 0.0)

    def describe(self) -> str:
        steps = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.steps.items())
        return (f"before the run {self.before_run_s:.1f} s (imports, instance, job); steps: {steps} s; "
                f"Dagster between steps {self.between_steps_s:.1f} s; after the run {self.after_run_s:.1f} s; "
                f"{self.events} events stored")


def run_split(data_dir: Path, started_at: float, ended_at: float) -> RunSplit:
    """The split of the newest run recorded under ``data_dir``; ``started_at``/``ended_at`` are the
    process's ``time.time()`` at launch and at exit."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            raise RuntimeError(f"no run recorded under {data_dir}")
        entries = instance.all_logs(runs[0].run_id)
    if not entries:
        raise RuntimeError(f"run {runs[0].run_id} stored no events")
    first, last = entries[0].timestamp, entries[-1].timestamp
    started: dict[str, float] = {}
    steps: dict[str, float] = {}
    for entry in entries:
        kind, step = entry.dagster_event_type, entry.step_key
        if kind is None or step is None:
            continue
        if kind.value == "STEP_START":
            started[step] = entry.timestamp
        elif kind.value in STEP_ENDS and step in started:
            steps[step] = steps.get(step, 0.0) + entry.timestamp - started.pop(step)
    return RunSplit(len(entries), max(first - started_at, 0.0), last - first, max(ended_at - last, 0.0), steps)


def median_split(splits: list[RunSplit]) -> RunSplit:
    """Phase by phase, the median of several runs of the same slice."""
    from bench.report import median

    names = [name for name in splits[0].steps]
    return RunSplit(
        events=int(median([s.events for s in splits])),
        before_run_s=median([s.before_run_s for s in splits]),
        run_s=median([s.run_s for s in splits]),
        after_run_s=median([s.after_run_s for s in splits]),
        steps={name: median([s.steps.get(name, 0.0) for s in splits]) for name in names},
    )
