from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.testing import running_emulator
from emulator.truth import compute_truth
from pipelines.cli import main
from resources.lake import Lake
from tests.pipeline.conftest import FIRST, NOW, aksk_env, assert_tables_equal

ROOT = Path(__file__).resolve().parents[1]
# The command line's contract (README, docs/operations.md); the last three run the bundled emulator.
COMMANDS = {"sync", "rebuild", "report", "auth", "doctor", "webhook", "demo", "dev", "emulator"}
EMULATOR_COMMANDS = {"demo", "dev", "emulator"}
CLI_TIMEOUT_SECONDS = 900
# Installed as sitecustomize: `import emulator` fails as it does where the package is not installed.
NO_EMULATOR = '''
import sys


class _NoEmulator:
    def find_spec(self, name, path=None, target=None):
        if name == "emulator" or name.startswith("emulator."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoEmulator())
'''


def _listed_commands(help_text: str) -> set[str]:
    return set(re.findall(r"^    ([a-z]+)\s", help_text, flags=re.M))


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tmeet-etl")
    assert _listed_commands(out) == COMMANDS


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: str) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in [n for n in os.environ if n.startswith("TMEET_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_rebuild_of_an_unknown_table_names_the_rebuildable_ones(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.rebuild import REBUILDABLE_TABLES

    _env(monkeypatch, tmp_path, TMEET_DATA_DIR=str(tmp_path / "data"))
    assert main(["rebuild", "--tables", "no_such_table"]) == 2
    captured = capsys.readouterr()
    err = " ".join((captured.out + captured.err).split())
    assert "cannot rebuild no_such_table" in err
    assert all(table in err for table in REBUILDABLE_TABLES), err


def _without_emulator(tmp_path: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`tmeet-etl ARGS` in a child process that cannot import the `emulator` package."""
    blocker = tmp_path / "no_emulator"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(NO_EMULATOR, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith("TMEET_") and not k.upper().endswith("_PROXY")}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        env={**base, "PYTHONPATH": f"{blocker}{os.pathsep}{ROOT}", **env},
        cwd=tmp_path, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=False,
    )


def test_help_without_the_emulator_lists_the_product_commands(tmp_path: Path) -> None:
    probe = _without_emulator(tmp_path, [], {})
    blocked = subprocess.run(
        [sys.executable, "-c", "import emulator"], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": f"{tmp_path / 'no_emulator'}{os.pathsep}{ROOT}"}, cwd=tmp_path,
    )
    assert blocked.returncode != 0 and "No module named 'emulator'" in blocked.stderr, "the blocker does not block"
    assert probe.returncode == 2, probe.stderr
    done = _without_emulator(tmp_path, ["--help"], {})
    assert done.returncode == 0, done.stderr
    assert _listed_commands(done.stdout) == COMMANDS - EMULATOR_COMMANDS


def test_sync_runs_without_the_emulator_installed(tmp_path: Path) -> None:
    """The product's own run imports nothing of the emulator (which here only serves the API, in this process)."""
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off") as emu:
        data_dir = tmp_path / "data"
        done = _without_emulator(tmp_path, ["sync", "--start", FIRST.isoformat(), "--end", FIRST.isoformat()],
                                 aksk_env(emu, data_dir))
        assert done.returncode == 0, done.stdout + done.stderr
        truth = compute_truth(emu.enterprise, start=FIRST, end=FIRST)
    meetings = Lake.from_data_dir(data_dir).read("meetings")
    assert len(truth["meetings"]) > 0, "the emulator produced no meetings that day; the test would prove nothing"
    assert_tables_equal("meetings", meetings, truth["meetings"])
    assert (data_dir / "warehouse.duckdb").exists()


def test_failure_is_one_line_and_the_trace_goes_to_the_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    _env(monkeypatch, tmp_path, TMEET_SDK_ID="200000001", TMEET_DATA_DIR=str(data_dir),
         TMEET_TOKEN_KEY="not-a-fernet-key")
    assert main(["auth", "logout"]) == 2
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    assert len(lines) <= 3 and "Traceback" not in captured.err, lines
    assert "TMEET_TOKEN_KEY is not a Fernet key" in lines[0]
    log = data_dir / "logs" / "tmeet-etl.log"
    assert f"full trace in {log}" in captured.err
    assert "Traceback" in log.read_text() and "not-a-fernet-key" not in captured.err


def test_debug_prints_the_trace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    _env(monkeypatch, tmp_path, TMEET_SDK_ID="200000001", TMEET_DATA_DIR=str(not_a_dir))
    assert main(["auth", "logout"]) == 1
    quiet = capsys.readouterr().err
    assert "Traceback" not in quiet and "rerun with --debug" in quiet and str(not_a_dir) in quiet
    assert main(["--debug", "auth", "logout"]) == 1
    assert "Traceback" in capsys.readouterr().err
