"""Large portfolios are written in streaming mode: memory stays bounded."""

import io
import tempfile
import tracemalloc

import pytest
import sqlalchemy as sa

from crmphase.periods import Period

ROWS = 20_000


@pytest.fixture
def big_period(db, review_clock, make_project):
    """20,000 measurements of 2026-03 (one KPI each), inserted in bulk."""
    from crmphase.metrics.models import Kpi, Measurement

    projects = [make_project(f"Project {n:03d}", phase="execute") for n in range(4)]
    kpi_ids = db.session.scalars(
        sa.insert(Kpi).returning(Kpi.id, sort_by_parameter_order=True),
        [
            {
                "project_id": projects[n % 4].id,
                "name": f"KPI {n:05d} with a reasonably long name",
                "unit": "%",
                "direction": "up",
                "cadence": "monthly",
                "baseline_period": "2026-01",
            }
            for n in range(ROWS)
        ],
    ).all()
    db.session.execute(
        sa.insert(Measurement),
        [
            {
                "kpi_id": kpi_id,
                "period": "2026-03",
                "value": n / 7,
                "note": f"measured from the monthly CRM report, row {n}",
                "source": "import",
            }
            for n, kpi_id in enumerate(kpi_ids)
        ],
    )
    db.session.commit()
    return Period(2026, 3)


def _peak(build) -> int:
    tracemalloc.start()
    try:
        build()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_twenty_thousand_measurements_stream_with_bounded_memory(big_period, app):
    """The XLSX of 20,000 measurement rows peaks below what an ordinary (non-streaming)
    workbook needs for a tenth of them; the CSV zip stays small too."""
    import itertools

    import openpyxl

    from crmphase.exports.loaders import measurement_rows
    from crmphase.exports.rules import MEASUREMENT_COLUMNS
    from crmphase.exports.services import build_monthly_review

    with tempfile.TemporaryFile() as out:
        streaming = _peak(lambda: build_monthly_review(big_period, "xlsx", out))
        out.seek(0)
        wb = openpyxl.load_workbook(out, read_only=True)
        assert sum(1 for _ in wb["Measurements"].iter_rows(values_only=True)) == ROWS + 1
        wb.close()

    def ordinary_workbook_of_a_tenth():
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append([c.header for c in MEASUREMENT_COLUMNS])
        rows = measurement_rows(big_period)
        for row in itertools.islice(rows, ROWS // 10):
            ws.append([str(v) if isinstance(v, Period) else v for v in row])
        rows.close()
        wb.save(io.BytesIO())

    ordinary = _peak(ordinary_workbook_of_a_tenth)
    assert streaming < ordinary, (streaming, ordinary)
    assert streaming < 16 * 1024 * 1024, streaming

    with tempfile.TemporaryFile() as out:
        csv_peak = _peak(lambda: build_monthly_review(big_period, "csv", out))
    assert csv_peak < 16 * 1024 * 1024, csv_peak
