"""The project list costs a fixed number of queries, however many projects it shows (the
load benchmark found one query per project for its team members)."""


def test_listing_projects_does_not_query_per_project(
    api, make_user, make_program, make_project, count_queries
):
    program = make_program()
    manager = make_user("manager")
    for _ in range(12):
        make_project(program=program, manager=manager, team_members=[make_user("viewer")])
    client = api("viewer")
    with count_queries() as few:
        assert client.get("/api/v1/projects?per_page=3").status_code == 200
    with count_queries() as many:
        response = client.get("/api/v1/projects?per_page=12")
    assert response.status_code == 200
    assert all(item["team_member_ids"] for item in response.json["items"])
    assert len(many) == len(few)


def test_one_project_and_the_list_give_the_same_team(api, make_user, make_program, make_project):
    """A single project reads its team's ids without loading the members; the list loads
    the members up front; both answer the ids in ascending order."""
    later, earlier = make_user("viewer"), make_user("viewer")
    project = make_project(program=make_program(), team_members=[later, earlier])
    make_project(program=project.program)  # a project without a team
    client = api("viewer")
    one = client.get(f"/api/v1/projects/{project.id}").json
    listed = {p["id"]: p for p in client.get("/api/v1/projects?per_page=50").json["items"]}
    assert one["team_member_ids"] == sorted([later.id, earlier.id])
    assert listed[project.id]["team_member_ids"] == one["team_member_ids"]
    assert [p["team_member_ids"] for p in listed.values() if p["id"] != project.id] == [[]]
