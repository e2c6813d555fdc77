"""Pages: the Measurement, Money and Monthly snapshots tabs, KPI, measurement and money
forms, CSV import, the alerts."""

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from crmphase import clock
from crmphase.auth.models import User
from crmphase.auth.policy import Action, authorize, can, current_actor, permission_required
from crmphase.auth.roles import Role
from crmphase.errors import NotFound, ValidationFailed
from crmphase.extensions import db
from crmphase.forms import SelectChoice, apply_errors
from crmphase.metrics import imports, loaders, services
from crmphase.metrics.api import too_large_message
from crmphase.metrics.forms import (
    CostForm,
    ImportCommitForm,
    ImportForm,
    KpiForm,
    MeasurementForm,
    MoneyForm,
)
from crmphase.metrics.models import ALERT_KINDS
from crmphase.navigation import NavEntry, ProjectTab, add_nav, add_project_tab
from crmphase.periods import Period, PeriodError
from crmphase.programs.loaders import get_project

bp = Blueprint("metrics", __name__)

add_project_tab(ProjectTab("measurement", "Measurement", "metrics.project_measurement", order=20))
add_project_tab(ProjectTab("money", "Money", "metrics.project_money", order=30))
add_project_tab(
    ProjectTab("monitoring", "Monthly snapshots", "metrics.project_monitoring", order=40)
)
add_nav(
    NavEntry(
        "Import measurements",
        "metrics.import_measurements",
        order=40,
        action=Action.MEASUREMENT_IMPORT,
    )
)
add_nav(NavEntry("Alerts", "metrics.alert_list", order=60))


def _period_arg(default: Period) -> Period:
    try:
        return Period.parse(request.args["period"]) if request.args.get("period") else default
    except PeriodError:
        flash("That is not a period (write YYYY-MM); showing the default instead.", "warning")
        return default


def _project_kpi(project_id: int, kpi_id: int):
    """The KPI, which must belong to the project in the URL (404 otherwise)."""
    project = get_project(project_id)
    kpi = loaders.get_kpi(kpi_id)
    if kpi.project_id != project.id:
        raise NotFound(f"project {project.id} has no KPI {kpi_id}")
    return project, kpi


def _head(project) -> dict:
    actor = current_actor()
    return {
        "project": project,
        "may_edit": can(actor, Action.PROJECT_EDIT, project),
        "may_edit_kpis": can(actor, Action.KPI_EDIT, project),
        "may_edit_money": can(actor, Action.MONEY_EDIT, project),
    }


@bp.route("/projects/<int:project_id>/measurement")
@permission_required(Action.READ)
def project_measurement(project_id):
    project = get_project(project_id)
    period = _period_arg(clock.current_period())
    panels = loaders.measurement_panels(project, period=period, today=clock.today())
    may_record = {p.kpi.id: can(current_actor(), Action.MEASUREMENT_RECORD, p.kpi) for p in panels}
    return render_template(
        "metrics/measurement.html",
        tab="measurement",
        panels=panels,
        period=period,
        may_record=may_record,
        **_head(project),
    )


def _owner_choices():
    users = db.session.scalars(
        sa.select(User).where(User.active, User.role != Role.VIEWER.value).order_by(User.name)
    )
    return [
        SelectChoice("", "— nobody —"),
        *(SelectChoice(str(u.id), f"{u.name} ({u.role})") for u in users),
    ]


def _kpi_page(project, kpi, form):
    return render_template(
        "metrics/kpi_form.html",
        form=form,
        project=project,
        kpi=kpi,
        asks_reason=kpi is not None and project.phase != "strategize",
    )


@bp.route("/projects/<int:project_id>/kpis/new", methods=["GET", "POST"])
@permission_required(Action.KPI_EDIT)
def kpi_new(project_id):
    project = get_project(project_id)
    authorize(Action.KPI_EDIT, project)
    form = KpiForm()
    form.owner_id.choices = _owner_choices()
    if form.validate_on_submit():
        try:
            kpi = services.create_kpi(current_actor(), project, form.data_for_service())
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(f"KPI '{kpi.name}' added.", "success")
            return redirect(url_for("metrics.project_measurement", project_id=project.id))
    return _kpi_page(project, None, form)


