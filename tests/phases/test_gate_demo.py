"""The demo gate activity is idempotent."""

import sqlalchemy as sa

from crmphase.audit.models import Event
from crmphase.phases.demo import add_demo_gates
from crmphase.phases.models import GateReview


def test_demo_gates_run_twice_add_nothing_the_second_time(db, make_project):
    projects = [make_project(), make_project(phase="execute"), make_project(phase="manage")]
    add_demo_gates()
    events = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    reviews = db.session.scalar(sa.select(sa.func.count()).select_from(GateReview))
    assert events > 0 and reviews >= 1
    add_demo_gates()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == events
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GateReview)) == reviews
    assert all(p.state == "active" for p in projects)
