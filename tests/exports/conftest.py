"""Helpers to build an export in memory and open it like a person's spreadsheet would, and
``review_portfolio``, a small portfolio with everything the export shows."""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crmphase import clock
from crmphase.periods import Period
from tests.factories.auth import make_user
from tests.factories.metrics import (
    make_alert,
    make_benefit,
    make_cost,
    make_kpi,
    make_measurement,
    make_snapshot,
)
from tests.factories.phases import make_decision
from tests.factories.programs import make_program, make_project

REVIEW_NOW = "2026-04-15T09:00:00+00:00"  # the March 2026 review is due
# The KPIs of the review: up from 10 to 20 over the first half of 2026.
REVIEW_KPI = {
    "baseline_value": Decimal("10"),
    "target_value": Decimal("20"),
    "target_period": "2026-06",
}
# When the review's measurements were recorded.
RECORDED_AT = datetime(2026, 4, 2, 8, 30, tzinfo=UTC)
D = Decimal


@pytest.fixture
def review_clock():
    """The clock fixed at 15 April 2026: 2026-03 is the last complete period."""
    with clock.frozen(REVIEW_NOW) as now:
        yield now


@pytest.fixture
def build_export(app, db):
    """``build_export("xlsx", "2026-03")`` → the file's bytes."""
    from crmphase.exports.services import build_monthly_review

    def build(fmt: str, period: str = "2026-03") -> bytes:
        buffer = io.BytesIO()
        build_monthly_review(Period.parse(period), fmt, buffer)
        return buffer.getvalue()

    return build


@pytest.fixture
def open_workbook(build_export):
    """``open_workbook()`` → the review's workbook, loaded by openpyxl."""
    import openpyxl

    def load(period: str = "2026-03"):
        return openpyxl.load_workbook(io.BytesIO(build_export("xlsx", period)))

    return load


def read_csv_zip(data: bytes) -> dict[str, list[list[str]]]:
    """``{file name: rows}``; asserts each file starts with the UTF-8 BOM."""
    files = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            assert raw.startswith(b"\xef\xbb\xbf"), name
            files[name] = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    return files


@pytest.fixture
def open_csv_zip(build_export):
    def load(period: str = "2026-03"):
        return read_csv_zip(build_export("csv", period))

    return load


def records(ws, header_row: int = 1) -> list[dict]:
    """A sheet's table as dicts keyed by header (rows until the first empty one)."""
    rows = ws.iter_rows(min_row=header_row, values_only=True)
    headers = next(rows)
    result = []
    for row in rows:
        if all(v is None for v in row):
            break
        result.append(dict(zip(headers, row, strict=False)))
    return result


@dataclass
class ReviewPortfolio:
    period: str = "2026-03"
    programs: list = field(default_factory=list)
    projects: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    kpis: list = field(default_factory=list)


