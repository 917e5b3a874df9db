"""The report's pictures for the Dagster UI: small charts as Markdown images in asset metadata."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import vl_convert

from assets.report.charts import compact_daily_chart, licences_panel
from assets.report.data import ReportFilter, default_range, load, open_warehouse
from assets.report.page import vl_version

# Small enough to keep each materialization event light in Dagster's event log.
UI_PNG_SCALE = 1.0


def ui_charts_markdown(warehouse: Path, timezone: str, today: dt.date) -> str:
    """The daily trend and the licence split of the last 30 days with data, as inline PNGs."""
    con = open_warehouse(warehouse)
    try:
        start, end = default_range(con, None, None, today)
        data = load(con, ReportFilter(start, end, None, timezone))
    finally:
        con.close()
    licences = licences_panel(data)
    images = [
        ("Attendee-hours per day", compact_daily_chart(data).to_dict()),
        (licences.caption, licences.chart.properties(width=420).to_dict()),
    ]
    return "\n\n".join(f"![{alt_text}](data:image/png;base64,{_png_base64(spec)})" for alt_text, spec in images)


def _png_base64(spec: dict[str, object]) -> str:
    png = vl_convert.vegalite_to_png(spec, scale=UI_PNG_SCALE, vl_version=vl_version())
    return base64.b64encode(png).decode("ascii")
