"""The Measurement and Money tabs, the KPI, measurement and money forms, the CSV import page."""

import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crmphase import clock

from .conftest import CHURN_KPI


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.frozen("2026-04-15T12:00:00"):
        yield


@pytest.fixture(autouse=True)
def import_dir(app, tmp_path):
    """Previewed uploads go to a temporary folder, not the instance folder."""
    app.config["CRMPHASE_IMPORT_DIR"] = str(tmp_path / "imports")
    yield tmp_path / "imports"
    app.config.pop("CRMPHASE_IMPORT_DIR", None)


def text(response) -> str:
    return response.get_data(as_text=True)


def chart_data(html: str, chart_id: str) -> dict:
    match = re.search(
        rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', html, re.S
    )
    assert match, f"no chart {chart_id}"
    return json.loads(match.group(1))


@pytest.fixture
def tracked(make_project, make_kpi, make_measurement):
    """A project in execute since January with a churn KPI measured in Jan and Mar only."""
    project = make_project("Web shop", phase="execute", phase_entered_on=date(2026, 1, 1))
    churn = make_kpi(project, **CHURN_KPI)
    make_measurement(churn, "2026-01", "19", note="first")
    make_measurement(churn, "2026-03", "15")
    return project, churn


# --------------------------------------------------------------------------- Measurement tab


def test_measurement_tab_shows_chart_figures_and_missing_periods(page_client, tracked, make_user):
    project, churn = tracked
    response = page_client(make_user("viewer")).get(f"/projects/{project.id}/measurement")
    assert response.status_code == 200
    html = text(response)
    assert "Churn" in html and "at risk" in html  # 50 % attained, 75 % expected by April
    assert "<dd>50 %</dd>" in html and "<dd>75 %</dd>" in html  # 15 is half-way to 10
    # February is due and its grace (10 days) ended in March: missing
    assert re.search(r'<tr class="missing">\s*<td>2026-02</td>', html)
    assert re.search(r'<tr class="measured">\s*<td>2026-03</td>', html)
    # April is due but still within the month: not missing yet
    assert re.search(r'<tr class="due">\s*<td>2026-04</td>', html)
    figure = chart_data(html, f"kpi-chart-{churn.id}")
    names = [t["name"] for t in figure["data"]]
    assert names == ["Actual", "Baseline", "Target", "Expected", "Missing"]
    actual = figure["data"][0]
    assert actual["x"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert actual["y"] == [19.0, None, 15.0]  # the missing month breaks the line
    assert figure["data"][4]["x"] == ["2026-02-01"]
    assert "/assets/plotly.min.js" in html and "<script>" not in html
    assert "Record a value" not in html  # a viewer records nothing


def test_measurement_tab_empty_state_says_what_to_do(page_client, make_project):
    project = make_project()
    html = text(page_client(project.manager).get(f"/projects/{project.id}/measurement"))
    assert "no KPIs yet" in html and "Add the first KPI" in html
    assert "plotly" not in html


def test_manager_adds_a_kpi_through_the_form(page_client, make_project, db):
    from crmphase.metrics.models import Kpi

    project = make_project(phase="strategize")
    client = page_client(project.manager)
    form = {
        "name": "Leads",
        "unit": "leads",
        "direction": "up",
        "baseline_value": "100",
        "baseline_period": "2026-01",
        "target_value": "250",
        "target_period": "2026-12",
        "cadence": "quarterly",
        "owner_id": "",
    }
    bad = client.post(f"/projects/{project.id}/kpis/new", data={**form, "target_period": "2026-13"})
    assert bad.status_code == 200
    assert "month must be 01 to 12" in text(bad)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Kpi)) == 0
    response = client.post(f"/projects/{project.id}/kpis/new", data=form)
    assert response.status_code == 302
    kpi = db.session.scalar(sa.select(Kpi))
    assert (kpi.name, kpi.cadence, kpi.target_value) == ("Leads", "quarterly", Decimal(250))


