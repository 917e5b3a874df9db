"""The production deployment of deploy/, running: Postgres, code server, webserver, daemon, webhook receiver.

The daemon launches a scheduled run (a one-minute cron) and a webhook sensor run by itself, is
restarted between them, and every run and materialization ends up in Postgres and in the
webserver's GraphQL API.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from emulator.testing import EmulatorHandle, running_emulator
from assets.partitions import account_timezone
from resources.webhooks.receiver import CALLBACK_PATH
from tests.ops.postgres import postgres_server
from tests.ops.services import (
    BIN,
    PROJECT_ROOT,
    daemon,
    free_port,
    graphql,
    materializations,
    process,
    runs,
    wait_until_serving,
)
from tests.pipeline.conftest import aksk_env

TOKEN = "SoakWebhookToken000000001"
AES_KEY = "SoakAesKey0123456789abcdefghijklmnopqrstuvw"
# A run on a loaded two-core machine: process start-up, code loading, the pull, the checks.
RUN_TIMEOUT_SECONDS = 900.0
DEPLOY = PROJECT_ROOT / "deploy"
POOLS = ("tencent_api", "duckdb")


def _wait_for(what: str, probe: Callable[[], Any], timeout: float = RUN_TIMEOUT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(3.0)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _finished_run(url: str, job: str) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        for run in runs(url):
            if run["jobName"] == job and run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                return run
        return None

    return probe


def _any_run(url: str, job: str) -> Callable[[], dict[str, Any] | None]:
    return lambda: next((run for run in runs(url) if run["jobName"] == job), None)


def _cli(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "dagster"), *args], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True,
                   timeout=300)


def _workspace(tmp: Path, port: int) -> Path:
    """deploy/workspace.yaml with this test's code-server port."""
    text = (DEPLOY / "workspace.yaml").read_text(encoding="utf-8").replace("port: 4266", f"port: {port}")
    assert f"port: {port}" in text
    path = tmp / "workspace.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _procfile() -> dict[str, list[str]]:
    """The deployment's own commands, as the Procfile gives them."""
    commands = {}
    for line in (DEPLOY / "Procfile").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, command = line.partition(":")
            commands[name.strip()] = command.split()
    return commands


def _command(argv: list[str], **replace: str) -> list[str]:
    argv = [replace.get(arg, arg) for arg in argv]
    return [str(BIN / argv[0]), *argv[1:]]


