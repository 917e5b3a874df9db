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
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import httpx
from rich.console import Console
from rich.table import Table

from assets.warehouse import publish
from assets.webhook_inbox import Rebuilt, rebuild_days
from assets.webhooks import compare_day
from emulator.apps import load_apps
from emulator.testing import EmulatorHandle, running_emulator
from pipelines.auth_cli import login
from pipelines.reach import reach_summary
from assets.report import build_report
from pipelines.recorded import run_recorded
from pipelines.sync import SyncSummary, print_summary, run_sync
from pipelines.webhook_demo import recent_events_summary, run_receiver_in_thread
from resources.dagster_resources import StorageResource
from resources.file_modes import PRIVATE, make_dirs, precreate
from resources.lake import Lake
from resources.platform_constants import PLATFORM_TIMEZONE
from resources.settings import Settings
from resources.warehouse import PublishResult
from resources.webhooks import Inbox
from resources.webhooks.inbox import inbox_path

DEMO_TIMEZONE = PLATFORM_TIMEZONE
# The live day: the emulator's clock walks from 08:00 to 21:00 in half-hour steps while the
# webhook receiver stores what the platform pushes.
LIVE_DAY_START = dt_time(8, 0)
LIVE_DAY_STEP = timedelta(minutes=30)
LIVE_DAY_STEPS = 26
LIVE_DAY_PAUSE_SECONDS = 0.2
LIVE_DAY_SETTLE_SECONDS = 10.0
# Demo-only subscription secrets, shared by the emulator's sender and the receiver.
WEBHOOK_TOKEN = "DemoWebhookToken000000001"
WEBHOOK_AES_KEY = "DemoAesKey0123456789abcdefghijklmnopqrstuvw"
# The demo runs under the platform's real limits, with every window shrunk twenty-fold so a
# month of data syncs in about a minute while the quota limiter still does its job.
TIME_SCALE = 0.05
# The demo signs in as an account-level OAuth app, which reads the whole account only under the
# OAuth-apps page's scope table; the API reference's reading serves /v1/corp/* to AK/SK alone.
DEMO_PLATFORM = "scope-table"
DEMO_MODE = "account-level OAuth app"


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path
    days: int = 30
    scale: str = "demo"
    seed: int = 7


def run_demo(options: DemoOptions, console: Console) -> SyncSummary:
    """History first, then one day live: the pull and the pushed events, side by side."""
    make_dirs(options.data_dir)
    started = time.monotonic()
    port = free_port()
    apps_file = demo_apps_file(options.data_dir, port)
    live_day = last_working_day(datetime.now(ZoneInfo(DEMO_TIMEZONE)).date())
    history = (live_day - timedelta(days=options.days), live_day - timedelta(days=1))
    morning = datetime.combine(live_day, LIVE_DAY_START, tzinfo=ZoneInfo(DEMO_TIMEZONE))
    console.rule("[bold]Tencent Meeting pipeline demo")
    receiver_url, stop_receiver = run_receiver_in_thread(options.data_dir, WEBHOOK_TOKEN, WEBHOOK_AES_KEY)
    try:
        with running_emulator(
            seed=options.seed, scale=options.scale, days=options.days + 2, now=morning, rate_limit="real",
            time_scale=TIME_SCALE, apps_path=str(apps_file), tz=DEMO_TIMEZONE, platform=DEMO_PLATFORM,
            webhook_url=receiver_url, webhook_token=WEBHOOK_TOKEN, webhook_aes_key=WEBHOOK_AES_KEY,
        ) as emu:
            console.print(f"Emulator: {emu.base_url}  (scale {options.scale}, seed {options.seed}); "
                          f"webhook receiver: {receiver_url}")
            console.print(platform_line())
            with environment(demo_env(emu, options.data_dir, port)):
                settings = Settings.from_env()
                token = login(settings, open_browser=consent, out=lambda _line: None, timeout=60)
                console.print(f"Signed in through OAuth as the admin of corp {emu.default_app.corp_id}: "
                              f"open_id {token.open_id}, scopes {', '.join(token.scopes)}")
                console.print(f"[bold]1. History[/bold]: pulling {history[0]} .. {history[1]}")
                summary = run_sync(*history, console=console)
                print_summary(summary, console)
                console.print(f"[bold]2. A live day[/bold]: {live_day}, events pushed as the meetings happen")
                watch_live_day(emu, options.data_dir, console)
                console.print(f"[bold]3. The pull of {live_day}[/bold], compared with the events")
                day_summary = run_sync(live_day, live_day, include_snapshots=True, console=console)
                run_recorded("demo webhooks", lambda: land_live_day(options.data_dir, live_day),
                             live_day_materializations, options.data_dir)
                print_crosscheck(options.data_dir, live_day, console)
            calls = emu.stats()
    finally:
        stop_receiver()
    summary = merge_summaries(summary, day_summary)
    if summary.success:
        print_usage_report(options.data_dir / "warehouse.duckdb", console)
    console.print(f"Emulator served {int(calls['total_calls']):,} API calls; the demo took {time.monotonic() - started:.0f} s.")
    console.print(
        f"Everything is under {options.data_dir.resolve()}:\n"
        f"  lake/      Parquet tables, Hive-partitioned by date (BI tools read these; docs/bi.md)\n"
        f"  raw/       every API page as received (tmeet-etl rebuild re-derives the lake from it)\n"
        f"  inbox/     the webhook events, stored before they were acknowledged\n"
        f"  warehouse.duckdb  all tables plus report_* tables (DuckDB 1.x readers open it too)"
    )
    if summary.success:
        report = build_report(options.data_dir / "warehouse.duckdb", options.data_dir / "report",
                              timezone=DEMO_TIMEZONE)
        console.print(f"Usage report ({report.filter.label}): [bold]{report.html.resolve()}[/bold]")
    return summary


