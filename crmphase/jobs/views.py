"""Pages: the CRMO's job page."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from crmphase.auth.policy import Action, can, current_actor, permission_required
from crmphase.errors import DomainError, ValidationFailed
from crmphase.extensions import db
from crmphase.forms import apply_errors, choices
from crmphase.jobs import loaders, services
from crmphase.jobs.forms import RunJobForm
from crmphase.jobs.locks import configured_lease_seconds, current_holder, wall_clock
from crmphase.jobs.registry import all_jobs
from crmphase.navigation import NavEntry, add_nav
from crmphase.notifications.loaders import delivery_summary

bp = Blueprint("jobs", __name__)


def _run_form() -> RunJobForm:
    form = RunJobForm()
    form.name.choices = choices((job.name, f"{job.title} ({job.name})") for job in all_jobs())
    return form


def _job_page(form: RunJobForm, status: int = 200):
    page = db.paginate(
        loaders.runs_query(request.args.get("job") or None, request.args.get("outcome") or None),
        per_page=current_app.config["PER_PAGE"],
    )
    holder = current_holder()
    return render_template(
        "jobs/index.html",
        jobs=all_jobs(),
        last=loaders.last_runs(),
        page=page,
        form=form,
        holder=holder,
        holder_silent=_silent_seconds(holder),
        lease_seconds=configured_lease_seconds(),
        delivery=delivery_summary(),
        may_run=can(current_actor(), Action.JOB_RUN),
    ), status


def _silent_seconds(holder) -> int | None:
    if holder is None:
        return None
    return int((wall_clock() - holder.heartbeat_at).total_seconds())


@bp.route("/jobs")
@permission_required(Action.JOB_READ)
def index():
    return _job_page(_run_form())


@bp.route("/jobs/run", methods=["POST"])
@permission_required(Action.JOB_RUN)
def run():
    form = _run_form()
    if not form.validate_on_submit():
        return _job_page(form, 422)
    try:
        result = services.run_job(
            form.name.data, form.period.data, trigger="manual", actor=current_actor(), deliver=False
        )
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _job_page(form, 422)
    except DomainError as exc:
        form.form_errors.append(exc.detail)
        return _job_page(form, exc.status)
    category = "success" if result.ran and result.succeeded else ("error" if result.ran else "info")
    flash(result.message, category)
    return redirect(url_for("jobs.run_detail", run_id=result.run.id))


@bp.route("/jobs/runs/<int:run_id>")
@permission_required(Action.JOB_READ)
def run_detail(run_id):
    return render_template("jobs/run.html", run=loaders.get_run(run_id))


add_nav(NavEntry("Jobs", "jobs.index", order=80, action=Action.JOB_READ))
