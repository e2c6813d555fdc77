"""Pages for programs and projects."""

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from crmphase.audit.loaders import project_events_query
from crmphase.audit.services import plain_values
from crmphase.auth.models import User
from crmphase.auth.policy import (
    Action,
    authorize,
    can,
    current_actor,
    permission_required,
    roles_for,
)
from crmphase.errors import Conflict, ValidationFailed
from crmphase.extensions import db
from crmphase.forms import apply_errors, choices, money_value
from crmphase.phases.rules import Phase, ProjectState
from crmphase.programs import loaders, services
from crmphase.programs.forms import ProgramForm, ProjectFilterForm, ProjectForm
from crmphase.programs.models import DEPARTMENT_LABELS

bp = Blueprint("programs", __name__)


def _user_choices(*roles):
    query = sa.select(User).where(User.active).order_by(User.name)
    if roles:
        query = query.where(User.role.in_(roles))
    return choices((u.id, f"{u.name} ({u.role})") for u in db.session.scalars(query))


def _form_page(form, save, form_data, *, template, context, done):
    """A program or project form page: GET shows ``form``; POST saves it with
    ``save(actor, data)``, then ``done(saved)`` gives the message to flash and the page to go
    to. Field errors go back on the form; a stale version (edits) answers 409 with the saved
    values beside the user's."""
    if form.validate_on_submit():
        try:
            saved = save(current_actor(), form_data(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            conflict = _conflict(form, exc, form_data(form))
            return render_template(template, form=form, **context, **conflict), 409
        else:
            message, target = done(saved)
            flash(message, "success")
            return redirect(target)
    return render_template(template, form=form, **context)


def _program_url(program) -> str:
    return url_for("programs.program_detail", program_id=program.id)


def _project_url(project) -> str:
    return url_for("programs.project_detail", project_id=project.id)


def _program_choices():
    return choices((p.id, p.name) for p in db.session.scalars(loaders.program_query()))


def _program_data(form: ProgramForm) -> dict:
    return {
        "name": form.name.data,
        "objective": form.objective.data or "",
        "executive_sponsor": form.executive_sponsor.data or "",
        "crmo_id": form.crmo_id.data,
        "steering_member_ids": form.steering_member_ids.data or [],
        "discount_rate": form.discount_rate.data,
        "bite_size_max_months": form.bite_size_max_months.data,
        "bite_size_max_budget": money_value(form.bite_size_max_budget),
        "measurement_grace_days": form.measurement_grace_days.data,
        "chat_url": form.chat_url.data or "",
        "chat_flavour": form.chat_flavour.data,
    }


def _prepare_program_form(form: ProgramForm) -> ProgramForm:
    form.crmo_id.choices = [
        *choices([("", "—")]),
        *_user_choices(*roles_for(Action.PROGRAM_MANAGE)),
    ]
    form.steering_member_ids.choices = _user_choices(*roles_for(Action.GATE_DECIDE))
    return form


def _shown(field, value) -> str:
    """A saved or submitted value as the form shows it (names for ids)."""
    labels = {str(value): label for value, label, *_ in (getattr(field, "choices", None) or [])}
    values = value if isinstance(value, list) else [value]
    shown = [labels.get(str(v), "—" if v in (None, "") else str(v)) for v in values]
    return ", ".join(shown) or "—"


def _conflict(form, exc: Conflict, submitted: dict):
    """After a 409: keep the user's values, show the saved ones beside them, and take the
    current version so that saving again deliberately replaces what is saved."""
    current = exc.extra.get("current") or {}
    submitted = plain_values(submitted)
    rows = [
        {
            "label": form[name].label.text,
            "saved": _shown(form[name], saved),
            "yours": _shown(form[name], submitted.get(name)),
        }
        for name, saved in current.items()
        if name in form and saved != submitted.get(name)
    ]
    form.version.data = exc.extra.get("current_version")
    form.form_errors.append(exc.detail)
    return {"conflict_rows": rows}


@bp.route("/programs")
@permission_required(Action.READ)
def program_list():
    page = db.paginate(loaders.program_query(), per_page=current_app.config["PER_PAGE"])
    return render_template(
        "programs/program_list.html",
        page=page,
        project_counts=loaders.project_counts(p.id for p in page.items),
        may_create=can(current_actor(), Action.PROGRAM_MANAGE),
    )


@bp.route("/programs/new", methods=["GET", "POST"])
@permission_required(Action.PROGRAM_MANAGE)
def program_new():
    form = _prepare_program_form(ProgramForm())
    return _form_page(
        form,
        services.create_program,
        _program_data,
        template="programs/program_form.html",
        context={"program": None},
        done=lambda program: (f"Program '{program.name}' created.", _program_url(program)),
    )


@bp.route("/programs/<int:program_id>")
@permission_required(Action.READ)
def program_detail(program_id):
    program = loaders.get_program(program_id)
    projects = db.paginate(
        loaders.project_query(program_id=program.id), per_page=current_app.config["PER_PAGE"]
    )
    return render_template(
        "programs/program_detail.html",
        program=program,
        page=projects,
        may_edit=can(current_actor(), Action.PROGRAM_MANAGE),
    )


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@permission_required(Action.PROGRAM_MANAGE)
def program_edit(program_id):
    program = loaders.get_program(program_id)
    form = _prepare_program_form(ProgramForm(obj=program))
    if request.method == "GET":
        form.steering_member_ids.data = [u.id for u in program.steering_members]
        form.version.data = program.version
    return _form_page(
        form,
        lambda actor, data: services.update_program(actor, program, data, form.version.data),
        _program_data,
        template="programs/program_form.html",
        context={"program": program},
        done=lambda program: ("Program saved.", _program_url(program)),
    )


def _filter_form() -> ProjectFilterForm:
    form = ProjectFilterForm(request.args)
    form.program_id.choices = [*choices([("", "All programs")]), *_program_choices()]
    form.department.choices = choices(
        [("", "All departments"), *[(d.value, label) for d, label in DEPARTMENT_LABELS.items()]]
    )
    form.phase.choices = choices([("", "All phases"), *[(p.value, p.value.title()) for p in Phase]])
    form.state.choices = choices(
        [("", "All states"), *[(s.value, s.value.replace("_", " ")) for s in ProjectState]]
    )
    return form


@bp.route("/projects")
@permission_required(Action.READ)
def project_list():
    form = _filter_form()
    form.validate()
    mine = request.args.get("mine") == "1"
    query = loaders.project_query(
        program_id=form.program_id.data,
        department=form.department.data or None,
        phase=form.phase.data or None,
        state=form.state.data or None,
        search=form.q.data or None,
        manager_id=current_actor().id if mine else None,
    )
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"])
    return render_template(
        "programs/project_list.html",
        page=page,
        form=form,
        mine=mine,
        may_create=can(current_actor(), Action.PROJECT_CREATE),
    )


def _project_data(form: ProjectForm) -> dict:
    return {
        "program_id": form.program_id.data,
        "name": form.name.data,
        "objective": form.objective.data or "",
        "customer_need": form.customer_need.data or "",
        "department": form.department.data,
        "business_lead": form.business_lead.data or "",
        "it_lead": form.it_lead.data or "",
        "manager_id": form.manager_id.data,
        "team_member_ids": form.team_member_ids.data or [],
        "budget": money_value(form.budget),
        "planned_start": form.planned_start.data,
        "planned_end": form.planned_end.data,
    }


def _prepare_project_form(form: ProjectForm) -> ProjectForm:
    form.program_id.choices = [*choices([("", "—")]), *_program_choices()]
    form.manager_id.choices = [
        *choices([("", "—")]),
        *_user_choices(*roles_for(Action.PROJECT_EDIT)),
    ]
    form.team_member_ids.choices = _user_choices()
    return form


@bp.route("/projects/new", methods=["GET", "POST"])
@permission_required(Action.PROJECT_CREATE)
def project_new():
    form = _prepare_project_form(ProjectForm())
    if request.method == "GET":
        form.program_id.data = request.args.get("program_id", type=int)
        if can(current_actor(), Action.PROJECT_LIST_OWN):
            form.manager_id.data = current_actor().id
    return _form_page(
        form,
        services.create_project,
        _project_data,
        template="programs/project_form.html",
        context={"project": None},
        done=lambda project: (
            f"Project '{project.name}' created in Strategize.",
            _project_url(project),
        ),
    )


@bp.route("/projects/<int:project_id>")
@permission_required(Action.READ)
def project_detail(project_id):
    project = loaders.get_project(project_id)
    return render_template(
        "programs/project_detail.html",
        project=project,
        team_names=loaders.team_names(project.id),
        tab="overview",
        may_edit=can(current_actor(), Action.PROJECT_EDIT, project),
    )


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@permission_required(Action.PROJECT_EDIT)
def project_edit(project_id):
    project = loaders.get_project(project_id)
    authorize(Action.PROJECT_EDIT, project)
    form = _prepare_project_form(ProjectForm(obj=project))
    if request.method == "GET":
        form.team_member_ids.data = [u.id for u in project.team_members]
        form.version.data = project.version
    return _form_page(
        form,
        lambda actor, data: services.update_project(actor, project, data, form.version.data),
        _project_data,
        template="programs/project_form.html",
        context={"project": project},
        done=lambda project: ("Project saved.", _project_url(project)),
    )


@bp.route("/projects/<int:project_id>/history")
@permission_required(Action.READ)
def project_events(project_id):
    project = loaders.get_project(project_id)
    page = db.paginate(project_events_query(project.id), per_page=50)
    return render_template("programs/project_events.html", project=project, page=page, tab="events")
