"""`tmeet-etl demo` end to end at a small scale: OAuth sign-in, sync, publish, report."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from pipelines.demo import DemoOptions, run_demo


def test_demo_signs_in_syncs_and_publishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TMEET_API_BASE_URL", "TMEET_AUTH_MODE", "TMEET_DATA_DIR", "TMEET_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    console = Console(record=True, width=140)
    summary = run_demo(DemoOptions(tmp_path / "demo", days=3, scale="small"), console)
    output = console.export_text()
    assert summary.success, summary.failures
    assert "Signed in through OAuth" in output
    assert "Platform reading: scope-table" in output
    sees = " ".join(output.split("What it sees: ", 1)[1].split("Signed in through OAuth", 1)[0].split())
    assert sees.startswith("account-level OAuth under the OAuth page's reading (scope-table): the whole account")
    assert "TMEET_AUTH_MODE=aksk" in sees, "the demo says which mode reaches the account on today's platform"
    assert ": consistent" in output, "the live day's events should match the pull of that day"
    assert summary.api_calls > 0
    report = tmp_path / "demo" / "report" / "index.html"
    assert report.is_file() and (tmp_path / "demo" / "report" / "daily.png").is_file()
    # The demo ends by naming the report it wrote.
    assert str(report.resolve()) in output.split("Usage report", 1)[1].replace("\n", "")
    with duckdb.connect(str(tmp_path / "demo" / "warehouse.duckdb"), read_only=True) as con:
        (meetings,) = con.execute("SELECT count(*) FROM meetings").fetchone()
        (reported,) = con.execute("SELECT sum(meetings_held) FROM report_daily_usage").fetchone()
    assert meetings > 0
    assert reported == meetings
    # The token store is encrypted and owner-only: no token field is readable in it.
    stores = list((tmp_path / "demo" / "state").glob("tokens-*.fernet"))
    assert stores, "the demo should have stored its OAuth token"
    for store in stores:
        assert store.stat().st_mode & 0o077 == 0
        assert b"access_token" not in store.read_bytes()
        assert b"refresh_token" not in store.read_bytes()
