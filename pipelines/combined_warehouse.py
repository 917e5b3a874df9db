"""The optional combined warehouse: every account's warehouse tables in one DuckDB file, with ``account_id``.

Built from the accounts' own warehouses after a multi-account sync, into a temporary file renamed
over the old one, so a reader never sees a half-built file. An account without a warehouse yet
(never synced, or its first sync failed) is simply absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from resources.accounts import Accounts
from resources.atomic_files import temp_path_for
from resources.file_modes import make_dirs, restricted_umask

WAREHOUSE_FILE = "warehouse.duckdb"


def build_combined_warehouse(accounts: Accounts, target: Path) -> dict[str, int]:
    """Write ``target``; return rows per table."""
    make_dirs(target.parent)
    temp = temp_path_for(target)
    selects: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    with restricted_umask():
        temp.unlink(missing_ok=True)
        con = duckdb.connect(str(temp))
        try:
            for n, account in enumerate(accounts.accounts):
                source = account.data_dir() / WAREHOUSE_FILE
                if not source.is_file():
                    continue
                alias = f"account_{n}"
                con.execute(f"ATTACH '{_quoted(source)}' AS {alias} (READ_ONLY)")
                tables = con.execute(
                    "select table_name from information_schema.tables where table_catalog = ? "
                    "and table_schema = 'main' and table_type = 'BASE TABLE' order by 1", [alias]
                ).fetchall()
                for (table,) in tables:
                    selects.setdefault(table, []).append(
                        f"select '{account.id}' as account_id, * from {alias}.main.\"{table}\""
                    )
            for table, parts in sorted(selects.items()):
                # By name: an account synced by an older release may lack a newer column.
                con.execute(f'create table "{table}" as ' + " union all by name ".join(parts))
                rows[table] = int(con.execute(f'select count(*) from "{table}"').fetchone()[0])  # type: ignore[index]
        finally:
            con.close()
        os.replace(temp, target)
    return rows


def _quoted(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")
