"""Gate pages: the project's Gate tab, the steering queue, the program's criteria template."""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from crmphase import clock
from crmphase.auth.policy import (
    Action,
    authorize,
    can,
    current_actor,
    explain_refusal,
    permission_required,
    role_allows,
)
from crmphase.errors import Conflict, Forbidden, ValidationFailed
from crmphase.extensions import db
from crmphase.forms import ConfirmForm, SelectChoice, apply_errors
from crmphase.navigation import NavEntry, ProjectTab, add_nav, add_project_tab
from crmphase.phases import loaders, services
from crmphase.phases.forms import (
    CONFIRM_FIRST,
    DECISION_LABELS,
    CriterionForm,
    DecisionForm,
    ReviewRequestForm,
    TemplateCriterionForm,
)
from crmphase.phases.rules import DEFAULT_CRITERIA, PHASE_ORDER, Phase
from crmphase.programs.loaders import get_program, get_project

bp = Blueprint("phases", __name__)

add_project_tab(ProjectTab("gate", "Gate", "phases.project_gate", order=10))
add_nav(
    NavEntry(
        "Waiting for my decision",
        "phases.queue",
        order=30,
        action=Action.GATE_DECIDE,
        count=loaders.pending_count_statement,
    )
)


@bp.app_template_global()
def project_flags(project) -> list[dict]:
    return loaders.project_flags(project)


def _decision_form(project, form=None) -> DecisionForm:
    form = form or DecisionForm(formdata=None)
    allowed = set(loaders.allowed_decisions(project))
    if not can(current_actor(), Action.GATE_REOPEN, project):
        allowed.discard("reopen")
    form.decision.choices = [
        SelectChoice(d.value, label) for d, label in DECISION_LABELS.items() if d in allowed
    ]
    earlier = PHASE_ORDER[: PHASE_ORDER.index(Phase(project.phase))]
    form.to_phase.choices = [
        SelectChoice("", "—"),
        *[SelectChoice(p.value, p.value.title()) for p in earlier],
    ]
    if form.version.data in (None, ""):
        form.version.data = project.version
    return form


def _entered_on(project, decisions) -> dict[str, object]:
    """The day the project last entered each phase it has been in."""
    entered: dict[str, object] = {Phase.STRATEGIZE.value: project.created_at.date()}
    for decision in decisions:
        if decision.resulting_phase != decision.phase:
            entered[decision.resulting_phase] = decision.decided_at.date()
    entered[project.phase] = project.phase_entered_on
    return entered


def _gate_page(project, *, decision_form=None, review_form=None, status=200):
    actor = current_actor()
    gate = loaders.current_gate(project)
    decisions = db.session.scalars(loaders.decisions_query(project.id)).all()
    may_decide = can(actor, Action.GATE_DECIDE, project)
    # A decider by role who is refused this gate: they manage the project.
    decide_refusal = (
        explain_refusal(actor, Action.GATE_DECIDE, project)
        if role_allows(actor, Action.GATE_DECIDE)
        else None
    )
    form = _decision_form(project, decision_form) if may_decide else None
    return render_template(
        "phases/gate.html",
        project=project,
        tab="gate",
        gate=gate,
        criterion_form=CriterionForm(formdata=None),
        review_form=review_form or ReviewRequestForm(formdata=None),
        decision_form=form if form is not None and form.decision.choices else None,
        pending=loaders.pending_review(project.id),
        decisions=decisions,
        entered_on=_entered_on(project, decisions),
        may_tick=can(actor, Action.GATE_CRITERION, project),
        may_request=can(actor, Action.GATE_REVIEW_REQUEST, project),
        may_decide=may_decide,
        decide_refusal=decide_refusal,
        may_edit=can(actor, Action.PROJECT_EDIT, project),
        next_review_due=loaders.next_review_due(project),
        phases=PHASE_ORDER,
        current_index=PHASE_ORDER.index(Phase(project.phase)),
    ), status


@bp.route("/projects/<int:project_id>/gate")
@permission_required(Action.READ)
def project_gate(project_id):
    return _gate_page(get_project(project_id))


@bp.route("/projects/<int:project_id>/gate/criteria/<key>", methods=["POST"])
@permission_required(Action.GATE_CRITERION)
def criterion_update(project_id, key):
    project = get_project(project_id)
    authorize(Action.GATE_CRITERION, project)
    form = CriterionForm()
    if form.validate_on_submit():
        try:
            services.set_criterion(
                current_actor(), project, key, form.met.data == "1", form.evidence.data
            )
        except ValidationFailed as exc:
            flash(f"Not saved: {exc.errors[0].message}.", "error")
        else:
            flash("Criterion ticked." if form.met.data == "1" else "Criterion unticked.", "success")
    else:
        flash("Not saved: the form was incomplete.", "error")
    return redirect(url_for("phases.project_gate", project_id=project.id, _anchor=f"c-{key}"))


