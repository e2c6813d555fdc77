"""Plotly figures of the Measurement and Money tabs, as plain dicts (pure).

Values become floats here and only here: a chart is a picture, and the exact decimals stay
in the tables next to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from crmphase.metrics.rules import KpiInput
from crmphase.periods import Period

ACTUAL_COLOUR = "#1f5fbf"
PLAN_COLOUR = "#8a94a6"
TARGET_COLOUR = "#1c7c45"
BASELINE_COLOUR = "#b26a00"
MISSING_COLOUR = "#b3261e"


def _x(period: Period) -> str:
    return f"{period}-01"


def _line(name, periods, values, colour, dash="solid", mode="lines") -> dict:
    return {
        "type": "scatter",
        "mode": mode,
        "name": name,
        "x": [_x(p) for p in periods],
        "y": [None if v is None else float(v) for v in values],
        "line": {"color": colour, "dash": dash},
        "hovertemplate": "%{x|%Y-%m}: %{y}<extra>" + name + "</extra>",
    }


def kpi_chart(
    kpi: KpiInput,
    measurements: Mapping[Period, Decimal],
    *,
    through: Period,
    missing: Iterable[Period] = (),
) -> dict:
    """One KPI: actual values, baseline and target lines, the expected trajectory from
    baseline to target, and the missing periods marked."""
    gaps = sorted(missing)
    # Missing periods break the actual line, so a gap never looks like a measured trend.
    periods = sorted(set(measurements) | set(gaps))
    first_candidates = [p for p in (kpi.baseline_period, *periods[:1]) if p is not None]
    first = min(first_candidates) if first_candidates else through
    last_candidates = [p for p in (through, kpi.target_period, *periods[-1:]) if p is not None]
    last = max(last_candidates)
    actual = _line(
        "Actual",
        periods,
        [measurements.get(p) for p in periods],
        ACTUAL_COLOUR,
        mode="lines+markers",
    )
    actual["connectgaps"] = False
    traces = [actual]
    if kpi.baseline_value is not None:
        traces.append(
            _line("Baseline", [first, last], [kpi.baseline_value] * 2, BASELINE_COLOUR, "dot")
        )
    if kpi.target_value is not None:
        traces.append(_line("Target", [first, last], [kpi.target_value] * 2, TARGET_COLOUR, "dot"))
    target = kpi.target
    if target is not None:
        traces.append(
            _line(
                "Expected",
                [target.baseline_period, target.target_period],
                [target.baseline_value, target.target_value],
                PLAN_COLOUR,
                "dash",
            )
        )
    if gaps:
        level = kpi.baseline_value if kpi.baseline_value is not None else Decimal(0)
        trace = _line("Missing", gaps, [level] * len(gaps), MISSING_COLOUR, mode="markers")
        trace["marker"] = {"symbol": "x", "size": 11, "color": MISSING_COLOUR}
        traces.append(trace)
    unit = f" ({kpi.unit})" if kpi.unit else ""
    return {
        "data": traces,
        "layout": {
            "title": {"text": f"{kpi.name}{unit}"},
            "xaxis": {
                "type": "date",
                "tickformat": "%Y-%m",
                "range": [_x(first.previous()), _x(last.next())],
            },
            "yaxis": {"title": {"text": kpi.unit or "value"}, "zeroline": False},
            "legend": {"orientation": "h", "y": -0.2},
            "height": 340,
        },
    }


def money_chart(rows: list, currency: str) -> dict:
    """Cumulative net benefit per period, plan against actual (rows of the money ledger)."""
    periods = [r.period for r in rows]
    return {
        "data": [
            _line(
                "Plan net benefit",
                periods,
                [r.plan_net for r in rows],
                PLAN_COLOUR,
                "dash",
                "lines+markers",
            ),
            _line(
                "Actual net benefit",
                periods,
                [r.actual_net for r in rows],
                ACTUAL_COLOUR,
                mode="lines+markers",
            ),
        ],
        "layout": {
            "title": {"text": "Cumulative net benefit"},
            "xaxis": {"type": "date", "tickformat": "%Y-%m"},
            "yaxis": {"title": {"text": currency}, "zeroline": True},
            "legend": {"orientation": "h", "y": -0.2},
            "height": 340,
        },
    }
