"""N+1 guards: the dashboard reads a fixed number of statements, whatever the data size."""

from datetime import UTC, date, datetime

import pytest

from crmphase.periods import Period
from tests.factories.metrics import kpi_detail


@pytest.fixture
def grow(make_program, make_project, make_snapshot, make_alert, make_review, make_user):
    """``grow(n)`` adds n projects over two programs, each with a year of snapshots,
    an open alert, a pending review and an overdue periodic review."""
    programs = [make_program(), make_program()]
    manager = make_user("manager")

    def add(n: int) -> None:
        for i in range(n):
            project = make_project(
                program=programs[i % 2],
                manager=manager,
                phase="manage",
                department=("marketing", "sales", "service")[i % 3],
                phase_entered_on=date(2026, 1, 1),
            )
            for back in range(3):
                make_snapshot(
                    project,
                    str(Period(2026, 10).shift(-back)),
                    cost=1000 + i,
                    benefit=900,
                    plan_cost=1000,
                    plan_benefit=1200,
                    due_count=2,
                    measured_count=1,
                    kpi_details=[
                        kpi_detail("A", "off_track", "5", "50"),
                        kpi_detail("B", "on_track", "90", "50"),
                    ],
                    budget=500,
                )
            make_alert(project, "missing_measurement", "2026-09", subject_key="kpi:1")
            make_review(project, requested_at=datetime(2026, 11, 1, tzinfo=UTC))

    return add


def _count(count_queries, request) -> int:
    with count_queries() as statements:
        response = request()
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return len(statements)


@pytest.mark.parametrize("role", ["crmo", "steering", "manager", "viewer"])
def test_dashboard_page_statements_do_not_grow(
    grow, page_client, make_user, count_queries, dash_now, role
):
    client = page_client(make_user(role))
    grow(3)
    small = _count(count_queries, lambda: client.get("/?period=2026-10"))
    grow(27)
    large = _count(count_queries, lambda: client.get("/?period=2026-10"))
    assert large == small, (small, large)
    assert small <= 30


def test_dashboard_api_statements_do_not_grow(grow, api, count_queries, dash_now):
    client = api("viewer")
    grow(3)
    small = _count(count_queries, lambda: client.get("/api/v1/dashboard?period=2026-10"))
    grow(27)
    body = client.get("/api/v1/dashboard?period=2026-10").json
    assert body["totals"]["projects"] == 30 and body["unmeasured"]["total"] == 30
    large = _count(count_queries, lambda: client.get("/api/v1/dashboard?period=2026-10"))
    assert large == small, (small, large)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/projects",
        "/dashboard/programs",
        "/dashboard/unmeasured",
        "/dashboard/off-track",
        "/dashboard/overruns",
        "/dashboard/reviews",
        "/dashboard/overdue-reviews",
    ],
)
def test_list_statements_do_not_grow(grow, page_client, make_user, count_queries, dash_now, path):
    client = page_client(make_user("crmo"))
    grow(3)
    small = _count(count_queries, lambda: client.get(f"{path}?period=2026-10"))
    grow(27)
    large = _count(count_queries, lambda: client.get(f"{path}?period=2026-10"))
    assert large == small, (small, large)
