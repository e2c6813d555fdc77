"""The demo drives projects through their gates with real decisions, idempotently."""

import sqlalchemy as sa

from crmphase.audit.models import Event
from crmphase.demo.gates import drive_to
from crmphase.phases.models import GateDecision, GateReview
from crmphase.phases.rules import Phase


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_drive_to_takes_go_decisions_by_a_steering_member(db, ready_project, make_user):
    steering = make_user("steering")
    project = ready_project()
    project.program.steering_members = [steering]
    db.session.commit()
    assert drive_to(project, Phase.EXECUTE) == 2
    assert project.phase == "execute"
    decisions = db.session.scalars(
        sa.select(GateDecision).where(GateDecision.project_id == project.id)
    ).all()
    assert {d.decided_by_id for d in decisions} == {steering.id}
    events = _count(db, Event)
    assert drive_to(project, Phase.EXECUTE) == 0
    assert _count(db, Event) == events


def test_drive_to_stops_with_a_waiting_review_when_the_gate_is_not_ready(
    db, make_project, make_user
):
    make_user("steering")
    project = make_project()  # no KPI: the strategize gate cannot pass
    assert drive_to(project, Phase.MANAGE) == 0
    assert project.phase == "strategize"
    reviews = _count(db, GateReview)
    assert services_pending(project)
    drive_to(project, Phase.MANAGE)
    assert _count(db, GateReview) == reviews


def services_pending(project):
    from crmphase.phases.loaders import pending_review

    return pending_review(project.id) is not None


def test_load_demo_runs_twice(app, db):
    from crmphase.demo import load_demo

    load_demo()
    events = _count(db, Event)
    load_demo()
    assert _count(db, Event) == events
