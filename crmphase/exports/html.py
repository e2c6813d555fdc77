"""The monthly review as a printable HTML report: one section per program.

The downloaded file is standalone: its stylesheet is embedded in a ``<style>`` element and
its charts are inline SVG, so it opens and prints offline. The in-app view renders the
same template but links ``static/css/report.css`` (the app's CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import IO

from flask import render_template

from crmphase.assets import STATIC, installed_path
from crmphase.exports import svg
from crmphase.exports.loaders import MonthlyReview
from crmphase.exports.rules import REPORT_TABLES, Table, TrendPoint

Progress = Callable[[int], None]


@cache
def report_css() -> str:
    return installed_path(STATIC, "css", "report.css").read_text(encoding="utf-8")


def _records(table: Table, progress: Progress | None) -> list[dict]:
    headers = [c.header for c in table.columns]
    records = [dict(zip(headers, row, strict=True)) for row in table.rows()]
    if progress and records:
        progress(len(records))
    return records


def trend_charts(points: list[TrendPoint], scope: str, currency: str) -> dict:
    labels = [str(p.period) for p in points]
    roi = svg.line_chart(
        labels,
        [
            svg.Series("Actual ROI %", [p.totals.actual.roi_pct for p in points], svg.ACTUAL),
            svg.Series(
                "Plan ROI %", [p.totals.plan.roi_pct for p in points], svg.PLAN, dashed=True
            ),
        ],
        title=f"{scope}: ROI % by month, actual and plan",
        suffix="%",
    )
    money = svg.bar_chart(
        labels,
        [
            svg.Series(
                "Cumulative cost", [p.totals.actual.cumulative_cost for p in points], svg.COST
            ),
            svg.Series(
                "Cumulative benefit",
                [p.totals.actual.cumulative_benefit for p in points],
                svg.BENEFIT,
            ),
        ],
        title=f"{scope}: cumulative cost against benefit ({currency}), actual",
    )
    return {"roi": roi, "money": money}


def report_context(review: MonthlyReview, progress: Progress | None = None) -> dict:
    """Everything the report template shows, grouped by program."""
    tables = {t.slug: t for t in review.tables if t.slug in REPORT_TABLES}
    grouped: dict[str, dict[str, list[dict]]] = {}
    for slug in REPORT_TABLES:
        for record in _records(tables[slug], progress):
            grouped.setdefault(record["Program"], {}).setdefault(slug, []).append(record)
    figures = {p.name: p for p in review.programs}
    sections = []
    for name in sorted(figures.keys() | grouped.keys()):
        program = figures.get(name)
        points = review.program_trends.get(program.program_id, []) if program else []
        sections.append(
            {
                "name": name,
                "figures": program,
                "charts": trend_charts(points, name, review.currency) if points else None,
                **{slug: grouped.get(name, {}).get(slug, []) for slug in REPORT_TABLES},
            }
        )
    return {
        "review": review,
        "sections": sections,
        "charts": trend_charts(review.trend, "Portfolio", review.currency)
        if review.trend
        else None,
    }


def render_report(
    review: MonthlyReview, *, standalone: bool, progress: Progress | None = None
) -> str:
    """The report as HTML: ``standalone`` embeds the CSS (the downloaded file); otherwise
    the page links the stylesheet (the in-app view)."""
    context = report_context(review, progress)
    return render_template(
        "exports/report.html",
        embedded_css=report_css() if standalone else None,
        standalone=standalone,
        **context,
    )


def write_report(review: MonthlyReview, out: IO[bytes] | str, progress: Progress | None = None):
    html = render_report(review, standalone=True, progress=progress)
    if progress:
        progress(1)
    if isinstance(out, str):
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(html)
    else:
        out.write(html.encode("utf-8"))
