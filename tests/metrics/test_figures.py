"""project_figures (pure) and load_figures (bulk, from the database), hand-computed."""

from datetime import date
from decimal import Decimal

import pytest

from crmphase.metrics.loaders import load_figures
from crmphase.metrics.roi import Cadence, Direction, EntryKind, KpiStatus, MoneyEntry
from crmphase.metrics.rules import KpiInput, mean_attainment, project_figures, project_status
from crmphase.periods import Period

P = Period.parse
D = Decimal
ACTUAL, PLAN = EntryKind.ACTUAL, EntryKind.PLAN

# Actual: cost 60,000 + 40,000 = 100,000; benefit 50,000 + 100,000 = 150,000 by 2026-03.
# Plan: cost 90,000; benefit 45,000 + 45,000 = 90,000.
COSTS = [
    MoneyEntry(P("2026-01"), ACTUAL, D("60000.00")),
    MoneyEntry(P("2026-02"), ACTUAL, D("40000.00")),
    MoneyEntry(P("2026-01"), PLAN, D("90000.00")),
    MoneyEntry(P("2026-09"), ACTUAL, D("99999.00")),  # after P: ignored
]
BENEFITS = [
    MoneyEntry(P("2026-02"), ACTUAL, D("50000.00")),
    MoneyEntry(P("2026-03"), ACTUAL, D("100000.00")),
    MoneyEntry(P("2026-02"), PLAN, D("45000.00")),
    MoneyEntry(P("2026-03"), PLAN, D("45000.00")),
]


def kpi_input(kpi_id, name, direction, baseline, target, target_period, measurements):
    return KpiInput(
        kpi_id=kpi_id,
        name=name,
        unit="%",
        direction=direction,
        baseline_value=D(baseline),
        baseline_period=P("2026-01"),
        target_value=D(target),
        target_period=P(target_period),
        cadence=Cadence.MONTHLY,
        measurements={P(k): D(v) for k, v in measurements.items()},
    )


# A down KPI from 20 to 10 (by 2026-05) measured at 15: 50 % attained, 50 % expected.
CHURN = kpi_input(1, "Churn", Direction.DOWN, "20", "10", "2026-05", {"2026-03": "15"})
# An up KPI from 0 to 100 (by 2026-11) at 10: 10 % attained, 20 % expected → off track.
LEADS = kpi_input(2, "Leads", Direction.UP, "0", "100", "2026-11", {"2026-02": "10"})
# Never measured: no data, left out of the mean.
NPS = kpi_input(3, "NPS", Direction.UP, "30", "50", "2026-12", {})


def figures(**kw):
    kw.setdefault("costs", COSTS)
    kw.setdefault("benefits", BENEFITS)
    kw.setdefault("discount_rate", D("0.08"))
    kw.setdefault("kpis", [CHURN, LEADS, NPS])
    kw.setdefault("due_count", 3)
    kw.setdefault("measured_count", 1)
    return project_figures(7, P("2026-03"), **kw)


def test_actual_money_figures_by_hand():
    actual = figures().actual
    assert actual.cumulative_cost == D("100000.00")
    assert actual.cumulative_benefit == D("150000.00")
    assert actual.net_benefit == D("50000.00")
    assert actual.roi_pct == D("50.00")
    assert actual.payback_period == P("2026-03")
    # -60,000 + 10,000 / 1.08^(1/12) + 100,000 / 1.08^(2/12)
    # = -60,000 + 9,936.07 + 98,725.51
    assert actual.npv == D("48661.58")


def test_plan_money_figures_and_variance_by_hand():
    result = figures()
    plan = result.plan
    assert (plan.cumulative_cost, plan.cumulative_benefit) == (D("90000.00"), D("90000.00"))
    assert plan.net_benefit == D("0.00")
    assert plan.roi_pct == D("0.00")
    assert plan.payback_period == P("2026-03")  # benefit ≥ cost > 0 from March
    # -90,000 + 45,000 / 1.08^(1/12) + 45,000 / 1.08^(2/12)
    assert plan.npv == D("-861.20")
    assert result.variance == {
        "cumulative_cost": D("10000.00"),
        "cumulative_benefit": D("60000.00"),
        "net_benefit": D("50000.00"),
        "roi_pct": D("50.00"),
        "npv": D("49522.78"),
    }


def test_kpi_figures_by_hand():
    result = figures()
    churn, leads, nps = result.kpis
    assert (churn.latest, churn.attainment, churn.expected) == (D("15"), D("50.00"), D("50.00"))
    assert churn.status == KpiStatus.ON_TRACK
    assert (leads.latest, leads.attainment, leads.expected) == (D("10"), D("10.00"), D("20.00"))
    assert leads.status == KpiStatus.OFF_TRACK
    assert (nps.latest, nps.attainment, nps.status) == (None, None, KpiStatus.NO_DATA)
    assert nps.expected == D("18.18")  # 2 of 11 months
    assert result.kpi_attainment == D("30.00")  # (50 + 10) / 2, NPS has no data
    assert result.status == KpiStatus.OFF_TRACK  # the worst KPI with data


def test_coverage_counts_and_measured_flag():
    result = figures()
    assert (result.due_count, result.measured_count, result.measured) == (3, 1, False)
    assert result.coverage.percent == D("33.33")
    assert figures(due_count=2, measured_count=2).measured is True
    assert figures(due_count=0, measured_count=0).measured is True
    with pytest.raises(ValueError):
        figures(due_count=1, measured_count=2)


def test_no_entries_no_kpis():
    result = project_figures(1, P("2026-03"))
    assert result.actual.cumulative_cost == D("0.00")
    assert result.actual.roi_pct is None
    assert result.actual.payback_period is None
    assert result.actual.npv == D("0.00")
    assert result.variance["roi_pct"] is None
    assert result.kpis == ()
    assert result.kpi_attainment is None
    assert result.status == KpiStatus.NO_DATA


