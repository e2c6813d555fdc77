"""What the dashboard shows of a large portfolio: the ROI trend's ten largest programs and
the others summed, and the least attained off-track KPIs found from the snapshots' tallies
(through the API, against the same figures computed from every snapshot)."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmphase.metrics.roi import roi_pct
from tests.factories_dashboard import kpi


def test_roi_trend_shows_the_ten_largest_programs_and_sums_the_others(
    api, dash_now, make_user, make_program, make_project, dash_snapshot
):
    crmo = make_user("crmo")
    programs = [make_program(f"Program {i:02d}", crmo=crmo) for i in range(13)]
    for i, program in enumerate(programs):
        project = make_project(f"Project {i:02d}", program=program)
        # Program i costs 1000 × (i + 1) in October; its benefit makes ROI i %.
        for period, scale in (("2026-09", 1), ("2026-10", 2)):
            cost = Decimal(1000 * (i + 1) * scale)
            dash_snapshot(project, period, cost=cost, benefit=cost * (100 + i) / 100)

    body = api("viewer").get("/api/v1/dashboard?period=2026-10").json
    lines = {s["name"]: s for s in body["roi_trend"]}
    largest = [f"Program {i:02d}" for i in range(3, 13)]
    assert [s["name"] for s in body["roi_trend"]] == [*largest, "All other programs"]
    assert lines["Program 12"]["points"] == [
        {"period": "2026-09", "roi_pct": "12.00"},
        {"period": "2026-10", "roi_pct": "12.00"},
    ]
    others = lines["All other programs"]
    assert others["program_id"] is None
    # Programs 0, 1 and 2: summed net over summed cost.
    for point, scale in zip(others["points"], (1, 2), strict=True):
        cost = sum(Decimal(1000 * (i + 1) * scale) for i in range(3))
        net = sum(Decimal(1000 * (i + 1) * scale) * i / 100 for i in range(3))
        assert Decimal(point["roi_pct"]) == roi_pct(net, cost)

    one = api("viewer").get(f"/api/v1/dashboard?period=2026-10&program_id={programs[0].id}").json
    assert [s["name"] for s in one["roi_trend"]] == ["Program 00"]  # nothing else to sum


def test_roi_trend_of_a_small_portfolio_has_no_other_line(api, dash_portfolio):
    body = api("viewer").get("/api/v1/dashboard?period=2026-10").json
    assert [s["name"] for s in body["roi_trend"]] == ["Campaigns", "Service"]


attainments = st.none() | st.integers(min_value=-300, max_value=300).map(lambda n: f"{n}.00")
details = st.lists(
    st.tuples(st.sampled_from(("off_track", "at_risk", "on_track", "no_data")), attainments),
    max_size=4,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(portfolio=st.lists(details, min_size=1, max_size=9))
def test_off_track_list_and_counts_equal_those_from_every_snapshot(
    portfolio, api, db, dash_now, make_project, dash_snapshot
):
    from crmphase.dashboard.queries import kpi_details_of_period, off_track_kpis
    from crmphase.dashboard.rules import DashboardFilters
    from crmphase.metrics.kpi_tally import kpi_status_counts
    from crmphase.metrics.models import RoiSnapshot
    from crmphase.periods import Period

    db.session.execute(RoiSnapshot.__table__.delete())
    db.session.commit()
    for n, entries in enumerate(portfolio):
        project = make_project(f"P{n}")  # same-named KPIs and tied attainments on purpose
        kpis = [
            kpi(f"K{j % 2}", status, attainment=value, kpi_id=j)
            for j, (status, value) in enumerate(entries)
        ]
        dash_snapshot(project, "2026-10", kpis=kpis)

    body = api("viewer").get("/api/v1/dashboard?period=2026-10").json
    rows = kpi_details_of_period(DashboardFilters(Period(2026, 10)))
    expected = off_track_kpis(rows)
    assert body["kpi_status"] == kpi_status_counts(row[3] for row in rows)
    assert body["off_track"]["total"] == len(expected)
    assert [(k["project_id"], k["name"], k["attainment"]) for k in body["off_track"]["items"]] == [
        (k.project_id, k.name, k.attainment) for k in expected[:5]
    ]
