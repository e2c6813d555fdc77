"""KPIs, measurements, money and the ROI figures through /api/v1 (SPEC §5)."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from crmphase import clock

from .conftest import CHURN_KPI

NOW = "2026-04-15T12:00:00"


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.frozen(NOW):
        yield


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def kpi_body(**overrides):
    body = {
        "name": "Churn rate",
        "unit": "%",
        "direction": "down",
        "baseline_value": "20",
        "baseline_period": "2026-01",
        "target_value": "10",
        "target_period": "2026-05",
        "cadence": "monthly",
    }
    body.update(overrides)
    return body


# --------------------------------------------------------------------------- KPIs


def test_manager_creates_and_lists_kpis(api, make_project, db):
    from crmphase.audit.models import Event

    project = make_project(phase="strategize")
    client = api(project.manager)
    response = client.post(f"/api/v1/projects/{project.id}/kpis", json=kpi_body())
    assert response.status_code == 201, response.json
    body = response.json
    assert body["baseline_value"] == "20" and body["target_value"] == "10"
    assert body["version"] == 1 and body["revisions"] == []
    listed = client.get(f"/api/v1/projects/{project.id}/kpis")
    assert [k["name"] for k in listed.json] == ["Churn rate"]
    event = db.session.scalar(sa.select(Event).where(Event.action == "kpi.created"))
    assert event.project_id == project.id and event.after["name"] == "Churn rate"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"direction": "sideways"}, "direction"),
        ({"cadence": "weekly"}, "cadence"),
        ({"baseline_value": "lots"}, "baseline_value"),
        ({"baseline_value": "NaN"}, "baseline_value"),
        ({"target_value": "Infinity"}, "target_value"),
        ({"baseline_period": "2026-13"}, "baseline_period"),
        ({"target_period": "2025-12"}, "target_period"),
        ({"target_value": "30"}, "target_value"),  # a down KPI must go down
        ({"target_value": "20"}, "target_value"),  # equal to the baseline
        ({"owner_id": 999999}, "owner_id"),
    ],
)
def test_invalid_kpi_is_refused_and_stores_nothing(api, make_project, db, overrides, field):
    from crmphase.metrics.models import Kpi

    project = make_project()
    response = api(project.manager).post(
        f"/api/v1/projects/{project.id}/kpis", json=kpi_body(**overrides)
    )
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in {e["field"] for e in response.json["errors"]}
    assert count(db, Kpi) == 0


def test_duplicate_kpi_name_in_project_is_refused(api, make_project):
    project = make_project()
    client = api(project.manager)
    client.post(f"/api/v1/projects/{project.id}/kpis", json=kpi_body())
    again = client.post(f"/api/v1/projects/{project.id}/kpis", json=kpi_body(name="churn RATE"))
    assert again.status_code == 422
    assert again.json["errors"][0]["field"] == "name"


def test_only_the_manager_or_crmo_edits_kpis(api, make_project, make_user):
    project = make_project()
    for who in ("viewer", "steering", make_user("manager")):
        response = api(who).post(f"/api/v1/projects/{project.id}/kpis", json=kpi_body())
        assert response.status_code == 403
    assert (
        api("crmo").post(f"/api/v1/projects/{project.id}/kpis", json=kpi_body()).status_code == 201
    )


def test_in_strategize_targets_move_without_reason(api, make_project, make_kpi):
    kpi = make_kpi(make_project(phase="strategize"))
    response = api(kpi.project.manager).patch(
        f"/api/v1/kpis/{kpi.id}", json={"target_value": "120", "version": kpi.version}
    )
    assert response.status_code == 200, response.json
    assert response.json["target_value"] == "120" and response.json["revisions"] == []


def test_after_strategize_moving_a_target_needs_a_reason_and_keeps_a_revision(
    api, make_project, make_kpi, db
):
    from crmphase.audit.models import Event
    from crmphase.metrics.models import KpiRevision

    kpi = make_kpi(make_project(phase="execute"))
    client = api(kpi.project.manager)
    refused = client.patch(
        f"/api/v1/kpis/{kpi.id}", json={"target_value": "80", "version": kpi.version}
    )
    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "reason"
    assert count(db, KpiRevision) == 0
    response = client.patch(
        f"/api/v1/kpis/{kpi.id}",
        json={"target_value": "80", "reason": "pilot showed 80 is realistic", "version": 1},
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["target_value"] == "80" and body["version"] == 2
    (revision,) = body["revisions"]
    assert revision["target_value"] == "100" and revision["baseline_value"] == "0"
    assert revision["reason"] == "pilot showed 80 is realistic"
    event = db.session.scalar(sa.select(Event).where(Event.action == "kpi.revised"))
    assert Decimal(event.before["target_value"]) == 100 and set(event.before) == {"target_value"}
    assert event.after["reason"] == "pilot showed 80 is realistic"


def test_after_strategize_renaming_needs_no_reason(api, make_project, make_kpi):
    kpi = make_kpi(make_project(phase="manage"))
    response = api(kpi.project.manager).patch(
        f"/api/v1/kpis/{kpi.id}", json={"name": "Renamed", "version": kpi.version}
    )
    assert response.status_code == 200 and response.json["revisions"] == []


def test_stale_kpi_version_gets_409(api, make_kpi):
    kpi = make_kpi()
    client = api(kpi.project.manager)
    assert (
        client.patch(f"/api/v1/kpis/{kpi.id}", json={"unit": "pts", "version": 1}).status_code
        == 200
    )
    stale = client.patch(f"/api/v1/kpis/{kpi.id}", json={"unit": "x", "version": 1})
    assert stale.status_code == 409
    assert client.get(f"/api/v1/kpis/{kpi.id}").json["unit"] == "pts"


def test_unknown_kpi_and_project_are_404(api):
    client = api("crmo")
    assert client.get("/api/v1/kpis/999999").status_code == 404
    assert client.get("/api/v1/projects/999999/kpis").status_code == 404
    put = client.put("/api/v1/kpis/999999/measurements/2026-03", json={"value": "1"})
    assert put.status_code == 404 and put.mimetype == "application/problem+json"


# --------------------------------------------------------------------------- measurements


def test_put_measurement_creates_then_corrects_keeping_revisions(api, make_kpi, db):
    from crmphase.audit.models import Event

    kpi = make_kpi()
    client = api(kpi.project.manager)
    url = f"/api/v1/kpis/{kpi.id}/measurements/2026-03"
    first = client.put(url, json={"value": "15", "note": "from the CRM report"})
    assert first.status_code == 201, first.json
    assert first.json["value"] == "15" and first.json["source"] == "api"
    second = client.put(url, json={"value": 16.5, "note": "corrected"})
    assert second.status_code == 200
    assert second.json["value"] == "16.5"
    (revision,) = second.json["revisions"]
    assert revision["value"] == "15" and revision["note"] == "from the CRM report"
    third = client.put(url, json={"value": "17"})
    assert [r["value"] for r in third.json["revisions"]] == ["16.5", "15"]
    listed = client.get(f"/api/v1/kpis/{kpi.id}/measurements").json
    assert len(listed) == 1 and len(listed[0]["revisions"]) == 2
    actions = db.session.scalars(
        sa.select(Event.action).where(Event.subject_type == "measurement").order_by(Event.id)
    ).all()
    assert actions == ["measurement.recorded", "measurement.corrected", "measurement.corrected"]


def test_putting_the_same_value_again_changes_nothing(api, make_kpi, db):
    from crmphase.metrics.models import MeasurementRevision

    kpi = make_kpi()
    client = api(kpi.project.manager)
    url = f"/api/v1/kpis/{kpi.id}/measurements/2026-03"
    client.put(url, json={"value": "15"})
    again = client.put(url, json={"value": "15.000"})
    assert again.status_code == 200
    assert count(db, MeasurementRevision) == 0


@pytest.mark.parametrize(
    ("period", "body", "field"),
    [
        ("2026-03", {"value": "fifteen"}, "value"),
        ("2026-03", {"value": "NaN"}, "value"),
        ("2026-03", {"value": "Infinity"}, "value"),
        ("2026-03", {"value": "-inf"}, "value"),
        ("2026-03", {"value": "1.1234567"}, "value"),
        ("2026-03", {"value": None}, "value"),
        ("2026-03", {"value": True}, "value"),
        ("2026-03", {"value": "1e20"}, "value"),
        ("2026-03", {}, "value"),
        ("2026-13", {"value": "1"}, "period"),
        ("26-03", {"value": "1"}, "period"),
        ("2026-05", {"value": "1"}, "period"),  # the future (clock: 2026-04)
    ],
)
def test_bad_measurement_is_refused_and_stores_nothing(api, make_kpi, db, period, body, field):
    from crmphase.metrics.models import Measurement

    kpi = make_kpi()
    response = api(kpi.project.manager).put(
        f"/api/v1/kpis/{kpi.id}/measurements/{period}", json=body
    )
    assert 400 <= response.status_code < 500, response.json
    assert response.mimetype == "application/problem+json"
    assert field in {e["field"] for e in response.json.get("errors", [])}
    assert count(db, Measurement) == 0


def test_current_period_is_accepted(api, make_kpi):
    kpi = make_kpi()
    response = api(kpi.project.manager).put(
        f"/api/v1/kpis/{kpi.id}/measurements/2026-04", json={"value": "-3.25"}
    )
    assert response.status_code == 201 and response.json["value"] == "-3.25"


def test_kpi_owner_may_record_but_not_edit_the_kpi(api, make_kpi, make_user):
    owner = make_user("steering")
    kpi = make_kpi(owner=owner)
    client = api(owner)
    assert (
        client.put(f"/api/v1/kpis/{kpi.id}/measurements/2026-03", json={"value": 1}).status_code
        == 201
    )
    assert (
        client.patch(f"/api/v1/kpis/{kpi.id}", json={"unit": "x", "version": 1}).status_code == 403
    )
    other = api("steering").put(f"/api/v1/kpis/{kpi.id}/measurements/2026-03", json={"value": 2})
    assert other.status_code == 403
    assert (
        api("viewer")
        .put(f"/api/v1/kpis/{kpi.id}/measurements/2026-03", json={"value": 2})
        .status_code
        == 403
    )


def test_killed_project_refuses_measurements_except_by_crmo(api, make_project, make_kpi):
    kpi = make_kpi(make_project(phase="execute", state="killed"))
    url = f"/api/v1/kpis/{kpi.id}/measurements/2026-03"
    refused = api(kpi.project.manager).put(url, json={"value": 1})
    assert refused.status_code == 403 and "killed" in refused.json["detail"]
    assert api("crmo").put(url, json={"value": 1}).status_code == 201


def test_measurement_resolves_its_missing_alert(api, make_kpi, make_alert, db):
    kpi = make_kpi()
    alert = make_alert(kpi.project, "missing_measurement", "2026-02", kpi_id=kpi.id)
    other = make_alert(kpi.project, "missing_measurement", "2026-01", kpi_id=kpi.id)
    api(kpi.project.manager).put(f"/api/v1/kpis/{kpi.id}/measurements/2026-02", json={"value": 1})
    db.session.refresh(alert)
    db.session.refresh(other)
    assert alert.resolved_at is not None and other.resolved_at is None


# --------------------------------------------------------------------------- money


def test_costs_and_benefits_are_booked_and_listed(api, make_project, db):
    from crmphase.audit.models import Event

    project = make_project()
    client = api(project.manager)
    cost = client.post(
        f"/api/v1/projects/{project.id}/costs",
        json={"period": "2026-02", "kind": "actual", "amount": "1234.5", "category": "software"},
    )
    assert cost.status_code == 201, cost.json
    assert cost.json["amount"] == "1234.50" and cost.json["category"] == "software"
    plan = client.post(
        f"/api/v1/projects/{project.id}/benefits",
        json={"period": "2027-06", "kind": "plan", "amount": 5000, "note": "business case"},
    )
    assert plan.status_code == 201, plan.json
    assert plan.json["amount"] == "5000.00"
    costs = client.get(f"/api/v1/projects/{project.id}/costs").json
    assert costs["total"] == 1 and costs["items"][0]["amount"] == "1234.50"
    benefits = client.get(f"/api/v1/projects/{project.id}/benefits?kind=actual").json
    assert benefits["total"] == 0
    actions = set(db.session.scalars(sa.select(Event.action)))
    assert {"cost.added", "benefit.added"} <= actions


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "a lot"}, "amount"),
        ({"amount": "1e15"}, "amount"),
        ({"period": "2026-13"}, "period"),
        ({"period": "2026-05"}, "period"),  # actual entries cannot be in the future
        ({"kind": "forecast"}, "kind"),
        ({"category": "travel"}, "category"),
    ],
)
def test_bad_cost_is_refused_and_stores_nothing(api, make_project, db, overrides, field):
    from crmphase.metrics.models import CostEntry

    project = make_project()
    body = {"period": "2026-03", "kind": "actual", "amount": "10.00", "category": "people"}
    body.update(overrides)
    response = api(project.manager).post(f"/api/v1/projects/{project.id}/costs", json=body)
    assert response.status_code == 422, response.json
    assert field in {e["field"] for e in response.json["errors"]}
    assert count(db, CostEntry) == 0


def test_plan_entries_may_be_in_the_future(api, make_project):
    project = make_project()
    response = api(project.manager).post(
        f"/api/v1/projects/{project.id}/costs",
        json={"period": "2027-01", "kind": "plan", "amount": "10"},
    )
    assert response.status_code == 201 and response.json["category"] == "other"


def test_money_needs_the_manager_or_crmo(api, make_project, make_user):
    project = make_project()
    body = {"period": "2026-03", "kind": "actual", "amount": "10"}
    for who in ("viewer", "steering", make_user("manager")):
        assert (
            api(who).post(f"/api/v1/projects/{project.id}/benefits", json=body).status_code == 403
        )


def test_correcting_an_entry_keeps_before_and_after(api, make_project, make_cost, db):
    from crmphase.audit.models import Event

    project = make_project()
    entry = make_cost(project, "2026-02", "100.00")
    client = api(project.manager)
    response = client.patch(f"/api/v1/costs/{entry.id}", json={"amount": "120.00"})
    assert response.status_code == 200 and response.json["amount"] == "120.00"
    event = db.session.scalar(sa.select(Event).where(Event.action == "cost.corrected"))
    assert event.before == {"amount": "100.00"} and event.after == {"amount": "120.00"}
    bad = client.patch(f"/api/v1/costs/{entry.id}", json={"amount": "-5"})
    assert bad.status_code == 422
    assert client.get(f"/api/v1/costs/{entry.id}").json["amount"] == "120.00"
    assert client.patch("/api/v1/benefits/999999", json={"amount": "1"}).status_code == 404


# --------------------------------------------------------------------------- ROI


def test_roi_endpoint_returns_every_figure_by_hand(
    api, make_project, make_kpi, make_cost, make_benefit, make_measurement
):
    from datetime import date

    project = make_project(phase="execute", phase_entered_on=date(2026, 1, 1))
    for period, amount in (("2026-01", "60000"), ("2026-02", "40000")):
        make_cost(project, period, amount)
    for period, amount in (("2026-02", "50000"), ("2026-03", "100000")):
        make_benefit(project, period, amount)
    make_cost(project, "2026-01", "90000", kind="plan")
    make_benefit(project, "2026-02", "45000", kind="plan")
    make_benefit(project, "2026-03", "45000", kind="plan")
    churn = make_kpi(project, **CHURN_KPI)
    make_measurement(churn, "2026-03", "15")
    body = api("viewer").get(f"/api/v1/projects/{project.id}/roi?period=2026-03").json
    assert body["period"] == "2026-03"
    assert body["actual"] == {
        "cumulative_cost": "100000.00",
        "cumulative_benefit": "150000.00",
        "net_benefit": "50000.00",
        "roi_pct": "50.00",
        "npv": "48661.58",
        "payback_period": "2026-03",
    }
    assert body["plan"]["roi_pct"] == "0.00" and body["plan"]["npv"] == "-861.20"
    assert body["variance"]["net_benefit"] == "50000.00"
    (kpi,) = body["kpis"]
    assert kpi["attainment"] == "50.00" and kpi["expected"] == "50.00"
    assert kpi["status"] == "on_track" and kpi["latest"] == "15"
    assert body["kpi_attainment"] == "50.00" and body["status"] == "on_track"
    assert body["coverage"] == {"due": 1, "measured": 1, "percent": "100.00"}
    assert body["measured"] is True


def test_roi_defaults_to_the_month_just_ended_and_refuses_bad_periods(api, make_project):
    project = make_project()
    client = api("viewer")
    body = client.get(f"/api/v1/projects/{project.id}/roi").json
    assert body["period"] == "2026-03"
    assert body["actual"]["roi_pct"] is None and body["status"] == "no_data"
    bad = client.get(f"/api/v1/projects/{project.id}/roi?period=2026-13")
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "period"
    assert client.get("/api/v1/projects/999999/roi").status_code == 404


def test_anonymous_gets_401(api, make_project):
    project = make_project()
    assert api(None).get(f"/api/v1/projects/{project.id}/roi").status_code == 401
