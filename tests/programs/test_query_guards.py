"""N+1 guards: the SQL statements of pages and API lists must not grow with the data.

Each test measures a request on a small generated portfolio, then grows the portfolio
(about six times the projects, with more history) and measures the same request again.
"""

import sqlalchemy as sa

from tests.factories.auth import make_token

LISTS = (
    "/api/v1/projects?per_page=100",
    "/api/v1/programs?per_page=100",
    "/api/v1/projects?per_page=100&phase=manage",
)
PAGES = ("/projects", "/programs")


def _get(client, path, headers=None):
    """A GET with a fresh session, as in a server (the test's app context is shared)."""
    from crmphase.extensions import db

    try:
        return client.get(path, headers=headers)
    finally:
        db.session.remove()


def _statements(count_queries, client, path, headers=None) -> int:
    _get(client, path, headers)  # warm-up: caches, the first login query
    with count_queries() as statements:
        response = _get(client, path, headers)
    assert response.status_code == 200, (path, response.data[:300])
    return len(statements)


def _token(email) -> dict:
    from crmphase.auth.loaders import user_by_email
    from crmphase.extensions import db

    token = make_token(user_by_email(email), "guard")
    db.session.remove()
    return {"Authorization": f"Bearer {token}"}


def _listed(client, path, headers) -> int:
    return len(_get(client, path, headers).get_json()["items"])


def test_api_lists_and_list_pages_do_not_grow_with_the_data(
    app, bench_portfolio, bench_login, count_queries
):
    small = bench_portfolio(programs=2, projects=8, months=24, seed=1)
    api, pages = app.test_client(), bench_login(app.test_client(), small.crmo_email)
    headers = _token(small.crmo_email)
    for path in LISTS:  # an empty list would skip its eager loads and prove nothing
        assert _listed(api, path, headers) > 0, path
    before = {path: _statements(count_queries, api, path, headers) for path in LISTS}
    before |= {path: _statements(count_queries, pages, path) for path in PAGES}
    listed_before = _listed(api, LISTS[0], headers)

    bench_portfolio(programs=5, projects=34, months=30, seed=2, append=True)
    after = {path: _statements(count_queries, api, path, headers) for path in LISTS}
    after |= {path: _statements(count_queries, pages, path) for path in PAGES}
    assert _listed(api, LISTS[0], headers) == listed_before + 34
    assert after == before


def _project_ids_by_size(db) -> list[int]:
    """Project ids from the least to the most data (KPIs, measurements, decisions)."""
    rows = db.session.execute(
        sa.text(
            "SELECT p.id, "
            "(SELECT COUNT(*) FROM kpis k WHERE k.project_id = p.id) "
            "+ (SELECT COUNT(*) FROM measurements m JOIN kpis k ON k.id = m.kpi_id "
            "   WHERE k.project_id = p.id) "
            "+ (SELECT COUNT(*) FROM gate_decisions d WHERE d.project_id = p.id) AS size "
            "FROM projects p ORDER BY size, p.id"
        )
    ).all()
    db.session.remove()
    return [row.id for row in rows]


def test_project_page_and_api_do_not_grow_with_the_project(
    app, bench_portfolio, bench_login, count_queries, committed_db
):
    small = bench_portfolio(programs=2, projects=6, months=12, seed=3)
    smallest = _project_ids_by_size(committed_db)[0]
    pages = bench_login(app.test_client(), small.crmo_email)
    api, headers = app.test_client(), _token(small.crmo_email)

    def measure(project_id):
        return (
            _statements(count_queries, pages, f"/projects/{project_id}"),
            _statements(count_queries, api, f"/api/v1/projects/{project_id}", headers),
        )

    before = measure(smallest)
    bench_portfolio(programs=4, projects=30, months=36, seed=4, append=True)
    largest = _project_ids_by_size(committed_db)[-1]
    assert measure(largest) == before