@pytest.fixture
def morning_emulator(tmp_path: Path) -> Iterator[tuple[EmulatorHandle, str]]:
    """Today 08:00 local on a frozen clock: yesterday is complete, today's meetings are still to come."""
    receiver_port = free_port()
    tz = ZoneInfo(account_timezone())
    morning = datetime.now(tz).replace(hour=8, minute=0, second=0, microsecond=0)
    with running_emulator(
        seed=11, scale="small", days=3, now=morning, rate_limit="off",
        webhook_url=f"http://127.0.0.1:{receiver_port}{CALLBACK_PATH}", webhook_token=TOKEN,
        webhook_aes_key=AES_KEY, webhook_poll_seconds=0.2,
    ) as emu:
        yield emu, str(receiver_port)


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_deployment_on_postgres_runs_schedules_and_sensors_by_itself(
    morning_emulator: tuple[EmulatorHandle, str], tmp_path: Path
) -> None:
    emu, receiver_port = morning_emulator
    data_dir = tmp_path / "data"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    code_port, web_port = free_port(), free_port()
    workspace = _workspace(tmp_path, code_port)
    procfile = _procfile()
    logs = tmp_path / "logs"
    logs.mkdir()

    with ExitStack() as stack:
        postgres_url = stack.enter_context(postgres_server())
        env = {
            **os.environ, **aksk_env(emu, data_dir),
            "DAGSTER_HOME": str(home), "DAGSTER_POSTGRES_URL": postgres_url,
            "PYTHONPATH": str(PROJECT_ROOT),
            "TMEET_DAILY_CRON": "* * * * *",
            "TMEET_PUBLISH_INTERVAL_SECONDS": "30",
            "TMEET_WEBHOOK_TOKEN": TOKEN, "TMEET_WEBHOOK_AES_KEY": AES_KEY,
        }
        # As deploy/README.md installs it: the pools' limits set once, before any run claims a slot.
        for pool in POOLS:
            _cli(["instance", "concurrency", "set", pool, "1"], env)
        stack.enter_context(process(_command(procfile["code"], **{"4266": str(code_port)}), env, PROJECT_ROOT,
                                    logs / "code.log"))
        stack.enter_context(process(_command(procfile["webhook"], **{"8090": receiver_port}), env, PROJECT_ROOT,
                                    logs / "webhook.log"))
        web_argv = _command(procfile["web"], **{"deploy/workspace.yaml": str(workspace), "3000": str(web_port)})
        web = stack.enter_context(process(web_argv, env, PROJECT_ROOT, logs / "web.log"))
        url = f"http://127.0.0.1:{web_port}"
        wait_until_serving(url, web, logs / "web.log")
        daemon_argv = _command(procfile["daemon"], **{"deploy/workspace.yaml": str(workspace)})
        assert daemon_argv[1:] == ["run", "-w", str(workspace)]

        # Schedules and the webhook sensor start off, as in production: turn them on as the README says.
        for kind, name in (("schedule", "daily_schedule"), ("sensor", "webhook_inbox_sensor")):
            _cli([kind, "start", name, "-w", str(workspace)], env)

        first_daemon = daemon(env, PROJECT_ROOT, logs / "daemon-1.log", daemon_argv)
        first_daemon.__enter__()
        try:
            _wait_for("the daemon to launch daily_job", _any_run(url, "daily_job"))
            # A schedule's run key only dedupes within one tick: stop the every-minute cron after one run.
            _cli(["schedule", "stop", "daily_schedule", "-w", str(workspace)], env)
            daily = _wait_for("the scheduled daily_job run", _finished_run(url, "daily_job"))
        finally:
            first_daemon.__exit__(None, None, None)
        assert daily["status"] == "SUCCESS", (logs / "daemon-1.log").read_text()[-3000:]
        tags = {t["key"]: t["value"] for t in daily["tags"]}
        yesterday = (datetime.now(ZoneInfo(account_timezone())) - timedelta(days=1)).date().isoformat()
        assert tags.get("dagster/schedule_name") == "daily_schedule" and tags.get("dagster/partition") == yesterday

        # The day goes on while the daemon is down: the receiver stores the pushed events.
        emu.advance(timedelta(hours=6).total_seconds())
        _wait_for("pushed events in the inbox", lambda: (data_dir / "inbox").exists(), timeout=120)

        second = stack.enter_context(daemon(env, PROJECT_ROOT, logs / "daemon-2.log", daemon_argv))
        webhook = _wait_for("the webhook sensor's run", _finished_run(url, "webhook_job"))
        assert webhook["status"] == "SUCCESS", (logs / "daemon-2.log").read_text()[-3000:]
        publish = _wait_for("the debounced publish", _finished_run(url, "publish_job"))
        assert publish["status"] == "SUCCESS"
        assert second.poll() is None, "the restarted daemon exited"

        # Every run is in Postgres, and the webserver shows each with its materializations.
        launched = {r["runId"]: r for r in runs(url)}
        assert {daily["runId"], webhook["runId"], publish["runId"]} <= set(launched)
        in_postgres = _postgres_runs(postgres_url)
        assert set(launched) <= set(in_postgres), "a run the UI shows is not in Postgres"
        for run_id, job, asset in ((daily["runId"], "daily_job", "meetings"),
                                   (webhook["runId"], "webhook_job", "webhook_events"),
                                   (publish["runId"], "publish_job", "warehouse")):
            assert in_postgres[run_id] == job
            shown = [m for m in materializations(url, asset) if m["runId"] == run_id]
            assert shown, f"{asset} of {job} is not in the UI"
            assert _postgres_materializations(postgres_url, run_id) >= len(shown)
        daily_partitions = {m["partition"] for m in materializations(url, "meetings") if m["runId"] == daily["runId"]}
        assert daily_partitions == {yesterday}
        assert _daemon_healthy(url)


def _postgres_runs(url: str) -> dict[str, str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return {row.run_id: row.pipeline_name for row in con.execute(sa.text("SELECT run_id, pipeline_name FROM runs"))}
    finally:
        engine.dispose()


def _postgres_materializations(url: str, run_id: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return int(con.execute(sa.text(
                "SELECT count(*) FROM event_logs WHERE run_id = :run AND dagster_event_type = 'ASSET_MATERIALIZATION'"
            ), {"run": run_id}).scalar_one())
    finally:
        engine.dispose()


def _daemon_healthy(url: str) -> bool:
    data = graphql(url, "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }")
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    return all(s["healthy"] for s in statuses if s["required"])
