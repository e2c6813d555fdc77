"""The benchmark's own arithmetic: percentiles, verdicts, the L-against-S lines (pure)."""

import math

import pytest

from bench.floor_sql import Raw, dashboard_params, export_sheets
from bench.run import Figure, growth, markdown_table, percentiles


def test_percentiles_of_twenty_samples():
    p50, p95 = percentiles([float(i) for i in range(1, 21)])
    assert p50 == 10.5
    assert p95 == pytest.approx(19.05)
    assert percentiles([3.0]) == (3.0, 3.0)


@pytest.mark.parametrize(
    ("value", "floor", "verdict"),
    [(0.03, 0.01, "PASS"), (0.0301, 0.01, "FAIL"), (0.01, None, "FAIL"), (math.nan, 1, "FAIL")],
)
def test_a_ratio_target_passes_at_or_below_the_ratio(value, floor, verdict):
    assert Figure("L", "sqlite", "x", value, floor=floor, target=3.0).verdict == verdict


def test_a_value_target_and_an_informative_line():
    memory = Figure("L", "sqlite", "peak", 299.0, "MB", floor=40.0, target=300.0,
                    compare_value=True)  # fmt: skip
    assert memory.verdict == "PASS"
    assert Figure("S", "sqlite", "x", 5.0, floor=1.0).verdict == "info"


def test_dashboard_at_l_is_compared_with_s_per_engine():
    figures = [
        Figure("S", "sqlite", "dashboard JSON", 0.100),
        Figure("L", "sqlite", "dashboard JSON", 0.150, target=3, floor=0.1),
        Figure("S", "postgres", "dashboard JSON", 0.100),
        Figure("L", "postgres", "dashboard JSON", 0.250, target=3, floor=0.1),
        Figure("L", "sqlite", "project JSON", 9.0, target=3, floor=1.0),
    ]
    lines = {f.engine: f for f in growth(figures)}
    assert set(lines) == {"sqlite", "postgres"}
    assert lines["sqlite"].ratio == pytest.approx(1.5)
    assert lines["sqlite"].verdict == "PASS"
    assert lines["postgres"].verdict == "FAIL"
    assert "| L/S | sqlite | dashboard JSON, L against S |" in markdown_table(growth(figures))


def test_floor_statements_use_the_driver_placeholders():
    raw = Raw.__new__(Raw)
    raw.engine = "postgres"
    assert raw._sql("WHERE a = :period AND b::text = 'x:y'") == (
        "WHERE a = %(period)s AND b::text = 'x:y'"
    )
    raw.engine = "sqlite"
    assert raw._sql("WHERE a = :period") == "WHERE a = :period"


def test_floor_parameters_and_export_sheets():
    params = dashboard_params("2026-01", "2026-02-15")
    assert params["first_12"] == "2025-02"
    assert params["first_24"] == "2024-02"
    assert params["overdue_cutoff"] == "2025-11-15"
    sheets = dict(export_sheets("postgres", "2026-12"))
    assert sheets["Decisions"][1]["end"] == "2027-01-01 00:00:00"
    assert "AT TIME ZONE 'UTC'" in sheets["Measurements"][0]
    assert "AT TIME ZONE" not in dict(export_sheets("sqlite", "2026-12"))["Measurements"][0]


def test_figures_are_chosen_by_name(capsys):
    from bench.run import main

    with pytest.raises(SystemExit) as refused:
        main(["--figures", "job,xlsx"])
    assert refused.value.code == 2
    assert "not xlsx" in capsys.readouterr().err
