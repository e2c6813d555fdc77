"""Every page and endpoint of the jobs domain declares its policy."""

PREFIXES = (
    "/jobs",
    "/alerts",
    "/notifications",
    "/api/v1/jobs",
    "/api/v1/snapshots",
    "/api/v1/alerts",
    "/api/v1/notifications",
)


def test_every_jobs_route_declares_a_policy(app):
    routes = [r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIXES)]
    assert len(routes) >= 12
    for rule in routes:
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "crmphase_policy", None) is not None, rule.rule