def platform_line() -> str:
    return (f"Platform reading: {DEMO_PLATFORM} (the OAuth-apps page's scope table); "
            f"mode: {DEMO_MODE} (see docs/platform.md)\n"
            f"What it sees: {reach_summary(DEMO_PLATFORM, 'oauth', 'account')}")


def land_live_day(data_dir: Path, day: date) -> tuple[Rebuilt, PublishResult]:
    """The live day's pushed events into the lake, then one publish of everything."""
    rebuilt = rebuild_days(Lake.from_data_dir(data_dir), inbox_path(data_dir), [day], DEMO_TIMEZONE)
    return rebuilt, publish(StorageResource(data_dir=str(data_dir)))


def live_day_materializations(outcome: tuple[Rebuilt, PublishResult]) -> Iterator[dg.AssetMaterialization]:
    rebuilt, published = outcome
    for day in sorted(rebuilt.events):
        yield dg.AssetMaterialization("webhook_events", partition=day.isoformat())
    for day in sorted(rebuilt.sessions):
        yield dg.AssetMaterialization("live_attendance", partition=day.isoformat())
    yield dg.AssetMaterialization("warehouse", metadata={"row_counts": dg.MetadataValue.json(dict(published.row_counts))})


def last_working_day(today: date) -> date:
    """The most recent Monday-to-Friday before today: the day the demo watches live."""
    day = today - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def watch_live_day(emu: EmulatorHandle, data_dir: Path, console: Console) -> None:
    """Move the emulator's clock through the working day and show the events landing in the inbox."""
    inbox = inbox_path(data_dir)
    seen = 0
    for _ in range(LIVE_DAY_STEPS):
        emu.advance(LIVE_DAY_STEP.total_seconds())
        time.sleep(LIVE_DAY_PAUSE_SECONDS)
        total = _settled_count(inbox)
        local = emu.clock.now().astimezone(ZoneInfo(DEMO_TIMEZONE))
        console.print(f"  {local:%H:%M}  +{total - seen:4d} events  ({total:,} so far)")
        seen = total
    console.print(recent_events_summary(inbox, DEMO_TIMEZONE))


def print_crosscheck(data_dir: Path, day: date, console: Console) -> None:
    comparison = compare_day(StorageResource(data_dir=str(data_dir)), day)
    verdict = "[green]consistent[/green]" if comparison.consistent else "[yellow]differences found[/yellow]"
    console.print(
        f"Sessions on {day}: {comparison.pulled:,} from the pull, {comparison.from_events:,} from the events, "
        f"{comparison.matched:,} matched over {comparison.meetings_compared} meetings: {verdict}"
    )


def merge_summaries(history: SyncSummary, day: SyncSummary) -> SyncSummary:
    return SyncSummary(
        start=history.start,
        end=day.end,
        success=history.success and day.success,
        data_dir=day.data_dir,
        row_counts=day.row_counts or history.row_counts,
        api_calls=history.api_calls + day.api_calls,
        failures=history.failures + day.failures,
        failed_checks=history.failed_checks + day.failed_checks,
        check_failures=history.check_failures + day.check_failures,
    )


def _settled_count(inbox: Path) -> int:
    """The inbox count once the sender has caught up with the clock (it pushes in the background)."""
    count, deadline = -1, time.monotonic() + LIVE_DAY_SETTLE_SECONDS
    while time.monotonic() < deadline:
        current = _inbox_count(inbox)
        if current == count:
            return current
        count = current
        time.sleep(0.3)
    return max(count, 0)


def _inbox_count(inbox: Path) -> int:
    if not inbox.exists():
        return 0
    with Inbox(inbox) as store:
        return store.count()


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
    # It holds the app secret: owner-only whatever TMEET_FILE_MODE says, even if an older demo left it 0644.
    make_dirs(data_dir)
    precreate(path, PRIVATE)
    os.chmod(path, PRIVATE.file)
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
