"""The usage report: an offline HTML dashboard and one PNG per chart, drawn from the warehouse.

``data`` reads the warehouse (read-only), ``charts`` turns each frame into a Vega-Altair chart,
``page`` inlines the charts and Vega's JavaScript into one self-contained ``index.html``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ReportResult", "build_report"]


def __getattr__(name: str) -> Any:
    # Resolved on first use: `page` imports Altair, which a publish that reuses its UI charts never needs.
    if name in __all__:
        from assets.report import page

        return getattr(page, name)
    raise AttributeError(f"module 'assets.report' has no attribute {name!r}")