@pytest.fixture
def review_portfolio(review_clock, db):
    """Two programs, three projects with snapshots for 2026-01..03 (one with a loss), KPIs
    with snapshot details, measurements, costs, benefits, decisions and alerts."""
    crm = make_program(name="Customer 360")
    service = make_program(name="Service excellence")
    owner = make_user("manager", name="Olga Owner")
    campaign = make_project("Campaign management", program=crm, phase="execute")
    portal = make_project("Self-service portal", program=service, phase="manage")
    loyalty = make_project(
        "Loyalty pilot", program=crm, phase="execute", department="sales", state="on_hold"
    )
    figures = {
        # project: {period: (actual cost, actual benefit, plan cost, plan benefit)}
        campaign: {
            "2026-01": ("40000.00", "10000.00", "45000.00", "15000.00"),
            "2026-02": ("70000.00", "45000.00", "80000.00", "50000.00"),
            "2026-03": ("100000.00", "150000.00", "100000.00", "120000.00"),
        },
        portal: {
            "2026-02": ("20000.00", "5000.00", "25000.00", "5000.00"),
            "2026-03": ("30000.00", "10000.50", "30000.00", "12000.00"),
        },
        loyalty: {
            "2026-03": ("12345.67", "0.00", "10000.00", "3000.00"),
        },
    }
    portfolio = ReviewPortfolio(programs=[crm, service], projects=[campaign, portal, loyalty])
    conversion = make_kpi(campaign, name="Campaign conversion", owner_id=owner.id, **REVIEW_KPI)
    churn = make_kpi(
        portal,
        name="=HYPERLINK(churn)",  # a name someone typed to try a formula
        direction="down",
        baseline_value=D("8"),
        target_value=D("5"),
        target_period="2026-06",
    )
    portfolio.kpis = [conversion, churn]
    details = {
        campaign: [
            {
                "kpi_id": conversion.id,
                "name": conversion.name,
                "unit": "%",
                "latest": "14.5",
                "attainment": "45.00",
                "expected": "40.00",
                "status": "on_track",
            }
        ],
        portal: [
            {
                "kpi_id": churn.id,
                "latest": 7.1,
                "attainment": "30.00",
                "expected": "60.00",
                "status": "off_track",
            }
        ],
        loyalty: [],
    }
    counts = {campaign: (3, 3), portal: (2, 1), loyalty: (0, 0)}
    for project, by_period in figures.items():
        for period, (a_cost, a_benefit, p_cost, p_benefit) in by_period.items():
            due, measured = counts[project] if period == "2026-03" else (1, 1)
            portfolio.snapshots.append(
                make_snapshot(
                    project,
                    period,
                    cost=a_cost,
                    benefit=a_benefit,
                    plan_cost=p_cost,
                    plan_benefit=p_benefit,
                    due_count=due,
                    measured_count=measured,
                    measured=measured > 0,
                    kpi_details=details[project] if period == "2026-03" else [],
                    kpi_attainment=D("45.00") if project is campaign else None,
                    status="on_track" if project is campaign else "off_track",
                    actual_payback_period="2026-03" if project is campaign else None,
                    plan_payback_period="2026-03" if project is campaign else None,
                )
            )
    at = RECORDED_AT
    make_measurement(conversion, "2026-03", "14.5", note="from the CRM report", recorded_at=at)
    make_measurement(conversion, "2026-02", "12.0", recorded_at=at)
    make_measurement(churn, "2026-03", "7.1", note="@SUM(1+1)", source="import", recorded_at=at)
    make_cost(campaign, "2026-03", "30000.00", note="licences", category="software")
    make_cost(campaign, "2026-03", "30000.00", kind="plan", note="-plan", category="software")
    make_cost(portal, "2026-02", "5000.00", category="software")  # another period: not shown
    make_benefit(campaign, "2026-03", "105000.00", category="revenue", note="+uplift")
    make_decision(
        campaign,
        decided_at=datetime(2026, 3, 10, 14, 0, tzinfo=UTC),
        rationale="=1+1 pilot results are in",
    )
    make_decision(portal, "hold", decided_at=datetime(2026, 2, 27, 9, 0, tzinfo=UTC))
    make_alert(
        portal,
        "missing_measurement",
        kpi_id=churn.id,
        opened_at=datetime(2026, 3, 11, tzinfo=UTC),
        detail="February not measured",
    )
    make_alert(  # resolved before the end of March: not open at the period's end
        campaign,
        "budget_overrun",
        opened_at=datetime(2026, 3, 2, tzinfo=UTC),
        resolved_at=datetime(2026, 3, 20, tzinfo=UTC),
    )
    make_alert(  # resolved in April: still open when March ended
        loyalty,
        "off_track",
        opened_at=datetime(2026, 2, 15, tzinfo=UTC),
        resolved_at=datetime(2026, 4, 3, tzinfo=UTC),
        period="2026-01",
    )
    make_alert(  # opened in April: not open at the end of March
        campaign,
        "gate_overdue",
        opened_at=datetime(2026, 4, 2, tzinfo=UTC),
    )
    return portfolio
