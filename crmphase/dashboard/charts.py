"""Plotly figures of the dashboard, as plain dicts (``{"data": [...], "layout": {...}}``).

Pure: values in, figure out; no Flask, no database. ``templates/_macros.html`` ``chart()``
embeds a figure as a JSON data block and ``static/js/charts.js`` draws it. Chart
coordinates are floats because they are only drawn; every figure shown as text on the
page or in the API stays an exact Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

STATUS_COLOURS = {
    "on_track": "#1c7c45",
    "at_risk": "#b26a00",
    "off_track": "#b3261e",
    "no_data": "#9aa4b2",
}
STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "no_data": "No data",
}
ACTUAL = "#1f5fbf"
PLAN = "#9aa4b2"
COST = "#b3261e"
BENEFIT = "#1c7c45"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


def _float(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


def _layout(title: str, **extra) -> dict:
    layout = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
        "font": FONT,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.18, "yanchor": "top"},
        "hovermode": "x unified",
    }
    layout.update(extra)
    return layout


def roi_by_program(series: Sequence) -> dict:
    """Actual ROI % per program over time. ``series``: objects with ``name`` and
    ``points`` [(period, roi_pct or None)]; a period without cost leaves a gap."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": s.name,
            "x": [str(period) for period, _ in s.points],
            "y": [_float(value) for _, value in s.points],
            "connectgaps": False,
            "hovertemplate": "%{y:.2f} %",
        }
        for s in series
    ]
    return {
        "data": data,
        "layout": _layout(
            "ROI % per program (actual, cumulative)",
            xaxis={"type": "category", "automargin": True},
            yaxis={
                "title": {"text": "ROI %"},
                "zeroline": True,
                "zerolinecolor": "#5b6676",
                "automargin": True,
            },
        ),
    }


def benefit_against_cost(points: Sequence) -> dict:
    """Cumulative benefit against cumulative cost, actual and plan. ``points``: objects
    with ``period``, ``actual_cost``, ``actual_benefit``, ``plan_cost``, ``plan_benefit``."""
    x = [str(p.period) for p in points]

    def line(name, attribute, colour, dash):
        return {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": x,
            "y": [_float(getattr(p, attribute)) for p in points],
            "line": {"color": colour, "dash": dash},
            "hovertemplate": "%{y:,.2f}",
        }

    return {
        "data": [
            line("Actual benefit", "actual_benefit", BENEFIT, "solid"),
            line("Actual cost", "actual_cost", COST, "solid"),
            line("Plan benefit", "plan_benefit", BENEFIT, "dot"),
            line("Plan cost", "plan_cost", COST, "dot"),
        ],
        "layout": _layout(
            "Cumulative benefit against cost: plan and actual",
            xaxis={"type": "category", "automargin": True},
            yaxis={"tickformat": ",.0f", "automargin": True},
        ),
    }


def kpi_status(counts: Mapping[str, int]) -> dict:
    """How many KPIs are on track, at risk, off track and without data."""
    statuses = list(STATUS_LABELS)
    return {
        "data": [
            {
                "type": "bar",
                "x": [STATUS_LABELS[s] for s in statuses],
                "y": [int(counts.get(s, 0)) for s in statuses],
                "marker": {"color": [STATUS_COLOURS[s] for s in statuses]},
                "text": [str(int(counts.get(s, 0))) for s in statuses],
                "textposition": "auto",
                "hovertemplate": "%{x}: %{y}<extra></extra>",
            }
        ],
        "layout": _layout(
            "KPI status",
            showlegend=False,
            hovermode="closest",
            yaxis={"title": {"text": "KPIs"}, "rangemode": "tozero", "dtick": 1}
            if max(counts.values(), default=0) <= 10
            else {"title": {"text": "KPIs"}, "rangemode": "tozero"},
        ),
    }


def budget_against_spend(rows: Iterable) -> dict:
    """Budget against actual spend of the worst overruns. ``rows``: objects with
    ``project_name``, ``budget`` and ``actual_cumulative_cost``, worst first."""
    rows = list(rows)
    names = [r.project_name for r in rows][::-1]  # worst at the top of a horizontal bar
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "Budget",
                "y": names,
                "x": [_float(r.budget) for r in rows][::-1],
                "marker": {"color": PLAN},
                "hovertemplate": "%{x:,.2f}",
            },
            {
                "type": "bar",
                "orientation": "h",
                "name": "Actual spend",
                "y": names,
                "x": [_float(r.actual_cumulative_cost) for r in rows][::-1],
                "marker": {"color": COST},
                "hovertemplate": "%{x:,.2f}",
            },
        ],
        "layout": _layout(
            "Budget against actual spend: worst overruns",
            barmode="group",
            hovermode="y unified",
            xaxis={"tickformat": ",.0f", "automargin": True},
            yaxis={"automargin": True},
        ),
    }


def coverage_trend(points: Sequence) -> dict:
    """Measurement coverage % per period. ``points``: objects with ``period`` and
    ``coverage`` (``.percent`` None when nothing was due: a gap, not a zero)."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Coverage",
                "x": [str(p.period) for p in points],
                "y": [_float(p.coverage.percent) for p in points],
                "line": {"color": ACTUAL},
                "connectgaps": False,
                "hovertemplate": "%{x}: %{y:.1f} %<extra></extra>",
            }
        ],
        "layout": _layout(
            "Measurement coverage, last 12 months",
            showlegend=False,
            hovermode="closest",
            xaxis={"type": "category"},
            yaxis={"title": {"text": "%"}, "range": [0, 105]},
        ),
    }
