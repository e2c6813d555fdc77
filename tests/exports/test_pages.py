"""The exports page, building by hand, downloads and the in-app report."""

import re

import pytest
import sqlalchemy as sa

from crmphase.exports.models import ExportFile


@pytest.fixture
def as_role(page_client, make_user):
    def sign_in(role: str):
        return page_client(make_user(role))

    return sign_in


@pytest.mark.parametrize(
    ("role", "sees_form"), [("crmo", True), ("steering", True), ("viewer", False)]
)
def test_exports_page_for_readers(review_clock, as_role, role, sees_form):
    response = as_role(role).get("/exports")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<a href="/exports"' in html  # the main navigation's entry
    assert ("Build an export" in html) is sees_form
    assert "No exports kept yet" in html and "/exports/review/2026-03" in html
    assert "/exports/review/2026-03/xlsx" in html
    assert 'value="2026-03"' in html or not sees_form
    assert " style=" not in html and "<style" not in html


def test_managers_are_kept_out(review_clock, as_role):
    manager = as_role("manager")
    assert manager.get("/exports").status_code == 403
    assert "/exports" not in re.findall(r'href="([^"]+)"', manager.get("/").get_data(as_text=True))
    assert manager.get("/exports/review/2026-03").status_code == 403
    assert manager.get("/exports/review/2026-03/xlsx").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(review_clock, client):
    response = client.get("/exports")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_building_by_hand_lists_the_files(review_portfolio, as_role, db):
    client = as_role("steering")
    response = client.post("/exports", data={"period": "2026-03", "formats": ["xlsx", "html"]})
    assert response.status_code == 302
    page = client.get("/exports").get_data(as_text=True)
    assert "Built the review of 2026-03" in page
    assert "crmphase-monthly-review-2026-03.xlsx" in page
    assert "crmphase-monthly-review-2026-03.html" in page
    rows = db.session.scalars(sa.select(ExportFile).order_by(ExportFile.format)).all()
    assert [(r.format, r.source) for r in rows] == [("html", "manual"), ("xlsx", "manual")]
    download = client.get(f"/exports/{rows[1].id}/download", buffered=True)
    assert download.status_code == 200
    assert download.data[:2] == b"PK"
    assert "crmphase-monthly-review-2026-03.xlsx" in download.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"period": "2026-04", "formats": ["xlsx"]}, "2026-04 is not over yet"),
        ({"period": "2026-13", "formats": ["xlsx"]}, "month must be 01 to 12"),
        ({"period": "March", "formats": ["xlsx"]}, "write the period as YYYY-MM"),
        ({"period": "", "formats": ["xlsx"]}, "enter a period"),
        ({"period": "2026-03"}, "choose at least one format"),
        ({"period": "2026-05"}, "2026-05 is not over yet"),  # both errors at once
        ({"period": "2026-05"}, "choose at least one format"),
        ({"period": "2026-03", "formats": ["pdf"]}, "is not a valid choice"),
    ],
)
def test_build_form_errors_show_next_to_the_field(review_clock, as_role, db, form, message):
    response = as_role("crmo").post("/exports", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'class="error" role="alert"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportFile)) == 0


def test_viewer_cannot_build(review_clock, as_role):
    assert as_role("viewer").post("/exports", data={"period": "2026-03"}).status_code == 403


def test_unwritable_folder_is_reported_on_the_page(review_clock, as_role, monkeypatch):
    monkeypatch.setattr("crmphase.exports.services.os.access", lambda path, mode: False)
    response = as_role("crmo").post("/exports", data={"period": "2026-03", "formats": ["html"]})
    assert response.status_code == 503
    assert "is not writable" in response.get_data(as_text=True)


def test_download_of_a_vanished_file_is_404(review_clock, as_role, make_export_file):
    row = make_export_file("2026-02", "xlsx", filename="../../etc/passwd")
    assert as_role("viewer").get(f"/exports/{row.id}/download").status_code == 404
    assert as_role("viewer").get("/exports/424242/download").status_code == 404


def test_in_app_report_links_its_stylesheet_and_has_no_inline_code(review_portfolio, as_role):
    response = as_role("viewer").get("/exports/review/2026-03")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/css/report.css">' in html
    assert "<style" not in html and " style=" not in html and "<script" not in html
    assert html.count("<svg") == 2 + 2 * 2  # portfolio charts, then each program's
    assert "Customer 360" in html and "Service excellence" in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("period", "status"), [("2026-04", 422), ("soon", 422), ("2026-00", 422)])
def test_report_of_a_period_not_over_is_refused(review_clock, as_role, period, status):
    response = as_role("crmo").get(f"/exports/review/{period}")
    assert response.status_code == status


def test_downloaded_report_is_standalone(review_portfolio, as_role):
    response = as_role("viewer").get("/exports/review/2026-03/html", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<style>" in html and "@page" in html and "size: auto" in html
    assert "<link" not in html and "<script" not in html
    assert 'href="/' not in html and 'src="/' not in html  # nothing needs the server
    assert "report-bar" not in html.split("</style>")[1]


def test_on_the_fly_download_refuses_unknown_formats(review_clock, as_role):
    assert as_role("viewer").get("/exports/review/2026-03/pdf").status_code == 422


def test_report_of_a_month_without_snapshots_says_what_to_do(review_clock, as_role):
    html = as_role("crmo").get("/exports/review/2026-02").get_data(as_text=True)
    assert "There are no ROI snapshots for 2026-02 yet" in html
    assert "roi_snapshot" in html
