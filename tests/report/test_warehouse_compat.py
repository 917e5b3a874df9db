"""The published warehouse opens in DuckDB 1.x, the version BI tools and the 1.x CLI embed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import filelock

from tests.report.conftest import Synced

# The newest DuckDB 1.x release; the warehouse's storage format must stay readable by it.
DUCKDB_1X = "1.5.6"
REPO = Path(__file__).resolve().parents[2]
# Under the repository's virtualenv directory, so it is installed once and never committed.
CACHE = REPO / ".venv" / "compat" / f"duckdb-{DUCKDB_1X}"

READER = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
          for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
comments = con.execute(
    "SELECT count(*) FROM duckdb_columns() WHERE table_name LIKE 'report_%' AND comment IS NOT NULL"
).fetchone()[0]
print(json.dumps({"version": duckdb.__version__, "tables": tables, "commented_columns": comments}))
"""


def duckdb_1x() -> Path:
    """A DuckDB 1.x package in a directory of its own, installed on first use."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(CACHE) + ".lock", timeout=600):
        if not (CACHE / "duckdb").is_dir():
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                 "--target", str(CACHE), f"duckdb=={DUCKDB_1X}"],
                check=True, timeout=600,
            )
    return CACHE


def read_with_duckdb_1x(path: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(duckdb_1x())}
    done = subprocess.run([sys.executable, "-c", READER, str(path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_duckdb_1x_opens_the_published_warehouse(synced: Synced) -> None:
    seen = read_with_duckdb_1x(synced.warehouse)
    assert str(seen["version"]).startswith("1.")
    with duckdb.connect(str(synced.warehouse), read_only=True) as con:
        ours = {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        (commented,) = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name LIKE 'report_%' AND comment IS NOT NULL"
        ).fetchone()
    assert seen["tables"] == ours
    assert ours["report_daily_usage"] > 0
    assert seen["commented_columns"] == commented > 0
