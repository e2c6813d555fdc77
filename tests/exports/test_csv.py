"""The CSV zip: one UTF-8 (with BOM) CSV per sheet, values as the app shows them."""

import io
import zipfile

from crmphase.exports.rules import PROJECT_COLUMNS, SUMMARY_COLUMNS

EXPECTED_FILES = [
    "summary.csv",
    "roi_trend.csv",
    "projects.csv",
    "kpis.csv",
    "measurements.csv",
    "costs.csv",
    "benefits.csv",
    "gate_decisions.csv",
    "alerts.csv",
]


def test_one_csv_per_sheet_each_with_a_bom(review_portfolio, build_export, open_csv_zip):
    data = build_export("csv")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == EXPECTED_FILES
        for name in EXPECTED_FILES:
            assert archive.read(name)[:3] == b"\xef\xbb\xbf", name
    files = open_csv_zip()
    assert files["summary.csv"][0] == [c.header for c in SUMMARY_COLUMNS]
    assert files["projects.csv"][0] == [c.header for c in PROJECT_COLUMNS]
    assert len(files["projects.csv"]) == 4
    assert len(files["alerts.csv"]) == 3


def test_values_are_written_as_the_app_shows_them(review_portfolio, open_csv_zip):
    files = open_csv_zip()
    head = files["projects.csv"][0]
    campaign = dict(zip(head, files["projects.csv"][1], strict=True))
    assert campaign["Project"] == "Campaign management"
    assert campaign["Actual cumulative cost"] == "100000.00"
    assert campaign["Actual ROI %"] == "50.00"
    assert campaign["Actual payback"] == "2026-03"
    assert campaign["Coverage %"] == "100.00"
    assert campaign["KPI attainment %"] == "45.00"
    portfolio = dict(zip(files["summary.csv"][0], files["summary.csv"][1], strict=True))
    assert portfolio["Scope"] == "Portfolio (all programs)"
    assert portfolio["Coverage %"] == "80.00"
    assert portfolio["Actual cumulative benefit"] == "160000.50"
    decision = dict(
        zip(files["gate_decisions.csv"][0], files["gate_decisions.csv"][1], strict=True)
    )
    assert decision["Decided at"] == "2026-03-10 14:00:00"
    measurement = dict(zip(files["measurements.csv"][0], files["measurements.csv"][1], strict=True))
    assert measurement["Value"] == "14.5" and measurement["Period"] == "2026-03"
    assert [row[0] for row in files["roi_trend.csv"][1:]] == ["2026-01", "2026-02", "2026-03"]


def test_unicode_survives(review_clock, make_program, make_project, make_snapshot, open_csv_zip):
    project = make_project("Kundenbindung «Süd» 顧客", program=make_program(name="Région Île"))
    make_snapshot(project, "2026-03", cost="1.00")
    files = open_csv_zip()
    assert files["projects.csv"][1][:2] == ["Région Île", "Kundenbindung «Süd» 顧客"]
