"""The XLSX workbook, opened with openpyxl: sheets, typed cells, formats, charts."""

import io
import re
import zipfile
from datetime import date, datetime

import pytest
from openpyxl.utils import get_column_letter

from crmphase.exports.rules import KPI_COLUMNS, PROJECT_COLUMNS, SUMMARY_COLUMNS

from .conftest import records

MONEY_FORMAT = '#,##0.00 "EUR";-#,##0.00 "EUR"'
SHEETS = [
    "Summary",
    "Projects",
    "KPIs",
    "Measurements",
    "Costs",
    "Benefits",
    "Gate decisions",
    "Alerts",
]


def test_sheet_names_and_headers(review_portfolio, open_workbook):
    wb = open_workbook()
    assert wb.sheetnames == SHEETS
    assert [c.value for c in wb["Summary"][4]] == [c.header for c in SUMMARY_COLUMNS]
    assert [c.value for c in wb["Projects"][1]] == [c.header for c in PROJECT_COLUMNS]
    assert [c.value for c in wb["KPIs"][1]] == [c.header for c in KPI_COLUMNS]
    assert wb["Summary"]["A1"].value == "Monthly ROI review 2026-03"


def test_frozen_headers_autofilter_and_widths(review_portfolio, open_workbook):
    wb = open_workbook()
    assert wb["Summary"].freeze_panes == "B5"
    assert wb["Summary"].auto_filter.ref == "A4:P7"  # header, portfolio, two programs
    expected_rows = {
        "Projects": 3,
        "KPIs": 2,
        "Measurements": 2,
        "Costs": 2,
        "Benefits": 1,
        "Gate decisions": 1,
        "Alerts": 2,
    }
    for title, count in expected_rows.items():
        ws = wb[title]
        assert ws.freeze_panes == "C2", title
        last = get_column_letter(ws.max_column)
        assert ws.auto_filter.ref == f"A1:{last}{count + 1}", title
        assert ws.max_row == count + 1, title
        widths = [ws.column_dimensions[get_column_letter(i)].width for i in (1, 2)]
        assert all(w and w >= 12 for w in widths), title


def test_money_dates_and_percentages_are_typed(review_portfolio, open_workbook):
    wb = open_workbook()
    project = records(wb["Projects"])[0]
    assert project["Project"] == "Campaign management"
    row = next(wb["Projects"].iter_rows(min_row=2, max_row=2))
    cells = {wb["Projects"].cell(1, c.column).value: c for c in row}
    assert cells["Actual cumulative cost"].value == 100000
    assert cells["Actual cumulative cost"].data_type == "n"
    assert cells["Actual cumulative cost"].number_format == MONEY_FORMAT
    assert cells["Actual ROI %"].value == 0.5  # 50.00 % as an Excel percentage
    assert cells["Actual ROI %"].number_format == "0.00%"
    assert cells["Actual payback"].value == datetime(2026, 3, 1)
    assert cells["Actual payback"].number_format == "yyyy-mm"
    assert cells["Due KPI-periods"].value == 3 and cells["Due KPI-periods"].data_type == "n"
    decision = next(wb["Gate decisions"].iter_rows(min_row=2, max_row=2))
    assert decision[2].value == datetime(2026, 3, 10, 14, 0)
    assert decision[2].number_format == "yyyy-mm-dd hh:mm"


def test_negative_money_stays_a_number(review_portfolio, open_workbook):
    wb = open_workbook()
    loyalty = next(r for r in records(wb["Projects"]) if r["Project"] == "Loyalty pilot")
    assert loyalty["Actual net benefit"] == -12345.67
    assert loyalty["Plan net benefit"] == -7000
    assert loyalty["Actual ROI %"] == -1
    service = records(wb["Summary"], header_row=4)[2]
    assert service["Scope"] == "Service excellence"
    assert service["Actual net benefit"] == -19999.5


def test_kpi_sheet_takes_latest_attainment_and_status_from_the_snapshot(
    review_portfolio, open_workbook
):
    kpis = {r["KPI"]: r for r in records(open_workbook()["KPIs"])}
    conversion = kpis["Campaign conversion"]
    assert conversion["Baseline"] == 10 and conversion["Target"] == 20
    assert conversion["Latest"] == 14.5
    assert conversion["Attainment %"] == 0.45 and conversion["Expected %"] == 0.4
    assert conversion["Status"] == "on_track" and conversion["Owner"] == "Olga Owner"
    churn = kpis["=HYPERLINK(churn)"]
    assert churn["Latest"] == 7.1 and churn["Status"] == "off_track"


def test_detail_sheets_hold_only_the_period(review_portfolio, open_workbook):
    wb = open_workbook()
    assert {r["Period"] for r in records(wb["Measurements"])} == {datetime(2026, 3, 1)}
    assert [r["Amount"] for r in records(wb["Costs"])] == [30000, 30000]
    assert [r["Kind"] for r in records(wb["Costs"])] == ["actual", "plan"]
    assert [r["Decision"] for r in records(wb["Gate decisions"])] == ["go"]
    alerts = [(r["Project"], r["Kind"]) for r in records(wb["Alerts"])]
    assert alerts == [
        ("Loyalty pilot", "off_track"),  # resolved in April: open when March ended
        ("Self-service portal", "missing_measurement"),
    ]


