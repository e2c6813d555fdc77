"""The stored sums of each period's ROI snapshots (SnapshotTotals) follow every change to
the snapshots, written with the snapshots by refresh_snapshot_totals: added, corrected,
moved to another period, deleted. Each stored row must equal the same sums computed in
Python from the snapshots."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from crmphase.extensions import db
from crmphase.metrics.loaders import portfolio_totals
from crmphase.metrics.models import SUMMED_COUNTS, SUMMED_MONEY, RoiSnapshot, SnapshotTotals
from crmphase.metrics.services import refresh_snapshot_totals
from crmphase.periods import Period
from tests.metrics.expected_totals import totals_from_snapshots


def _expected() -> dict:
    """What the totals must be: every scope's sums, from the snapshots in Python."""
    sums: dict = defaultdict(lambda: defaultdict(Decimal))
    for s in db.session.scalars(sa.select(RoiSnapshot)):
        for key in (
            (s.period, "portfolio", None, None),
            (s.period, "program", s.program_id, None),
            (s.period, "department", None, s.department),
        ):
            row = sums[key]
            row["projects"] += 1
            row["measured_projects"] += 1 if s.measured else 0
            for name in (*SUMMED_MONEY, *SUMMED_COUNTS):
                row[name] += Decimal(getattr(s, name) or 0)
    return {key: dict(row) for key, row in sums.items()}


def _stored() -> dict:
    db.session.expire_all()
    found = {}
    for t in db.session.scalars(sa.select(SnapshotTotals)):
        key = (t.period, t.scope, t.program_id, t.department)
        assert key not in found, f"two rows for {key}"
        found[key] = {
            name: Decimal(getattr(t, name))
            for name in ("projects", "measured_projects", *SUMMED_MONEY, *SUMMED_COUNTS)
        }
    return found


def test_totals_follow_snapshots_added_corrected_moved_and_deleted(
    make_program, make_project, make_snapshot
):
    north, south = make_program("North"), make_program("South")
    sales = make_project("Sales", program=north, department="sales")
    service = make_project("Service", program=north, department="service")
    web = make_project("Web", program=south, department="sales")
    first = make_snapshot(
        sales, "2026-09", cost="100.10", benefit="50", due_count=3, measured_count=3
    )
    make_snapshot(service, "2026-09", cost="200.20", plan_cost="80", due_count=2, measured_count=1)
    make_snapshot(
        web, "2026-09", cost="300.30", actual_npv="-12.34", kpi_details=[{"status": "off_track"}]
    )
    moved = make_snapshot(
        sales, "2026-10", cost="150", benefit="400.99", due_count=4, measured_count=2
    )
    assert _stored() == _expected()
    assert _stored()[("2026-09", "program", north.id, None)]["projects"] == 2
    assert _stored()[("2026-09", "department", None, "sales")]["actual_cumulative_cost"] == (
        Decimal("400.40")
    )

    first.actual_cumulative_cost = Decimal("999.99")
    first.kpi_details = [{"status": "on_track"}, {"status": "off_track"}]
    refresh_snapshot_totals([first.period])
    db.session.commit()
    assert _stored() == _expected()

    moved.period = "2026-08"
    refresh_snapshot_totals(["2026-10", "2026-08"])
    db.session.commit()
    stored = _stored()
    assert stored == _expected()
    assert not any(key[0] == "2026-10" for key in stored), "the emptied period keeps no sums"

    db.session.delete(first)
    refresh_snapshot_totals(["2026-09"])
    db.session.commit()
    assert _stored() == _expected()

    db.session.expire_all()  # a snapshot deleted without its month loaded
    db.session.delete(db.session.get(RoiSnapshot, moved.id, populate_existing=False))
    db.session.expire(moved)
    refresh_snapshot_totals(["2026-08"])
    db.session.commit()
    assert _stored() == _expected()
    assert not any(key[0] == "2026-08" for key in _stored())


def test_refresh_rebuilds_totals_written_around_the_orm(make_program, make_project, make_snapshot):
    """Writes that do not call it (a restore, a bulk copy) leave the sums behind;
    refresh_snapshot_totals puts them back in step."""
    project = make_project("Sales", program=make_program("North"))
    make_snapshot(project, "2026-09", cost="10")
    db.session.execute(
        sa.update(RoiSnapshot.__table__).values(actual_cumulative_cost=Decimal("25.50"))
    )
    db.session.commit()
    assert _stored() != _expected()
    refresh_snapshot_totals(["2026-09"])
    db.session.commit()
    assert _stored() == _expected()


def test_filtered_totals_read_the_matching_scope_or_the_snapshots(
    make_program, make_project, make_snapshot
):
    north, south = make_program("North"), make_program("South")
    snapshots = [
        make_snapshot(make_project("A", program=north, department="sales"), "2026-09", cost="5"),
        make_snapshot(make_project("B", program=north, department="service"), "2026-09", cost="7"),
        make_snapshot(make_project("C", program=south, department="sales"), "2026-09", cost="11"),
    ]
    period = Period.parse("2026-09")
    for program_id, department in (
        (None, None),
        (north.id, None),
        (None, "sales"),
        (north.id, "sales"),  # no stored scope: summed from the snapshots
        (south.id, "service"),  # nothing there
    ):
        chosen = [
            s
            for s in snapshots
            if program_id in (None, s.program_id) and department in (None, s.department)
        ]
        assert portfolio_totals(period, program_id=program_id, department=department) == (
            totals_from_snapshots(period, chosen)
        )
