"""Equal figures: the XLSX, the CSV, the HTML report, the portfolio totals (which the
dashboard shows) and the ROI snapshots agree for the same period, figure by figure."""

from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from crmphase.metrics.loaders import portfolio_totals, totals_by_program
from crmphase.metrics.models import RoiSnapshot
from crmphase.periods import Period
from tests.metrics.expected_totals import totals_from_snapshots

from .conftest import records

P = Period.parse("2026-03")
CENT = Decimal("0.01")


def dec(value) -> Decimal | None:
    """A spreadsheet or CSV value as Decimal (None for an empty cell)."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def pct(value) -> Decimal | None:
    """An Excel percentage (0.5) as percentage points (50)."""
    return None if value is None else (Decimal(str(value)) * 100).quantize(CENT)


def expected_totals(totals) -> dict:
    return {
        "Projects": totals.projects,
        "Measured projects": totals.measured_projects,
        "Due KPI-periods": totals.coverage.due,
        "Measured KPI-periods": totals.coverage.measured,
        "Coverage %": totals.coverage.percent,
        "Actual cumulative cost": totals.actual.cumulative_cost,
        "Actual cumulative benefit": totals.actual.cumulative_benefit,
        "Actual net benefit": totals.actual.net_benefit,
        "Actual ROI %": totals.actual.roi_pct,
        "Actual NPV": totals.actual.npv,
        "Plan cumulative cost": totals.plan.cumulative_cost,
        "Plan cumulative benefit": totals.plan.cumulative_benefit,
        "Plan net benefit": totals.plan.net_benefit,
        "Plan ROI %": totals.plan.roi_pct,
        "Plan NPV": totals.plan.npv,
    }


def expected_project(s: RoiSnapshot) -> dict:
    return {
        "Phase": s.phase,
        "State": s.state,
        "Budget": s.budget,
        "Plan cumulative cost": s.plan_cumulative_cost,
        "Actual cumulative cost": s.actual_cumulative_cost,
        "Plan cumulative benefit": s.plan_cumulative_benefit,
        "Actual cumulative benefit": s.actual_cumulative_benefit,
        "Plan net benefit": s.plan_net_benefit,
        "Actual net benefit": s.actual_net_benefit,
        "Plan ROI %": s.plan_roi_pct,
        "Actual ROI %": s.actual_roi_pct,
        "Plan NPV": s.plan_npv,
        "Actual NPV": s.actual_npv,
        "Plan payback": s.plan_payback_period,
        "Actual payback": s.actual_payback_period,
        "KPI attainment %": s.kpi_attainment,
        "Due KPI-periods": s.due_count,
        "Measured KPI-periods": s.measured_count,
        "Status": s.status,
    }


def xlsx_value(header: str, value):
    if header.endswith("%"):
        return pct(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dec(value)
    return value


def csv_value(header: str, value: str):
    if header in ("Phase", "State", "Status", "Plan payback", "Actual payback"):
        return value or None
    return dec(value)


def normalise(expected: dict) -> dict:
    return {k: (v.quantize(CENT) if isinstance(v, Decimal) else v) for k, v in expected.items()}


def compare(expected: dict, actual: dict, where: str) -> None:
    for header, value in normalise(expected).items():
        got = actual[header]
        if isinstance(got, Decimal):
            got = got.quantize(CENT)
        assert got == value, f"{where}: {header} is {got!r}, expected {value!r}"


@pytest.fixture
def snapshots(db, review_portfolio):
    return db.session.scalars(sa.select(RoiSnapshot).where(RoiSnapshot.period == str(P))).all()


def test_portfolio_and_programs_equal_the_portfolio_totals(
    review_portfolio, snapshots, open_workbook, open_csv_zip
):
    portfolio = portfolio_totals(P)
    assert portfolio == totals_from_snapshots(P, snapshots)  # SQL sums = Python sums
    programs = totals_by_program(P)
    assert len(programs) == 2
    expected_rows = [("Portfolio (all programs)", portfolio)] + [
        (name, totals) for _, name, totals in programs
    ]
    summary = records(open_workbook()["Summary"], header_row=4)
    files = open_csv_zip()
    csv_rows = [
        dict(zip(files["summary.csv"][0], r, strict=True)) for r in files["summary.csv"][1:]
    ]
    assert [r["Scope"] for r in summary] == [name for name, _ in expected_rows]
    assert [r["Scope"] for r in csv_rows] == [name for name, _ in expected_rows]
    for (name, totals), xrow, crow in zip(expected_rows, summary, csv_rows, strict=True):
        expected = expected_totals(totals)
        compare(expected, {h: xlsx_value(h, xrow[h]) for h in expected}, f"xlsx {name}")
        compare(expected, {h: csv_value(h, crow[h]) for h in expected}, f"csv {name}")


def test_project_rows_equal_the_snapshots(snapshots, open_workbook, open_csv_zip, db):
    from crmphase.programs.models import Project

    by_name = {db.session.get(Project, s.project_id).name: s for s in snapshots}
    xlsx_rows = records(open_workbook()["Projects"])
    files = open_csv_zip()
    head = files["projects.csv"][0]
    csv_rows = [dict(zip(head, r, strict=True)) for r in files["projects.csv"][1:]]
    assert sorted(r["Project"] for r in xlsx_rows) == sorted(by_name)
    assert len(csv_rows) == len(by_name) == 3
    for xrow, crow in zip(xlsx_rows, csv_rows, strict=True):
        snapshot = by_name[xrow["Project"]]
        expected = expected_project(snapshot)
        compare(expected, {h: xlsx_value(h, xrow[h]) for h in expected}, f"xlsx {xrow['Project']}")
        compare(expected, {h: csv_value(h, crow[h]) for h in expected}, f"csv {crow['Project']}")


def test_trend_equals_the_portfolio_totals_of_each_period(review_portfolio, open_workbook):
    ws = open_workbook()["Summary"]
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Period")
    for row in records(ws, header_row=header):
        totals = portfolio_totals(Period.of(row["Period"].date()))
        assert pct(row["Actual ROI %"]) == totals.actual.roi_pct
        assert pct(row["Plan ROI %"]) == totals.plan.roi_pct
        assert dec(row["Actual cumulative cost"]) == totals.actual.cumulative_cost
        assert dec(row["Actual cumulative benefit"]) == totals.actual.cumulative_benefit
        assert pct(row["Coverage %"]) == totals.coverage.percent


class _Rows(HTMLParser):
    """Every table row of a page as a list of cell texts."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "span" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def percent(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}%"


