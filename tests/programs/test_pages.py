"""Programs and projects through the pages a person uses."""

import re

import sqlalchemy as sa


def test_anonymous_page_redirects_to_login(client):
    response = client.get("/projects")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_with_wrong_password_says_nothing_about_the_account(client, make_user):
    user = make_user("manager")
    wrong = client.post("/login", data={"email": user.email, "password": "nope nope nope"})
    unknown = client.post("/login", data={"email": "ghost@example.com", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 200
    assert b"Email or password is not right." in wrong.data
    assert b"Email or password is not right." in unknown.data


def test_login_redirects_only_to_local_next(client, make_user):
    user = make_user("viewer")
    response = client.post(
        "/login?next=https://evil.example.com/x",
        data={"email": user.email, "password": "correct horse battery staple"},
    )
    assert response.headers["Location"] == "/"


def test_manager_creates_project_through_the_form(page_client, make_user, make_program, db):
    from crmphase.programs.models import Project

    manager = make_user("manager")
    program = make_program()
    client = page_client(manager)
    form = client.get(f"/projects/new?program_id={program.id}")
    assert form.status_code == 200
    response = client.post(
        "/projects/new",
        data={
            "program_id": program.id,
            "name": "Contact center consolidation",
            "department": "service",
            "manager_id": manager.id,
            "budget": "260,000.00",
            "planned_start": "2026-01-01",
            "planned_end": "2026-04-30",
        },
    )
    assert response.status_code == 302
    project = db.session.scalars(sa.select(Project)).one()
    assert project.name == "Contact center consolidation"
    assert str(project.budget) == "260000.00"
    page = client.get(response.headers["Location"])
    assert b"Contact center consolidation" in page.data


def test_form_errors_are_shown_next_to_the_fields(page_client, make_user, make_program, db):
    from crmphase.programs.models import Project

    manager = make_user("manager")
    program = make_program()
    response = page_client(manager).post(
        "/projects/new",
        data={
            "program_id": program.id,
            "name": "",
            "department": "service",
            "manager_id": manager.id,
            "budget": "12.345",
            "planned_start": "2026-05-01",
            "planned_end": "2026-01-01",
        },
    )
    assert response.status_code == 200
    html = response.data.decode()
    assert "at most 2 decimal places are allowed" in html
    assert "This field is required." in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0


def test_service_errors_reach_the_form(page_client, make_user, make_program):
    manager = make_user("manager")
    program = make_program()
    response = page_client(manager).post(
        "/projects/new",
        data={
            "program_id": program.id,
            "name": "Dates backwards",
            "department": "service",
            "manager_id": manager.id,
            "planned_start": "2026-05-01",
            "planned_end": "2026-01-01",
        },
    )
    assert b"the planned end is before the planned start" in response.data


def test_viewer_cannot_open_new_project_form(page_client, make_user):
    response = page_client(make_user("viewer")).get("/projects/new")
    assert response.status_code == 403


def test_manager_cannot_edit_another_managers_project_page(page_client, make_project, make_user):
    project = make_project()
    response = page_client(make_user("manager")).get(f"/projects/{project.id}/edit")
    assert response.status_code == 403


def test_edit_with_stale_version_changes_nothing(page_client, make_project, db):
    project = make_project(name="Original")
    client = page_client(project.manager)
    data = {
        "program_id": project.program_id,
        "name": "Renamed",
        "department": project.department,
        "manager_id": project.manager_id,
        "version": "1",
    }
    assert client.post(f"/projects/{project.id}/edit", data=data).status_code == 302
    stale = client.post(f"/projects/{project.id}/edit", data={**data, "name": "Again"})
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(type(project), project.id).name == "Renamed"


def test_project_list_filters_and_paginates(page_client, make_user, make_project, make_program):
    program = make_program()
    for i in range(30):
        make_project(name=f"Sales {i:02d}", program=program, department="sales")
    make_project(name="Service X", program=program, department="service")
    client = page_client(make_user("viewer"))
    first = client.get(f"/projects?department=sales&program_id={program.id}").data.decode()
    assert "Sales 00" in first and "Service X" not in first
    assert "Page 1 of 2" in first
    second = client.get(f"/projects?department=sales&program_id={program.id}&page=2")
    assert "Sales 29" in second.data.decode()


def test_empty_project_list_says_what_to_do(page_client, make_user):
    html = page_client(make_user("manager")).get("/projects").data.decode()
    assert "No projects match." in html and "Create a project" in html


def test_program_pages_for_crmo(page_client, make_user, db):
    from crmphase.programs.models import Program

    crmo = make_user("crmo")
    steering = make_user("steering")
    client = page_client(crmo)
    response = client.post(
        "/programs/new",
        data={
            "name": "Customer Knowledge",
            "crmo_id": crmo.id,
            "steering_member_ids": [steering.id],
            "discount_rate": "0.08",
            "bite_size_max_months": "6",
            "measurement_grace_days": "10",
        },
    )
    assert response.status_code == 302, response.data
    program = db.session.scalars(sa.select(Program)).one()
    assert [u.id for u in program.steering_members] == [steering.id]
    detail = client.get(f"/programs/{program.id}").data.decode()
    assert "Customer Knowledge" in detail and "8% a year" in detail


def test_history_tab_lists_events(page_client, api, make_user, make_program):
    manager = make_user("manager")
    program = make_program()
    created = api(manager).post(
        "/api/v1/projects",
        json={"program_id": program.id, "name": "P", "department": "it", "manager_id": manager.id},
    )
    html = page_client(manager).get(f"/projects/{created.json['id']}/history").data.decode()
    assert "project.created" in html


def test_security_headers_on_pages(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert not re.search(r"script-src[^;]*unsafe-inline", csp)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_plotly_is_served_from_the_installed_package(client):
    with client.get("/assets/plotly.min.js") as response:
        assert response.status_code == 200
        assert b"plotly.js" in response.data[:200]


def test_an_unknown_project_page_is_not_found(page_client, make_user):
    client = page_client(make_user("viewer"))
    assert client.get("/projects/987654").status_code == 404
