"""``/api/v1/exports``: the review as a file, building and listing kept exports."""

import hashlib
import io
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa

from crmphase.exports.models import ExportFile

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("fmt", "mimetype", "filename"),
    [
        ("xlsx", XLSX, "crmphase-monthly-review-2026-03.xlsx"),
        ("csv", "application/zip", "crmphase-monthly-review-2026-03.csv.zip"),
        ("html", "text/html", "crmphase-monthly-review-2026-03.html"),
    ],
)
def test_review_file_in_each_format(review_portfolio, api, fmt, mimetype, filename):
    response = api("viewer").get(
        f"/api/v1/exports/monthly-review?period=2026-03&format={fmt}", buffered=True
    )
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"] == f"attachment; filename={filename}"
    if fmt == "xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(response.data))
        assert wb["Projects"].max_row == 4
    elif fmt == "csv":
        assert "projects.csv" in zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    else:
        assert b"Campaign management" in response.data and b"<style>" in response.data


def test_period_defaults_to_last_month_and_format_to_xlsx(review_portfolio, api):
    # buffered: the test client closes the streamed file as a WSGI server would
    response = api("steering").get("/api/v1/exports/monthly-review", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert "2026-03.xlsx" in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=2026-04", "period"),  # not over yet
        ("period=2027-01", "period"),
        ("period=2026-3", "period"),
        ("period=yesterday", "period"),
        ("period=2026-03&format=pdf", "format"),
    ],
)
def test_bad_requests_get_problem_json(review_clock, api, query, field):
    response = api("crmo").get(f"/api/v1/exports/monthly-review?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.json["errors"]] == [field]


def test_who_may_read_and_build(review_clock, api):
    assert api(None).get("/api/v1/exports/monthly-review").status_code == 401
    assert api("manager").get("/api/v1/exports/monthly-review").status_code == 403
    assert api("manager").get("/api/v1/exports").status_code == 403
    body = {"period": "2026-03", "formats": ["html"]}
    assert api("viewer").post("/api/v1/exports/monthly-review", json=body).status_code == 403
    assert api("manager").post("/api/v1/exports/monthly-review", json=body).status_code == 403


def test_steering_builds_lists_and_downloads(review_portfolio, api, make_user, db):
    steering = make_user("steering")
    response = api(steering).post(
        "/api/v1/exports/monthly-review", json={"period": "2026-03", "formats": ["xlsx", "csv"]}
    )
    assert response.status_code == 201, response.json
    built = response.json
    assert [b["format"] for b in built] == ["xlsx", "csv"]
    assert all(b["source"] == "manual" and b["created_by_id"] == steering.id for b in built)
    listing = api("viewer").get("/api/v1/exports?period=2026-03")
    assert listing.status_code == 200
    assert listing.json["total"] == 2
    assert {i["filename"] for i in listing.json["items"]} == {b["filename"] for b in built}
    download = api("viewer").get(f"/api/v1/exports/{built[0]['id']}/file", buffered=True)
    assert download.status_code == 200 and download.mimetype == XLSX
    assert download.headers["Content-Disposition"].endswith(built[0]["filename"])
    row = db.session.get(ExportFile, built[0]["id"])
    assert hashlib.sha256(download.data).hexdigest() == row.sha256


def test_build_validates_its_body(review_clock, api):
    client = api("crmo")
    response = client.post("/api/v1/exports/monthly-review", json={"period": "2026-04"})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "period"
    response = client.post(
        "/api/v1/exports/monthly-review", json={"period": "2026-03", "formats": ["doc"]}
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"].startswith("formats")
    response = client.post("/api/v1/exports/monthly-review", json={"formats": []})
    assert {e["field"] for e in response.json["errors"]} >= {"period"}


def test_missing_export_and_missing_file_are_404(review_portfolio, api, app, make_export_file):
    assert api("viewer").get("/api/v1/exports/999999/file").status_code == 404
    row = make_export_file("2026-03", "html", filename="gone.html")
    response = api("viewer").get(f"/api/v1/exports/{row.id}/file")
    assert response.status_code == 404
    assert "build it again" in response.json["detail"]


def test_unwritable_export_folder_is_a_503_problem(review_clock, api, monkeypatch, db):
    monkeypatch.setattr("crmphase.exports.services.os.access", lambda path, mode: False)
    response = api("crmo").post("/api/v1/exports/monthly-review", json={"period": "2026-03"})
    assert response.status_code == 503
    assert "export folder" in response.json["detail"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportFile)) == 0


def test_openapi_documents_the_binary_response(app, client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/exports/monthly-review"]["get"]
    content = operation["responses"]["200"]["content"]
    assert content[XLSX]["schema"] == {"type": "string", "format": "binary"}
    assert "application/zip" in content and "text/html" in content
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"period", "format"}
    assert "post" in spec["paths"]["/api/v1/exports/monthly-review"]


@pytest.mark.parametrize("period", ["1900-01", "1900-11"])
def test_the_earliest_periods_build_without_error(review_clock, api, period):
    response = api("viewer").get(
        f"/api/v1/exports/monthly-review?period={period}&format=csv", buffered=True
    )
    assert response.status_code == 200
    assert f"{period}.csv.zip" in response.headers["Content-Disposition"]
