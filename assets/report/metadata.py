"""The report's pictures for the Dagster UI: small charts as Markdown images in asset metadata.

Drawing them means importing Altair and rendering two PNGs, most of what a publish that changed
nothing costs. The charts are a function of the data they show and of the code that draws them,
so the drawing is kept next to the report with a fingerprint of both and reused while it matches.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from importlib import metadata as package_metadata
from pathlib import Path

import pandas as pd

from assets.report.data import ReportData, ReportFilter, default_range, load, open_warehouse
from resources.atomic_files import atomic_file

log = logging.getLogger(__name__)

# Small enough to keep each materialization event light in Dagster's event log.
UI_PNG_SCALE = 1.0
# What draws the charts besides the data: a change to any of them redraws.
DRAWING_CODE = tuple(Path(__file__).parent / name for name in ("charts.py", "metadata.py", "page.py"))
DRAWING_PACKAGES = ("altair", "vl-convert-python")


def ui_charts_markdown(warehouse: Path, timezone: str, today: dt.date, cache: Path | None = None) -> str:
    """The daily trend and the licence split of the last 30 days with data, as inline PNGs.

    With ``cache``, the drawing kept there is returned when it was drawn from the same data by
    the same code; otherwise the charts are drawn and kept there.
    """
    con = open_warehouse(warehouse)
    try:
        start, end = default_range(con, None, None, today)
        data = load(con, ReportFilter(start, end, None, timezone))
    finally:
        con.close()
    fingerprint = chart_fingerprint(data)
    if cache is not None:
        kept = _read_kept(cache)
        if kept.get("fingerprint") == fingerprint and isinstance(kept.get("markdown"), str):
            return str(kept["markdown"])
    markdown = _draw(data)
    if cache is not None:
        _keep(cache, fingerprint, markdown)
    return markdown


def chart_fingerprint(data: ReportData) -> str:
    """SHA-256 of what the UI charts show (their data, range and time zone) and of what draws them."""
    digest = hashlib.sha256()
    shown = {"range": data.filter.label, "timezone": data.filter.timezone, "scale": UI_PNG_SCALE,
             "licence_window": [day.isoformat() for day in data.licence_window],
             "packages": {name: package_metadata.version(name) for name in DRAWING_PACKAGES}}
    digest.update(json.dumps(shown, sort_keys=True).encode())
    for frame in (data.daily, data.licences):
        digest.update(json.dumps([list(map(str, frame.columns)), list(map(str, frame.dtypes))]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    for path in DRAWING_CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _draw(data: ReportData) -> str:
    # Imported here: Altair takes a fifth to half a second to import, paid only when a chart changed.
    import vl_convert

    from assets.report.charts import compact_daily_chart, licences_panel
    from assets.report.page import vl_version

    licences = licences_panel(data)
    images = [
        ("Attendee-hours per day", compact_daily_chart(data).to_dict()),
        (licences.caption, licences.chart.properties(width=420).to_dict()),
    ]
    pngs = [vl_convert.vegalite_to_png(spec, scale=UI_PNG_SCALE, vl_version=vl_version()) for _, spec in images]
    return "\n\n".join(
        f"![{alt_text}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
        for (alt_text, _), png in zip(images, pngs, strict=True)
    )


def _read_kept(cache: Path) -> dict[str, object]:
    try:
        kept = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # Missing, unreadable or half-written by an older process: drawing again is the remedy.
        return {}
    return kept if isinstance(kept, dict) else {}


def _keep(cache: Path, fingerprint: str, markdown: str) -> None:
    try:
        with atomic_file(cache) as handle:
            handle.write(json.dumps({"fingerprint": fingerprint, "markdown": markdown}).encode())
    except OSError as exc:
        # The charts are drawn either way; only the next publish's saving is lost.
        log.warning("could not keep the UI charts at %s for the next publish: %s", cache, exc)
