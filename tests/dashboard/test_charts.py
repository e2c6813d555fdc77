"""The Plotly figure builders: pure, valid Plotly, and drawn from the values given."""

from dataclasses import dataclass
from decimal import Decimal

import plotly.graph_objects as go
import pytest

from crmphase.dashboard import charts
from crmphase.dashboard.loaders import CoveragePoint, MoneyPoint, ProgramRoiSeries
from crmphase.metrics.roi import Coverage
from crmphase.periods import Period

P9, P10 = Period(2026, 9), Period(2026, 10)


def assert_valid_plotly(figure: dict) -> None:
    """plotly.graph_objects validates every property name and value."""
    go.Figure(figure)


def test_roi_by_program_has_one_line_per_program_with_gaps_for_missing_roi():
    figure = charts.roi_by_program(
        [
            ProgramRoiSeries(1, "Campaigns", [(P9, Decimal("-12.50")), (P10, Decimal("4.25"))]),
            ProgramRoiSeries(2, "Service", [(P9, None), (P10, Decimal("80.00"))]),
        ]
    )
    assert_valid_plotly(figure)
    assert [t["name"] for t in figure["data"]] == ["Campaigns", "Service"]
    assert figure["data"][0]["x"] == ["2026-09", "2026-10"]
    assert figure["data"][0]["y"] == [-12.5, 4.25]
    assert figure["data"][1]["y"] == [None, 80.0]


def test_benefit_against_cost_draws_actual_and_plan():
    figure = charts.benefit_against_cost(
        [
            MoneyPoint(P9, 2, Decimal("100.00"), Decimal("50.00"), Decimal("90"), Decimal("60")),
            MoneyPoint(P10, 2, Decimal("150.00"), Decimal("120.00"), Decimal("95"), Decimal("130")),
        ]
    )
    assert_valid_plotly(figure)
    lines = {t["name"]: t["y"] for t in figure["data"]}
    assert lines == {
        "Actual benefit": [50.0, 120.0],
        "Actual cost": [100.0, 150.0],
        "Plan benefit": [60.0, 130.0],
        "Plan cost": [90.0, 95.0],
    }


def test_kpi_status_bars_in_fixed_order_and_colours():
    figure = charts.kpi_status({"off_track": 3, "on_track": 5})
    assert_valid_plotly(figure)
    bar = figure["data"][0]
    assert bar["x"] == ["On track", "At risk", "Off track", "No data"]
    assert bar["y"] == [5, 0, 3, 0]
    assert bar["marker"]["color"][2] == charts.STATUS_COLOURS["off_track"]


@dataclass
class Overrun:
    project_name: str
    budget: Decimal
    actual_cumulative_cost: Decimal


def test_budget_against_spend_puts_the_worst_overrun_on_top():
    figure = charts.budget_against_spend(
        [
            Overrun("Worst", Decimal("100"), Decimal("300")),
            Overrun("Mild", Decimal("100"), Decimal("110")),
        ]
    )
    assert_valid_plotly(figure)
    budget, spend = figure["data"]
    assert budget["y"] == ["Mild", "Worst"]  # plotly draws the last category at the top
    assert spend["x"] == [110.0, 300.0]
    assert figure["layout"]["barmode"] == "group"


@pytest.mark.parametrize(("measured", "due", "y"), [(3, 4, 75.0), (0, 0, None)])
def test_coverage_trend_is_a_gap_when_nothing_was_due(measured, due, y):
    figure = charts.coverage_trend([CoveragePoint(P10, Coverage(measured=measured, due=due))])
    assert_valid_plotly(figure)
    assert figure["data"][0]["y"] == [y]


def test_figures_are_json_serialisable():
    import json

    json.dumps(charts.kpi_status({}))
    json.dumps(charts.roi_by_program([]))
    json.dumps(charts.benefit_against_cost([]))
