"""What the dashboard shows of a large portfolio: the ROI trend's ten largest programs and
the others summed, and the least attained off-track KPIs found from the snapshots' tallies
(through the API, against the same figures computed from every snapshot)."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmphase.metrics.roi import roi_pct
from tests.factories.metrics import kpi_detail


def test_roi_trend_shows_the_ten_largest_programs_and_sums_the_others(
    api, dash_now, make_user, make_program, make_project, make_snapshot
):
    crmo = make_user("crmo")
    programs = [make_program(f"Program {i:02d}", crmo=crmo) for i in range(13)]
    for i, program in enumerate(programs):
        project = make_project(f"Project {i:02d}", program=program)
        # Program i costs 1000 × (i + 1) in October; its benefit makes ROI i %.
        for period, scale in (("2026-09", 1), ("2026-10", 2)):
            cost = Decimal(1000 * (i + 1) * scale)
            make_snapshot(project, period, cost=cost, benefit=cost * (100 + i) / 100)

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
    portfolio, api, db, dash_now, make_project, make_snapshot
):
    from crmphase.dashboard.loaders import kpi_details_of_period, off_track_kpis
    from crmphase.dashboard.rules import DashboardFilters
    from crmphase.metrics.models import RoiSnapshot
    from crmphase.metrics.rules import kpi_status_counts
    from crmphase.periods import Period

    db.session.execute(RoiSnapshot.__table__.delete())
    db.session.commit()
    for n, entries in enumerate(portfolio):
        project = make_project(f"P{n}")  # same-named KPIs and tied attainments on purpose
        kpis = [
            kpi_detail(f"K{j % 2}", status, attainment=value, kpi_id=j)
            for j, (status, value) in enumerate(entries)
        ]
        make_snapshot(project, "2026-10", kpi_details=kpis)

    body = api("viewer").get("/api/v1/dashboard?period=2026-10").json
    rows = kpi_details_of_period(DashboardFilters(Period(2026, 10)))
    expected = off_track_kpis(rows)
    assert body["kpi_status"] == kpi_status_counts(row[3] for row in rows)
    assert body["off_track"]["total"] == len(expected)
    assert [(k["project_id"], k["name"], k["attainment"]) for k in body["off_track"]["items"]] == [
        (k.project_id, k.name, k.attainment) for k in expected[:5]
    ]


def _thirteen_programs(make_user, make_program, make_project, make_snapshot):
    """Program i costs 1000 × (i + 1) in October, so programs 3 to 12 are the largest."""
    crmo = make_user("crmo")
    programs = [make_program(f"Program {i:02d}", crmo=crmo) for i in range(13)]
    for i, program in enumerate(programs):
        project = make_project(f"Project {i:02d}", program=program)
        make_snapshot(
            project, "2026-10", cost=1000 * (i + 1), benefit=500, due_count=2, measured_count=i % 3
        )
    return programs


def test_dashboard_shows_the_ten_largest_programs_and_lists_all_a_page_at_a_time(
    api, dash_now, make_user, make_program, make_project, make_snapshot
):
    _thirteen_programs(make_user, make_program, make_project, make_snapshot)
    client = api("viewer")
    body = client.get("/api/v1/dashboard?period=2026-10").json
    assert body["by_program_total"] == 13
    assert [p["name"] for p in body["by_program"]] == [f"Program {i:02d}" for i in range(12, 2, -1)]
    assert body["by_program"][0]["actual"]["cumulative_cost"] == "13000.00"
    assert body["by_program"][0]["coverage"]["measured"] == 0  # 12 % 3

    first = client.get("/api/v1/dashboard/programs?period=2026-10&per_page=5").json
    assert (first["total"], first["pages"], first["page"]) == (13, 3, 1)
    assert [p["name"] for p in first["items"]] == [f"Program {i:02d}" for i in range(5)]
    last = client.get("/api/v1/dashboard/programs?period=2026-10&per_page=5&page=3").json
    assert [p["name"] for p in last["items"]] == ["Program 10", "Program 11", "Program 12"]
    everything = client.get("/api/v1/dashboard/programs?period=2026-10&per_page=100").json
    # the dashboard's rows are the same figures as the full list's
    same = {p["name"]: p for p in everything["items"]}
    assert all(same[p["name"]] == p for p in body["by_program"])

    assert client.get("/api/v1/dashboard/programs?period=2026-13").status_code == 422
    assert client.get("/api/v1/dashboard/programs?program_id=999").status_code == 422
    assert client.get("/api/v1/dashboard/programs?per_page=0").status_code == 422
    empty = client.get("/api/v1/dashboard/programs?period=2025-01").json
    assert (empty["total"], empty["items"]) == (0, [])


def test_dashboard_page_links_to_every_program(
    page_client, dash_now, make_user, make_program, make_project, make_snapshot, app, monkeypatch
):
    _thirteen_programs(make_user, make_program, make_project, make_snapshot)
    client = page_client(make_user("viewer"))
    body = client.get("/?period=2026-10").get_data(as_text=True)
    assert "The 10 largest of 13 programs, 2026-10" in body
    assert "Program 12" in body and "Program 02" not in body.split("programs-h")[1]
    assert "All 13 programs" in body and "/dashboard/programs?period=2026-10" in body

    monkeypatch.setitem(app.config, "PER_PAGE", 10)
    first = client.get("/dashboard/programs?period=2026-10").get_data(as_text=True)
    assert "Page 1 of 2 · 13 in all" in first
    table = first.split('class="table"')[1]  # not the filter bar's choice of programs
    assert "Program 00" in table and "Program 12" not in table
    second = client.get("/dashboard/programs?period=2026-10&page=2").get_data(as_text=True)
    assert "Program 12" in second.split('class="table"')[1]
    empty = client.get("/dashboard/programs?period=2025-01").get_data(as_text=True)
    assert "No program has snapshots for 2025-01" in empty
