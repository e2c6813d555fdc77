"""Programs and projects through the JSON API: validation, permissions, versions, audit."""

import pytest


def project_body(program, manager, **overrides):
    body = {
        "program_id": program.id,
        "name": "Customer database and campaign management",
        "department": "marketing",
        "manager_id": manager.id,
        "objective": "One view of the customer for campaigns",
        "budget": "250000.00",
        "planned_start": "2026-01-01",
        "planned_end": "2026-06-30",
    }
    body.update(overrides)
    return body


def test_anonymous_api_call_gets_401_problem(api):
    response = api(None).get("/api/v1/projects")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_token_gets_401(app, db):
    response = app.test_client().get("/api/v1/projects", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_manager_creates_project_with_audit_event(api, make_user, make_program):
    manager = make_user("manager")
    program = make_program()
    response = api(manager).post("/api/v1/projects", json=project_body(program, manager))
    assert response.status_code == 201, response.json
    project = response.json
    assert project["phase"] == "strategize" and project["state"] == "active"
    assert project["budget"] == "250000.00" and project["version"] == 1
    events = api(manager).get(f"/api/v1/projects/{project['id']}/events")
    if events.status_code == 200:  # the gates domain serves the events endpoint
        actions = [e["action"] for e in events.json["items"]]
        assert "project.created" in actions


def test_project_created_event_is_written(api, make_user, make_program, db):
    import sqlalchemy as sa

    from crmphase.audit.models import Event

    manager = make_user("manager")
    response = api(manager).post("/api/v1/projects", json=project_body(make_program(), manager))
    event = db.session.scalars(
        sa.select(Event).where(Event.project_id == response.json["id"])
    ).one()
    assert event.action == "project.created"
    assert event.actor_id == manager.id
    assert event.after["name"] == "Customer database and campaign management"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"department": "finance"}, "department"),
        ({"budget": "-5"}, "budget"),
        ({"budget": "1.234"}, "budget"),
        ({"budget": "NaN"}, "budget"),
        ({"budget": "Infinity"}, "budget"),
        ({"budget": "lots"}, "budget"),
        ({"planned_start": "2026-13-01"}, "planned_start"),
        ({"planned_end": "2025-01-01"}, "planned_end"),
        ({"program_id": 999999}, "program_id"),
        ({"manager_id": 999999}, "manager_id"),
    ],
)
def test_invalid_project_is_refused_with_field_errors(
    api, make_user, make_program, overrides, field, db
):
    import sqlalchemy as sa

    from crmphase.programs.models import Project

    manager = make_user("manager")
    body = project_body(make_program(), manager, **overrides)
    response = api(manager).post("/api/v1/projects", json=body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in {e["field"] for e in response.json["errors"]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0


def test_duplicate_project_name_in_program_is_refused(api, make_user, make_program):
    manager = make_user("manager")
    program = make_program()
    client = api(manager)
    assert client.post("/api/v1/projects", json=project_body(program, manager)).status_code == 201
    again = client.post("/api/v1/projects", json=project_body(program, manager))
    assert again.status_code == 422
    assert again.json["errors"][0]["field"] == "name"


def test_viewer_and_steering_cannot_create_projects(api, make_user, make_program):
    manager = make_user("manager")
    program = make_program()
    for role in ("viewer", "steering"):
        response = api(role).post("/api/v1/projects", json=project_body(program, manager))
        assert response.status_code == 403, role


def test_manager_cannot_edit_another_managers_project(api, make_project, make_user):
    project = make_project()
    other = make_user("manager")
    response = api(other).patch(
        f"/api/v1/projects/{project.id}", json={"name": "Mine now", "version": project.version}
    )
    assert response.status_code == 403
    assert (
        response.json["detail"] == "only the project's manager or the CRMO can change this project"
    )


def test_viewer_changes_nothing(api, make_project, db):
    project = make_project(name="Untouched")
    response = api("viewer").patch(
        f"/api/v1/projects/{project.id}", json={"name": "Changed", "version": project.version}
    )
    assert response.status_code == 403
    db.session.refresh(project)
    assert project.name == "Untouched"


def test_stale_version_gets_409_and_changes_nothing(api, make_project, db):
    project = make_project(name="Original")
    client = api(project.manager)
    first = client.patch(f"/api/v1/projects/{project.id}", json={"name": "First", "version": 1})
    assert first.status_code == 200 and first.json["version"] == 2
    stale = client.patch(f"/api/v1/projects/{project.id}", json={"name": "Second", "version": 1})
    assert stale.status_code == 409
    assert stale.json["current_version"] == 2 and stale.json["your_version"] == 1
    assert client.get(f"/api/v1/projects/{project.id}").json["name"] == "First"


def test_update_requires_version(api, make_project):
    project = make_project()
    response = api(project.manager).patch(f"/api/v1/projects/{project.id}", json={"name": "X"})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "version"


def test_update_writes_event_with_before_and_after(api, make_project, db):
    import sqlalchemy as sa

    from crmphase.audit.models import Event

    project = make_project(name="Before")
    api(project.manager).patch(
        f"/api/v1/projects/{project.id}", json={"name": "After", "version": project.version}
    )
    event = db.session.scalars(
        sa.select(Event).where(Event.action == "project.updated", Event.project_id == project.id)
    ).one()
    assert event.before == {"name": "Before"} and event.after == {"name": "After"}


def test_list_filters_and_paginates(api, make_project, make_program):
    program = make_program()
    for i in range(3):
        make_project(name=f"Sales {i}", program=program, department="sales")
    make_project(name="Service desk", program=program, department="service")
    client = api("viewer")
    page = client.get(f"/api/v1/projects?program_id={program.id}&department=sales&per_page=2")
    assert page.status_code == 200
    assert page.json["total"] == 3 and page.json["pages"] == 2
    assert [p["name"] for p in page.json["items"]] == ["Sales 0", "Sales 1"]
    assert client.get("/api/v1/projects?phase=nonsense").status_code == 422
    assert client.get("/api/v1/projects?per_page=1000").status_code == 422


def test_unknown_project_is_404_problem(api):
    response = api("viewer").get("/api/v1/projects/424242")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_malformed_json_is_400_not_500(api):
    response = api("crmo").post(
        "/api/v1/programs", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def test_crmo_manages_programs_and_others_cannot(api, make_user):
    crmo = make_user("crmo")
    body = {"name": "Customer intimacy", "discount_rate": "0.1"}
    created = api(crmo).post("/api/v1/programs", json=body)
    assert created.status_code == 201, created.json
    assert created.json["discount_rate"] == "0.1000"
    assert created.json["bite_size_max_months"] == 6
    assert api("manager").post("/api/v1/programs", json={"name": "X"}).status_code == 403
    duplicate = api(crmo).post("/api/v1/programs", json={"name": "customer intimacy"})
    assert duplicate.status_code == 422
    bad_rate = api(crmo).post("/api/v1/programs", json={"name": "Y", "discount_rate": "1.5"})
    assert bad_rate.status_code == 422


def test_program_stale_version_is_409(api, make_user):
    crmo = make_user("crmo")
    created = api(crmo).post("/api/v1/programs", json={"name": "P"}).json
    path = f"/api/v1/programs/{created['id']}"
    assert api(crmo).patch(path, json={"objective": "a", "version": 1}).status_code == 200
    assert api(crmo).patch(path, json={"objective": "b", "version": 1}).status_code == 409


def test_openapi_document_is_generated(app, db):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/projects/{project_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
