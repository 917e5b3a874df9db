"""docs/tables.md's table index is the one the assets declare, and documents every table it lists."""

from __future__ import annotations

import re

from assets import registry
from assets.schemas import SCHEMAS
from tests.table_index import TABLES_MD, render, section


def test_table_index_is_generated_from_the_assets() -> None:
    documented = section(TABLES_MD.read_text(encoding="utf-8")).strip()
    assert documented == render(), (
        "docs/tables.md's table index differs from the assets' tags: run `python -m tests.table_index` and commit"
    )


def test_every_indexed_table_has_its_section_and_schema() -> None:
    text = TABLES_MD.read_text(encoding="utf-8")
    headed = {name for line in text.splitlines() if line.startswith("### ")
              for name in re.findall(r"`([a-z_]+)`", line.split("—")[0])}
    assert set(registry.lake_tables()) <= headed
    assert set(registry.lake_tables()) == set(SCHEMAS)
