"""``/api/v1/dashboard``: the figures, their agreement with the snapshots, validation."""

from decimal import Decimal

import pytest

from crmphase.metrics.loaders import portfolio_totals
from crmphase.periods import Period
from tests.metrics.expected_totals import totals_from_snapshots


def test_anonymous_gets_401(api, dash_now):
    assert api(None).get("/api/v1/dashboard").status_code == 401


def test_default_period_is_the_last_complete_month(api, dash_portfolio):
    body = api("viewer").get("/api/v1/dashboard").json
    assert body["period"] == "2026-10"
    assert body["today"] == "2026-11-15"


def test_headline_figures(api, dash_portfolio):
    response = api("viewer").get("/api/v1/dashboard?period=2026-10")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["has_snapshots"] is True
    assert body["active_projects"] == 3  # p4 is on hold
    totals = body["totals"]
    assert totals["projects"] == 2
    assert totals["coverage"] == {"measured": 2, "due": 3, "ratio": "0.6667", "percent": "66.67"}
    assert totals["actual"] == {
        "cumulative_cost": "170000.00",
        "cumulative_benefit": "120000.00",
        "net_benefit": "-50000.00",
        "roi_pct": "-29.41",
        "npv": "-51000.50",
    }
    assert totals["plan"]["cumulative_cost"] == "115000.00"
    assert totals["plan"]["roi_pct"] == "8.70"  # 10000 / 115000


def test_figures_equal_the_snapshots_and_the_portfolio_totals(api, dash_portfolio, db):
    import sqlalchemy as sa

    from crmphase.metrics.models import RoiSnapshot

    body = api("crmo").get("/api/v1/dashboard?period=2026-10").json["totals"]
    snapshots = db.session.scalars(sa.select(RoiSnapshot)).all()
    for expected in (
        portfolio_totals(Period(2026, 10)),
        totals_from_snapshots(Period(2026, 10), snapshots),
    ):
        assert body["projects"] == expected.projects
        assert body["coverage"]["measured"] == expected.coverage.measured
        assert body["coverage"]["due"] == expected.coverage.due
        for kind in ("actual", "plan"):
            money = getattr(expected, kind)
            assert Decimal(body[kind]["cumulative_cost"]) == money.cumulative_cost
            assert Decimal(body[kind]["cumulative_benefit"]) == money.cumulative_benefit
            assert Decimal(body[kind]["net_benefit"]) == money.net_benefit
            assert Decimal(body[kind]["npv"]) == money.npv
            assert Decimal(body[kind]["roi_pct"]) == money.roi_pct


def test_one_project_figures_equal_the_roi_math(
    api, dash_now, make_program, make_project, make_snapshot
):
    """A program of one project: the dashboard shows exactly the project's SPEC §4 figures,
    computed by the same pure functions the ROI endpoint and the snapshot job use."""
    from crmphase.metrics.roi import EntryKind, MoneyEntry, roi_figures

    p = Period.parse
    costs = [
        MoneyEntry(p("2026-08"), EntryKind.ACTUAL, Decimal("30000.00")),
        MoneyEntry(p("2026-10"), EntryKind.ACTUAL, Decimal("12500.55")),
        MoneyEntry(p("2026-08"), EntryKind.PLAN, Decimal("35000.00")),
    ]
    benefits = [
        MoneyEntry(p("2026-09"), EntryKind.ACTUAL, Decimal("20000.00")),
        MoneyEntry(p("2026-10"), EntryKind.ACTUAL, Decimal("9999.99")),
        MoneyEntry(p("2026-10"), EntryKind.PLAN, Decimal("50000.00")),
    ]
    rate = Decimal("0.08")
    actual = roi_figures(costs, benefits, p("2026-10"), kind=EntryKind.ACTUAL, discount_rate=rate)
    plan = roi_figures(costs, benefits, p("2026-10"), kind=EntryKind.PLAN, discount_rate=rate)
    program = make_program()
    project = make_project(program=program, phase="execute")
    make_snapshot(
        project,
        "2026-10",
        cost=actual.cumulative_cost,
        benefit=actual.cumulative_benefit,
        actual_npv=actual.npv,
        plan_cost=plan.cumulative_cost,
        plan_benefit=plan.cumulative_benefit,
        plan_npv=plan.npv,
    )
    body = api("viewer").get(f"/api/v1/dashboard?period=2026-10&program_id={program.id}").json
    for kind, figures in (("actual", actual), ("plan", plan)):
        shown = body["totals"][kind]
        assert Decimal(shown["cumulative_cost"]) == figures.cumulative_cost
        assert Decimal(shown["cumulative_benefit"]) == figures.cumulative_benefit
        assert Decimal(shown["net_benefit"]) == figures.net_benefit
        assert Decimal(shown["roi_pct"]) == figures.roi_pct
        assert Decimal(shown["npv"]) == figures.npv


