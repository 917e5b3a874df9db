"""The usage report: an offline HTML dashboard and one PNG per chart, drawn from the warehouse.

``data`` reads the warehouse (read-only), ``charts`` turns each frame into a Vega-Altair chart,
``page`` inlines the charts and Vega's JavaScript into one self-contained ``index.html``.
"""

from assets.report.page import ReportResult, build_report

__all__ = ["ReportResult", "build_report"]