def test_summary_has_native_charts_over_the_trend(review_portfolio, build_export):
    data = build_export("xlsx")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert "xl/charts/chart1.xml" in names and "xl/charts/chart2.xml" in names
        line = archive.read("xl/charts/chart1.xml").decode()
        bar = archive.read("xl/charts/chart2.xml").decode()
        sheet_rels = [n for n in names if n.startswith("xl/worksheets/_rels/")]
        summary_rels = archive.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
    assert re.search(r"<(c:)?lineChart>", line) and re.search(r"<(c:)?barChart>", bar)
    assert re.search(r"'?Summary'?!\$B\$\d+:\$B\$\d+", line)  # actual ROI %
    assert re.search(r"'?Summary'?!\$D\$\d+:\$D\$\d+", bar)  # actual cumulative cost
    assert sheet_rels == ["xl/worksheets/_rels/sheet1.xml.rels"]  # only Summary has drawings
    assert "drawing" in summary_rels


def test_trend_table_feeds_the_charts(review_portfolio, open_workbook):
    ws = open_workbook()["Summary"]
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Period")
    trend = records(ws, header_row=header)
    assert [r["Period"] for r in trend] == [
        datetime(2026, 1, 1),
        datetime(2026, 2, 1),
        datetime(2026, 3, 1),
    ]
    assert trend[0]["Actual ROI %"] == -0.75  # 10,000 benefit on 40,000 cost
    assert trend[-1]["Actual cumulative cost"] == 142345.67


def test_summary_tables_each_keep_their_own_formats(review_portfolio, open_workbook):
    """The program rows and the trend rows below them share a sheet, not their formats:
    column B is a count in one and a percentage in the other."""
    ws = open_workbook()["Summary"]
    program = {ws.cell(4, c.column).value: c for c in ws[7]}
    assert program["Projects"].number_format == "#,##0"
    assert program["Actual cumulative cost"].number_format == MONEY_FORMAT
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Period")
    titles = [c.value for c in ws[header]]
    trend = {titles[c.column - 1]: c for c in ws[header + 1] if c.column <= len(titles)}
    assert trend["Period"].number_format == "yyyy-mm"
    assert trend["Actual ROI %"].number_format == "0.00%"
    assert trend["Plan ROI %"].number_format == "0.00%"
    assert trend["Actual cumulative cost"].number_format == MONEY_FORMAT
    assert trend["Actual cumulative benefit"].number_format == MONEY_FORMAT
    assert trend["Coverage %"].number_format == "0.00%"


def test_an_empty_period_still_builds_with_a_next_step(review_clock, open_workbook):
    wb = open_workbook("2026-03")
    assert wb.sheetnames == SHEETS
    summary = records(wb["Summary"], header_row=4)
    assert summary[0]["Scope"] == "Portfolio (all programs)"
    assert summary[0]["Projects"] == 0 and summary[0]["Actual ROI %"] is None
    texts = [c.value for row in wb["Summary"].iter_rows() for c in row if c.value]
    assert any("run the roi_snapshot job" in str(t) for t in texts)
    assert wb["Projects"].max_row == 1


def test_every_sheet_prints_landscape_one_page_wide_with_its_header_repeated(
    review_portfolio, open_workbook
):
    wb = open_workbook()
    for ws in wb.worksheets:
        header = 4 if ws.title == "Summary" else 1
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        # One page wide (OOXML's default of fitToWidth, so the file may leave it out), as
        # many pages down as it takes.
        assert ws.page_setup.fitToWidth in (None, 1), ws.title
        assert ws.page_setup.fitToHeight == 0, ws.title
        assert ws.print_title_rows == f"${header}:${header}", ws.title
        assert ws.freeze_panes == ("B5" if ws.title == "Summary" else "C2"), ws.title
        assert ws.auto_filter.ref.startswith(f"A{header}:"), ws.title


def test_chart_month_labels_sit_below_negative_values(review_portfolio, build_export):
    """The ROI of the first months is negative: the month labels stay at the bottom of the
    chart rather than on the zero line among the data."""
    with zipfile.ZipFile(io.BytesIO(build_export("xlsx"))) as archive:
        charts = [archive.read(f"xl/charts/chart{n}.xml").decode() for n in (1, 2)]
    for chart in charts:
        category_axis = re.search(r"<c:catAx>.*?</c:catAx>", chart, re.S).group(0)
        assert '<c:tickLblPos val="low"/>' in category_axis
        assert '<c:numFmt formatCode="yyyy-mm"' in category_axis


def test_workbook_holds_only_the_sheets_and_rows_it_streams(review_portfolio, build_export):
    """Written in constant_memory mode: strings inline in each row, no shared table."""
    with zipfile.ZipFile(io.BytesIO(build_export("xlsx"))) as archive:
        names = archive.namelist()
        projects = archive.read("xl/worksheets/sheet2.xml").decode()
    assert "xl/sharedStrings.xml" not in names
    assert 't="inlineStr"' in projects


@pytest.mark.parametrize(
    ("value", "serial"),
    [
        (date(1900, 1, 1), 1),
        (date(1900, 2, 28), 59),
        (date(1900, 3, 1), 61),  # Excel counts a 29 February 1900 in between
        (date(2026, 3, 1), 46082),
        (datetime(2026, 3, 10, 14, 0), 46091 + 14 / 24),
    ],
)
def test_excel_serials_are_what_excel_counts(value, serial):
    from crmphase.exports.xlsx import excel_serial

    assert excel_serial(value) == pytest.approx(serial, abs=1e-9)
