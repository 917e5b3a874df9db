"""The Celery deployment's configuration is valid for the real executor, without a broker or workers."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml
from dagster_celery.cli import get_validated_config
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app

from pipelines.celery_definitions import defs
from tests.ops.services import PROJECT_ROOT

RUN_CONFIG = PROJECT_ROOT / "deploy" / "executors" / "celery.yaml"
BROKER = "redis://broker.invalid:6379/0"
BACKEND = "redis://broker.invalid:6379/1"


@pytest.fixture
def broker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_CELERY_BROKER_URL", BROKER)
    monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", BACKEND)


def test_every_job_of_the_celery_location_runs_on_celery(broker_env: None) -> None:
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    jobs = [definitions.resolve_job_def(name) for name in ("daily_job", "recordings_lookback_job", "snapshot_job",
                                                           "webhook_job", "publish_job")]
    assert {job.executor_def.name for job in jobs} == {"celery"}


def test_the_run_config_validates_against_the_celery_executor(broker_env: None) -> None:
    job = defs().resolve_job_def("daily_job")
    run_config = yaml.safe_load(RUN_CONFIG.read_text())
    resolved = dg.validate_run_config(job, run_config)
    execution = resolved["execution"]["celery"]
    assert (execution["broker"], execution["backend"]) == (BROKER, BACKEND)
    assert "pipelines.celery_definitions" in execution["include"]
    # The check has teeth: a misspelt key and the multiprocess config are both refused.
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"execution": {"config": {**run_config["execution"]["config"], "brokr": BROKER}}})
    multiprocess = yaml.safe_load((PROJECT_ROOT / "deploy" / "executors" / "multiprocess.yaml").read_text())
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, multiprocess)


def test_workers_read_the_same_file_and_get_the_same_celery_app(broker_env: None) -> None:
    # What `dagster-celery worker start -y deploy/executors/celery.yaml` validates and hands to Celery.
    config = get_validated_config(str(RUN_CONFIG))
    assert config["broker"] == BROKER
    app = make_app(CeleryExecutor.for_cli(broker=config["broker"], backend=config["backend"],
                                          include=config["include"], config_source=config["config_source"]).app_args())
    assert app.conf.broker_url == BROKER and app.conf.result_backend == BACKEND
    assert app.conf.task_acks_late is True and app.conf.worker_prefetch_multiplier == 1


def test_only_the_warehouse_step_goes_to_the_warehouse_queue(broker_env: None) -> None:
    # What the Celery executor reads to pick a step's queue (dagster_celery/core_execution_loop.py).
    from dagster._core.execution.api import create_execution_plan
    from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

    from assets.warehouse import WAREHOUSE_QUEUE

    job = defs().resolve_job_def("daily_job")
    plan = create_execution_plan(job, run_config=yaml.safe_load(RUN_CONFIG.read_text()),
                                 tags={"dagster/partition": "2026-06-16"})
    queues = {step.key: step.tags.get(DAGSTER_CELERY_QUEUE_TAG) for step in plan.steps}
    assert queues.pop("warehouse") == WAREHOUSE_QUEUE
    assert queues and set(queues.values()) == {None}, queues
