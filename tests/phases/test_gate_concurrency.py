"""Two decisions on the same gate at once: exactly one applies, the other gets 409.

These tests commit for real and use one connection per thread (``committed_db``).
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.factories.auth import make_token, make_user
from tests.factories.programs import make_program, make_project


def _setup(db):
    """A committed program, project, manager, two steering users; returns ids and tokens."""
    manager = make_user("manager", "race-manager1@example.com", "Race manager 1")
    first = make_user("steering", "race-steering1@example.com", "Race steering 1")
    second = make_user("steering", "race-steering2@example.com", "Race steering 2")
    project = make_project(
        "Race project",
        program=make_program("Race program", objective="x"),
        manager=manager,
        department="sales",
        objective="Win",
        business_lead="B",
        it_lead="I",
        budget=Decimal("1000.00"),
        planned_start=date(2026, 1, 1),
        planned_end=date(2026, 3, 31),
    )
    tokens = [make_token(first, "race"), make_token(second, "race")]
    project_id, version = project.id, project.version
    # Reading expired attributes began a transaction (a write lock on SQLite): end it.
    db.session.remove()
    return project_id, version, tokens


def _race(app, calls):
    """Run each ``calls[i]()`` in its own thread, released together; return results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def _decisions_and_events(db, project_id):
    from crmphase.audit.models import Event
    from crmphase.phases.models import GateDecision

    db.session.remove()
    decisions = db.session.scalars(
        sa.select(GateDecision).where(GateDecision.project_id == project_id)
    ).all()
    events = db.session.scalars(
        sa.select(Event.action).where(Event.project_id == project_id, Event.action.like("gate.%"))
    ).all()
    return decisions, events


@pytest.mark.parametrize("pair", [("hold", "kill"), ("kill", "kill"), ("hold", "hold")])
def test_two_api_decisions_at_once_exactly_one_applies(app, committed_db, pair):
    project_id, version, tokens = _setup(committed_db)

    def call(token, decision):
        def go():
            client = app.test_client()
            response = client.post(
                f"/api/v1/projects/{project_id}/gate/decisions",
                json={"decision": decision, "rationale": "race", "version": version},
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.status_code, response.get_json()

        return go

    results = _race(app, [call(tokens[0], pair[0]), call(tokens[1], pair[1])])
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 409], results
    decisions, events = _decisions_and_events(committed_db, project_id)
    assert len(decisions) == 1
    assert len(events) == 1
    winner = next(body for status, body in results if status == 201)
    assert decisions[0].decision == winner["decision"]


def test_two_decisions_without_versions_still_apply_once(app, committed_db):
    """No version sent: the row version (or the state the first left) refuses the second."""
    project_id, _, tokens = _setup(committed_db)

    def call(token):
        def go():
            response = app.test_client().post(
                f"/api/v1/projects/{project_id}/gate/decisions",
                json={"decision": "hold", "rationale": "race"},
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.status_code

        return go

    assert sorted(_race(app, [call(tokens[0]), call(tokens[1])])) == [201, 409]
    decisions, events = _decisions_and_events(committed_db, project_id)
    assert len(decisions) == 1 and events == ["gate.hold"]


def test_interleaved_sessions_hit_the_optimistic_lock(app, committed_db, database_url):
    """Both deciders load the same version, then both decide: the row version refuses one.

    Only PostgreSQL lets two writers hold a transaction open at once; SQLite serialises
    writers (BEGIN IMMEDIATE), which the API tests above cover.
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers; covered by the API race tests")
    from crmphase.auth.models import User
    from crmphase.errors import Conflict
    from crmphase.extensions import db
    from crmphase.phases import services
    from crmphase.programs.models import Project

    project_id, _, _ = _setup(committed_db)
    committed_db.session.remove()
    emails = ["race-steering1@example.com", "race-steering2@example.com"]
    loaded = threading.Barrier(2)
    outcomes: list = []

    def decide(email, decision):
        def go():
            with app.app_context():
                actor = db.session.scalar(sa.select(User).where(User.email == email))
                project = db.session.get(Project, project_id)
                _ = project.version, project.program.bite_size_max_months
                loaded.wait(timeout=10)
                try:
                    services.decide(actor, project, decision, "race")
                    outcomes.append("applied")
                except Conflict as exc:
                    outcomes.append(f"409: {exc.detail}")
                finally:
                    db.session.remove()

        return go

    threads = [
        threading.Thread(target=decide(emails[0], "hold")),
        threading.Thread(target=decide(emails[1], "kill")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert (
        sorted(outcomes)[0] == "409: another decision on this gate was taken at the same "
        "moment; reload the gate"
    )
    assert outcomes.count("applied") == 1
    decisions, events = _decisions_and_events(committed_db, project_id)
    assert len(decisions) == 1 and len(events) == 1
