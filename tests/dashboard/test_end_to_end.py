"""The dashboard agrees with the ROI endpoint: entries in, the ``roi_snapshot`` job run,
then ``/api/v1/dashboard`` and ``/api/v1/projects/{id}/roi`` compared for the same period.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crmphase import clock

FIGURES = ("cumulative_cost", "cumulative_benefit", "net_benefit", "npv")


@pytest.fixture
def run_snapshot_job(app):
    from crmphase.jobs.services import run_job

    return lambda period: run_job("roi_snapshot", period, trigger="manual")


@pytest.fixture
def measured_portfolio(
    db, make_program, make_project, make_cost, make_benefit, make_kpi, make_measurement
):
    """Two programs, three projects in execute since January with plan and actual money
    and a monthly KPI measured in some months."""
    long_ago = datetime(2025, 6, 1, tzinfo=UTC)
    programs = [make_program(), make_program()]
    projects = []
    for n, program in enumerate((programs[0], programs[0], programs[1])):
        project = make_project(
            program=program,
            phase="execute",
            phase_entered_on=date(2026, 1, 1),
            created_at=long_ago,
            department=("marketing", "sales", "service")[n],
        )
        for month, cost, benefit in (("01", 10000, 0), ("02", 5000.5, 4000), ("03", 2500, 9000)):
            period = f"2026-{month}"
            make_cost(project, period, cost * (n + 1))
            make_benefit(project, period, benefit)
            make_cost(project, period, "9000.00", kind="plan")
            make_benefit(project, period, "7000.00", kind="plan")
        kpi = make_kpi(
            project,
            name="Response rate",
            baseline_value=Decimal("2"),
            target_value=Decimal("6"),
            target_period="2026-12",
        )
        for month in ("01", "02", "03")[: n + 1]:
            make_measurement(kpi, f"2026-{month}", Decimal("2.5") + n)
        projects.append(project)
    return programs, projects


def test_dashboard_equals_the_roi_endpoint_after_the_snapshot_job(
    api, run_snapshot_job, measured_portfolio
):
    programs, projects = measured_portfolio
    client = api("viewer")
    with clock.frozen("2026-04-20T08:00:00"):
        assert run_snapshot_job("2026-03").succeeded
        dashboard = client.get("/api/v1/dashboard?period=2026-03").json
        rois = {
            p.id: client.get(f"/api/v1/projects/{p.id}/roi?period=2026-03").json for p in projects
        }
        one = client.get(f"/api/v1/dashboard?period=2026-03&program_id={programs[1].id}").json
    assert dashboard["totals"]["projects"] == len(projects)
    for kind in ("actual", "plan"):
        for figure in FIGURES:
            expected = sum(Decimal(r[kind][figure]) for r in rois.values())
            assert Decimal(dashboard["totals"][kind][figure]) == expected, (kind, figure)
    assert dashboard["totals"]["coverage"]["due"] == sum(r["due_count"] for r in rois.values())
    assert dashboard["totals"]["coverage"]["measured"] == sum(
        r["measured_count"] for r in rois.values()
    )
    # A program of one project shows exactly that project's figures, ROI % included.
    alone = rois[projects[2].id]
    for kind in ("actual", "plan"):
        for figure in (*FIGURES, "roi_pct"):
            shown, expected = one["totals"][kind][figure], alone[kind][figure]
            assert (shown is None and expected is None) or Decimal(shown) == Decimal(expected)
