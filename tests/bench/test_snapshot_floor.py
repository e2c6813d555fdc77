"""The ``roi_snapshot`` floor writes what the job writes: the same rows, the same columns,
the same stored sums, on a small generated portfolio (both engines)."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from bench.floor_sql import Raw, snapshot_floor_params, write_snapshots_floor
from crmphase import clock
from crmphase.jobs.services import run_job
from crmphase.metrics.models import RoiSnapshot, SnapshotTotals
from tests.factories.scenarios import BENCH_NOW

# Everything but the row's own bookkeeping (id, when it was computed, reruns).
COMPARED = [
    c.name
    for c in RoiSnapshot.__table__.columns
    if c.name not in ("id", "computed_at", "recomputed_count", "kpi_details")
]
DECIMAL_FIELDS = ("baseline_value", "target_value", "latest", "attainment", "expected")
TOTALS_KEY = ("scope", "program_id", "department")


def _snapshots(db, period: str) -> dict[int, dict]:
    table = RoiSnapshot.__table__
    rows = db.session.execute(
        sa.select(table).where(table.c.period == period).order_by(table.c.project_id)
    ).mappings()
    return {row["project_id"]: dict(row) for row in rows}


def _totals(db, period: str) -> dict[tuple, dict]:
    table = SnapshotTotals.__table__
    rows = db.session.execute(sa.select(table).where(table.c.period == period)).mappings()
    return {tuple(row[k] for k in TOTALS_KEY): dict(row) for row in rows}


def _raw(db) -> Raw:
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        return Raw("sqlite", url.database)
    return Raw("postgres", url.set(drivername="postgresql").render_as_string(hide_password=False))


def _decimal(text):
    return None if text is None else Decimal(text)


def _same_details(product: list, floor: list) -> None:
    assert [k["kpi_id"] for k in floor] == [k["kpi_id"] for k in product]  # order too
    for expected, found in zip(product, floor, strict=True):
        assert set(found) == set(expected)
        for name, value in expected.items():
            if name in DECIMAL_FIELDS:
                assert _decimal(found[name]) == _decimal(value), (expected["kpi_id"], name)
            else:
                assert found[name] == value, (expected["kpi_id"], name)


@pytest.mark.parametrize("period", ["2026-05", "2026-03"])  # the last month; a quarter's end
def test_the_floor_writes_the_snapshots_and_sums_the_job_writes(
    bench_portfolio, committed_db, period
):
    db = committed_db
    bench_portfolio(programs=3, projects=45, months=30, seed=11)
    bench_portfolio(programs=1, projects=12, months=3, seed=2, append=True)  # young projects
    with clock.frozen(BENCH_NOW):
        result = run_job("roi_snapshot", period, trigger="cli", deliver=False)
    assert result.run.outcome == "succeeded"
    product, product_totals = _snapshots(db, period), _totals(db, period)
    db.session.remove()

    raw = _raw(db)
    try:
        raw.execute("BEGIN")
        raw.execute("DELETE FROM roi_snapshots WHERE period = :period", period=period)
        write_snapshots_floor(raw, period)
        raw.execute("COMMIT")
    finally:
        raw.close()
    floor, floor_totals = _snapshots(db, period), _totals(db, period)

    assert len(product) > 20
    assert set(floor) == set(product)
    for project_id, expected in product.items():
        found = floor[project_id]
        assert {k: found[k] for k in COMPARED} == {k: expected[k] for k in COMPARED}, project_id
        _same_details(expected["kpi_details"], found["kpi_details"])
    assert floor_totals.keys() == product_totals.keys()
    for key, expected in product_totals.items():
        found = floor_totals[key]
        assert {k: v for k, v in found.items() if k != "id"} == {
            k: v for k, v in expected.items() if k != "id"
        }, key
    # The portfolio is varied enough for the comparison to mean something.
    rows = list(product.values())
    assert any(r["actual_roi_pct"] is None for r in rows)
    assert any(r["actual_roi_pct"] is not None and r["actual_roi_pct"] < 0 for r in rows)
    assert any(r["actual_payback_period"] for r in rows)
    assert any(r["plan_npv"] != 0 for r in rows)
    assert any(r["due_count"] > 0 for r in rows)
    assert any(r["measured_count"] < r["due_count"] for r in rows)
    assert {r["status"] for r in rows} >= {"on_track", "off_track", "no_data"}
    assert any(r["least_off_track_attainment"] is not None for r in rows)
    if period == "2026-05":  # a young project without KPIs yet (created in April)
        assert any(not r["kpi_details"] for r in rows)


def test_floor_parameters_follow_the_installation_timezone():
    params = snapshot_floor_params("sqlite", "2026-03", "Europe/Berlin")
    assert params["end_of_period"] == "2026-03-31 22:00:00"
    assert params["quarter_end"] == 1
    assert params["last_day"] == "2026-03-31"
    assert params["period_index"] == 2026 * 12 + 3
    utc = snapshot_floor_params("postgres", "2026-12")
    assert utc["end_of_period"] == "2027-01-01 00:00:00+00:00"
    assert utc["quarter_end"] == 1