def test_filters_by_program_and_department(api, dash_portfolio):
    client = api("viewer")
    body = client.get(
        f"/api/v1/dashboard?period=2026-10&program_id={dash_portfolio.service.id}"
    ).json
    assert body["program_id"] == dash_portfolio.service.id
    assert body["totals"]["projects"] == 1
    assert body["totals"]["actual"]["cumulative_cost"] == "50000.00"
    assert body["active_projects"] == 1
    assert {c["phase"] for c in body["funnel"]} == {"manage", "strategize"}
    body = client.get("/api/v1/dashboard?period=2026-10&department=marketing").json
    assert body["totals"]["actual"]["cumulative_cost"] == "120000.00"
    assert body["overruns"]["total"] == 1


def test_trends(api, dash_portfolio):
    body = api("viewer").get("/api/v1/dashboard?period=2026-10").json
    trend = body["coverage_trend"]
    assert len(trend) == 12
    assert trend[0]["period"] == "2025-11" and trend[-1]["period"] == "2026-10"
    assert trend[-2] == {"period": "2026-09", "measured": 2, "due": 2, "percent": "100.00"}
    assert trend[0]["percent"] is None  # nothing due: no figure rather than 0 %
    assert [p["period"] for p in body["money_trend"]] == ["2026-09", "2026-10"]
    assert body["money_trend"][1]["actual_cost"] == "170000.00"
    roi = {s["name"]: s["points"] for s in body["roi_trend"]}
    assert roi["Campaigns"] == [
        {"period": "2026-09", "roi_pct": "-75.00"},
        {"period": "2026-10", "roi_pct": "-75.00"},
    ]
    assert roi["Service"] == [{"period": "2026-10", "roi_pct": "80.00"}]


def test_work_lists(api, dash_portfolio):
    body = api("viewer").get("/api/v1/dashboard?period=2026-10").json
    assert body["kpi_status"] == {"on_track": 1, "at_risk": 1, "off_track": 1, "no_data": 0}
    assert body["unmeasured"]["total"] == 1
    item = body["unmeasured"]["items"][0]
    assert item["project_id"] == dash_portfolio.p1.id
    assert item["missing"] == 2 and item["oldest"] == "2026-09"
    assert [k["name"] for k in body["off_track"]["items"]] == ["Response rate"]
    assert body["pending_reviews"]["total"] == 1
    assert body["pending_reviews"]["items"][0]["age_days"] == 10
    assert [r["project_id"] for r in body["overdue_reviews"]["items"]] == [dash_portfolio.p2.id]
    overrun = body["overruns"]["items"][0]
    assert overrun["project_id"] == dash_portfolio.p1.id and overrun["overrun"] == "20000.00"
    cells = {(c["department"], c["phase"]): c["count"] for c in body["ownership"]}
    assert cells == {
        ("marketing", "execute"): 1,
        ("service", "manage"): 1,
        ("sales", "evaluate"): 1,
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=2026-13", "period"),
        ("period=last", "period"),
        ("program_id=abc", "program_id"),
        ("program_id=999999", "program_id"),
        ("department=finance", "department"),
    ],
)
def test_bad_filters_get_a_422_problem(api, dash_now, query, field):
    response = api("viewer").get(f"/api/v1/dashboard?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.json["errors"]] == [field]


def test_a_period_without_snapshots_is_empty_not_an_error(api, dash_portfolio):
    body = api("viewer").get("/api/v1/dashboard?period=2020-01").json
    assert body["has_snapshots"] is False
    assert body["totals"]["coverage"]["percent"] is None
    assert body["totals"]["actual"]["roi_pct"] is None
    assert body["active_projects"] == 3  # where projects stand now does not depend on it


def test_openapi_describes_the_dashboard(api, app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    operation = doc["paths"]["/api/v1/dashboard"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"period", "program_id", "department"}
    assert "200" in operation["responses"]
    schemas = doc["components"]["schemas"]
    assert "Dashboard" in schemas
    # Prefixed names, so no other domain's "Coverage" or "Totals" can collide with them.
    assert {"DashboardCoverage", "DashboardTotals", "DashboardMoneyTotals"} <= set(schemas)
