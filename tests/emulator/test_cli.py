"""`tmeet-etl emulator`: option errors, a real server in a subprocess, and the truth export."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from emulator.signing import signed_headers
from emulator.apps import demo_app
from pipelines.cli import main

NOW = "2026-11-18T15:30:00+08:00"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--now", "yesterday"], "is not ISO-8601"),
        (["--now", "2026-11-18T15:30:00"], "has no UTC offset"),
        (["--time-scale", "0"], "--time-scale must be positive"),
        (["--webhook-url", "http://127.0.0.1:1/hook"], "needs --webhook-token"),
        (["--apps", "/nonexistent/apps.json"], "no such file"),
        (["--days", "0"], "--days must be at least 1"),
    ],
)
def test_bad_options_give_a_clear_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", *argv]) == 2
    assert message in capsys.readouterr().err


def test_invalid_apps_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apps = tmp_path / "apps.json"
    apps.write_text('{"apps": [{"sdk_id": "1"}]}')
    assert main(["emulator", "--apps", str(apps), "--now", NOW]) == 2
    assert "missing required field(s)" in capsys.readouterr().err


def test_unknown_choice_is_refused_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["emulator", "--faults", "chaos"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_serves_on_a_free_port_and_prints_how_to_use_it() -> None:
    cmd = [sys.executable, "-m", "emulator", "--port", "0", "--scale", "small", "--days", "3", "--now", NOW,
           "--rate-limit", "off"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Admin:"):
                break
        banner = "".join(lines)
        match = re.search(r"serving at (http://127\.0\.0\.1:(\d+))", banner)
        assert match, banner
        base_url, port = match.group(1), int(match.group(2))
        assert port != 0
        assert f"TMEET_API_BASE_URL={base_url} TMEET_OAUTH_BASE_URL={base_url}" in banner
        demo = demo_app()
        assert f"sdk_id={demo.sdk_id} secret={demo.secret}" in banner
        assert f"secret_id={demo.secret_id} secret_key={demo.secret_key}" in banner
        with httpx.Client(trust_env=False, timeout=5) as client:
            for _ in range(200):
                try:
                    if client.get(f"{base_url}/_emulator/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            target = "/v1/corp/users?page_size=10&operator_id=x&operator_id_type=1"
            response = client.get(base_url + target, headers=signed_headers(demo, "GET", target))
            assert response.status_code == 200, response.text
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_truth_writes_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "truth"
    argv = ["emulator", "truth", "--seed", "3", "--scale", "small", "--days", "3", "--now", NOW, "--out", str(out)]
    assert main(argv) == 0
    written = sorted(p.name for p in out.glob("*.parquet"))
    assert written and f"wrote {len(written)} truth tables" in capsys.readouterr().out


def test_truth_rejects_reversed_dates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["emulator", "truth", "--now", NOW, "--start", "2026-11-10", "--end", "2026-11-01", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "--start must not be after --end" in capsys.readouterr().err


def test_sign_prints_a_curl_command_the_emulator_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    import shlex

    from emulator.cli import main as emulator_main
    from emulator.testing import running_emulator

    target = "/v1/corp/users?page_size=2&operator_id=u00000&operator_id_type=1"
    with running_emulator(scale="small", days=2, rate_limit="off") as emu:
        assert emulator_main(["sign", "GET", target, "--base-url", emu.base_url]) == 0
        words = shlex.split(capsys.readouterr().out)
        assert words[:4] == ["curl", "-sS", "-X", "GET"] and words[-1] == emu.base_url + target
        headers = dict(w.split(": ", 1) for w in words[5:-1:2])
        answer = httpx.get(words[-1], headers=headers, trust_env=False)
        assert answer.status_code == 200 and len(answer.json()["users"]) == 2
        replayed = httpx.get(words[-1], headers=headers, trust_env=False)
        assert replayed.json()["error_info"]["error_code"] == 190301


def test_sign_refuses_a_target_without_a_leading_slash(capsys: pytest.CaptureFixture[str]) -> None:
    from emulator.cli import main as emulator_main

    assert emulator_main(["sign", "GET", "v1/corp/users"]) == 2
    assert "must start with '/'" in capsys.readouterr().err
