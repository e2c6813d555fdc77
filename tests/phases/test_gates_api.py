"""The gates through the JSON API (SPEC §3, §5): criteria, reviews, decisions, audit trail."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from crmphase import clock


def gate_of(api, who, project):
    response = api(who).get(f"/api/v1/projects/{project.id}/gate")
    assert response.status_code == 200, response.json
    return response.json


def criterion(gate, key):
    return next(c for c in gate["criteria"] if c["key"] == key)


def tick(api, who, project, key, evidence="signed off in the 3 Feb workshop", met=True):
    return api(who).put(
        f"/api/v1/projects/{project.id}/gate/criteria/{key}",
        json={"met": met, "evidence": evidence},
    )


def decide(api, who, project, decision, rationale="agreed in committee", **extra):
    return api(who).post(
        f"/api/v1/projects/{project.id}/gate/decisions",
        json={"decision": decision, "rationale": rationale, **extra},
    )


# --- the checklist -----------------------------------------------------------------------------


def test_new_project_gate_lists_the_strategize_defaults(api, make_project):
    project = make_project()
    gate = gate_of(api, "viewer", project)
    assert gate["phase"] == "strategize"
    assert [c["key"] for c in gate["criteria"]] == [
        "objective_stated",
        "leads_named",
        "kpi_defined",
        "customer_needs_factored",
        "business_case_owned",
    ]
    assert gate["ready"] is False
    assert {u["key"] for u in gate["unmet"]} == {
        "kpi_defined",
        "customer_needs_factored",
        "business_case_owned",
    }
    assert criterion(gate, "kpi_defined")["explanation"].startswith("no KPI yet")
    assert any(r.startswith("At least one KPI") for r in gate["blocking_reasons"])


def test_project_created_through_the_api_gets_its_gate(api, make_user, make_program):
    manager = make_user("manager")
    body = {
        "program_id": make_program().id,
        "name": "Call centre routing",
        "department": "service",
        "manager_id": manager.id,
    }
    created = api(manager).post("/api/v1/projects", json=body)
    assert created.status_code == 201
    gate = api(manager).get(f"/api/v1/projects/{created.json['id']}/gate").json
    assert len(gate["criteria"]) == 5
    assert criterion(gate, "objective_stated")["met"] is False


# One row of the SPEC §3 table each: break the fact, see the criterion unmet and why.
@pytest.mark.parametrize(
    ("phase", "key", "change", "explains"),
    [
        ("strategize", "objective_stated", {"objective": ""}, "no objective stated"),
        ("strategize", "leads_named", {"it_lead": ""}, "no IT lead named"),
        ("strategize", "leads_named", {"business_lead": " "}, "no business lead named"),
        ("evaluate", "resources_planned", {"budget": Decimal(0)}, "no budget set"),
        ("evaluate", "resources_planned", {"planned_start": None}, "no planned start"),
        ("evaluate", "resources_planned", {"team_members": []}, "no team member"),
        (
            "evaluate",
            "bite_size",
            {"planned_start": date(2026, 1, 1), "planned_end": date(2026, 9, 30)},
            "bite-size: planned 9 months > 6 allowed — split the project",
        ),
    ],
)
def test_auto_criterion_follows_the_project_data(
    api, db, ready_project, phase, key, change, explains
):
    project = ready_project(phase)
    assert gate_of(api, "viewer", project)["ready"] is True
    for name, value in change.items():
        setattr(project, name, value)
    db.session.commit()
    gate = gate_of(api, "viewer", project)
    assert gate["ready"] is False
    unmet = [u["key"] for u in gate["unmet"]]
    # a missing planned start also leaves the duration unknown
    assert unmet == (
        [key, "bite_size"] if "planned_start" in change and key != "bite_size" else [key]
    )
    assert explains in criterion(gate, key)["explanation"]


def test_kpi_criterion_needs_baseline_target_and_period(api, make_project, make_kpi):
    project = make_project()
    make_kpi(project, target_period=None)
    gate = gate_of(api, "viewer", project)
    assert criterion(gate, "kpi_defined")["met"] is False
    assert "no target period" in criterion(gate, "kpi_defined")["explanation"]
    make_kpi(project, name="Response rate")
    assert criterion(gate_of(api, "viewer", project), "kpi_defined")["met"] is True


def test_business_case_needs_planned_costs_and_benefits(api, make_project, plan_business_case):
    project = make_project(phase="evaluate")
    assert (
        "no planned costs"
        in criterion(gate_of(api, "viewer", project), "business_case_defined")["explanation"]
    )
    plan_business_case(project, cost="1000.00", benefit=None)
    explanation = criterion(gate_of(api, "viewer", project), "business_case_defined")["explanation"]
    assert "no planned benefits" in explanation
    plan_business_case(project, cost=None, benefit="3000.00")
    found = criterion(gate_of(api, "viewer", project), "business_case_defined")
    assert found["met"] is True and "planned ROI 200.00%" in found["explanation"]


def test_bite_size_budget_cap_applies_when_the_program_sets_one(api, make_project, make_program):
    program = make_program(bite_size_max_budget=Decimal("50000.00"))
    project = make_project(phase="evaluate", program=program, budget=Decimal("80000.00"))
    found = criterion(gate_of(api, "viewer", project), "bite_size")
    assert found["met"] is False
    assert "budget 80,000.00 > 50,000.00 allowed" in found["explanation"]


def test_pilot_measured_needs_a_measurement_of_every_kpi(
    api, make_project, make_kpi, make_measurement
):
    project = make_project(phase="execute")
    first, second = make_kpi(project), make_kpi(project, name="Response rate")
    make_measurement(first, "2026-02", "95")
    found = criterion(gate_of(api, "viewer", project), "pilot_measured")
    assert found["met"] is False and "'Response rate'" in found["explanation"]
    make_measurement(second, "2026-02", "95")
    assert criterion(gate_of(api, "viewer", project), "pilot_measured")["met"] is True


def test_execute_and_manage_gates_list_their_defaults(api, make_project):
    execute = gate_of(api, "viewer", make_project(phase="execute"))
    assert [c["key"] for c in execute["criteria"]] == [
        "pilot_measured",
        "no_missing_measurement",
        "pilot_reviewed",
        "data_cleansing_validated",
        "users_trained",
    ]
    manage = gate_of(api, "viewer", make_project(phase="manage"))
    assert [c["key"] for c in manage["criteria"]] == ["upgrade_plan_dated"]


# --- ticking manual criteria ------------------------------------------------------------------


def test_manager_ticks_with_evidence_and_unticks(api, make_project):
    project = make_project()
    response = tick(api, project.manager, project, "customer_needs_factored")
    assert response.status_code == 200, response.json
    assert response.json["met"] is True
    assert response.json["evidence"] == "signed off in the 3 Feb workshop"
    assert response.json["checked_by_id"] == project.manager.id
    response = tick(api, project.manager, project, "customer_needs_factored", "", met=False)
    assert response.status_code == 200 and response.json["met"] is False
    events = api("viewer").get(f"/api/v1/projects/{project.id}/events").json["items"]
    assert [e["action"] for e in events][-2:] == [
        "gate.criterion.checked",
        "gate.criterion.unchecked",
    ]
    assert events[-2]["before"]["met"] is False and events[-2]["after"]["met"] is True


@pytest.mark.parametrize("evidence", ["", "   ", None])
def test_ticking_needs_evidence(api, make_project, evidence):
    project = make_project()
    response = tick(api, project.manager, project, "customer_needs_factored", evidence)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "evidence"


def test_auto_criterion_cannot_be_ticked(api, make_project):
    project = make_project()
    response = tick(api, project.manager, project, "kpi_defined")
    assert response.status_code == 422
    assert "computed from the project's data" in response.json["errors"][0]["message"]


def test_unknown_criterion_is_404(api, make_project):
    project = make_project()
    assert tick(api, project.manager, project, "nope").status_code == 404
    assert tick(api, project.manager, project, "upgrade_plan_dated").status_code == 404


def test_criterion_body_is_validated(api, make_project):
    project = make_project()
    response = api(project.manager).put(
        f"/api/v1/projects/{project.id}/gate/criteria/customer_needs_factored",
        json={"met": "perhaps"},
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "met"


@pytest.mark.parametrize("role", ["manager", "steering", "viewer"])
def test_only_the_manager_or_crmo_ticks(api, make_project, role):
    project = make_project()
    assert tick(api, role, project, "customer_needs_factored").status_code == 403
    assert tick(api, "crmo", project, "customer_needs_factored").status_code == 200


def test_unchanged_tick_writes_no_event(api, make_project):
    project = make_project()
    tick(api, project.manager, project, "customer_needs_factored")
    tick(api, project.manager, project, "customer_needs_factored")
    actions = [
        e["action"]
        for e in api("viewer").get(f"/api/v1/projects/{project.id}/events").json["items"]
    ]
    assert actions.count("gate.criterion.checked") == 1


# --- reviews ---------------------------------------------------------------------------------


def test_manager_requests_one_review_at_a_time(api, make_project):
    project = make_project()
    first = api(project.manager).post(
        f"/api/v1/projects/{project.id}/gate/reviews", json={"note": "ready soon"}
    )
    assert first.status_code == 201, first.json
    assert first.json["status"] == "pending" and first.json["phase"] == "strategize"
    second = api(project.manager).post(f"/api/v1/projects/{project.id}/gate/reviews", json={})
    assert second.status_code == 409
    assert "already waiting" in second.json["detail"]
    listed = api("viewer").get(f"/api/v1/projects/{project.id}/gate/reviews").json
    assert [r["id"] for r in listed["items"]] == [first.json["id"]]
    assert gate_of(api, "viewer", project)["pending_review"]["id"] == first.json["id"]


@pytest.mark.parametrize("role", ["manager", "steering", "viewer"])
def test_only_the_manager_or_crmo_requests_a_review(api, make_project, role):
    project = make_project()
    response = api(role).post(f"/api/v1/projects/{project.id}/gate/reviews", json={})
    assert response.status_code == 403


def test_decision_closes_the_pending_review(api, make_project):
    project = make_project()
    review = api(project.manager).post(f"/api/v1/projects/{project.id}/gate/reviews", json={})
    decision = decide(api, "steering", project, "hold")
    assert decision.status_code == 201, decision.json
    assert decision.json["review_id"] == review.json["id"]
    reviews = api("viewer").get(f"/api/v1/projects/{project.id}/gate/reviews").json["items"]
    assert reviews[0]["status"] == "decided" and reviews[0]["closed_at"]
    again = api(project.manager).post(f"/api/v1/projects/{project.id}/gate/reviews", json={})
    assert again.status_code == 201


# --- decisions -------------------------------------------------------------------------------


def test_go_on_a_gate_that_is_not_ready_is_409_with_the_unmet_criteria(api, make_project):
    project = make_project()
    response = decide(api, "steering", project, "go")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert {u["key"] for u in response.json["unmet"]} == {
        "kpi_defined",
        "customer_needs_factored",
        "business_case_owned",
    }
    assert "not ready" in response.json["detail"]
    assert api("viewer").get(f"/api/v1/projects/{project.id}").json["phase"] == "strategize"


def test_advisory_criteria_never_block_go(api, ready_project, make_criterion):
    project = ready_project()
    make_criterion(
        project,
        "dpo_consulted",
        phase="strategize",
        label="Data protection officer consulted",
        required=False,
        position=9,
    )
    assert gate_of(api, "viewer", project)["ready"] is True
    assert decide(api, "steering", project, "go").status_code == 201


@pytest.mark.parametrize("rationale", ["", "   "])
def test_a_decision_needs_a_rationale(api, ready_project, rationale):
    project = ready_project()
    response = decide(api, "steering", project, "go", rationale=rationale)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "rationale"


def test_a_decision_body_is_validated(api, make_project):
    project = make_project()
    response = api("steering").post(
        f"/api/v1/projects/{project.id}/gate/decisions", json={"decision": "maybe"}
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"decision", "rationale"} <= fields


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_only_steering_or_crmo_decide(api, ready_project, role):
    project = ready_project()
    assert decide(api, role, project, "go").status_code == 403


def test_a_crmo_who_manages_the_project_cannot_decide_its_gate(api, make_user, ready_project):
    crmo = make_user("crmo")
    project = ready_project(manager=crmo)
    response = decide(api, crmo, project, "go")
    assert response.status_code == 403
    assert "manage" in response.json["detail"]
    assert decide(api, "crmo", project, "go").status_code == 201


def test_go_drives_a_project_through_every_phase_and_a_periodic_review(
    api, db, make_user, ready_project, make_kpi, make_measurement, plan_business_case
):
    project = ready_project()
    steering = make_user("steering")
    manager = project.manager
    with clock.frozen("2026-03-02T10:00:00"):
        assert decide(api, steering, project, "go", version=project.version).status_code == 201
    body = api("viewer").get(f"/api/v1/projects/{project.id}").json
    assert body["phase"] == "evaluate" and body["phase_entered_on"] == "2026-03-02"
    for key in ("evaluation_criteria_standardised", "option_chosen_with_users"):
        assert tick(api, manager, project, key).status_code == 200
    assert decide(api, steering, project, "go").status_code == 201
    for key in ("pilot_reviewed", "data_cleansing_validated", "users_trained"):
        assert tick(api, manager, project, key).status_code == 200
    assert decide(api, steering, project, "go").status_code == 201
    gate = gate_of(api, "viewer", project)
    assert gate["phase"] == "manage" and gate["ready"] is False
    assert tick(api, manager, project, "upgrade_plan_dated").status_code == 200
    with clock.frozen("2026-06-01T09:00:00"):
        review = decide(api, steering, project, "go", rationale="quarterly review done")
    assert review.status_code == 201
    assert review.json["phase"] == "manage" and review.json["resulting_phase"] == "manage"
    body = api("viewer").get(f"/api/v1/projects/{project.id}").json
    assert body["phase"] == "manage" and body["last_review_on"] == "2026-06-01"
    # the next periodic review needs fresh evidence
    assert criterion(gate_of(api, "viewer", project), "upgrade_plan_dated")["met"] is False
    decisions = api("viewer").get(f"/api/v1/projects/{project.id}/gate/decisions").json["items"]
    assert [(d["phase"], d["resulting_phase"]) for d in decisions] == [
        ("strategize", "evaluate"),
        ("evaluate", "execute"),
        ("execute", "manage"),
        ("manage", "manage"),
    ]


def test_hold_and_resume_only_through_go_with_criteria_met(api, make_project):
    project = make_project()
    assert decide(api, "steering", project, "hold").status_code == 201
    assert api("viewer").get(f"/api/v1/projects/{project.id}").json["state"] == "on_hold"
    assert decide(api, "steering", project, "hold").status_code == 409
    refused = decide(api, "steering", project, "go")
    assert refused.status_code == 409 and refused.json["unmet"]
    body = api("viewer").get(f"/api/v1/projects/{project.id}").json
    assert (body["state"], body["phase"]) == ("on_hold", "strategize")


def test_held_project_resumes_through_go(api, ready_project):
    project = ready_project()
    decide(api, "steering", project, "hold")
    assert decide(api, "steering", project, "go").status_code == 201
    body = api("viewer").get(f"/api/v1/projects/{project.id}").json
    assert (body["state"], body["phase"]) == ("active", "evaluate")


def test_kill_freezes_the_project_for_managers(api, make_project):
    project = make_project()
    assert decide(api, "steering", project, "kill").status_code == 201
    manager = project.manager
    body = api(manager).get(f"/api/v1/projects/{project.id}").json
    assert body["state"] == "killed"
    patch = api(manager).patch(
        f"/api/v1/projects/{project.id}", json={"name": "Renamed", "version": body["version"]}
    )
    assert patch.status_code == 403
    assert tick(api, manager, project, "customer_needs_factored").status_code == 403
    review = api(manager).post(f"/api/v1/projects/{project.id}/gate/reviews", json={})
    assert review.status_code == 403
    for decision in ("go", "hold", "kill"):
        assert decide(api, "steering", project, decision).status_code == 409
    # the CRMO may still correct it
    assert tick(api, "crmo", project, "customer_needs_factored").status_code == 200


def test_only_the_crmo_reopens_a_killed_project_in_its_phase(api, make_project):
    project = make_project(phase="execute")
    decide(api, "steering", project, "kill")
    assert decide(api, "steering", project, "reopen").status_code == 403
    reopened = decide(api, "crmo", project, "reopen")
    assert reopened.status_code == 201
    body = api("viewer").get(f"/api/v1/projects/{project.id}").json
    assert (body["phase"], body["state"]) == ("execute", "active")
    assert decide(api, "crmo", project, "reopen").status_code == 409


def test_retire_only_from_manage_and_reopen(api, make_project):
    executing = make_project(phase="execute")
    refused = decide(api, "steering", executing, "retire")
    assert refused.status_code == 409 and "manage" in refused.json["detail"]
    managed = make_project(phase="manage")
    assert decide(api, "steering", managed, "retire").status_code == 201
    assert api("viewer").get(f"/api/v1/projects/{managed.id}").json["state"] == "retired"
    assert tick(api, managed.manager, managed, "upgrade_plan_dated").status_code == 403
    assert decide(api, "crmo", managed, "reopen").status_code == 201
    body = api("viewer").get(f"/api/v1/projects/{managed.id}").json
    assert (body["phase"], body["state"]) == ("manage", "active")


def test_recycle_resets_only_the_target_gates_manual_criteria(api, db, make_project, tick_all):
    from crmphase.phases.services import enter_gate

    project = make_project(phase="strategize")
    tick_all(project)
    for phase in ("evaluate", "execute"):
        project.phase = phase
        enter_gate(project)
        db.session.commit()
        tick_all(project)
    response = decide(api, "steering", project, "recycle", to_phase="evaluate")
    assert response.status_code == 201, response.json
    assert response.json["to_phase"] == "evaluate"
    body = api("viewer").get(f"/api/v1/projects/{project.id}").json
    assert (body["phase"], body["state"]) == ("evaluate", "active")
    gate = gate_of(api, "viewer", project)
    for key in ("evaluation_criteria_standardised", "option_chosen_with_users"):
        assert criterion(gate, key)["met"] is False and criterion(gate, key)["evidence"] == ""
    import sqlalchemy as sa

    from crmphase.phases.models import GateCriterion

    still = db.session.scalars(
        sa.select(GateCriterion.key).where(
            GateCriterion.project_id == project.id,
            GateCriterion.met.is_(True),
        )
    ).all()
    assert set(still) == {
        "customer_needs_factored",
        "business_case_owned",
        "pilot_reviewed",
        "data_cleansing_validated",
        "users_trained",
    }
    events = api("viewer").get(f"/api/v1/projects/{project.id}/events").json["items"]
    assert events[-1]["action"] == "gate.recycle"
    assert set(events[-1]["after"]["criteria_reset"]) == {
        "evaluation_criteria_standardised",
        "option_chosen_with_users",
    }


def test_recycle_from_manage_starts_an_upgrade_over(api, make_project):
    project = make_project(phase="manage")
    response = decide(api, "steering", project, "recycle", to_phase="strategize")
    assert response.status_code == 201
    assert gate_of(api, "viewer", project)["phase"] == "strategize"


@pytest.mark.parametrize(
    ("phase", "to_phase"),
    [
        ("strategize", "strategize"),
        ("evaluate", None),
        ("evaluate", "execute"),
        ("execute", "execute"),
    ],
)
def test_recycle_needs_an_earlier_phase(api, make_project, phase, to_phase):
    project = make_project(phase=phase)
    response = decide(api, "steering", project, "recycle", to_phase=to_phase)
    assert response.status_code == 422
    assert response.json["errors"]


def test_to_phase_is_only_for_recycle(api, make_project):
    project = make_project(phase="execute")
    response = decide(api, "steering", project, "hold", to_phase="strategize")
    assert response.status_code == 422


def test_a_stale_version_changes_nothing(api, make_project):
    project = make_project()
    version = project.version
    assert decide(api, "steering", project, "hold", version=version).status_code == 201
    stale = decide(api, "steering", project, "kill", version=version)
    assert stale.status_code == 409
    assert api("viewer").get(f"/api/v1/projects/{project.id}").json["state"] == "on_hold"


def test_unknown_project_is_404_everywhere(api):
    for path in ("gate", "gate/reviews", "gate/decisions", "events"):
        assert api("viewer").get(f"/api/v1/projects/999999/{path}").status_code == 404
    assert decide(api, "steering", type("P", (), {"id": 999999}), "hold").status_code == 404


def test_anonymous_is_401(api, make_project):
    project = make_project()
    assert api(None).get(f"/api/v1/projects/{project.id}/gate").status_code == 401


# --- the audit trail -------------------------------------------------------------------------


def test_the_audit_trail_read_back_matches_what_happened_in_order(api, make_user, make_program):
    manager, steering, crmo = make_user("manager"), make_user("steering"), make_user("crmo")
    created = (
        api(manager)
        .post(
            "/api/v1/projects",
            json={
                "program_id": make_program().id,
                "name": "Loyalty card",
                "department": "marketing",
                "manager_id": manager.id,
                "objective": "Keep customers",
            },
        )
        .json
    )
    pid = created["id"]
    steps = [
        (manager, "put", "gate/criteria/customer_needs_factored", {"met": True, "evidence": "x"}),
        (manager, "post", "gate/reviews", {"note": "please"}),
        (steering, "post", "gate/decisions", {"decision": "hold", "rationale": "wait for Q3"}),
        (manager, "put", "gate/criteria/customer_needs_factored", {"met": False, "evidence": ""}),
        (steering, "post", "gate/decisions", {"decision": "kill", "rationale": "no sponsor"}),
        (crmo, "post", "gate/decisions", {"decision": "reopen", "rationale": "sponsor found"}),
    ]
    for who, method, path, body in steps:
        response = getattr(api(who), method)(f"/api/v1/projects/{pid}/{path}", json=body)
        assert response.status_code in (200, 201), response.json
    events = api("viewer").get(f"/api/v1/projects/{pid}/events").json
    assert events["total"] == 7
    assert [(e["action"], e["actor_id"]) for e in events["items"]] == [
        ("project.created", manager.id),
        ("gate.criterion.checked", manager.id),
        ("gate.review.requested", manager.id),
        ("gate.hold", steering.id),
        ("gate.criterion.unchecked", manager.id),
        ("gate.kill", steering.id),
        ("gate.reopen", crmo.id),
    ]
    hold = events["items"][3]
    assert hold["before"]["state"] == "active" and hold["after"]["state"] == "on_hold"
    assert hold["after"]["rationale"] == "wait for Q3"
    assert events["items"][6]["after"]["state"] == "active"
    page = api("viewer").get(f"/api/v1/projects/{pid}/events?per_page=2&page=2").json
    assert [e["action"] for e in page["items"]] == ["gate.review.requested", "gate.hold"]


# --- periodic review -------------------------------------------------------------------------


def test_review_overdue_shows_in_the_gate(api, make_project):
    today = clock.today()
    overdue = make_project(phase="manage", phase_entered_on=today - timedelta(days=100))
    gate = gate_of(api, "viewer", overdue)
    assert gate["review_overdue"] is True
    recent = make_project(phase="manage", phase_entered_on=today - timedelta(days=10))
    assert gate_of(api, "viewer", recent)["review_overdue"] is False
    reviewed = make_project(
        phase="manage",
        phase_entered_on=today - timedelta(days=400),
        last_review_on=today - timedelta(days=30),
    )
    assert gate_of(api, "viewer", reviewed)["review_overdue"] is False
    held = make_project(
        phase="manage", state="on_hold", phase_entered_on=today - timedelta(days=400)
    )
    assert gate_of(api, "viewer", held)["review_overdue"] is False


def test_project_representation_says_when_its_review_is_overdue(api, make_project):
    entered = clock.today() - timedelta(days=100)
    project = make_project(phase="manage", phase_entered_on=entered)
    body = api("viewer").get(f"/api/v1/projects/{project.id}").json
    assert body["review_overdue"] is True
    assert (
        body["next_review_due"] is not None and body["next_review_due"] < clock.today().isoformat()
    )
    listed = api("viewer").get("/api/v1/projects?phase=manage").json["items"]
    assert any(p["id"] == project.id and p["review_overdue"] for p in listed)
    fresh = api("viewer").get(f"/api/v1/projects/{make_project().id}").json
    assert fresh["review_overdue"] is False and fresh["next_review_due"] is None


def test_openapi_document_describes_the_gate_endpoints(app, client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/projects/{project_id}/gate",
        "/api/v1/projects/{project_id}/gate/criteria/{key}",
        "/api/v1/projects/{project_id}/gate/reviews",
        "/api/v1/projects/{project_id}/gate/decisions",
        "/api/v1/projects/{project_id}/events",
    ):
        assert path in paths, sorted(paths)
    assert "post" in paths["/api/v1/projects/{project_id}/gate/decisions"]
    assert "put" in paths["/api/v1/projects/{project_id}/gate/criteria/{key}"]


def test_no_missing_measurement_counts_due_kpi_periods_past_their_grace(
    api, make_project, make_kpi, make_measurement
):
    today = clock.today()
    project = make_project(phase="execute", phase_entered_on=today - timedelta(days=120))
    kpi = make_kpi(project, baseline_period="2020-01", target_period="2030-12")
    found = criterion(gate_of(api, "viewer", project), "no_missing_measurement")
    assert found["met"] is False
    assert "due measurements missing — record them" in found["explanation"]
    from crmphase.periods import Period

    period = Period.of(today)
    for _ in range(6):
        period = period.previous()
        make_measurement(kpi, str(period), "95")
    assert criterion(gate_of(api, "viewer", project), "no_missing_measurement")["met"] is True


def test_manager_withdraws_a_review_through_the_api(api, make_project):
    project = make_project()
    review = api(project.manager).post(f"/api/v1/projects/{project.id}/gate/reviews", json={})
    url = f"/api/v1/projects/{project.id}/gate/reviews/{review.json['id']}/withdraw"
    assert api("steering").post(url).status_code == 403
    response = api(project.manager).post(url)
    assert response.status_code == 200 and response.json["status"] == "withdrawn"
    assert api(project.manager).post(url).status_code == 409
    assert gate_of(api, "viewer", project)["pending_review"] is None


def test_steering_queue_api_lists_waiting_reviews_oldest_first(api, make_project):
    older, newer = make_project(), make_project()
    with clock.frozen(clock.now() - timedelta(days=3)):
        api(older.manager).post(f"/api/v1/projects/{older.id}/gate/reviews", json={})
    api(newer.manager).post(f"/api/v1/projects/{newer.id}/gate/reviews", json={})
    body = api("steering").get("/api/v1/gate/queue").json
    assert [i["project_id"] for i in body["items"]] == [older.id, newer.id]
    assert [i["age_days"] for i in body["items"]] == [3, 0]
    assert body["items"][0]["ready"] is False and body["items"][0]["unmet"]
    assert api("manager").get("/api/v1/gate/queue").status_code == 403


def test_crmo_manages_template_criteria_through_the_api(api, make_program, make_project):
    program = make_program()
    url = f"/api/v1/programs/{program.id}/criteria"
    body = {"phase": "evaluate", "label": "Security review passed", "required": False}
    assert api("manager").post(url, json=body).status_code == 403
    created = api("crmo").post(url, json=body)
    assert created.status_code == 201, created.json
    assert created.json["key"] == "security_review_passed" and created.json["required"] is False
    assert api("crmo").post(url, json=body).status_code == 422  # the same label twice
    bad = api("crmo").post(url, json={"phase": "later", "label": ""})
    assert bad.status_code == 422 and {e["field"] for e in bad.json["errors"]} >= {"phase"}
    project = make_project(program=program, phase="evaluate")
    keys = [c["key"] for c in gate_of(api, "viewer", project)["criteria"]]
    assert "security_review_passed" in keys
    listed = api("viewer").get(url).json["items"]
    assert [t["label"] for t in listed] == ["Security review passed"]
    assert api("crmo").delete(f"{url}/{created.json['id']}").status_code == 204
    assert api("viewer").get(url).json["items"] == []
    assert api("crmo").delete(f"{url}/{created.json['id']}").status_code == 404
    # the project already in the gate keeps it
    assert "security_review_passed" in [
        c["key"] for c in gate_of(api, "viewer", project)["criteria"]
    ]


def test_reentering_a_gate_after_recycle_picks_up_criteria_added_since(
    api, make_user, make_program, make_project, tick_all
):
    from crmphase.phases import services

    program = make_program()
    project = make_project(program=program)
    tick_all(project)
    api_steering = "steering"
    services.add_template_criterion(
        make_user("crmo"), program, "strategize", "Works council informed", True
    )
    # the project keeps the checklist it entered the gate with
    assert "works_council_informed" not in [
        c["key"] for c in gate_of(api, "viewer", project)["criteria"]
    ]
    project.phase = "evaluate"
    services.enter_gate(project)
    response = decide(api, api_steering, project, "recycle", to_phase="strategize")
    assert response.status_code == 201
    gate = gate_of(api, "viewer", project)
    assert [c["key"] for c in gate["criteria"]][-1] == "works_council_informed"
    assert {u["key"] for u in gate["unmet"]} >= {
        "works_council_informed",
        "customer_needs_factored",
    }


def test_held_project_can_be_recycled_and_becomes_active(api, make_project):
    project = make_project(phase="execute")
    decide(api, "steering", project, "hold")
    response = decide(api, "steering", project, "recycle", to_phase="evaluate")
    assert response.status_code == 201
    assert response.json["from_state"] == "on_hold"
    body = api("viewer").get(f"/api/v1/projects/{project.id}").json
    assert (body["phase"], body["state"]) == ("evaluate", "active")


def test_killed_project_refuses_a_review_even_from_the_crmo(api, make_project):
    project = make_project()
    decide(api, "steering", project, "kill")
    response = api("crmo").post(f"/api/v1/projects/{project.id}/gate/reviews", json={})
    assert response.status_code == 409 and "reopen" in response.json["detail"]


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("gate/decisions", "post", {"decision": "go", "rationale": "x" * 5001}),
        ("gate/decisions", "post", {"decision": "go", "rationale": "r", "version": "abc"}),
        ("gate/decisions", "post", {"decision": "recycle", "rationale": "r", "to_phase": "x"}),
        ("gate/decisions", "post", {"decision": "reopen", "rationale": "r", "to_phase": "x"}),
        ("gate/decisions", "post", {"decision": None, "rationale": None}),
        ("gate/decisions", "post", []),
        ("gate/decisions", "post", "go"),
        ("gate/criteria/customer_needs_factored", "put", {"met": True, "evidence": "e" * 5001}),
        ("gate/criteria/customer_needs_factored", "put", {"met": True, "evidence": 12}),
        ("gate/criteria/customer_needs_factored", "put", {}),
        ("gate/criteria/%00", "put", {"met": False}),
        ("gate/reviews", "post", {"note": ["a"]}),
        ("gate/reviews", "post", {"note": "n" * 5001}),
        ("events?page=0", "get", None),
        ("events?per_page=1000", "get", None),
        ("gate/reviews?page=x", "get", None),
    ],
)
def test_bad_input_never_causes_a_500(api, make_user, make_project, path, method, body):
    crmo = make_user("crmo")
    project = make_project()
    kwargs = {} if body is None else {"json": body}
    response = getattr(api(crmo), method)(f"/api/v1/projects/{project.id}/{path}", **kwargs)
    assert 400 <= response.status_code < 500, response.json
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "data",
    [
        {"decision": "bogus", "rationale": "r"},
        {"decision": "go", "rationale": "r", "version": "abc"},
        {"decision": "recycle", "rationale": "r", "to_phase": "nowhere"},
        {"decision": "go"},
    ],
)
def test_bad_decision_forms_never_cause_a_500(page_client, make_user, make_project, data):
    project = make_project(phase="execute")
    response = page_client(make_user("steering")).post(
        f"/projects/{project.id}/gate/decisions", data=data
    )
    assert response.status_code in (302, 422), response.status_code
