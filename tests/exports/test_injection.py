"""OWASP formula injection: texts that start like formulas are inert in XLSX and CSV."""

import io
import re
import zipfile
from datetime import UTC, datetime

import pytest

from crmphase.exports.safe import FORMULA_TRIGGERS

from .conftest import RECORDED_AT, REVIEW_KPI, read_csv_zip, records

# PostgreSQL refuses NUL in text, so a NUL can reach an export only from SQLite; the
# writers are checked with every trigger, NUL included, on rows that bypass the database.
STORABLE = [t for t in FORMULA_TRIGGERS if t != "\0"]


@pytest.fixture
def hostile(
    review_clock,
    make_program,
    make_project,
    make_snapshot,
    make_cost,
    make_kpi,
    make_measurement,
    make_decision,
):
    """A project whose every typed text starts with a formula trigger."""

    def build(trigger: str):
        text = f"{trigger}SUM(1+1)*cmd|' /C calc'!A0"
        program = make_program(name=f"{trigger}Program")
        project = make_project(f"{trigger}Project", program=program, phase="execute")
        make_snapshot(project, "2026-03", cost="500.00", benefit="0.00")
        kpi = make_kpi(project, name=f"{trigger}KPI", unit=f"{trigger}u", **REVIEW_KPI)
        make_measurement(kpi, "2026-03", "-3.5", note=text, recorded_at=RECORDED_AT)
        make_cost(project, "2026-03", "500.00", note=text, category="software")
        make_decision(project, decided_at=datetime(2026, 3, 5, tzinfo=UTC), rationale=text)
        return text

    return build


def _sheet_xml(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("xl/worksheets/sheet")
        }


def _xml_texts(value: str) -> set[str]:
    """What an XML reader may give back: NUL cannot be stored, and a CR comes back as
    written when escaped as a character reference, as LF when written raw, or as the
    ``_x000D_`` that OOXML stores it as (XlsxWriter writes that; Excel reads it back as
    CR, openpyxl leaves it as it is)."""
    clean = value.replace("\0", "")
    return {clean, clean.replace("\r", "\n"), clean.replace("\r", "_x000D_")}


@pytest.mark.parametrize("trigger", STORABLE, ids=repr)
def test_xlsx_writes_formula_like_text_as_inert_text(trigger, hostile, build_export):
    import openpyxl

    text = hostile(trigger)
    data = build_export("xlsx")
    for name, xml in _sheet_xml(data).items():
        assert "<f>" not in xml and "<f " not in xml, name  # not one formula anywhere
    wb = openpyxl.load_workbook(io.BytesIO(data))
    expected = {
        ("Projects", "A2"): f"{trigger}Program",
        ("Projects", "B2"): f"{trigger}Project",
        ("KPIs", "C2"): f"{trigger}KPI",
        ("KPIs", "D2"): f"{trigger}u",
        ("Measurements", "H2"): text,
        ("Costs", "G2"): text,
        ("Gate decisions", "K2"): text,
    }
    for (sheet, coordinate), value in expected.items():
        cell = wb[sheet][coordinate]
        assert cell.value in _xml_texts(value), (sheet, coordinate)
        assert cell.data_type == "s", (sheet, coordinate)
        assert cell.quotePrefix, (sheet, coordinate)
    summary_scope = wb["Summary"]["A6"]
    assert summary_scope.value in _xml_texts(f"{trigger}Program")
    assert summary_scope.quotePrefix


@pytest.mark.parametrize("trigger", STORABLE, ids=repr)
def test_csv_prefixes_formula_like_text_with_an_apostrophe(trigger, hostile, build_export):
    text = hostile(trigger)
    files = read_csv_zip(build_export("csv"))
    projects = files["projects.csv"]
    assert projects[1][0] == "'" + f"{trigger}Program".replace("\0", "")
    assert projects[1][1] == "'" + f"{trigger}Project".replace("\0", "")
    expected = "'" + text.replace("\0", "")
    assert files["measurements.csv"][1][7] == expected
    assert files["costs.csv"][1][6] == expected
    assert files["gate_decisions.csv"][1][10] == expected
    for name, rows in files.items():
        for row in rows:
            for value in row:
                assert value[:1] not in ("=", "+", "@", "\t", "\r", "\0") or value == "", name
                assert "\0" not in value