def test_html_report_shows_the_same_figures(snapshots, build_export, db):
    from crmphase.programs.models import Project

    parser = _Rows()
    parser.feed(build_export("html").decode("utf-8"))
    rows = {row[0]: row for row in parser.rows if row}
    for _, name, totals in totals_by_program(P):
        row = rows[name]
        assert row[1] == str(totals.projects)
        assert row[2] == percent(totals.coverage.percent)
        assert (
            row[3] == f"{money(totals.actual.cumulative_cost)} {money(totals.plan.cumulative_cost)}"
        )
        assert row[5].split()[0] == money(totals.actual.net_benefit)
        assert row[6].split()[0] == percent(totals.actual.roi_pct)
        assert row[7].split()[0] == money(totals.actual.npv)
    for snapshot in snapshots:
        name = db.session.get(Project, snapshot.project_id).name
        row = next(r for key, r in rows.items() if key.startswith(name))
        assert row[3].split() == [
            money(snapshot.actual_cumulative_cost),
            money(snapshot.plan_cumulative_cost),
        ]
        assert row[5].split()[0] == money(snapshot.actual_net_benefit)
        assert row[6].split()[0] == percent(snapshot.actual_roi_pct)
        assert row[7].split()[0] == money(snapshot.actual_npv)
    portfolio = portfolio_totals(P)
    net = next(r for r in parser.rows if r and r[0] == "Net benefit")
    assert net[1:3] == [money(portfolio.actual.net_benefit), money(portfolio.plan.net_benefit)]
