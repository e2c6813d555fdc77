"""The jobs, snapshots and alerts API: rules, validation, problem JSON."""

from datetime import UTC, datetime

import pytest

from crmphase import clock

NOW = "2026-03-10T12:00:00"


@pytest.fixture
def frozen():
    with clock.frozen(NOW):
        yield


def test_crmo_runs_a_job_and_gets_the_run(api, frozen, tracked_project):
    tracked_project()
    response = api("crmo").post("/api/v1/jobs/roi_snapshot/runs", json={"period": "2026-02"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["job_name"] == "roi_snapshot" and body["period"] == "2026-02"
    assert body["outcome"] == "succeeded" and body["rows_written"] == 1 and body["ran"] is True
    assert body["trigger"] == "api" and 0 <= body["duration_seconds"] < 30
    assert [a["outcome"] for a in body["attempt_log"]] == ["succeeded"]
    again = api("crmo").post("/api/v1/jobs/roi_snapshot/runs", json={"period": "2026-02"})
    assert again.status_code == 201 and again.json["attempts"] == 2  # a rerun recomputes


def test_the_period_defaults_to_the_month_just_ended(api, frozen):
    response = api("crmo").post("/api/v1/jobs/roi_snapshot/runs", json={})
    assert response.status_code == 201 and response.json["period"] == "2026-02"
    daily = api("crmo").post("/api/v1/jobs/measurement_check/runs", json={})
    assert daily.status_code == 201 and daily.json["period"] == "2026-03-10"


@pytest.mark.parametrize("role", ["manager", "steering", "viewer"])
def test_only_the_crmo_runs_or_reads_jobs(api, frozen, role):
    client = api(role)
    response = client.post("/api/v1/jobs/roi_snapshot/runs", json={"period": "2026-02"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/jobs/roi_snapshot/runs").status_code == 403
    assert client.get("/api/v1/jobs").status_code == 403


def test_anonymous_gets_401(api):
    assert api(None).post("/api/v1/jobs/roi_snapshot/runs", json={}).status_code == 401


def test_unknown_job_is_404(api, frozen):
    response = api("crmo").post("/api/v1/jobs/nope/runs", json={"period": "2026-02"})
    assert response.status_code == 404
    assert "roi_snapshot" in response.json["detail"]


@pytest.mark.parametrize(
    ("job", "period", "message"),
    [
        ("roi_snapshot", "2026-03", "has not ended yet"),
        ("roi_snapshot", "2027-01", "has not ended yet"),
        ("roi_snapshot", "2026-00", "month must be 01 to 12"),
        ("roi_snapshot", "soon", "write YYYY-MM"),
        ("measurement_check", "2026-03-11", "in the future"),
        ("measurement_check", "2026-03", "runs daily"),
    ],
)
def test_bad_or_future_periods_are_422_with_field_errors(api, frozen, job, period, message):
    response = api("crmo").post(f"/api/v1/jobs/{job}/runs", json={"period": period})
    assert response.status_code == 422
    (error,) = response.json["errors"]
    assert error["field"] == "period" and message in error["message"]


@pytest.mark.parametrize("body", [{"period": 202602}, {"period": "x" * 11}, {"nope": 1}, []])
def test_malformed_bodies_are_422(api, frozen, body):
    response = api("crmo").post("/api/v1/jobs/roi_snapshot/runs", json=body)
    assert response.status_code == 422
    assert response.json["errors"]


def test_review_export_before_its_snapshot_is_409(api, frozen):
    response = api("crmo").post(
        "/api/v1/jobs/monthly_review_export/runs", json={"period": "2026-02"}
    )
    assert response.status_code == 409
    assert "roi_snapshot" in response.json["detail"]


def test_list_jobs_and_runs(api, frozen, tracked_project):
    tracked_project()
    crmo = api("crmo")
    jobs = crmo.get("/api/v1/jobs").json
    assert [j["name"] for j in jobs] == [
        "roi_snapshot",
        "measurement_check",
        "monthly_review_export",
        "webhook_delivery",  # SPEC §7 (issue 20)
    ]
    assert jobs[2]["requires"] == ["roi_snapshot"]
    for period in ("2026-01", "2026-02"):
        crmo.post("/api/v1/jobs/roi_snapshot/runs", json={"period": period})
    page = crmo.get("/api/v1/jobs/roi_snapshot/runs?per_page=1").json
    assert page["total"] == 2 and page["pages"] == 2
    assert page["items"][0]["period"] == "2026-02"
    failed = crmo.get("/api/v1/jobs/roi_snapshot/runs?outcome=failed").json
    assert failed["total"] == 0
    assert crmo.get("/api/v1/jobs/nope/runs").status_code == 404


def test_snapshots_by_period_for_every_reader(api, frozen, tracked_project):
    project = tracked_project()
    api("crmo").post("/api/v1/jobs/roi_snapshot/runs", json={"period": "2026-02"})
    response = api("viewer").get("/api/v1/snapshots?period=2026-02")
    assert response.status_code == 200
    (item,) = response.json["items"]
    assert item["project_id"] == project.id and item["period"] == "2026-02"
    assert item["actual_cumulative_cost"] == "0.00" and item["recomputed_count"] == 0
    assert api("viewer").get("/api/v1/snapshots?period=2026-01").json["total"] == 0
    bad = api("viewer").get("/api/v1/snapshots?period=Feb")
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "period"


def test_alerts_filter_by_open_kind_and_project(api, frozen, tracked_project, make_alert):
    one, two = tracked_project(), tracked_project()
    opened = datetime(2026, 3, 1, tzinfo=UTC)
    make_alert(one, "missing_measurement", "2026-01", opened_at=opened)
    make_alert(two, "budget_overrun", "2026-02", opened_at=opened)
    make_alert(two, "off_track", "2026-02", opened_at=opened, resolved_at=opened)
    client = api("manager")
    assert client.get("/api/v1/alerts").json["total"] == 3
    open_ = client.get("/api/v1/alerts?open=true").json["items"]
    assert {a["kind"] for a in open_} == {"missing_measurement", "budget_overrun"}
    assert all(a["open"] for a in open_)
    resolved = client.get("/api/v1/alerts?open=false").json["items"]
    assert [a["kind"] for a in resolved] == ["off_track"]
    by_project = client.get(f"/api/v1/alerts?project_id={two.id}&kind=budget_overrun").json
    assert by_project["total"] == 1 and by_project["items"][0]["period"] == "2026-02"
    assert client.get("/api/v1/alerts?kind=fire").status_code == 422


def test_the_openapi_document_describes_the_job_endpoints(api):
    paths = api(None).get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/jobs/{name}/runs", "/api/v1/snapshots", "/api/v1/alerts"):
        assert path in paths
    assert "post" in paths["/api/v1/jobs/{name}/runs"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/snapshots?project_id=99999999999999999999",
        "/api/v1/snapshots?program_id=0",
        "/api/v1/alerts?program_id=99999999999999999999",
        "/api/v1/alerts?project_id=-5",
    ],
)
def test_out_of_range_ids_are_422_not_500(api, path):
    response = api("viewer").get(path)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] in ("project_id", "program_id")


def test_huge_ids_in_paths_are_404(api):
    huge = 99999999999999999999
    assert api("viewer").post(f"/api/v1/notifications/{huge}/read").status_code == 404
    assert api("crmo").get("/api/v1/jobs/%00/runs").status_code == 404


def test_a_huge_run_id_on_the_page_is_404(page_client, make_user):
    response = page_client(make_user("crmo")).get("/jobs/runs/99999999999999999999")
    assert response.status_code == 404