def test_editing_a_target_after_strategize_asks_for_a_reason(page_client, tracked, db):
    project, churn = tracked
    client = page_client(project.manager)
    url = f"/projects/{project.id}/kpis/{churn.id}/edit"
    page = text(client.get(url))
    assert "Reason for moving baseline or target" in page
    form = {
        "name": "Churn",
        "unit": "%",
        "direction": "down",
        "baseline_value": "20",
        "baseline_period": "2026-01",
        "target_value": "12",
        "target_period": "2026-05",
        "cadence": "monthly",
        "owner_id": "",
        "version": str(churn.version),
    }
    refused = client.post(url, data=form)
    assert refused.status_code == 200 and "say why the baseline or target changes" in text(refused)
    saved = client.post(url, data={**form, "reason": "pilot results"})
    assert saved.status_code == 302
    tab = text(client.get(f"/projects/{project.id}/measurement"))
    assert "1 earlier baseline/target revision(s)" in tab and "pilot results" in tab


def test_kpi_of_another_project_is_404_in_page_urls(page_client, tracked, make_project):
    project, churn = tracked
    other = make_project(manager=project.manager)
    client = page_client(project.manager)
    assert client.get(f"/projects/{other.id}/kpis/{churn.id}/edit").status_code == 404
    assert client.get(f"/projects/{other.id}/kpis/{churn.id}/record").status_code == 404


def test_recording_and_correcting_through_the_page(page_client, tracked, db):
    from crmphase.metrics.models import Measurement

    project, churn = tracked
    client = page_client(project.manager)
    url = f"/projects/{project.id}/kpis/{churn.id}/record"
    future = client.post(url, data={"period": "2026-05", "value": "1", "note": ""})
    assert future.status_code == 200 and "in the future" in text(future)
    nan = client.post(url, data={"period": "2026-02", "value": "NaN", "note": ""})
    assert "NaN and Infinity" in text(nan)
    assert client.post(url, data={"period": "2026-02", "value": "17"}).status_code == 302
    page = text(client.get(url + "?period=2026-03"))
    assert "already has the value 15" in page
    assert (
        client.post(url, data={"period": "2026-03", "value": "14", "note": "fix"}).status_code
        == 302
    )
    tab = text(client.get(f"/projects/{project.id}/measurement"))
    assert 'class="missing"' not in tab
    measurement = db.session.scalar(
        sa.select(Measurement).where(
            Measurement.kpi_id == churn.id, Measurement.period == "2026-03"
        )
    )
    assert measurement.value == Decimal(14) and [r.value for r in measurement.revisions] == [15]


def test_viewer_cannot_open_forms(page_client, tracked, make_user):
    project, churn = tracked
    client = page_client(make_user("viewer"))
    assert client.get(f"/projects/{project.id}/kpis/new").status_code == 403
    assert client.get(f"/projects/{project.id}/kpis/{churn.id}/record").status_code == 403
    assert client.get(f"/projects/{project.id}/money/cost/new").status_code == 403


# --------------------------------------------------------------------------- Money tab


def test_money_tab_shows_plan_actual_variance_and_roi(
    page_client, tracked, make_cost, make_benefit
):
    project, _ = tracked
    make_cost(project, "2026-01", "60000")
    make_cost(project, "2026-02", "40000")
    make_benefit(project, "2026-02", "50000")
    make_benefit(project, "2026-03", "100000")
    make_cost(project, "2026-01", "90000", kind="plan")
    make_benefit(project, "2026-03", "90000", kind="plan")
    html = text(page_client(project.manager).get(f"/projects/{project.id}/money?period=2026-03"))
    assert "100,000.00" in html and "150,000.00" in html  # actual cost and benefit
    assert "48,661.58" in html  # actual NPV
    assert re.search(r"ROI %</th><td class=\"num\">0</td><td class=\"num\">50</td>", html)
    assert "50 points" in html
    figure = chart_data(html, "money-chart")
    assert figure["data"][1]["y"] == [-60000.0, -50000.0, 50000.0]  # Jan to Mar
    future = text(page_client(project.manager).get(f"/projects/{project.id}/money?period=2026-06"))
    actual_net = chart_data(future, "money-chart")["data"][1]["y"]
    assert actual_net == [-60000.0, -50000.0, 50000.0, 50000.0, None, None]  # May on: not yet
    assert "Book a cost" in html