@bp.route("/projects/<int:project_id>/gate/reviews", methods=["POST"])
@permission_required(Action.GATE_REVIEW_REQUEST)
def review_request(project_id):
    project = get_project(project_id)
    authorize(Action.GATE_REVIEW_REQUEST, project)
    form = ReviewRequestForm()
    if form.validate_on_submit():
        try:
            services.request_review(current_actor(), project, form.note.data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(exc.detail, "error")
            return redirect(url_for("phases.project_gate", project_id=project.id))
        else:
            flash("Review requested: the steering committee sees it in its queue.", "success")
            return redirect(url_for("phases.project_gate", project_id=project.id))
    return _gate_page(project, review_form=form, status=422)


@bp.route("/projects/<int:project_id>/gate/reviews/withdraw", methods=["POST"])
@permission_required(Action.GATE_REVIEW_REQUEST)
def review_withdraw(project_id):
    project = get_project(project_id)
    authorize(Action.GATE_REVIEW_REQUEST, project)
    if ConfirmForm().validate_on_submit():
        try:
            services.withdraw_review(current_actor(), project)
        except Conflict as exc:
            flash(exc.detail, "error")
        else:
            flash("Review request withdrawn.", "success")
    return redirect(url_for("phases.project_gate", project_id=project.id))


def _back(form, project):
    target = form.next.data or ""
    if target == "queue":
        return redirect(url_for("phases.queue"))
    return redirect(url_for("phases.project_gate", project_id=project.id))


@bp.route("/projects/<int:project_id>/gate/decisions", methods=["POST"])
@permission_required(Action.GATE_DECIDE)
def decision_create(project_id):
    project = get_project(project_id)
    form = _decision_form(project, DecisionForm())
    action = Action.GATE_REOPEN if form.decision.data == "reopen" else Action.GATE_DECIDE
    authorize(action, project)
    if form.validate_on_submit():
        if form.decision.data in CONFIRM_FIRST and form.confirmed.data != "yes":
            return render_template("phases/confirm.html", project=project, form=form)
        try:
            services.decide(
                current_actor(),
                project,
                form.decision.data,
                form.rationale.data,
                form.to_phase.data or None,
                int(form.version.data) if str(form.version.data or "").isdigit() else None,
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            unmet = exc.extra.get("unmet") or []
            form.form_errors.append(exc.detail if not unmet else "The gate is not ready.")
            form.form_errors.extend(f"{u['label']}: {u['explanation']}" for u in unmet)
        except Forbidden as exc:
            form.form_errors.append(exc.detail)
        else:
            flash(f"Decision recorded: {form.decision.data}.", "success")
            return _back(form, project)
    return _gate_page(get_project(project_id), decision_form=form, status=422)


@bp.route("/gates/queue")
@permission_required(Action.GATE_DECIDE)
def queue():
    page = db.paginate(loaders.steering_queue_query(), per_page=25)
    today = clock.now()
    gates = loaders.current_gates([review.project for review in page.items])
    rows = []
    for review in page.items:
        project = review.project
        rows.append(
            {
                "review": review,
                "project": project,
                "age_days": (today - review.requested_at).days,
                "gate": gates[project.id],
                "may_decide": can(current_actor(), Action.GATE_DECIDE, project),
                "form": _decision_form(project, DecisionForm(formdata=None, next="queue")),
            }
        )
    return render_template("phases/queue.html", page=page, rows=rows)


@bp.route("/programs/<int:program_id>/criteria", methods=["GET", "POST"])
@permission_required(Action.READ, POST=Action.PROGRAM_MANAGE)
def program_criteria(program_id):
    program = get_program(program_id)
    may_manage = can(current_actor(), Action.PROGRAM_MANAGE)
    form = TemplateCriterionForm()
    status = 200
    if request.method == "POST":
        authorize(Action.PROGRAM_MANAGE)
        if form.validate_on_submit():
            try:
                services.add_template_criterion(
                    current_actor(),
                    program,
                    form.phase.data,
                    form.label.data,
                    form.required.data == "1",
                    form.help.data,
                )
            except ValidationFailed as exc:
                apply_errors(form, exc)
            else:
                flash("Criterion added: projects get it when they next enter that gate.", "success")
                return redirect(url_for("phases.program_criteria", program_id=program.id))
        status = 422
    templates = db.session.scalars(loaders.templates_query(program.id)).all()
    return render_template(
        "phases/criteria_template.html",
        program=program,
        form=form,
        may_manage=may_manage,
        defaults=DEFAULT_CRITERIA,
        added={p: [t for t in templates if t.phase == p.value] for p in PHASE_ORDER},
        confirm_form=ConfirmForm(formdata=None),
    ), status


@bp.route("/programs/<int:program_id>/criteria/<int:template_id>/remove", methods=["GET", "POST"])
@permission_required(Action.PROGRAM_MANAGE)
def program_criterion_remove(program_id, template_id):
    program = get_program(program_id)
    template = loaders.program_template(program.id, template_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        services.remove_template_criterion(current_actor(), program, template_id)
        flash("Criterion removed; projects already in that gate keep it.", "success")
        return redirect(url_for("phases.program_criteria", program_id=program.id))
    return render_template(
        "phases/criterion_remove.html", program=program, template=template, form=form
    )
