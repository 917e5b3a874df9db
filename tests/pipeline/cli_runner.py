"""Run the real `tmeet-etl` in a child process and read what a person would see."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.testing import EmulatorHandle
from resources.settings import Settings
from resources.tencent.client import token_manager_for
from resources.tencent.stats import CallStats
from resources.tencent.token_store import StoredToken
from resources.tencent.transport import Transport

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class CliRun:
    code: int
    lines: list[str]
    seconds: float

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path) -> CliRun:
    """``tmeet-etl ARGS`` with only ``env``'s TMEET_* settings; stdout and stderr lines, non-blank."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TMEET_") and not k.upper().endswith("_PROXY")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        env={**base, "PYTHONPATH": str(ROOT), "TMEET_STEP_RETRIES": "0", **env},
        cwd=cwd, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=False,
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return CliRun(done.returncode, lines, time.monotonic() - started)


def oauth_env(emu: EmulatorHandle, data_dir: Path, *, secret: bool = True) -> dict[str, str]:
    """The pipeline as the emulator's default OAuth app (account level); its secret only if ``secret``."""
    app = emu.default_app
    env = {
        "TMEET_API_BASE_URL": emu.base_url,
        "TMEET_OAUTH_BASE_URL": emu.base_url,
        "TMEET_AUTH_MODE": "oauth",
        "TMEET_APP_TYPE": app.type,
        "TMEET_SDK_ID": app.sdk_id,
        "TMEET_CORP_ID": app.corp_id,
        "TMEET_REDIRECT_URI": app.redirect_uris[0],
        "TMEET_DATA_DIR": str(data_dir),
        "TMEET_QUOTA_WINDOW_SECONDS": "1",
        "TMEET_RETRY_MAX_WAIT": "0.5",
    }
    if secret:
        env["TMEET_SECRET"] = app.secret
    return env


def log_in(emu: EmulatorHandle, env: Mapping[str, str]) -> StoredToken:
    """Authorize as the app's admin and store the tokens, as `tmeet-etl auth login` would."""
    settings = Settings.from_env({**env, "TMEET_SECRET": emu.default_app.secret})
    transport = Transport(settings, limiter=None, stats=CallStats(), quota_key="login")
    try:
        code = emu.authorize(settings.sdk_id, settings.redirect_uri, "teststate1")
        return token_manager_for(settings, transport).exchange(code)
    finally:
        transport.close()


@contextmanager
def mounted_tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs at ``path`` (e.g. ``size=64k`` for a full disk, ``ro`` for a read-only one)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def quiet_enough(run: CliRun, limit: int = 3) -> bool:
    return len(run.lines) <= limit


def show(run: CliRun) -> Any:
    return f"exit {run.code} after {run.seconds:.1f}s:\n{run.text}"
