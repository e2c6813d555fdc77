"""Item 6 of the trust issue: two people save the same project → one wins, the other gets
409 with both versions shown, and nothing of theirs is written."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from crmphase.audit.models import Event
from crmphase.programs.models import Project


def test_the_api_answers_a_stale_save_with_409_and_the_saved_values(
    api, db, make_user, make_project
):
    manager, crmo = make_user("manager"), make_user("crmo")
    project = make_project(manager=manager, name="Loyalty pilot")
    path = f"/api/v1/projects/{project.id}"
    version = api(manager).get(path).json["version"]

    first = api(manager).patch(path, json={"version": version, "name": "Loyalty pilot (EU)"})
    assert first.status_code == 200
    second = api(crmo).patch(path, json={"version": version, "name": "Loyalty pilot (US)"})
    assert second.status_code == 409
    body = second.json
    assert body["your_version"] == version
    assert body["current_version"] == first.json["version"]
    assert body["current"]["name"] == "Loyalty pilot (EU)"
    assert body["current"]["manager_id"] == manager.id
    assert "not saved" in body["detail"]

    db.session.expire_all()
    assert db.session.get(Project, project.id).name == "Loyalty pilot (EU)"
    updates = db.session.scalars(
        sa.select(Event).where(Event.project_id == project.id, Event.action == "project.updated")
    ).all()
    assert len(updates) == 1  # the refused save wrote no event either


def _edit_form(project, **changes):
    form = {
        "program_id": project.program_id,
        "name": project.name,
        "objective": project.objective,
        "customer_need": project.customer_need,
        "department": project.department,
        "business_lead": project.business_lead,
        "it_lead": project.it_lead,
        "manager_id": project.manager_id,
        "budget": str(project.budget),
        "planned_start": project.planned_start.isoformat(),
        "planned_end": project.planned_end.isoformat(),
        "version": project.version,
    }
    form.update(changes)
    return form


def test_the_edit_page_shows_both_versions_and_keeps_the_users_values(
    page_client, db, make_user, make_project
):
    manager, crmo = make_user("manager"), make_user("crmo")
    project = make_project(manager=manager, name="Churn model", business_lead="Ada")
    stale = _edit_form(project)
    url = f"/projects/{project.id}/edit"

    saved = page_client(manager).post(url, data=_edit_form(project, business_lead="Bea"))
    assert saved.status_code == 302

    client = page_client(crmo)
    refused = client.post(url, data={**stale, "business_lead": "Cy", "name": "Churn model v2"})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "Someone else saved this while you were editing" in html
    assert "<td>Bea</td><td>Cy</td>" in html  # saved now, beside yours
    assert 'value="Cy"' in html and 'value="Churn model v2"' in html  # the form keeps yours
    db.session.expire_all()
    current = db.session.get(Project, project.id)
    assert current.business_lead == "Bea"
    assert f'name="version" type="hidden" value="{current.version}"' in html

    # saving again, knowingly, replaces the saved values
    again = client.post(url, data={**stale, "business_lead": "Cy", "version": current.version})
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get(Project, project.id).business_lead == "Cy"


def test_two_simultaneous_saves_one_wins_one_gets_409(fresh_database_url, build_app, seed_user):
    """Real concurrency on a committed database: both requests read the same version;
    the database's version check lets exactly one through."""
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    _, _, token_a = seed_user(app, "crmo")
    manager_id, _, token_b = seed_user(app, "manager")
    headers_a = {"Authorization": f"Bearer {token_a}"}
    headers_b = {"Authorization": f"Bearer {token_b}"}
    client = app.test_client()
    program = client.post("/api/v1/programs", json={"name": "Race"}, headers=headers_a).json
    project = client.post(
        "/api/v1/projects",
        json={
            "program_id": program["id"],
            "name": "Racy",
            "department": "it",
            "manager_id": manager_id,
        },
        headers=headers_b,
    ).json
    path = f"/api/v1/projects/{project['id']}"
    barrier = threading.Barrier(2)
    results = {}

    def save(who, headers):
        barrier.wait()
        response = app.test_client().patch(
            path, json={"version": project["version"], "it_lead": who}, headers=headers
        )
        results[who] = (response.status_code, response.json)

    threads = [
        threading.Thread(target=save, args=("A", headers_a)),
        threading.Thread(target=save, args=("B", headers_b)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(status for status, _ in results.values())
    assert statuses == [200, 409], results
    winner = next(who for who, (status, _) in results.items() if status == 200)
    loser_body = next(body for status, body in results.values() if status == 409)
    assert loser_body["current"]["it_lead"] == winner
    final = client.get(path, headers=headers_a).json
    assert final["it_lead"] == winner
    assert final["version"] == project["version"] + 1