def test_kpi_without_target_has_no_attainment_but_shows_latest():
    incomplete = KpiInput(
        9, "Calls", "", Direction.UP, None, None, None, None, measurements={P("2026-01"): D(4)}
    )
    (row,) = figures(kpis=[incomplete]).kpis
    assert (row.latest, row.attainment, row.expected, row.status) == (
        D(4),
        None,
        None,
        KpiStatus.NO_DATA,
    )


def test_later_measurement_is_ignored_for_an_earlier_period():
    later = kpi_input(4, "Later", Direction.UP, "0", "10", "2026-05", {"2026-04": "10"})
    (row,) = figures(kpis=[later]).kpis
    assert row.latest is None and row.status == KpiStatus.NO_DATA


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([KpiStatus.ON_TRACK, KpiStatus.AT_RISK], KpiStatus.AT_RISK),
        ([KpiStatus.ON_TRACK, KpiStatus.NO_DATA], KpiStatus.ON_TRACK),
        ([KpiStatus.NO_DATA], KpiStatus.NO_DATA),
        ([], KpiStatus.NO_DATA),
        ([KpiStatus.AT_RISK, KpiStatus.OFF_TRACK, KpiStatus.ON_TRACK], KpiStatus.OFF_TRACK),
    ],
)
def test_project_status_is_the_worst_known(statuses, expected):
    class Row:
        def __init__(self, status):
            self.status = status
            self.attainment = None

    assert project_status([Row(s) for s in statuses]) == expected


def test_mean_attainment_rounds_half_up():
    class Row:
        def __init__(self, value):
            self.attainment = None if value is None else D(value)

    assert mean_attainment([Row("10.00"), Row("10.01"), Row(None)]) == D("10.01")  # 10.005
    assert mean_attainment([Row(None)]) is None


# --------------------------------------------------------------------------- database


@pytest.fixture
def portfolio(db, make_project, make_program, make_cost, make_benefit, make_kpi, make_measurement):
    """Projects in execute since 2026-01 with the entries and KPIs above."""

    def build(count=1):
        program = make_program(discount_rate=D("0.08"))
        projects = []
        for _ in range(count):
            project = make_project(
                program=program, phase="execute", phase_entered_on=date(2026, 1, 1)
            )
            for entry in COSTS:
                make_cost(
                    project, str(entry.period), entry.amount, entry.kind.value, category="services"
                )
            for entry in BENEFITS:
                # split each benefit in two entries: SQL must sum them per period
                half = (entry.amount / 2).quantize(D("0.01"))
                for amount in (half, entry.amount - half):
                    make_benefit(project, str(entry.period), amount, entry.kind.value)
            for spec in (CHURN, LEADS, NPS):
                kpi = make_kpi(
                    project,
                    name=spec.name,
                    unit=spec.unit,
                    direction=spec.direction.value,
                    baseline_value=spec.baseline_value,
                    baseline_period=str(spec.baseline_period),
                    target_value=spec.target_value,
                    target_period=str(spec.target_period),
                    cadence="monthly",
                )
                for period, value in spec.measurements.items():
                    make_measurement(kpi, str(period), value)
                # an older value that the latest one supersedes
                make_measurement(kpi, "2026-01", D("99"))
            projects.append(project)
        return projects

    return build


def test_load_figures_equals_the_hand_computation(portfolio):
    (project,) = portfolio()
    result = load_figures([project.id], P("2026-03"))[project.id]
    assert result.actual.cumulative_cost == D("100000.00")
    assert result.actual.cumulative_benefit == D("150000.00")
    assert result.actual.roi_pct == D("50.00")
    assert result.actual.npv == D("48661.58")
    assert result.plan.npv == D("-861.20")
    assert [k.name for k in result.kpis] == ["Churn", "Leads", "NPS"]
    churn, leads, nps = result.kpis
    assert churn.attainment == D("50.00") and leads.attainment == D("10.00")
    # NPS has only the January value 99: (99 - 30) / (50 - 30) = 345 %
    assert nps.attainment == D("345.00")
    assert result.kpi_attainment == D("135.00")
    # due in March: all three monthly KPIs; measured in March: Churn only
    assert (result.due_count, result.measured_count, result.measured) == (3, 1, False)
    assert result.status == KpiStatus.OFF_TRACK


def test_load_figures_uses_a_fixed_number_of_queries(portfolio, count_queries):
    projects = portfolio(count=4)
    ids = [p.id for p in projects]
    with count_queries() as one:
        load_figures(ids[:1], P("2026-03"))
    with count_queries() as many:
        result = load_figures(ids, P("2026-03"))
    assert len(many) == len(one)
    assert len(many) <= 10
    assert {r.actual.roi_pct for r in result.values()} == {D("50.00")}


def test_load_figures_skips_unknown_projects_and_empty_input(portfolio):
    (project,) = portfolio()
    assert load_figures([], P("2026-03")) == {}
    result = load_figures([project.id, 999999], P("2026-03"))
    assert list(result) == [project.id]


def test_one_project_and_many_projects_load_the_same_figures(portfolio, make_project):
    """One id and many ids run differently shaped statements (= and IN)."""
    projects = portfolio(count=3)
    idle = make_project(phase="execute")  # no money, no KPIs
    ids = [p.id for p in projects] + [idle.id]
    together = load_figures(ids, P("2026-03"))
    for project_id in ids:
        alone = load_figures([project_id], P("2026-03"))
        assert repr(alone[project_id]) == repr(together[project_id])  # exponents too
    assert together[idle.id].actual.cumulative_cost == D("0.00")
    assert together[idle.id].kpis == ()
