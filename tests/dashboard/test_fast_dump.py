"""The dashboard's hand-written dump of its trends equals marshmallow's, field by field,
including the null ROI of a program without cost and the null coverage of a month in which
nothing was due."""

from datetime import date

import marshmallow as ma

from crmphase.dashboard import loaders
from crmphase.dashboard.api import dashboard_body
from crmphase.dashboard.rules import DashboardFilters
from crmphase.dashboard.schemas import DashboardSchema
from crmphase.periods import Period


def _both(filters: DashboardFilters):
    body = dashboard_body(loaders.build_dashboard(filters, today=date(2026, 11, 23)))
    schema = DashboardSchema()
    return schema.dump(body), ma.Schema.dump(schema, body)


def test_fast_dump_equals_marshmallow(
    dash_portfolio, make_program, make_project, make_snapshot, db
):
    idle = make_project("Idle", program=make_program("No cost yet"))
    make_snapshot(idle, "2026-10", cost="0", benefit="0", due_count=0, measured_count=0)
    make_snapshot(idle, "2026-08", cost="12.34", benefit="99.99", due_count=3, measured_count=1)
    for filters in (
        DashboardFilters(Period(2026, 10)),
        DashboardFilters(Period(2026, 10), dash_portfolio.campaigns.id),
        DashboardFilters(Period(2026, 10), None, "sales"),
        DashboardFilters(Period(2025, 1)),  # no snapshots at all
    ):
        fast, generic = _both(filters)
        assert fast == generic
    fast, _ = _both(DashboardFilters(Period(2026, 10)))
    assert any(p["roi_pct"] is None for s in fast["roi_trend"] for p in s["points"])
    assert any(p["percent"] is None for p in fast["coverage_trend"])