def test_money_tab_empty_state_and_bad_period(page_client, make_project):
    project = make_project()
    client = page_client(project.manager)
    html = text(client.get(f"/projects/{project.id}/money"))
    assert "No costs or benefits are booked yet" in html
    fallback = client.get(f"/projects/{project.id}/money?period=2026-13")
    assert fallback.status_code == 200 and "ROI up to 2026-03" in text(fallback)


def test_booking_and_correcting_money_through_pages(page_client, make_project, db):
    from crmphase.audit.models import Event
    from crmphase.metrics.models import CostEntry

    project = make_project()
    client = page_client(project.manager)
    url = f"/projects/{project.id}/money/cost/new"
    data = {"period": "2026-03", "kind": "actual", "amount": "1,250.50", "category": "people"}
    negative = client.post(url, data={**data, "amount": "-3"})
    assert "cannot be negative" in text(negative)
    cents = client.post(url, data={**data, "amount": "1.005"})
    assert "at most 2 decimal places" in text(cents)
    future = client.post(url, data={**data, "period": "2026-06"})
    assert "in the future" in text(future)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CostEntry)) == 0
    assert client.post(url, data=data).status_code == 302
    entry = db.session.scalar(sa.select(CostEntry))
    assert entry.amount == Decimal("1250.50")
    edit = f"/projects/{project.id}/money/cost/{entry.id}/edit"
    assert client.post(edit, data={**data, "amount": "1300"}).status_code == 302
    event = db.session.scalar(sa.select(Event).where(Event.action == "cost.corrected"))
    assert event.before == {"amount": "1250.50"} and event.after == {"amount": "1300.00"}
    html = text(client.get(f"/projects/{project.id}/money"))
    assert "corrected 1×" in html
    assert client.get(f"/projects/{project.id}/money/salary/new").status_code == 404


# --------------------------------------------------------------------------- import page


def upload(client, content: str):
    return client.post(
        "/imports/measurements",
        data={"file": (io.BytesIO(content.encode()), "m.csv")},
        content_type="multipart/form-data",
    )


def test_import_previews_then_commits(page_client, tracked, db, import_dir):
    from crmphase.metrics.models import Measurement

    project, _ = tracked
    client = page_client(project.manager)
    preview = upload(
        client,
        "project,kpi,period,value,note\n"
        "Web shop,Churn,2026-02,17,\n"
        "Web shop,Churn,2026-03,14,fix\n",
    )
    assert preview.status_code == 200
    html = text(preview)
    assert "Preview: 2 row(s)" in html and "corrects 15" in html
    count = sa.select(sa.func.count()).select_from(Measurement)
    assert db.session.scalar(count) == 2  # nothing written by the preview
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    done = client.post("/imports/measurements/commit", data={"token": token})
    assert done.status_code == 302
    assert db.session.scalar(count) == 3
    assert list(import_dir.glob("*.csv")) == []  # the stashed file is gone
    again = client.post(
        "/imports/measurements/commit", data={"token": token}, follow_redirects=True
    )
    assert "expired or was already imported" in text(again)
    assert db.session.scalar(count) == 3


def test_import_token_of_another_user_is_refused(page_client, tracked, make_user, db):
    project, _ = tracked
    preview = upload(
        page_client(project.manager), "project,kpi,period,value\nWeb shop,Churn,2026-02,17\n"
    )
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', text(preview)).group(1)
    crmo = page_client(make_user("crmo"))
    response = crmo.post(
        "/imports/measurements/commit", data={"token": token}, follow_redirects=True
    )
    assert "expired or was already imported" in text(response)
    bad = crmo.post(
        "/imports/measurements/commit", data={"token": "../../etc/passwd"}, follow_redirects=True
    )
    assert "expired or was already imported" in text(bad)


