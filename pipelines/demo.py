"""`tmeet-etl demo`: the whole product on the embedded emulator, with no credentials.

It starts the emulator, signs in through the real OAuth redirect, syncs the last days, publishes
the warehouse, prints what landed and a short usage report, and stops the emulator.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import httpx
from rich.console import Console
from rich.table import Table

from emulator.apps import load_apps
from emulator.testing import EmulatorHandle, running_emulator
from pipelines.auth_cli import login
from pipelines.sync import SyncSummary, print_summary, run_sync
from resources.settings import Settings

DEMO_TIMEZONE = "Asia/Shanghai"
# The demo runs under the platform's real limits, with every window shrunk twenty-fold so a
# month of data syncs in about a minute while the quota limiter still does its job.
TIME_SCALE = 0.05


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path
    days: int = 30
    scale: str = "demo"
    seed: int = 7


def run_demo(options: DemoOptions, console: Console) -> SyncSummary:
    options.data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    port = free_port()
    apps_file = demo_apps_file(options.data_dir, port)
    console.rule("[bold]Tencent Meeting pipeline demo")
    with running_emulator(
        seed=options.seed, scale=options.scale, days=options.days + 1, rate_limit="real",
        time_scale=TIME_SCALE, apps_path=str(apps_file), tz=DEMO_TIMEZONE,
    ) as emu:
        app = emu.default_app
        console.print(f"Emulator: {emu.base_url}  (scale {options.scale}, seed {options.seed}, real clock)")
        with environment(demo_env(emu, options.data_dir, port)):
            settings = Settings.from_env(dotenv_path=None)
            token = login(settings, open_browser=consent, out=lambda _line: None, timeout=60)
            console.print(f"Signed in through OAuth as the admin of corp {app.corp_id}: open_id {token.open_id}, "
                          f"scopes {', '.join(token.scopes)}")
            start, end = _last_days(options.days)
            console.print(f"Syncing {start} .. {end} ...")
            summary = run_sync(start, end, include_snapshots=True, console=console)
        calls = emu.stats()
    print_summary(summary, console)
    if summary.success:
        print_usage_report(options.data_dir / "warehouse.duckdb", console)
    console.print(f"Emulator served {_total_calls(calls):,} API calls; the demo took {time.monotonic() - started:.0f} s.")
    console.print(
        f"Everything is under {options.data_dir.resolve()}:\n"
        f"  lake/      Parquet tables, Hive-partitioned by date (BI tools read these)\n"
        f"  raw/       every API page as received (tmeet-etl rebuild re-derives the lake from it)\n"
        f"  warehouse.duckdb  all tables plus report_* tables: duckdb {options.data_dir / 'warehouse.duckdb'}"
    )
    return summary


def print_usage_report(warehouse: Path, console: Console) -> None:
    """The last week of the daily-usage report, straight from the published warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(USAGE_QUERY).fetchall()
    table = Table(title="Daily usage, last 7 days (report_daily_usage)", show_edge=False)
    for column in ("date", "meetings", "sessions", "people", "attendee hours"):
        table.add_column(column, justify="right")
    for day, meetings, sessions, people, minutes in rows:
        table.add_row(str(day), f"{meetings:,}", f"{sessions:,}", f"{people:,}", f"{(minutes or 0) / 60:,.1f}")
    console.print(table)


USAGE_QUERY = """
SELECT CAST(business_date AS DATE), meetings_held, sessions, distinct_participants, attendee_minutes
FROM report_daily_usage
ORDER BY business_date DESC
LIMIT 7
"""


def consent(url: str) -> None:
    """Play the browser: open the authorize page and follow its redirect to our loopback listener."""
    httpx.get(url, follow_redirects=True, timeout=30, trust_env=False)


def _last_days(days: int) -> tuple[date, date]:
    yesterday = datetime.now(ZoneInfo(DEMO_TIMEZONE)).date() - timedelta(days=1)
    return yesterday - timedelta(days=days - 1), yesterday


def demo_apps_file(data_dir: Path, port: int) -> Path:
    """The emulator's demo app, whitelisting this run's loopback redirect URI."""
    default = load_apps(None).default
    entry = {
        "sdk_id": default.sdk_id,
        "secret": default.secret,
        "type": default.type,
        "corp_id": default.corp_id,
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        "scopes": sorted(default.scopes),
        "activated": True,
    }
    path = data_dir / "emulator-apps.json"
    path.write_text(json.dumps({"apps": [entry]}, indent=2), encoding="utf-8")
    return path


def demo_env(emu: EmulatorHandle, data_dir: Path, port: int) -> dict[str, str]:
    app = emu.default_app
    return {
        "TMEET_API_BASE_URL": emu.base_url,
        "TMEET_OAUTH_BASE_URL": emu.base_url,
        "TMEET_AUTH_MODE": "oauth",
        "TMEET_APP_TYPE": "account",
        "TMEET_SDK_ID": app.sdk_id,
        "TMEET_SECRET": app.secret,
        "TMEET_CORP_ID": app.corp_id,
        "TMEET_REDIRECT_URI": f"http://127.0.0.1:{port}/callback",
        "TMEET_DATA_DIR": str(data_dir),
        "TMEET_TIMEZONE": DEMO_TIMEZONE,
        "TMEET_QUOTA_WINDOW_SECONDS": str(60 * TIME_SCALE),
    }


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Point the pipeline at the emulator for the block, then restore the caller's environment."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _total_calls(stats: dict[str, object]) -> int:
    calls = stats.get("calls")
    if isinstance(calls, dict):
        return sum(int(v) for v in calls.values() if isinstance(v, int | float))
    total = stats.get("total")
    return int(total) if isinstance(total, int | float) else 0
