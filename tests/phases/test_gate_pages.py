"""The gate pages: the Gate tab, the steering queue, the criteria template, review overdue."""

from datetime import timedelta

import sqlalchemy as sa

from crmphase import clock


def test_gate_tab_shows_timeline_checklist_and_explanations(page_client, make_user, make_project):
    project = make_project()
    client = page_client(make_user("viewer"))
    response = client.get(f"/projects/{project.id}/gate")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Phase timeline" in html and "Gate checklist" in html
    assert "no KPI yet — add one with baseline, target and target period" in html
    assert "Customer needs factored into the strategy" in html
    assert 'name="evidence"' not in html  # a viewer cannot tick
    assert "Request review" not in html
    assert "<script" not in html and "style=" not in html
    # the tab is on the project page
    assert f"/projects/{project.id}/gate" in client.get(f"/projects/{project.id}").get_data(
        as_text=True
    )


def test_manager_ticks_a_criterion_on_the_page(page_client, db, make_project):
    from crmphase.phases.models import GateCriterion

    project = make_project()
    client = page_client(project.manager)
    html = client.get(f"/projects/{project.id}/gate").get_data(as_text=True)
    assert 'name="evidence"' in html and "Request review" in html
    response = client.post(
        f"/projects/{project.id}/gate/criteria/customer_needs_factored",
        data={"met": "1", "evidence": "Interviews with 40 customers"},
    )
    assert response.status_code == 302
    row = db.session.scalars(
        sa.select(GateCriterion).where(
            GateCriterion.project_id == project.id, GateCriterion.key == "customer_needs_factored"
        )
    ).one()
    assert row.met and row.evidence == "Interviews with 40 customers"
    page = client.get(f"/projects/{project.id}/gate").get_data(as_text=True)
    assert "Interviews with 40 customers" in page and "Untick" in page


def test_ticking_without_evidence_on_the_page_says_why(page_client, make_project):
    project = make_project()
    client = page_client(project.manager)
    response = client.post(
        f"/projects/{project.id}/gate/criteria/customer_needs_factored",
        data={"met": "1", "evidence": ""},
        follow_redirects=True,
    )
    assert "say what shows this criterion is met" in response.get_data(as_text=True)


def test_other_manager_cannot_tick_on_the_page(page_client, make_user, make_project):
    project = make_project()
    client = page_client(make_user("manager"))
    response = client.post(
        f"/projects/{project.id}/gate/criteria/customer_needs_factored",
        data={"met": "1", "evidence": "x"},
    )
    assert response.status_code == 403


def test_request_review_then_steering_queue_oldest_first(page_client, make_user, make_project, db):
    older, newer = make_project(name="Older"), make_project(name="Newer")
    with clock.frozen(clock.now() - timedelta(days=5)):
        assert (
            page_client(older.manager)
            .post(f"/projects/{older.id}/gate/reviews", data={"note": "please"})
            .status_code
            == 302
        )
    page_client(newer.manager).post(f"/projects/{newer.id}/gate/reviews", data={})
    steering = make_user("steering")
    client = page_client(steering)
    html = client.get("/gates/queue").get_data(as_text=True)
    assert html.index("Older") < html.index("Newer")
    assert "waiting 5 days" in html and "waiting 0 days" in html
    assert "go is refused until these are met" in html
    nav = client.get("/projects").get_data(as_text=True)
    assert "Waiting for my decision" in nav and '<span class="count">2</span>' in nav
    # a manager does not see the queue
    assert page_client(older.manager).get("/gates/queue").status_code == 403


def test_second_review_request_on_the_page_is_refused_clearly(page_client, make_project):
    project = make_project()
    client = page_client(project.manager)
    client.post(f"/projects/{project.id}/gate/reviews", data={})
    response = client.post(f"/projects/{project.id}/gate/reviews", data={}, follow_redirects=True)
    assert "already waiting" in response.get_data(as_text=True)


def test_queue_is_empty_with_a_hint(page_client, make_user):
    html = page_client(make_user("steering")).get("/gates/queue").get_data(as_text=True)
    assert "Nothing is waiting for a decision" in html


