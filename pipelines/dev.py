"""`tmeet-etl dev`: the emulator, the webhook receiver, the Dagster webserver and daemon, on the demo's data.

It runs what a deployment runs (webserver and daemon as two processes, see deploy/) against the
embedded emulator, on the instance and the data `make demo` filled, and writes the environment
another terminal needs so `tmeet-etl` reaches the same emulator, data and instance.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console

from emulator.testing import running_emulator
from pipelines.auth_cli import login
from pipelines.demo import (
    DEMO_PLATFORM,
    DEMO_TIMEZONE,
    TIME_SCALE,
    WEBHOOK_AES_KEY,
    WEBHOOK_TOKEN,
    consent,
    demo_apps_file,
    demo_env,
    environment,
    free_port,
    platform_line,
)
from pipelines.instance import PROJECT_ROOT, prepare_home
from pipelines.webhook_demo import run_receiver_in_thread
from resources.lake import Lake
from resources.file_modes import current_modes, make_dirs, umask_of
from resources.settings import Settings

DEV_ENV_FILE = "dev.env"
BIN = Path(sys.executable).parent
# The emulator's history when the data directory has none yet (the demo's 30 days and its live day).
DEFAULT_HISTORY_DAYS = 32


def run_dev(data_dir: Path, ui_port: int, console: Console) -> int:
    """Serve everything until Ctrl-C; returns the first exit code of a service that stopped."""
    data_dir = data_dir.resolve()
    make_dirs(data_dir)
    # The webserver and daemon write the instance's runs and logs under the data directory: their
    # files are created as private as the lake's (they inherit this process's umask).
    os.umask(umask_of(current_modes()))
    # A plain `kill` must stop the webserver and the daemon too, not leave them running orphaned.
    signal.signal(signal.SIGTERM, _interrupt)
    # The shared instance: `tmeet-etl` in another terminal records its runs here too.
    home = prepare_home(data_dir / "dagster_home", replace_config=True)
    start = first_day(data_dir)
    port = free_port()
    apps_file = demo_apps_file(data_dir, port)
    with ExitStack() as stack:
        receiver_url, stop_receiver = run_receiver_in_thread(data_dir, WEBHOOK_TOKEN, WEBHOOK_AES_KEY)
        stack.callback(stop_receiver)
        emu = stack.enter_context(running_emulator(
            scale="demo", days=(date.today() - start).days + 1, rate_limit="real", time_scale=TIME_SCALE,
            apps_path=str(apps_file), tz=DEMO_TIMEZONE, platform=DEMO_PLATFORM,
            webhook_url=receiver_url, webhook_token=WEBHOOK_TOKEN, webhook_aes_key=WEBHOOK_AES_KEY,
        ))
        env = {
            **demo_env(emu, data_dir, port),
            "DAGSTER_HOME": str(home),
            # Partitions start at the first day that has data, not at a default a year before it.
            "TMEET_START_DATE": start.isoformat(),
            "TMEET_UI_URL": f"http://127.0.0.1:{ui_port}",
        }
        with environment(env):
            token = login(Settings.from_env(), open_browser=consent, out=lambda _l: None, timeout=60)
        env_file = write_env_file(data_dir / DEV_ENV_FILE, env)
        child_env = service_env(env)
        webserver = stack.enter_context(service(
            [str(BIN / "dagster-webserver"), "-m", "pipelines.definitions",
             "-h", "127.0.0.1", "-p", str(ui_port)], child_env, home))
        daemon = stack.enter_context(service(
            [str(BIN / "dagster-daemon"), "run", "-m", "pipelines.definitions"], child_env, home))
        # The receiver runs beside it, so the webhook sensor has an inbox to read; turn it on.
        subprocess.run([str(BIN / "dagster"), "sensor", "start", "-m", "pipelines.definitions", "webhook_inbox_sensor"],
                       env=child_env, cwd=home, check=False, stdout=subprocess.DEVNULL)
        print_banner(console, emu.base_url, receiver_url, token.open_id, ui_port, home, env_file, env)
        console.print(platform_line())
        if not Lake.from_data_dir(data_dir).partitions("meetings"):
            console.print(f"{data_dir} holds no data yet: `make demo` (or `tmeet-etl demo --data-dir {data_dir}`) "
                          "fills it with a month of history, runs included.")
        return wait_for_first_exit([webserver, daemon])


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def first_day(data_dir: Path) -> date:
    """The lake's first meetings partition (the demo's history), else the emulator's default window."""
    days = Lake.from_data_dir(data_dir).partitions("meetings")
    return min(days) if days else datetime.now(ZoneInfo(DEMO_TIMEZONE)).date() - timedelta(days=DEFAULT_HISTORY_DAYS)


def write_env_file(path: Path, env: Mapping[str, str]) -> Path:
    """The exact settings of this session, for `set -a; . file; set +a` in another terminal (0600: it holds the demo secret)."""
    lines = [f"{name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("# Written by `tmeet-etl dev`; valid while it runs.\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def service_env(env: Mapping[str, str]) -> dict[str, str]:
    merged = {**os.environ, **env}
    merged["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), merged.get("PYTHONPATH", "")]))
    return merged


@contextmanager
def service(command: list[str], env: Mapping[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    # Run from DAGSTER_HOME: Dagster warns when the working directory holds another dagster.yaml.
    process = subprocess.Popen(command, env=dict(env), cwd=cwd)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for_first_exit(processes: list[subprocess.Popen[bytes]]) -> int:
    try:
        while True:
            for process in processes:
                code = process.poll()
                if code is not None:
                    return code
            time.sleep(1.0)
    except KeyboardInterrupt:
        return 0


def print_banner(console: Console, emulator_url: str, receiver_url: str, open_id: str, ui_port: int, home: Path,
                 env_file: Path, env: Mapping[str, str]) -> None:
    console.print(f"Emulator at {emulator_url}; signed in as open_id {open_id}; webhook receiver at {receiver_url}.")
    console.print(f"Dagster UI: http://127.0.0.1:{ui_port}   (instance {home}; Ctrl-C stops everything)")
    console.print("In another terminal, the same emulator, data and instance:")
    console.print(f"  set -a; . {env_file}; set +a      # or these exports:", highlight=False)
    for name in ("TMEET_API_BASE_URL", "TMEET_OAUTH_BASE_URL", "TMEET_DATA_DIR", "DAGSTER_HOME", "TMEET_START_DATE"):
        console.print(f"  export {name}={shlex.quote(env[name])}", highlight=False)
    console.print(f"  (the app's id and secret are in {env_file})", highlight=False)
    console.print("  tmeet-etl sync --start YYYY-MM-DD   # shows in the UI as a run", highlight=False)
    console.print("webhook_inbox_sensor is on. Schedules start off: turn on daily_schedule (and the others "
                  "you want) under Automation, or `dagster schedule start daily_schedule -m pipelines.definitions`.")