def test_real_negative_numbers_stay_numbers(hostile, build_export):
    import openpyxl

    hostile("-")
    data = build_export("xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    measurement = records(wb["Measurements"])[0]
    assert measurement["Value"] == -3.5
    project = records(wb["Projects"])[0]
    assert project["Actual net benefit"] == -500 and project["Actual ROI %"] == -1
    files = read_csv_zip(build_export("csv"))
    assert files["measurements.csv"][1][5] == "-3.5"
    assert files["projects.csv"][1][12] == "-500.00"  # Actual net benefit
    assert files["projects.csv"][1][14] == "-100.00"  # Actual ROI %
    assert re.fullmatch(r"-\d+\.\d\d", files["summary.csv"][1][8])


def _hostile_table(trigger: str):
    from decimal import Decimal

    from crmphase.exports.rules import MONEY, TEXT, Column, Table

    columns = (Column("Name", TEXT), Column("Amount", MONEY), Column("Note", TEXT))
    rows = [
        (f"{trigger}Name", Decimal("-12.50"), f'{trigger}HYPERLINK("http://evil")'),
        ("plain", Decimal("3.00"), "a=b"),
    ]
    return Table("Hostile", "hostile", columns, lambda: iter(rows), lambda: len(rows))


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS, ids=repr)
def test_workbook_writer_neutralises_every_trigger(trigger):
    import openpyxl

    from crmphase.exports.xlsx import new_workbook, write_table

    buffer = io.BytesIO()
    with new_workbook(buffer) as wb:
        write_table(wb, _hostile_table(trigger), "EUR", None)
    for name, xml in _sheet_xml(buffer.getvalue()).items():
        assert "<f>" not in xml and "<f " not in xml, name
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["Hostile"]
    for coordinate in ("A2", "C2"):
        assert ws[coordinate].data_type == "s" and ws[coordinate].quotePrefix
        assert "\0" not in ws[coordinate].value
    assert ws["B2"].value == -12.5 and ws["B2"].data_type == "n"
    assert ws["A3"].value == "plain" and not ws["A3"].quotePrefix
    assert ws["C3"].value == "a=b"


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS, ids=repr)
def test_csv_writer_neutralises_every_trigger(trigger):
    from crmphase.exports.csv_zip import write_csv

    table = _hostile_table(trigger)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        write_csv(archive, "hostile.csv", table.columns, table.rows())
    rows = read_csv_zip(buffer.getvalue())["hostile.csv"]
    clean = trigger.replace("\0", "")
    assert rows[1] == [f"'{clean}Name", "-12.50", f'\'{clean}HYPERLINK("http://evil")']
    assert rows[2] == ["plain", "3.00", "a=b"]


def test_workbook_writer_fast_paths_leave_nothing_runnable():
    """Each column kind converts its usual values on a fast path and anything else on the
    general one: a text hiding a formula behind a control character, or a formula-like
    text in a money, percentage or period column, still comes out inert."""
    from datetime import date
    from decimal import Decimal

    import openpyxl

    from crmphase.exports.rules import MONEY, PCT, PERIOD, TEXT, Column, Table
    from crmphase.exports.xlsx import new_workbook, write_table

    columns = (
        Column("Name", TEXT),
        Column("Amount", MONEY),
        Column("Share", PCT),
        Column("Period", PERIOD),
    )
    rows = [
        ("\x01=1+1", "=2+2", "+3", "@SUM(A1)"),
        ("a\tb", Decimal("-1.50"), Decimal("12.5"), date(2026, 3, 1)),
        (True, 7, 25, None),
    ]
    table = Table("Kinds", "kinds", columns, lambda: iter(rows), lambda: len(rows))
    buffer = io.BytesIO()
    with new_workbook(buffer) as wb:
        write_table(wb, table, "EUR", None)
    for name, xml in _sheet_xml(buffer.getvalue()).items():
        assert "<f>" not in xml and "<f " not in xml, name
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["Kinds"]
    for coordinate, value in (("A2", "=1+1"), ("B2", "=2+2"), ("C2", "+3"), ("D2", "@SUM(A1)")):
        cell = ws[coordinate]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (value, "s", True), coordinate
    assert ws["A3"].value == "a\tb" and not ws["A3"].quotePrefix
    assert ws["B3"].value == -1.5 and ws["B3"].number_format == '#,##0.00 "EUR";-#,##0.00 "EUR"'
    assert ws["C3"].value == 0.125 and ws["C3"].number_format == "0.00%"
    assert ws["D3"].value == datetime(2026, 3, 1) and ws["D3"].number_format == "yyyy-mm"
    assert ws["A4"].value == "yes"
    assert ws["B4"].value == 7 and ws["B4"].data_type == "n"
    assert ws["C4"].value == 0.25 and ws["C4"].number_format == "0.00%"
    assert ws["D4"].value is None


def test_workbook_writer_escapes_text_that_looks_like_its_own_markup():
    """XlsxWriter writes a string that starts with ``<r>`` and ends with ``</r>`` into the
    sheet unescaped, as the XML of a rich string; a typed name shaped like that could close
    its cell and open one with a formula. It is written as escaped text instead."""
    import openpyxl

    from crmphase.exports.rules import TEXT, Column, Table
    from crmphase.exports.xlsx import new_workbook, write_table

    hostile = '<r></r></is></c><c r="B2"><f>1+1</f></c><c r="C2" t="inlineStr"><is><r></r>'
    rows = [(hostile, "<r>bold?</r>"), ("<r>", "a</r>")]
    table = Table(
        "Markup",
        "markup",
        (Column("Name", TEXT), Column("Note", TEXT)),
        lambda: iter(rows),
        lambda: len(rows),
    )
    buffer = io.BytesIO()
    with new_workbook(buffer) as wb:
        write_table(wb, table, "EUR", None)
    for name, xml in _sheet_xml(buffer.getvalue()).items():
        assert "<f>" not in xml and "<f " not in xml, name
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["Markup"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == [
        [hostile, "<r>bold?</r>"],
        ["<r>", "a</r>"],
    ]