def test_go_from_the_page_moves_the_phase(page_client, make_user, ready_project, db):
    project = ready_project()
    client = page_client(make_user("steering"))
    response = client.post(
        f"/projects/{project.id}/gate/decisions",
        data={"decision": "go", "rationale": "business case approved", "version": project.version},
    )
    assert response.status_code == 302
    db.session.refresh(project)
    assert project.phase == "evaluate"
    html = client.get(f"/projects/{project.id}/gate").get_data(as_text=True)
    assert "business case approved" in html


def test_go_on_a_gate_not_ready_lists_the_unmet_criteria_on_the_page(
    page_client, make_user, make_project, db
):
    project = make_project()
    client = page_client(make_user("steering"))
    response = client.post(
        f"/projects/{project.id}/gate/decisions", data={"decision": "go", "rationale": "go"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The gate is not ready." in html and "no KPI yet" in html
    db.session.refresh(project)
    assert project.phase == "strategize"


def test_rationale_is_required_on_the_page(page_client, make_user, make_project):
    project = make_project()
    response = page_client(make_user("steering")).post(
        f"/projects/{project.id}/gate/decisions", data={"decision": "hold", "rationale": ""}
    )
    assert response.status_code == 422
    assert "give the reason for the decision" in response.get_data(as_text=True)


def test_kill_asks_for_confirmation_first(page_client, make_user, make_project, db):
    project = make_project()
    client = page_client(make_user("steering"))
    first = client.post(
        f"/projects/{project.id}/gate/decisions",
        data={"decision": "kill", "rationale": "no sponsor", "next": "queue"},
    )
    assert first.status_code == 200
    assert "Yes, kill the project" in first.get_data(as_text=True)
    db.session.refresh(project)
    assert project.state == "active"
    second = client.post(
        f"/projects/{project.id}/gate/decisions",
        data={"decision": "kill", "rationale": "no sponsor", "confirmed": "yes", "next": "queue"},
    )
    assert second.status_code == 302 and second.headers["Location"].endswith("/gates/queue")
    db.session.refresh(project)
    assert project.state == "killed"


def test_retire_asks_for_confirmation_first(page_client, make_user, make_project, db):
    project = make_project(phase="manage")
    client = page_client(make_user("crmo"))
    first = client.post(
        f"/projects/{project.id}/gate/decisions", data={"decision": "retire", "rationale": "old"}
    )
    assert "Yes, retire the project" in first.get_data(as_text=True)
    db.session.refresh(project)
    assert project.state == "active"


def test_manager_who_is_steering_sees_no_decision_form(page_client, make_user, make_project):
    crmo = make_user("crmo")
    project = make_project(manager=crmo)
    html = page_client(crmo).get(f"/projects/{project.id}/gate").get_data(as_text=True)
    assert "Record decision" not in html
    assert "another member of the steering committee decides" in html
    response = page_client(crmo).post(
        f"/projects/{project.id}/gate/decisions", data={"decision": "hold", "rationale": "x"}
    )
    assert response.status_code == 403


def test_manager_cannot_post_a_decision(page_client, make_project):
    project = make_project()
    response = page_client(project.manager).post(
        f"/projects/{project.id}/gate/decisions", data={"decision": "hold", "rationale": "x"}
    )
    assert response.status_code == 403


def test_review_overdue_shows_everywhere_the_project_is_listed(
    page_client, make_user, make_project
):
    project = make_project(
        name="Old CRM", phase="manage", phase_entered_on=clock.today() - timedelta(days=120)
    )
    client = page_client(make_user("viewer"))
    for path in ("/projects", f"/programs/{project.program_id}", f"/projects/{project.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "review overdue" in html, path
    fresh = make_project(name="Fresh", phase="manage")
    assert "review overdue" not in client.get(f"/projects/{fresh.id}").get_data(as_text=True)


def test_crmo_adds_a_template_criterion_that_new_gates_get(
    page_client, make_user, make_program, make_project, db, api
):
    program = make_program()
    already = make_project(program=program)
    crmo = make_user("crmo")
    client = page_client(crmo)
    response = client.post(
        f"/programs/{program.id}/criteria",
        data={"phase": "strategize", "label": "Data protection officer consulted", "required": "1"},
    )
    assert response.status_code == 302
    html = client.get(f"/programs/{program.id}/criteria").get_data(as_text=True)
    assert "Data protection officer consulted" in html and "Objective stated" in html
    fresh = make_project(program=program)
    keys = [
        c["key"] for c in api("viewer").get(f"/api/v1/projects/{fresh.id}/gate").json["criteria"]
    ]
    assert keys[-1] == "data_protection_officer_consulted"
    old_keys = [
        c["key"] for c in api("viewer").get(f"/api/v1/projects/{already.id}/gate").json["criteria"]
    ]
    assert "data_protection_officer_consulted" not in old_keys


def test_template_criterion_validation_and_duplicates(page_client, make_user, make_program):
    program = make_program()
    client = page_client(make_user("crmo"))
    empty = client.post(
        f"/programs/{program.id}/criteria", data={"phase": "execute", "label": "", "required": "1"}
    )
    assert empty.status_code == 422
    dup = client.post(
        f"/programs/{program.id}/criteria",
        data={"phase": "strategize", "label": "objective stated", "required": "0"},
    )
    assert dup.status_code == 422
    assert "already has" in dup.get_data(as_text=True)


def test_required_template_blocks_go_advisory_does_not(
    api, make_user, make_program, ready_project, db
):
    from crmphase.phases import services

    program = make_program()
    crmo = make_user("crmo")
    services.add_template_criterion(crmo, program, "strategize", "Works council informed", True)
    services.add_template_criterion(crmo, program, "strategize", "Press release drafted", False)
    project = ready_project(program=program)  # ticks every manual criterion, the new ones too
    from crmphase.phases.services import set_criterion

    set_criterion(project.manager, project, "works_council_informed", False, "")
    set_criterion(project.manager, project, "press_release_drafted", False, "")
    gate = api("viewer").get(f"/api/v1/projects/{project.id}/gate").json
    assert [u["key"] for u in gate["unmet"]] == ["works_council_informed"]
    set_criterion(project.manager, project, "works_council_informed", True, "letter of 4 March")
    assert api("viewer").get(f"/api/v1/projects/{project.id}/gate").json["ready"] is True


def test_only_the_crmo_manages_templates(page_client, make_user, make_program):
    program = make_program()
    for role in ("manager", "steering"):
        response = page_client(make_user(role)).post(
            f"/programs/{program.id}/criteria",
            data={"phase": "execute", "label": "Anything", "required": "1"},
        )
        assert response.status_code == 403
    html = (
        page_client(make_user("viewer"))
        .get(f"/programs/{program.id}/criteria")
        .get_data(as_text=True)
    )
    assert "Add a criterion" not in html


def test_removing_a_template_criterion_confirms_first(page_client, make_user, make_program, db):
    from crmphase.phases import services
    from crmphase.phases.models import CriterionTemplate

    program = make_program()
    crmo = make_user("crmo")
    template = services.add_template_criterion(crmo, program, "execute", "Go-live checklist", True)
    client = page_client(crmo)
    url = f"/programs/{program.id}/criteria/{template.id}/remove"
    assert "Yes, remove it" in client.get(url).get_data(as_text=True)
    assert db.session.get(CriterionTemplate, template.id) is not None
    assert client.post(url).status_code == 302
    db.session.expire_all()
    assert db.session.get(CriterionTemplate, template.id) is None


def test_manager_withdraws_a_waiting_review(page_client, make_project, api):
    project = make_project()
    client = page_client(project.manager)
    client.post(f"/projects/{project.id}/gate/reviews", data={})
    assert "Withdraw the request" in client.get(f"/projects/{project.id}/gate").get_data(
        as_text=True
    )
    response = client.post(f"/projects/{project.id}/gate/reviews/withdraw", follow_redirects=True)
    assert "Review request withdrawn." in response.get_data(as_text=True)
    reviews = api("viewer").get(f"/api/v1/projects/{project.id}/gate/reviews").json["items"]
    assert reviews[0]["status"] == "withdrawn"
    events = api("viewer").get(f"/api/v1/projects/{project.id}/events").json["items"]
    assert events[-1]["action"] == "gate.review.withdrawn"


def test_gate_heading_names_the_next_phase(page_client, make_user, make_project):
    html = (
        page_client(make_user("viewer"))
        .get(f"/projects/{make_project(phase='evaluate').id}/gate")
        .get_data(as_text=True)
    )
    assert "Gate checklist: Evaluate → Execute" in html
    manage = make_project(phase="manage")
    html = (
        page_client(make_user("viewer")).get(f"/projects/{manage.id}/gate").get_data(as_text=True)
    )
    assert "Periodic review checklist" in html and "next periodic review due" in html


def _count_statements(db, call) -> int:
    """Statements run on the test's connection during ``call()`` (the ``count_queries``
    fixture listens on the engine, which misses the rolled-back test connection)."""
    statements = []

    def before(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN")):
            statements.append(statement)

    connection = db.session.connection()
    sa.event.listen(connection, "before_cursor_execute", before)
    try:
        call()
    finally:
        sa.event.remove(connection, "before_cursor_execute", before)
    import os

    if os.environ.get("DUMP_SQL"):
        print("\n----", len(statements))
        for st in statements:
            print(" *", st[:110].replace("\n", " "))
    return len(statements)


def test_queue_page_query_count_does_not_grow_with_the_reviews(
    page_client, make_user, make_project, db
):
    from crmphase.phases.services import request_review

    def add_reviews(n):
        for _ in range(n):
            project = make_project()
            request_review(project.manager, project)

    # The test keeps one app context (and its ``g``) for every request, so the user who
    # signs in last is the one Flask-Login serves: sign the steering member in last.
    add_reviews(2)
    client = page_client(make_user("steering"))
    response = client.get("/gates/queue")
    assert response.status_code == 200
    two = _count_statements(db, lambda: client.get("/gates/queue"))
    add_reviews(3)
    client.get("/gates/queue")  # the signed-in user is reloaded once after the commits
    five = _count_statements(db, lambda: client.get("/gates/queue"))
    assert client.get("/gates/queue").get_data(as_text=True).count("waiting 0 days") == 5
    # every review shows its live checklist, loaded in bulk for the whole page
    assert five == two, (two, five)


def test_timeline_shows_when_each_phase_was_entered_and_who_decided(
    page_client, make_user, ready_project, api
):
    project = ready_project()
    steering = make_user("steering", name="Stella Steer")
    from crmphase.phases.services import decide

    with clock.frozen("2026-02-10T09:00:00"):
        decide(steering, project, "go", "case approved by the board")
    html = (
        page_client(make_user("viewer")).get(f"/projects/{project.id}/gate").get_data(as_text=True)
    )
    assert "since 2026-02-10" in html  # evaluate, the current phase
    assert "entered " + project.created_at.date().isoformat() in html  # strategize
    assert "Stella Steer" in html and "case approved by the board" in html


def test_killed_project_page_offers_reopen_to_the_crmo_only(
    page_client, make_user, make_project, api
):
    from crmphase.phases.services import decide

    project = make_project()
    # Through the service, not the API: the tests share one ``g`` across requests, and an
    # API request leaves its user there for the page requests that follow.
    decide(make_user("steering"), project, "kill", "no sponsor")
    steering_html = (
        page_client(make_user("steering"))
        .get(f"/projects/{project.id}/gate")
        .get_data(as_text=True)
    )
    assert "Record decision" not in steering_html and "only the CRMO can reopen" in steering_html
    crmo = page_client(make_user("crmo"))
    crmo_html = crmo.get(f"/projects/{project.id}/gate").get_data(as_text=True)
    assert "Reopen — make it active again (CRMO)" in crmo_html
    assert "Go — pass the gate" not in crmo_html
    response = crmo.post(
        f"/projects/{project.id}/gate/decisions",
        data={"decision": "reopen", "rationale": "sponsor found"},
    )
    assert response.status_code == 302
    assert api("viewer").get(f"/api/v1/projects/{project.id}").json["state"] == "active"


def test_gate_forms_need_a_csrf_token(app, page_client, make_user, make_project, db):
    project = make_project()
    client = page_client(make_user("steering"))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(
            f"/projects/{project.id}/gate/decisions", data={"decision": "hold", "rationale": "x"}
        )
        html = client.get(f"/projects/{project.id}/gate").get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    db.session.refresh(project)
    assert project.state == "active"
    assert 'name="csrf_token"' in html
