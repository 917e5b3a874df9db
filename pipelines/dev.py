"""`tmeet-etl dev`: the emulator and the Dagster UI together, signed in and ready to materialize."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from emulator.testing import running_emulator
from pipelines.auth_cli import login
from pipelines.demo import (
    DEMO_PLATFORM, DEMO_TIMEZONE, TIME_SCALE, consent, demo_apps_file, demo_env, environment, free_port,
    platform_line,
)
from resources.file_modes import make_dirs
from resources.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run_dev(data_dir: Path, ui_port: int, console: Console) -> int:
    """Serve the emulator in this process and run ``dagster dev`` against it until interrupted."""
    make_dirs(data_dir)
    dagster_home = prepare_dagster_home(data_dir / "dagster_home")
    port = free_port()
    apps_file = demo_apps_file(data_dir, port)
    with running_emulator(scale="demo", days=31, rate_limit="real", time_scale=TIME_SCALE,
                          apps_path=str(apps_file), tz=DEMO_TIMEZONE, platform=DEMO_PLATFORM) as emu:
        env = demo_env(emu, data_dir, port)
        with environment(env):
            token = login(Settings.from_env(dotenv_path=None), open_browser=consent, out=lambda _l: None, timeout=60)
        console.print(f"Emulator at {emu.base_url}; signed in as open_id {token.open_id}.")
        console.print(platform_line())
        console.print(f"Dagster UI: http://127.0.0.1:{ui_port}  (DAGSTER_HOME={dagster_home}; Ctrl-C stops both)")
        command = [
            sys.executable, "-m", "dagster", "dev", "-m", "pipelines.definitions",
            "--host", "127.0.0.1", "--port", str(ui_port),
        ]
        child_env = {**os.environ, **env, "DAGSTER_HOME": str(dagster_home)}
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=child_env)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.terminate()
            return process.wait(timeout=30)


def prepare_dagster_home(home: Path) -> Path:
    """A persistent Dagster instance using the project's dagster.yaml (pools, run queue, retries)."""
    make_dirs(home)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home.resolve()
