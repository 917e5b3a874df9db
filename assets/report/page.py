"""Assemble the report: one offline ``index.html`` (Vega's JavaScript inlined) and a PNG per chart."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import jinja2
import vl_convert

from assets.report.charts import Panel, panels
from assets.report.data import ReportFilter, default_range, load, open_warehouse
from resources.atomic_files import atomic_file
from resources.platform_constants import PLATFORM_TIMEZONE

PNG_SCALE = 2.0
TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tencent Meeting usage, {{ label }}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif; margin: 2rem auto;
         max-width: 60rem; color: #222; padding: 0 1rem; }
  header p { color: #555; margin: 0.2rem 0; }
  section { margin: 2.5rem 0; }
  h2 { margin-bottom: 0.2rem; font-size: 1.25rem; }
  p.caption { color: #444; margin: 0 0 0.8rem; }
  .chart { min-height: 60px; }
  .chart-error { color: #b00020; }
  footer { color: #777; font-size: 0.85rem; margin-top: 3rem; }
</style>
</head>
<body>
<header>
  <h1>Tencent Meeting usage</h1>
  <p>{{ label }} &middot; time zone {{ timezone }} &middot; generated {{ generated }}</p>
  <p>From <code>{{ warehouse }}</code>. Each chart is also saved as a PNG beside this page.</p>
</header>
{% for panel in panels %}
<section id="{{ panel.slug }}" data-has-data="{{ 'true' if panel.has_data else 'false' }}">
  <h2>{{ panel.title }}</h2>
  <p class="caption">{{ panel.caption }}</p>
  <div class="chart" id="chart-{{ panel.slug }}" data-dataset="{{ panel.dataset }}"></div>
  <script type="application/json" id="spec-{{ panel.slug }}">{{ specs[panel.slug] | safe }}</script>
</section>
{% endfor %}
<footer>Charts drawn with Vega-Altair (Vega-Lite {{ vl_version }}); the page works offline.</footer>
<script type="module">{{ bundle | safe }}</script>
<script type="module">
  window.reportViews = {};
  const slugs = {{ slugs | safe }};
  window.reportRendered = Promise.all(slugs.map(async (slug) => {
    const target = document.getElementById("chart-" + slug);
    const spec = JSON.parse(document.getElementById("spec-" + slug).textContent);
    try {
      const result = await vegaEmbed(target, spec, {renderer: "svg", actions: false});
      window.reportViews[slug] = result.view;
      target.dataset.rendered = "true";
    } catch (error) {
      target.classList.add("chart-error");
      target.textContent = "This chart could not be drawn: " + error;
      console.error("chart " + slug + ": " + error);
    }
  }));
</script>
</body>
</html>
""")


@dataclass(frozen=True)
class ReportResult:
    html: Path
    pngs: dict[str, Path]
    filter: ReportFilter
    panels_with_data: list[str] = field(default_factory=list)
    panels_without_data: list[str] = field(default_factory=list)


def build_report(
    warehouse: Path,
    out_dir: Path,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    department: str | None = None,
    timezone: str = PLATFORM_TIMEZONE,
    today: dt.date | None = None,
) -> ReportResult:
    """Draw the report for ``[start, end]`` (default: the last 30 days with data) into ``out_dir``."""
    con = open_warehouse(warehouse)
    try:
        first, last = default_range(con, start, end, today or dt.date.today())
        flt = ReportFilter(first, last, department, timezone)
        data = load(con, flt)
    finally:
        con.close()
    drawn = panels(data)
    specs = {panel.slug: panel.chart.to_dict() for panel in drawn}
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = {panel.slug: out_dir / f"{panel.slug}.png" for panel in drawn}
    for panel in drawn:
        _write(pngs[panel.slug], render_png(specs[panel.slug]))
    html = TEMPLATE.render(
        label=flt.label,
        timezone=timezone,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        warehouse=str(warehouse),
        panels=drawn,
        specs={slug: _script_json(spec) for slug, spec in specs.items()},
        slugs=json.dumps([panel.slug for panel in drawn]),
        bundle=_inline_script(javascript_bundle()),
        vl_version=alt.SCHEMA_VERSION,
    )
    index = out_dir / "index.html"
    _write(index, html.encode("utf-8"))
    return ReportResult(
        html=index,
        pngs=pngs,
        filter=flt,
        panels_with_data=[p.slug for p in drawn if p.has_data],
        panels_without_data=[p.slug for p in drawn if not p.has_data],
    )


def render_png(spec: dict[str, object]) -> bytes:
    return vl_convert.vegalite_to_png(spec, scale=PNG_SCALE, vl_version=vl_version())


def chart_png(panel: Panel) -> bytes:
    return render_png(panel.chart.to_dict())


@functools.cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script, so the page needs no network."""
    return vl_convert.javascript_bundle(vl_version=vl_version())


def vl_version() -> str:
    # vl-convert names Vega-Lite versions like "v6_4"; Altair's schema is "v6.4.1".
    return "_".join(alt.SCHEMA_VERSION.split(".")[:2])


def _script_json(spec: dict[str, object]) -> str:
    # In JSON "<" only occurs inside strings, where the escape \\u003c reads the same and no text
    # (a meeting subject, say) can end the <script> element early.
    return json.dumps(spec, ensure_ascii=False).replace("<", "\\u003c")


def _inline_script(code: str) -> str:
    """JavaScript that cannot end its <script> element early (only "</script" could)."""
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)


def _write(path: Path, payload: bytes) -> None:
    with atomic_file(path) as handle:
        handle.write(payload)
