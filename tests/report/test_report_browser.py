"""The report as a person sees it: opened offline in a real headless Chromium."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, Request, Route, sync_playwright

from assets.warehouse import SQL_DIR, WAREHOUSE_TABLES
from assets.report import build_report
from assets.report.charts import PANELS
from resources.lake import Lake
from resources.warehouse import Warehouse
from tests.report.conftest import Synced

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]
# Generous: two cores are shared by many processes, and the page parses ~1 MB of inlined JavaScript.
RENDER_TIMEOUT_MS = 180_000


def chromium_path() -> str:
    path = shutil.which("chromium") or CHROMIUM
    if not Path(path).exists():
        pytest.fail("Chromium is not installed: run `apt-get install -y chromium` (`make test` does it as root on Debian)")
    return path


@dataclass
class Browsed:
    """What the page logged and fetched while it was open."""

    errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)


@contextmanager
def rendered_report(html: Path) -> Iterator[tuple[Page, Browsed]]:
    """``html`` open in headless Chromium, offline, once every chart has been drawn (or has failed)."""
    seen = Browsed()

    def offline(route: Route, request: Request) -> None:
        if request.url.startswith("file://"):
            route.continue_()
        else:
            seen.network.append(request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: seen.errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: seen.errors.append(str(error)))
            page.route("**/*", offline)
            page.goto(html.as_uri(), timeout=RENDER_TIMEOUT_MS)
            page.wait_for_function("window.reportRendered !== undefined", timeout=RENDER_TIMEOUT_MS)
            page.evaluate("window.reportRendered")
            yield page, seen
        finally:
            browser.close()


def test_report_renders_every_chart_offline_in_chromium(synced: Synced, tmp_path: Path) -> None:
    result = build_report(synced.warehouse, tmp_path / "report", start=synced.first, end=synced.last)
    with rendered_report(result.html) as (page, seen):
        charts = page.evaluate("""() => Array.from(document.querySelectorAll('.chart')).map(chart => ({
            id: chart.id,
            rendered: chart.dataset.rendered === 'true',
            // drawn data marks only: bars, cells, text; axes and legends are not role-mark
            marks: chart.querySelectorAll('svg .role-mark > *').length,
        }))""")
        daily = page.evaluate("window.reportViews['daily'].data('daily')")
        bars = page.evaluate("document.querySelectorAll('#chart-daily svg .mark-rect path').length")
        screenshot = tmp_path / "report-screenshot.png"
        page.screenshot(path=str(screenshot), full_page=True)

    assert seen.errors == [], seen.errors
    assert seen.network == [], f"the report fetched {seen.network}; it must work offline"
    assert [c["id"] for c in charts] == [f"chart-{slug}" for slug in result.pngs]
    assert len(charts) == len(PANELS)
    for chart in charts:
        assert chart["rendered"] and chart["marks"] > 0, chart
    # The daily chart shows the warehouse's own numbers, day by day.
    with duckdb.connect(str(synced.warehouse), read_only=True) as con:
        expected = {
            day.isoformat(): (meetings, people, minutes / 60)
            for day, meetings, people, minutes in con.execute(
                "SELECT business_date, meetings_held, distinct_participants, attendee_minutes "
                "FROM report_daily_usage WHERE business_date BETWEEN ? AND ?", [synced.first, synced.last]
            ).fetchall()
        }
    drawn = {row["date"]: (row["meetings"], row["people"], row["attendee_hours"]) for row in daily}
    assert len(drawn) == (synced.last - synced.first).days + 1
    assert set(expected) <= set(drawn)
    for day, (meetings, people, hours) in expected.items():
        assert drawn[day][:2] == (meetings, people), day
        assert drawn[day][2] == pytest.approx(hours), day
    assert all(value == (0, 0, 0) for day, value in drawn.items() if day not in expected)
    # One bar per day in each of the three rows (meetings, attendee-hours, people).
    assert bars == 3 * len(drawn)
    assert screenshot.stat().st_size > 50_000
    print(f"report screenshot: {screenshot}")


def test_an_empty_warehouse_gives_a_readable_no_data_page(tmp_path: Path) -> None:
    empty = Warehouse(tmp_path / "warehouse.duckdb")
    empty.publish(Lake(tmp_path / "lake"), WAREHOUSE_TABLES, SQL_DIR, report_as_of=dt.date(2026, 6, 1))
    result = build_report(empty.path, tmp_path / "report", today=dt.date(2026, 6, 1))
    with rendered_report(result.html) as (page, seen):
        texts = page.evaluate("""() => Array.from(document.querySelectorAll('.chart')).map(
            chart => Array.from(chart.querySelectorAll('svg .role-mark text')).map(t => t.textContent).join(' '))""")
    assert seen.errors == [] and seen.network == [], seen
    assert len(texts) == len(PANELS)
    assert all(text.startswith("No ") for text in texts), texts
