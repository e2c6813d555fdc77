"""``/api/v1/projects/{id}/gate...`` and ``/api/v1/projects/{id}/events``."""

from flask.views import MethodView
from flask_smorest import Blueprint

from crmphase import clock
from crmphase.api.fields import PageQuery, page_body
from crmphase.audit.loaders import project_events_query
from crmphase.auth.policy import Action, authorize, current_actor, permission_required
from crmphase.errors import Conflict
from crmphase.extensions import db
from crmphase.phases import loaders, services
from crmphase.phases.schemas import (
    CriterionSchema,
    CriterionUpdateSchema,
    DecisionPage,
    DecisionSchema,
    EventPage,
    GateSchema,
    QueuePage,
    ReviewPage,
    ReviewSchema,
    TemplateCriterionPage,
    TemplateCriterionSchema,
)
from crmphase.programs.loaders import get_program, get_project

blp = Blueprint("gates_api", __name__, description="Phase gates: criteria, reviews, decisions")


def _page(query, args):
    return page_body(
        db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
    )


def criterion_body(state, row) -> dict:
    return {
        "key": state.key,
        "label": state.label,
        "help": row.help if row is not None else "",
        "kind": state.kind.value,
        "required": state.required,
        "met": state.met,
        "explanation": state.explanation,
        "evidence": state.evidence,
        "checked_by_id": row.checked_by_id if row is not None else None,
        "checked_by_name": row.checked_by.name if row is not None and row.checked_by else None,
        "checked_at": row.checked_at if row is not None else None,
    }


def gate_body(project) -> dict:
    gate = loaders.current_gate(project)
    return {
        "project_id": project.id,
        "phase": project.phase,
        "state": project.state,
        "version": project.version,
        "ready": gate.status.ready,
        "blocking_reasons": gate.status.blocking_reasons,
        "unmet": gate.unmet,
        "criteria": [criterion_body(c, gate.rows.get(c.key)) for c in gate.status.criteria],
        "pending_review": loaders.pending_review(project.id),
        "allowed_decisions": loaders.allowed_decisions(project),
        "next_review_due": loaders.next_review_due(project),
        "review_overdue": loaders.is_review_overdue(project),
    }


@blp.route("/projects/<int:project_id>/gate")
class GateItem(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, GateSchema)
    def get(self, project_id):
        """The current gate: criteria (auto ones explain themselves), ready flag, blockers."""
        return gate_body(get_project(project_id))


@blp.route("/projects/<int:project_id>/gate/criteria/<key>")
class GateCriterionItem(MethodView):
    decorators = [permission_required(Action.GATE_CRITERION)]

    @blp.arguments(CriterionUpdateSchema)
    @blp.response(200, CriterionSchema)
    def put(self, data, project_id, key):
        """Tick (``met: true`` with evidence) or untick a manual criterion (manager or CRMO)."""
        project = get_project(project_id)
        authorize(Action.GATE_CRITERION, project)
        services.set_criterion(current_actor(), project, key, data["met"], data.get("evidence"))
        gate = loaders.current_gate(project)
        state = next(c for c in gate.status.criteria if c.key == key)
        return criterion_body(state, gate.rows.get(key))


