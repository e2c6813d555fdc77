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
