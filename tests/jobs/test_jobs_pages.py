"""The CRMO's job page and the alerts page."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from crmphase import clock
from crmphase.jobs.models import JobRun
from crmphase.metrics.models import RoiSnapshot


@pytest.fixture
def frozen():
    with clock.frozen("2026-03-10T12:00:00"):
        yield


def test_job_page_lists_jobs_scheduler_state_and_runs(page_client, make_user, make_job_run, frozen):
    make_job_run(
        "monthly_review_export",
        "2026-02",
        outcome="failed",
        error="ExportError: the export folder /x is not writable\n\ntrace",
        started_at=datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
        finished_at=datetime(2026, 3, 1, 3, 0, 2, tzinfo=UTC),
    )
    html = page_client(make_user("crmo")).get("/jobs").get_data(as_text=True)
    assert "Monthly ROI snapshot" in html and "monthly, on the 1st at 02:00" in html
    assert "No scheduler has run yet" in html
    assert "the export folder /x is not writable" in html
    assert "2.0 s" in html  # the duration
    assert 'href="/jobs"' in html  # the nav entry


@pytest.mark.parametrize("role", ["manager", "steering", "viewer"])
def test_job_page_is_for_the_crmo_only(page_client, make_user, role):
    client = page_client(make_user(role))
    assert client.get("/jobs").status_code == 403
    assert client.post("/jobs/run", data={"name": "roi_snapshot"}).status_code == 403
    assert 'href="/jobs"' not in client.get("/notifications").get_data(as_text=True)


def test_running_a_job_needs_confirmation(page_client, make_user, db, frozen):
    client = page_client(make_user("crmo"))
    response = client.post("/jobs/run", data={"name": "roi_snapshot", "period": "2026-02"})
    assert response.status_code == 422
    assert "tick the box to confirm the run" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 0


def test_a_bad_period_is_shown_next_to_the_field(page_client, make_user, frozen):
    client = page_client(make_user("crmo"))
    response = client.post(
        "/jobs/run", data={"name": "roi_snapshot", "period": "2026-03", "confirm": "y"}
    )
    assert response.status_code == 422
    assert "2026-03 has not ended yet" in response.get_data(as_text=True)


def test_the_crmo_runs_a_job_from_the_page(page_client, make_user, db, frozen, tracked_project):
    tracked_project()
    client = page_client(make_user("crmo"))
    response = client.post(
        "/jobs/run",
        data={"name": "roi_snapshot", "period": "2026-02", "confirm": "y"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "roi_snapshot ran for 2026-02: 1 rows" in html
    assert "Attempts" in html
    assert db.session.scalar(sa.select(sa.func.count(RoiSnapshot.id))) == 1


def test_export_before_snapshot_is_refused_with_the_reason(page_client, make_user, frozen):
    client = page_client(make_user("crmo"))
    response = client.post(
        "/jobs/run", data={"name": "monthly_review_export", "period": "2026-02", "confirm": "y"}
    )
    assert response.status_code == 409
    assert "needs roi_snapshot for 2026-02" in response.get_data(as_text=True)


def test_alerts_page_lists_open_alerts_for_everybody(
    page_client, make_user, make_alert, tracked_project
):
    project = tracked_project(name="Campaign management")
    make_alert(
        project,
        "missing_measurement",
        "2026-01",
        subject_key="kpi:1",
        detail="No value of 'Response rate' for 2026-01",
    )
    client = page_client(make_user("viewer"))
    html = client.get("/alerts").get_data(as_text=True)
    assert "Campaign management" in html and "No value of &#39;Response rate&#39;" in html
    assert "missing measurement (1)" in html
    assert "No open alerts of this kind" in client.get("/alerts?kind=off_track").get_data(
        as_text=True
    )
    assert "No resolved alerts yet" in client.get("/alerts?resolved=1").get_data(as_text=True)


def test_pages_have_no_inline_scripts_or_styles(page_client, make_user):
    client = page_client(make_user("crmo"))
    for path in ("/jobs", "/notifications", "/alerts"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html, path


def test_project_tab_shows_its_snapshots_and_open_alerts(
    page_client, make_user, make_alert, tracked_project
):
    from crmphase.jobs.services import run_job

    project = tracked_project()
    make_alert(
        project,
        "budget_overrun",
        "2026-02",
        subject_key="budget",
        detail="Actual cost to 2026-02 is above the budget.",
    )
    client = page_client(make_user("viewer"))
    html = client.get(f"/projects/{project.id}/monitoring").get_data(as_text=True)
    assert "No snapshot yet" in html and "Actual cost to 2026-02 is above the budget." in html
    assert "Monthly snapshots" in html  # the tab
    with clock.frozen("2026-03-01T02:00:00"):
        run_job("roi_snapshot", "2026-02", trigger="schedule")
    html = client.get(f"/projects/{project.id}/monitoring").get_data(as_text=True)
    assert "<td>2026-02</td>" in html and "No snapshot yet" not in html
    assert client.get("/projects/999999/monitoring").status_code == 404
