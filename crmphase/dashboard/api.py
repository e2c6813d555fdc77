"""``/api/v1/dashboard``: the dashboard's figures as JSON."""

from flask.views import MethodView
from flask_smorest import Blueprint

from crmphase import clock
from crmphase.api.fields import page_body
from crmphase.auth.policy import Action, permission_required
from crmphase.dashboard import loaders
from crmphase.dashboard.rules import DashboardFilters
from crmphase.dashboard.schemas import (
    DashboardProgramPage,
    DashboardProgramsQuery,
    DashboardQuery,
    DashboardSchema,
)
from crmphase.errors import ValidationFailed
from crmphase.extensions import db
from crmphase.programs.models import Program

blp = Blueprint("dashboard_api", __name__, description="The CRMO dashboard's figures")


def _totals(t) -> dict:
    return {
        "projects": t.projects,
        "measured_projects": t.measured_projects,
        "actual": t.actual,
        "plan": t.plan,
        "coverage": t.coverage,
    }


def _program_totals(row) -> dict:
    program_id, name, totals = row
    return {"program_id": program_id, "name": name, **_totals(totals)}


def _dashboard_filters(args) -> DashboardFilters:
    program_id = args.get("program_id")
    if program_id and db.session.get(Program, program_id) is None:
        raise ValidationFailed.one("program_id", f"there is no program {program_id}")
    return DashboardFilters(
        args.get("period") or clock.last_complete_period(),
        program_id,
        args.get("department"),
    )


def dashboard_body(d: loaders.Dashboard) -> dict:
    """The dashboard as the plain structure :class:`DashboardSchema` serialises."""
    return {
        "period": d.filters.period,
        "program_id": d.filters.program_id,
        "department": d.filters.department,
        "today": d.today,
        "has_snapshots": d.has_snapshots,
        "active_projects": d.active_projects,
        "totals": _totals(d.totals),
        "coverage_trend": [
            {
                "period": p.period,
                "measured": p.coverage.measured,
                "due": p.coverage.due,
                "percent": p.coverage.percent,
            }
            for p in d.coverage_trend
        ],
        "money_trend": d.money_trend,
        "roi_trend": [
            {
                "program_id": s.program_id,
                "name": s.name,
                "points": [{"period": period, "roi_pct": roi} for period, roi in s.points],
            }
            for s in d.roi_trend
        ],
        "by_program": [_program_totals(row) for row in d.by_program.items],
        "by_program_total": d.by_program.total,
        "funnel": [
            {"phase": phase, "state": state, "count": n}
            for (phase, state), n in sorted(d.funnel.items())
        ],
        "ownership": [
            {"department": dept, "phase": phase, "count": n}
            for (dept, phase), n in sorted(d.ownership.items())
        ],
        "kpi_status": d.kpi_status,
        "unmeasured": d.unmeasured,
        "off_track": d.off_track,
        "pending_reviews": d.pending_reviews,
        "overdue_reviews": d.overdue_reviews,
        "overruns": d.overruns,
    }


@blp.route("/dashboard")
class DashboardResource(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(DashboardQuery, location="query")
    @blp.response(200, DashboardSchema)
    def get(self, args):
        """Portfolio figures for a period (default: the last complete month), optionally for
        one program or department. Money, coverage and KPI figures come from the period's
        ROI snapshots; the funnel, ownership and reviews from the projects as they stand."""
        filters = _dashboard_filters(args)
        return dashboard_body(loaders.build_dashboard(filters, today=clock.today()))


@blp.route("/dashboard/programs")
class DashboardPrograms(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(DashboardProgramsQuery, location="query")
    @blp.response(200, DashboardProgramPage)
    def get(self, args):
        """Every program's totals for a period (the dashboard shows the ten largest), by
        name, a page at a time; the same filters as the dashboard."""
        page = loaders.program_totals_page(_dashboard_filters(args), args["page"], args["per_page"])
        page.items = [_program_totals(row) for row in page.items]
        return page_body(page)