@bp.route("/projects/<int:project_id>/kpis/<int:kpi_id>/edit", methods=["GET", "POST"])
@permission_required(Action.KPI_EDIT)
def kpi_edit(project_id, kpi_id):
    project, kpi = _project_kpi(project_id, kpi_id)
    authorize(Action.KPI_EDIT, kpi)
    form = KpiForm(obj=kpi)
    form.owner_id.choices = _owner_choices()
    if request.method == "GET":
        form.version.data = kpi.version
        for name in ("baseline_value", "target_value"):
            value = getattr(kpi, name)
            getattr(form, name).data = "" if value is None else format(value.normalize(), "f")
    if form.validate_on_submit():
        try:
            services.update_kpi(
                current_actor(), kpi, form.data_for_service(), form.version.data, form.reason.data
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(f"KPI '{kpi.name}' saved.", "success")
            return redirect(url_for("metrics.project_measurement", project_id=project.id))
    return _kpi_page(project, kpi, form)


@bp.route("/projects/<int:project_id>/kpis/<int:kpi_id>/record", methods=["GET", "POST"])
@permission_required(Action.MEASUREMENT_RECORD)
def measurement_record(project_id, kpi_id):
    project, kpi = _project_kpi(project_id, kpi_id)
    authorize(Action.MEASUREMENT_RECORD, kpi)
    form = MeasurementForm()
    if request.method == "GET":
        form.period.data = request.args.get("period") or str(clock.last_complete_period())
    current = loaders.current_measurement(kpi, form.period.data)
    if form.validate_on_submit():
        try:
            _, created = services.record_measurement(
                current_actor(), kpi, form.period.data, form.value.data, form.note.data
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            verb = "recorded" if created else "saved (the earlier value is kept as a revision)"
            flash(f"{kpi.name} for {form.period.data.strip()} {verb}.", "success")
            return redirect(url_for("metrics.project_measurement", project_id=project.id))
    elif request.method == "GET" and current is not None:
        form.value.data = format(current.value.normalize(), "f")
        form.note.data = current.note
    return render_template(
        "metrics/measurement_form.html", form=form, project=project, kpi=kpi, current=current
    )


@bp.route("/projects/<int:project_id>/money")
@permission_required(Action.READ)
def project_money(project_id):
    project = get_project(project_id)
    period = _period_arg(clock.last_complete_period())
    currency = current_app.config["CRMPHASE_CURRENCY"]
    view = loaders.money_view(project, period=period, currency=currency)
    return render_template(
        "metrics/money.html", tab="money", view=view, period=period, **_head(project)
    )


@bp.route("/projects/<int:project_id>/money/<what>")
@permission_required(Action.READ)
def money_entries(project_id, what):
    _check_what(what)
    project = get_project(project_id)
    kind = request.args.get("kind") if request.args.get("kind") in ("plan", "actual") else None
    page = db.paginate(
        loaders.money_entries(project.id, what, kind, newest_first=True),
        per_page=current_app.config["PER_PAGE"],
    )
    return render_template(
        "metrics/money_entries.html",
        tab="money",
        what=what,
        kind=kind,
        page=page,
        corrections=loaders.money_corrections(project.id),
        **_head(project),
    )


def _money_form(what: str, **kwargs):
    return CostForm(**kwargs) if what == "cost" else MoneyForm(**kwargs)


def _check_what(what: str) -> None:
    if what not in loaders.MONEY_KINDS:
        raise NotFound(f"money entries are costs or benefits, not {what!r}")


@bp.route("/projects/<int:project_id>/money/<what>/new", methods=["GET", "POST"])
@permission_required(Action.MONEY_EDIT)
def money_new(project_id, what):
    _check_what(what)
    project = get_project(project_id)
    authorize(Action.MONEY_EDIT, project)
    form = _money_form(what)
    if request.method == "GET":
        form.period.data = request.args.get("period") or str(clock.current_period())
        form.kind.data = request.args.get("kind") or "actual"
    if form.validate_on_submit():
        try:
            services.add_money_entry(current_actor(), project, what, form.data_for_service())
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(f"{form.kind.data.title()} {what} for {form.period.data} booked.", "success")
            return redirect(url_for("metrics.project_money", project_id=project.id))
    return render_template(
        "metrics/money_form.html", form=form, project=project, what=what, entry=None
    )


@bp.route("/projects/<int:project_id>/money/<what>/<int:entry_id>/edit", methods=["GET", "POST"])
@permission_required(Action.MONEY_EDIT)
def money_edit(project_id, what, entry_id):
    _check_what(what)
    project = get_project(project_id)
    entry = loaders.get_money_entry(what, entry_id)
    if entry.project_id != project.id:
        raise NotFound(f"project {project.id} has no {what} entry {entry_id}")
    authorize(Action.MONEY_EDIT, entry)
    form = _money_form(what, obj=entry)
    if form.validate_on_submit():
        try:
            services.correct_money_entry(current_actor(), entry, what, form.data_for_service())
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(f"The {what} entry was corrected; the history keeps the old values.", "success")
            return redirect(url_for("metrics.project_money", project_id=project.id))
    return render_template(
        "metrics/money_form.html", form=form, project=project, what=what, entry=entry
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    flash(f"Nothing was imported: {too_large_message()}.", "error")
    return redirect(url_for("metrics.import_measurements"))


def _import_page(form, **context):
    context.setdefault("commit_form", ImportCommitForm())
    return render_template("metrics/import.html", form=form, **context)


@bp.route("/imports/measurements", methods=["GET", "POST"])
@permission_required(Action.MEASUREMENT_IMPORT)
def import_measurements():
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(form)
    upload = form.file.data
    data = upload.read() if upload else b""
    actor = current_actor()
    try:
        planned = services.preview_import(actor, data)
    except imports.MeasurementImportError as exc:
        return _import_page(form, errors=exc.errors), 422
    commit_form = ImportCommitForm(token=services.stash_upload(data, actor.id))
    return _import_page(form, planned=planned, commit_form=commit_form)


@bp.route("/imports/measurements/template.csv")
@permission_required(Action.MEASUREMENT_IMPORT)
def import_template():
    period = clock.last_complete_period()
    data = imports.template_csv(loaders.template_rows(current_actor(), period), period)
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="measurements-{period}.csv"'},
    )


@bp.route("/imports/measurements/commit", methods=["POST"])
@permission_required(Action.MEASUREMENT_IMPORT)
def import_commit():
    form = ImportCommitForm()
    actor = current_actor()
    data = services.take_upload(form.token.data if form.validate_on_submit() else "", actor.id)
    if data is None:
        flash("That preview has expired or was already imported; upload the file again.", "error")
        return redirect(url_for("metrics.import_measurements"))
    try:
        result = services.import_measurements(actor, data)
    except imports.MeasurementImportError as exc:
        return _import_page(ImportForm(formdata=None), errors=exc.errors), 422
    services.take_upload(form.token.data, actor.id, remove=True)
    flash(
        f"Imported {result.rows} row(s): {result.created} new, {result.corrected} corrected, "
        f"{result.unchanged} unchanged.",
        "success",
    )
    return redirect(url_for("metrics.import_measurements"))


@bp.route("/alerts")
@permission_required(Action.READ)
def alert_list():
    kind = request.args.get("kind") if request.args.get("kind") in ALERT_KINDS else None
    resolved = request.args.get("resolved") == "1"
    page = db.paginate(
        loaders.alerts_query(open_only=not resolved, kind=kind),
        per_page=current_app.config["PER_PAGE"],
    )
    return render_template(
        "metrics/alerts.html",
        page=page,
        projects=loaders.projects_by_id({a.project_id for a in page.items}),
        kind=kind,
        resolved=resolved,
        kinds=ALERT_KINDS,
        counts=loaders.open_alert_counts(),
        today=clock.today(),
    )


@bp.route("/projects/<int:project_id>/monitoring")
@permission_required(Action.READ)
def project_monitoring(project_id):
    project = get_project(project_id)
    page = db.paginate(loaders.snapshots_query(project_id=project.id), per_page=12)
    alerts = db.session.scalars(loaders.alerts_query(project_id=project.id).limit(50)).all()
    return render_template(
        "metrics/project_monitoring.html",
        project=project,
        page=page,
        alerts=alerts,
        tab="monitoring",
        may_edit=can(current_actor(), Action.PROJECT_EDIT, project),
    )
