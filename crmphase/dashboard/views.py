"""The portfolio dashboard at ``/`` and the lists behind its figures."""

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, url_for

from crmphase import clock
from crmphase.auth.policy import Action, current_actor, permission_required, public
from crmphase.dashboard import charts, loaders
from crmphase.dashboard.rules import DEPARTMENTS, ParsedFilters, parse_filters
from crmphase.errors import ValidationFailed
from crmphase.extensions import db
from crmphase.metrics.rules import KPI_STATUSES
from crmphase.programs.models import DEPARTMENT_LABELS, Department

bp = Blueprint("dashboard", __name__)


def _filters(programs) -> ParsedFilters:
    return parse_filters(
        request.args,
        default_period=clock.last_complete_period(),
        program_ids=[program_id for program_id, _ in programs],
    )


def _jobs_url() -> str | None:
    """The Jobs page, where the CRMO runs the snapshot job now (when that domain is here)."""
    return url_for("jobs.index") if "jobs.index" in current_app.view_functions else None


def _page() -> int:
    return request.args.get("page", 1, type=int) or 1


def _render(template: str, parsed: ParsedFilters, programs, **context):
    """Render with the filter bar; a bad filter is shown next to its field (HTTP 400)."""
    errors = {e.field: e.message for e in parsed.errors}
    departments = [(d, DEPARTMENT_LABELS.get(Department(d), d)) for d in DEPARTMENTS]
    body = render_template(
        template,
        f=parsed.filters,
        filter_errors=errors,
        programs=programs,
        program_names=dict(programs),
        departments=departments,
        today=clock.today(),
        jobs_url=_jobs_url(),
        **context,
    )
    return body, 400 if errors else 200


@bp.route("/")
@permission_required(Action.READ)
def index():
    programs = loaders.program_choices()
    parsed = _filters(programs)
    dashboard = loaders.build_dashboard(parsed.filters, today=clock.today(), user=current_actor())
    figures = {
        "roi": charts.roi_by_program(dashboard.roi_trend),
        "money": charts.benefit_against_cost(dashboard.money_trend),
        "kpis": charts.kpi_status(dashboard.kpi_status),
        "overruns": charts.budget_against_spend(dashboard.overruns.items),
        "coverage": charts.coverage_trend(dashboard.coverage_trend),
    }
    return _render("dashboard/index.html", parsed, programs, d=dashboard, figures=figures)


def _list_page(template: str, build):
    """A dashboard list: filters from the URL, rows from ``build(filters)``, paginated."""
    programs = loaders.program_choices()
    parsed = _filters(programs)
    per_page = current_app.config["PER_PAGE"]
    page = build(parsed.filters, _page(), per_page)
    return _render(template, parsed, programs, page=page)


@bp.route("/dashboard/projects")
@permission_required(Action.READ)
def snapshots():
    return _list_page(
        "dashboard/snapshots.html",
        lambda f, page, n: loaders.paginate_rows(loaders.snapshots_query(f), page, n),
    )


@bp.route("/dashboard/programs")
@permission_required(Action.READ)
def programs():
    return _list_page("dashboard/programs.html", loaders.program_totals_page)


@bp.route("/dashboard/unmeasured")
@permission_required(Action.READ)
def unmeasured():
    manager_id = current_actor().id if request.args.get("mine") == "1" else None
    return _list_page(
        "dashboard/unmeasured.html",
        lambda f, page, n: loaders.paginate_rows(
            loaders.unmeasured_query(f, manager_id=manager_id), page, n
        ),
    )


@bp.route("/dashboard/off-track")
@permission_required(Action.READ)
def off_track():
    """Off-track KPIs; ``?status=`` on_track, at_risk or no_data lists those instead."""
    status = request.args.get("status") or "off_track"
    if status not in KPI_STATUSES:
        raise ValidationFailed.one("status", f"'{status}' is not one of {', '.join(KPI_STATUSES)}")
    return _list_page(
        "dashboard/off_track.html",
        lambda f, page, n: loaders.paginate_list(
            loaders.off_track_kpis(loaders.kpi_details_of_period(f), status), page, n
        ),
    )


@bp.route("/dashboard/overruns")
@permission_required(Action.READ)
def overruns():
    return _list_page(
        "dashboard/overruns.html",
        lambda f, page, n: loaders.paginate_rows(loaders.overruns_query(f), page, n),
    )


@bp.route("/dashboard/reviews")
@permission_required(Action.READ)
def reviews():
    decider = current_actor() if request.args.get("mine") == "1" else None
    today = clock.today()

    def build(f, page, n):
        rows = loaders.paginate_rows(loaders.pending_reviews_query(f, decider=decider), page, n)
        rows.items = loaders.with_age(rows.items, "requested_at", today)
        return rows

    return _list_page("dashboard/reviews.html", build)


@bp.route("/dashboard/overdue-reviews")
@permission_required(Action.READ)
def overdue_reviews():
    today = clock.today()

    def build(f, page, n):
        rows = loaders.paginate_rows(loaders.overdue_reviews_query(f, today), page, n)
        rows.items = loaders.with_age(rows.items, "since", today)
        return rows

    return _list_page("dashboard/overdue_reviews.html", build)


@bp.route("/healthz")
@public
def health():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
