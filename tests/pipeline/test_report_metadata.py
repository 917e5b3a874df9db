"""The Dagster UI's view of the warehouse: charts, a link to the report, plottable numbers, column schemas."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import dagster as dg
import duckdb

from emulator.testing import EmulatorHandle
from pipelines.definitions import ASSETS
from pipelines.sync import SYNC_SELECTION
from resources.dagster_resources import StorageResource, TencentMeetingResource
from tests.pipeline.conftest import FIRST, LAST

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_warehouse_materialization_carries_charts_report_link_and_column_schemas(
    pipeline_env: tuple[EmulatorHandle, Path],
) -> None:
    _, data_dir = pipeline_env
    outcome = dg.materialize(
        ASSETS,
        selection=SYNC_SELECTION,
        resources={"tencent": TencentMeetingResource(), "storage": StorageResource()},
        tags={"dagster/asset_partition_range_start": FIRST.isoformat(),
              "dagster/asset_partition_range_end": LAST.isoformat()},
    )
    assert outcome.success
    seen = {
        event.step_materialization_data.materialization.asset_key.to_user_string():
            dict(event.step_materialization_data.materialization.metadata)
        for event in outcome.get_asset_materialization_events()
    }
    warehouse = seen["warehouse"]
    images = re.findall(r"!\[[^\]]+\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", warehouse["usage_charts"].value)
    assert len(images) == 2
    assert all(base64.b64decode(image)[:8] == PNG_MAGIC for image in images)
    assert warehouse["report"].value == str((data_dir / "report" / "index.html").resolve())
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        (meetings,) = con.execute("SELECT count(*) FROM meetings").fetchone()
        (quarantined,) = con.execute("SELECT count(*) FROM quarantine").fetchone()
        columns = con.execute(
            "SELECT table_name, column_name, lower(data_type), comment FROM duckdb_columns() "
            "WHERE table_name LIKE 'report%' ORDER BY table_name, column_index"
        ).fetchall()
    assert isinstance(warehouse["meetings"], dg.IntMetadataValue) and warehouse["meetings"].value == meetings > 0
    assert warehouse["quarantined_rows"].value == quarantined
    assert warehouse["dagster/row_count"].value >= meetings

    for table in {t for t, *_ in columns}:
        schema = seen[table]["dagster/column_schema"].value
        want = [(c, t, d) for t2, c, t, d in columns if t2 == table]
        assert [(c.name, c.type, c.description) for c in schema.columns] == want
        assert all(c.description for c in schema.columns), table

    specs = {spec.key.to_user_string(): spec for definition in ASSETS for spec in getattr(definition, "specs", [])}
    assert "Daily usage: for each business date" in (specs["report_daily_usage"].description or "")
