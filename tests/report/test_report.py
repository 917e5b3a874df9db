"""`tmeet-etl report` on a real synced warehouse, an empty one and a one-day range."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from assets.warehouse import SQL_DIR, WAREHOUSE_TABLES
from pipelines.cli import main
from assets.report import build_report
from assets.report.charts import PANELS
from resources.lake import Lake
from resources.warehouse import Warehouse
from tests.report.conftest import Synced

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_self_contained(html: str) -> None:
    # No resource is fetched from anywhere: no src/href to a URL, no CSS import.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)
    assert "@import" not in html
    assert "vegaEmbed" in html


def test_report_draws_every_chart_from_the_warehouse(synced: Synced, tmp_path: Path) -> None:
    result = build_report(synced.warehouse, tmp_path / "report")
    assert result.html == tmp_path / "report" / "index.html"
    with duckdb.connect(str(synced.warehouse), read_only=True) as con:
        days_with_data = con.execute("SELECT min(business_date), max(business_date) FROM report_daily_usage").fetchone()
    # By default: every day with data, up to 30 (the synced days are fewer).
    assert (result.filter.start, result.filter.end) == days_with_data
    assert len(result.pngs) == len(PANELS)
    for path in result.pngs.values():
        assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5_000, path
    assert result.panels_without_data == []
    html = result.html.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert f"{days_with_data[0].isoformat()} to {days_with_data[1].isoformat()}" in html


def test_department_filter_counts_only_that_departments_people(synced: Synced, tmp_path: Path) -> None:
    with duckdb.connect(str(synced.warehouse), read_only=True) as con:
        department, hours = con.execute(
            "SELECT department_name, sum(attendee_minutes) / 60 FROM report_usage_by_department "
            "WHERE department_id IS NOT NULL GROUP BY ALL ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
    result = build_report(synced.warehouse, tmp_path / "dept", department=department)
    html = result.html.read_text(encoding="utf-8")
    assert f"department {department}" in html
    from assets.report.data import ReportFilter, load, open_warehouse

    con = open_warehouse(synced.warehouse)
    try:
        data = load(con, ReportFilter(synced.first, synced.last, department))
    finally:
        con.close()
    assert list(data.departments["department"]) == [department]
    assert data.daily["attendee_hours"].sum() == pytest.approx(hours)


def test_one_day_and_empty_warehouses_give_no_data_panels_not_errors(synced: Synced, tmp_path: Path) -> None:
    one_day = build_report(synced.warehouse, tmp_path / "day", start=synced.last, end=synced.last)
    assert (one_day.filter.start, one_day.filter.end) == (synced.last, synced.last)
    assert "licences" in one_day.panels_with_data

    empty = Warehouse(tmp_path / "empty" / "warehouse.duckdb")
    empty.publish(Lake(tmp_path / "empty" / "lake"), WAREHOUSE_TABLES, SQL_DIR, report_as_of=dt.date(2026, 6, 1))
    result = build_report(empty.path, tmp_path / "empty" / "report", today=dt.date(2026, 6, 1))
    assert result.panels_with_data == []
    assert sorted(result.panels_without_data) == sorted(result.pngs)
    html = result.html.read_text(encoding="utf-8")
    assert "No meetings from" in html
    for path in result.pngs.values():
        assert path.read_bytes()[:8] == PNG_MAGIC


def test_cli_writes_the_report_under_the_data_dir_and_prints_its_path(
    synced: Synced, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TMEET_DATA_DIR", str(synced.data_dir))
    assert main(["report", "--start", synced.first.isoformat(), "--end", synced.last.isoformat()]) == 0
    index = synced.data_dir / "report" / "index.html"
    assert index.is_file()
    assert str(index.resolve()) in capsys.readouterr().out.replace("\n", "")


def test_cli_names_the_fix_when_there_is_no_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TMEET_DATA_DIR", str(tmp_path / "nothing"))
    assert main(["report"]) == 1
    assert "tmeet-etl sync" in capsys.readouterr().out.replace("\n", " ")


def test_an_unknown_department_is_named_with_the_known_ones(
    synced: Synced, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TMEET_DATA_DIR", str(synced.data_dir))
    assert main(["report", "--department", "No such team"]) == 1
    out = capsys.readouterr().out.replace("\n", " ")
    assert "No such team" in out
    with duckdb.connect(str(synced.warehouse), read_only=True) as con:
        (some,) = con.execute("SELECT min(main_department_name) FROM users").fetchone()
    assert some in out
