"""A `.env` file is read by `tmeet-etl` only: `--env-file PATH`, else `./.env`; `doctor` names it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.testing import EmulatorHandle, running_emulator
from tests.pipeline.cli_runner import run_cli, show
from tests.pipeline.conftest import NOW, aksk_env

AKSK_MISSING = "missing setting(s) TMEET_APP_ID, TMEET_SECRET_ID, TMEET_SECRET_KEY, TMEET_OPERATOR_ID"


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with running_emulator(seed=5, scale="small", days=3, now=NOW, rate_limit="off") as handle:
        yield handle


def _write(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    return path


def test_doctor_connects_with_the_settings_of_the_env_file_it_names(emu: EmulatorHandle, tmp_path: Path) -> None:
    env_file = _write(tmp_path / "deploy.env", aksk_env(emu, tmp_path / "data"))
    # A ./.env that would break the configuration: --env-file replaces it, it is not merged in.
    _write(tmp_path / ".env", {"TMEET_AUTH_MODE": "oauth", "TMEET_API_BASE_URL": "http://example.com"})
    run = run_cli(["--env-file", str(env_file), "doctor"], {}, tmp_path)
    assert run.code == 0, show(run)
    assert f"[ok] env file: {env_file.resolve()} (the environment wins over it)" in run.lines, show(run)
    assert f"API {emu.base_url}" in run.text, show(run)
    assert "[ok] connectivity: operator" in run.text, show(run)


def test_the_default_is_dotenv_in_the_working_directory(tmp_path: Path) -> None:
    _write(tmp_path / ".env", {"TMEET_AUTH_MODE": "aksk"})
    run = run_cli(["doctor"], {}, tmp_path)
    assert run.code == 1, show(run)
    assert f"[ok] env file: {(tmp_path / '.env').resolve()}" in run.text, show(run)
    assert AKSK_MISSING in run.text, show(run)


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = _write(tmp_path / "deploy.env", {"TMEET_AUTH_MODE": "aksk"})
    run = run_cli(["--env-file", str(env_file), "doctor"], {"TMEET_AUTH_MODE": "oauth"}, tmp_path)
    assert "missing setting(s) TMEET_SDK_ID" in run.text, show(run)


def test_without_an_env_file_doctor_says_none_was_loaded(tmp_path: Path) -> None:
    run = run_cli(["doctor"], {}, tmp_path)
    assert run.code == 1, show(run)
    assert "[ok] env file: none" in run.text and "missing setting(s) TMEET_SDK_ID" in run.text, show(run)


def test_a_missing_env_file_is_named_with_the_fix(tmp_path: Path) -> None:
    run = run_cli(["--env-file", str(tmp_path / "nope.env"), "doctor"], {}, tmp_path)
    assert run.code == 2, show(run)
    assert run.lines == [f"error: --env-file {tmp_path / 'nope.env'}: no such file; "
                         "create it (copy .env.example) or leave the option out"], show(run)


def test_a_wrong_value_in_the_env_file_names_the_variable_and_the_fix(tmp_path: Path) -> None:
    env_file = _write(tmp_path / "deploy.env", {"TMEET_TIMEZONE": "Mars/Base"})
    run = run_cli(["--env-file", str(env_file), "doctor"], {}, tmp_path)
    assert run.code == 1, show(run)
    assert "TMEET_TIMEZONE='Mars/Base' is not an IANA time zone; set it to e.g. Asia/Shanghai" in run.text, show(run)
