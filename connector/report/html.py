"""``report.html``: one self-contained page, rendered from a Jinja2 template, and the charts as PNG.

Charts are embedded as base64 PNG and style and script are inline, so the page opens with no network
(its Content-Security-Policy forbids any other source).
"""

from __future__ import annotations

import base64
import pathlib
import typing as t

import jinja2

from connector.report.charts import Chart, all_charts

if t.TYPE_CHECKING:
    from connector.sync.reportdata import ReportData

__all__ = ["render_html", "write_report"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("connector.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


_ENV.filters["pct"] = _pct
_ENV.filters["num"] = _num


def render_html(data: ReportData, charts: t.Sequence[Chart]) -> str:
    """The page for ``data`` with ``charts`` embedded."""
    embedded = [(c, base64.b64encode(c.png).decode("ascii")) for c in charts]
    return _ENV.get_template("report.html.j2").render(data=data, charts=embedded, chart_count=len(charts))


def write_report(data: ReportData, output: pathlib.Path) -> pathlib.Path:
    """Write ``report.html`` and one PNG per chart into ``output`` (created); return the page's path."""
    output.mkdir(parents=True, exist_ok=True)
    charts = all_charts(data)
    for chart in charts:
        (output / f"{chart.slug}.png").write_bytes(chart.png)
    page = output / "report.html"
    page.write_text(render_html(data, charts), encoding="utf-8")
    return page
