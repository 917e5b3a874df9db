"""The Dagster webserver and daemon as real processes, and the webserver's GraphQL API, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from tests.ports import free_port


PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Loading the code location imports pandas, pyarrow and dagster on a shared, loaded machine.
START_TIMEOUT_SECONDS = 240.0


def service_env(dagster_home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    return env


@contextmanager
def process(command: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@contextmanager
def webserver(env: Mapping[str, str], cwd: Path, log: Path) -> Iterator[str]:
    """``dagster-webserver`` on the project's code location; yields its base URL once it answers."""
    port = free_port()
    command = [str(BIN / "dagster-webserver"), "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)]
    with process(command, env, cwd, log) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, proc, log)
        yield url


@contextmanager
def daemon(
    env: Mapping[str, str], cwd: Path, log: Path, command: list[str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``dagster-daemon run``: on the project's module, or ``command`` (a deployment's own)."""
    command = command or [str(BIN / "dagster-daemon"), "run", "-m", "pipelines.definitions"]
    with process(command, env, cwd, log) as proc:
        yield proc


def wait_until_serving(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the webserver exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/server_info", timeout=5, trust_env=False).status_code == 200:
                # The code location loads after the server answers; wait until GraphQL sees it.
                data = graphql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }")
                if data["repositoriesOrError"].get("nodes"):
                    return
        except (httpx.HTTPError, AssertionError, KeyError):
            pass
        time.sleep(1.0)
    raise AssertionError(f"the webserver did not serve within {START_TIMEOUT_SECONDS} s:\n{log.read_text()[-3000:]}")


def graphql(url: str, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": dict(variables or {})},
                          timeout=60, trust_env=False)
    response.raise_for_status()
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


RUNS_QUERY = """
query Runs($tags: [ExecutionTag!]) {
  runsOrError(filter: {tags: $tags}) {
    ... on Runs { results { runId status jobName tags { key value } } }
  }
}
"""

MATERIALIZATIONS_QUERY = """
query Materializations($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    ... on Asset { assetMaterializations(limit: 1000) { runId partition } }
  }
}
"""

CHECKS_QUERY = """
query Checks($path: [String!]!, $check: String!) {
  assetCheckExecutions(assetKey: {path: $path}, checkName: $check, limit: 100) {
    runId status
  }
}
"""


def runs(url: str, tags: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    variables = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
    return graphql(url, RUNS_QUERY, variables)["runsOrError"]["results"]


def materializations(url: str, asset: str) -> list[dict[str, Any]]:
    found = graphql(url, MATERIALIZATIONS_QUERY, {"path": [asset]})["assetOrError"]
    return found.get("assetMaterializations", [])


def check_executions(url: str, asset: str, check: str) -> list[dict[str, Any]]:
    return graphql(url, CHECKS_QUERY, {"path": [asset], "check": check})["assetCheckExecutions"]