@blp.route("/projects/<int:project_id>/gate/reviews")
class GateReviews(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(PageQuery, location="query")
    @blp.response(200, ReviewPage)
    def get(self, args, project_id):
        """The project's review requests, newest first."""
        project = get_project(project_id)
        return _page(loaders.reviews_query(project.id), args)

    @permission_required(Action.GATE_REVIEW_REQUEST)
    @blp.arguments(ReviewSchema)
    @blp.response(201, ReviewSchema)
    def post(self, data, project_id):
        """Request a gate review (the project's manager or the CRMO); one waits at a time."""
        project = get_project(project_id)
        authorize(Action.GATE_REVIEW_REQUEST, project)
        return services.request_review(current_actor(), project, data.get("note"))


@blp.route("/projects/<int:project_id>/gate/reviews/<int:review_id>/withdraw")
class GateReviewWithdraw(MethodView):
    decorators = [permission_required(Action.GATE_REVIEW_REQUEST)]

    @blp.response(200, ReviewSchema)
    def post(self, project_id, review_id):
        """Withdraw the waiting review request (the project's manager or the CRMO)."""
        project = get_project(project_id)
        authorize(Action.GATE_REVIEW_REQUEST, project)
        waiting = loaders.pending_review(project.id)
        if waiting is None or waiting.id != review_id:
            raise Conflict(f"review {review_id} of this project is not waiting")
        return services.withdraw_review(current_actor(), project)


@blp.route("/gate/queue")
class GateQueue(MethodView):
    decorators = [permission_required(Action.GATE_DECIDE)]

    @blp.arguments(PageQuery, location="query")
    @blp.response(200, QueuePage)
    def get(self, args):
        """Reviews waiting for a decision, oldest first, with their age and readiness."""
        body = _page(loaders.steering_queue_query(), args)
        now = clock.now()
        gates = loaders.current_gates([review.project for review in body["items"]])
        items = []
        for review in body["items"]:
            gate = gates[review.project_id]
            items.append(
                {
                    **{name: getattr(review, name) for name in ReviewSchema().fields},
                    "project_name": review.project.name,
                    "program_id": review.project.program_id,
                    "manager_id": review.project.manager_id,
                    "age_days": (now - review.requested_at).days,
                    "ready": gate.status.ready,
                    "unmet": gate.unmet,
                    "review_overdue": loaders.is_review_overdue(review.project),
                }
            )
        body["items"] = items
        return body


@blp.route("/programs/<int:program_id>/criteria")
class ProgramCriteria(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(PageQuery, location="query")
    @blp.response(200, TemplateCriterionPage)
    def get(self, args, program_id):
        """The criteria this program adds to the default gate criteria."""
        program = get_program(program_id)
        return _page(loaders.templates_query(program.id), args)

    @blp.arguments(TemplateCriterionSchema)
    @blp.response(201, TemplateCriterionSchema)
    def post(self, data, program_id):
        """Add a manual criterion, required or advisory, to a gate (CRMO)."""
        authorize(Action.PROGRAM_MANAGE)
        program = get_program(program_id)
        return services.add_template_criterion(
            current_actor(), program, data["phase"], data["label"], data["required"], data["help"]
        )


@blp.route("/programs/<int:program_id>/criteria/<int:template_id>")
class ProgramCriterionItem(MethodView):
    decorators = [permission_required(Action.PROGRAM_MANAGE)]

    @blp.response(204)
    def delete(self, program_id, template_id):
        """Remove an added criterion; projects already in that gate keep it (CRMO)."""
        services.remove_template_criterion(current_actor(), get_program(program_id), template_id)


@blp.route("/projects/<int:project_id>/gate/decisions")
class GateDecisions(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(PageQuery, location="query")
    @blp.response(200, DecisionPage)
    def get(self, args, project_id):
        """The project's gate decisions, in the order they were taken."""
        project = get_project(project_id)
        return _page(loaders.decisions_query(project.id), args)

    @blp.arguments(DecisionSchema)
    @blp.response(201, DecisionSchema)
    def post(self, data, project_id):
        """Decide the gate: go, hold, kill, recycle (with ``to_phase``), retire, or reopen.

        Steering or the CRMO, never the project's manager. Go on a gate that is not ready
        gets 409 with ``unmet``. Send ``version`` to refuse a decision on a stale view.
        """
        project = get_project(project_id)
        action = Action.GATE_REOPEN if data["decision"] == "reopen" else Action.GATE_DECIDE
        authorize(action, project)
        return services.decide(
            current_actor(),
            project,
            data["decision"],
            data["rationale"],
            data.get("to_phase"),
            data.get("version"),
        )


@blp.route("/projects/<int:project_id>/events")
class ProjectEvents(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(PageQuery, location="query")
    @blp.response(200, EventPage)
    def get(self, args, project_id):
        """The project's audit trail, oldest first: who, when, what, before, after."""
        project = get_project(project_id)
        return _page(project_events_query(project.id, newest_first=False), args)
