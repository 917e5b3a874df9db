from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.cli import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "tmeet-etl" in capsys.readouterr().out


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: str) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in [n for n in os.environ if n.startswith("TMEET_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


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