def test_import_page_lists_every_bad_row(page_client, tracked, db):
    project, _ = tracked
    response = upload(
        page_client(project.manager),
        "project,kpi,period,value\nWeb shop,Churn,2026-13,1\nWeb shop,Churn,2026-01,x\n"
        "Web shop,Nope,2026-01,1\n",
    )
    assert response.status_code == 422
    html = text(response)
    assert "Nothing was imported: 3 problem(s)" in html
    assert "month must be 01 to 12" in html and "is not a number" in html
    assert "has no KPI named &#39;Nope&#39;" in html


def test_import_page_too_large_says_so(app, page_client, tracked):
    project, _ = tracked
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 512
    client = page_client(project.manager)
    try:
        response = upload(client, "x" * 3000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 302
    page = text(client.get("/imports/measurements"))
    assert "Nothing was imported: the upload is larger than the limit" in page


def test_import_nav_entry_only_for_changers(page_client, make_user):
    assert "Import measurements" in text(page_client(make_user("manager")).get("/projects"))
    assert "Import measurements" not in text(page_client(make_user("viewer")).get("/projects"))


def test_money_tab_shows_the_newest_entries_and_links_to_all(page_client, make_project, make_cost):
    project = make_project()
    for month in range(1, 13):
        make_cost(project, f"2025-{month:02d}", "100", kind="plan")
    client = page_client(project.manager)
    html = text(client.get(f"/projects/{project.id}/money"))
    assert "(newest 10 of 12)" in html and "All 12 cost entries" in html
    assert "2025-12" in html
    listing = text(client.get(f"/projects/{project.id}/money/cost?kind=plan"))
    assert listing.count("<td>2025-") == 12
    assert "No actual cost entries yet" in text(
        client.get(f"/projects/{project.id}/money/cost?kind=actual")
    )


def test_long_period_tables_fold_older_periods(page_client, make_project, make_kpi):
    project = make_project(phase="manage", phase_entered_on=date(2023, 1, 1))
    make_kpi(project, baseline_period="2023-01", target_period="2026-12")
    html = text(page_client(project.manager).get(f"/projects/{project.id}/measurement"))
    assert "16 older period(s)" in html  # 2023-01 to 2026-04 is 40 months, 24 shown
    assert html.count('<tr class="missing">') == 39  # every past month, none measured


def test_measurement_tab_queries_do_not_grow_with_kpis(
    page_client, make_project, make_kpi, make_measurement, count_queries
):
    project = make_project(phase="execute", phase_entered_on=date(2026, 1, 1))
    client = page_client(project.manager)

    def add_kpi():
        kpi = make_kpi(project)
        for month in ("2026-01", "2026-02"):
            make_measurement(kpi, month, "5")

    add_kpi()
    with count_queries() as one:
        assert client.get(f"/projects/{project.id}/measurement").status_code == 200
    for _ in range(4):
        add_kpi()
    with count_queries() as five:
        assert client.get(f"/projects/{project.id}/measurement").status_code == 200
    assert len(five) == len(one)


def test_import_template_lists_the_kpis_the_user_records(
    page_client, tracked, make_project, make_kpi
):
    project, _ = tracked
    make_kpi(make_project("Someone else's", phase="execute"), name="Calls")
    make_kpi(make_project("Idea", manager=project.manager, phase="strategize"), name="Later")
    response = page_client(project.manager).get("/imports/measurements/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "measurements-2026-03.csv" in response.headers["Content-Disposition"]
    body = response.get_data().decode("utf-8-sig")
    assert body.splitlines() == ["project,kpi,period,value,note", "Web shop,Churn,2026-03,,"]
