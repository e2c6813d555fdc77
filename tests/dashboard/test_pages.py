"""The dashboard page and the lists behind its figures, through the real endpoints."""

import re
from datetime import date

import pytest


def html(response) -> str:
    return response.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client, dash_now):
    response = client.get("/?period=2026-10")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_dashboard_shows_the_last_complete_month_by_default(page_client, dash_portfolio):
    response = page_client(dash_portfolio.crmo).get("/")
    assert response.status_code == 200
    body = html(response)
    assert 'Portfolio <span class="muted">· 2026-10</span>' in body
    assert 'value="2026-10"' in body  # the period field is filled in: bookmarkable
    assert "66.7 %" in body  # coverage 2 of 3
    assert "2 of 3 due KPI-periods measured" in body
    assert "▼ 33.3 points on 2026-09" in body  # the coverage trend against last month
    assert "-29.41 %" in body  # portfolio ROI
    assert "-50,000.00" in body  # net benefit


def test_headline_figures_link_to_their_lists(page_client, dash_portfolio):
    body = html(page_client(dash_portfolio.crmo).get("/?period=2026-10"))
    expected_links = {
        "tile-active": "/projects?state=active",
        "tile-coverage": "/dashboard/unmeasured?period=2026-10",
        "tile-roi": "/dashboard/projects?period=2026-10",
        "tile-unmeasured": "/dashboard/unmeasured?period=2026-10",
        "tile-offtrack": "/dashboard/off-track?period=2026-10",
        "tile-reviews": "/dashboard/reviews?period=2026-10",
        "tile-overdue": "/dashboard/overdue-reviews?period=2026-10",
        "tile-overruns": "/dashboard/overruns?period=2026-10",
    }
    for tile, href in expected_links.items():
        match = re.search(rf'id="{tile}" href="([^"]+)"', body)
        assert match, tile
        assert match.group(1) == href


def test_funnel_and_ownership_cells_link_to_the_filtered_project_list(page_client, dash_portfolio):
    body = html(page_client(dash_portfolio.crmo).get("/?period=2026-10"))
    assert '/projects?phase=execute&amp;state=active" aria-label="1 active in execute"' in body
    assert '/projects?phase=strategize&amp;state=on_hold"' in body
    assert "/projects?phase=manage&amp;state=active&amp;department=service" in body


def test_filters_are_carried_into_every_link(page_client, dash_portfolio):
    program = dash_portfolio.service.id
    body = html(page_client(dash_portfolio.crmo).get(f"/?period=2026-10&program_id={program}"))
    assert f'<option value="{program}" selected>' in body
    assert f"/dashboard/unmeasured?period=2026-10&amp;program_id={program}" in body
    assert f"/projects?program_id={program}&amp;state=active" in body
    assert "<b>80 %</b>" in body  # the Service program's ROI alone


def test_charts_are_json_data_blocks_without_inline_script_or_style(page_client, dash_portfolio):
    response = page_client(dash_portfolio.crmo).get("/?period=2026-10")
    body = html(response)
    for chart in ("chart-coverage", "chart-roi", "chart-money", "chart-kpis", "chart-overruns"):
        assert f'id="{chart}"' in body
        assert f'<script type="application/json" id="{chart}-data">' in body
    for tag in re.findall(r"<script[^>]*>", body):
        assert 'type="application/json"' in tag or "src=" in tag, tag
    assert "style=" not in body
    assert "/assets/plotly.min.js" in body
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_bad_filters_show_a_message_next_to_the_field(page_client, dash_portfolio):
    response = page_client(dash_portfolio.crmo).get("/?period=2026-13&department=finance")
    assert response.status_code == 400
    body = html(response)
    assert "month must be 01 to 12" in body
    assert "&#39;finance&#39; is not one of" in body
    assert 'aria-invalid="true"' in body
    assert "showing 2026-10" in body  # and the page still works, on the default


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/projects",
        "/dashboard/programs",
        "/dashboard/unmeasured",
        "/dashboard/off-track",
        "/dashboard/overruns",
        "/dashboard/reviews",
        "/dashboard/overdue-reviews",
    ],
)
def test_every_list_rejects_a_bad_period_without_a_500(page_client, dash_portfolio, path):
    response = page_client(dash_portfolio.manager).get(f"{path}?period=2026-1x")
    assert response.status_code == 400
    assert "write YYYY-MM" in html(response)


def test_unmeasured_list_oldest_first(page_client, dash_portfolio, make_project, make_alert):
    older = make_project("Loyalty scheme", program=dash_portfolio.campaigns, phase="manage")
    make_alert(older, "missing_measurement", "2026-06", subject_key="kpi:99")
    body = html(page_client(dash_portfolio.crmo).get("/dashboard/unmeasured?period=2026-10"))
    assert body.index("Loyalty scheme") < body.index("Campaign management")
    assert "Call centre" not in body  # its alert is resolved and its KPI measured
    assert "2026-06" in body


def test_unmeasured_list_ignores_later_alerts(page_client, dash_portfolio):
    body = html(page_client(dash_portfolio.crmo).get("/dashboard/unmeasured?period=2026-08"))
    assert "No unmeasured projects for 2026-08" in body


def test_lists_paginate(page_client, dash_portfolio, make_project, make_alert, app, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for n in range(3):
        project = make_project(f"Extra {n}", program=dash_portfolio.campaigns, phase="execute")
        make_alert(project, "missing_measurement", "2026-10", subject_key="kpi:1")
    client = page_client(dash_portfolio.crmo)
    first = html(client.get("/dashboard/unmeasured?period=2026-10"))
    assert "Page 1 of 2 · 4 in all" in first
    assert 'rel="next"' in first and "page=2" in first
    second = html(client.get("/dashboard/unmeasured?period=2026-10&page=2"))
    assert "Page 2 of 2" in second


def test_off_track_and_overrun_lists(page_client, dash_portfolio):
    client = page_client(dash_portfolio.crmo)
    body = html(client.get("/dashboard/off-track?period=2026-10"))
    assert "Response rate" in body and "Cost per lead" not in body
    body = html(client.get("/dashboard/overruns?period=2026-10"))
    assert "Campaign management" in body and "20,000.00" in body
    assert "Call centre" not in body


def test_review_lists(page_client, dash_portfolio):
    client = page_client(dash_portfolio.steering)
    body = html(client.get("/dashboard/reviews"))
    assert "Sales portal" in body and ">10</td>" in body  # waiting 10 days
    assert "Data warehouse" not in body  # withdrawn
    body = html(client.get("/dashboard/overdue-reviews"))
    assert "Call centre" in body and "2026-07-01" in body


def test_snapshot_list_is_the_sum_behind_the_money_figures(page_client, dash_portfolio):
    body = html(page_client(dash_portfolio.crmo).get("/dashboard/projects?period=2026-10"))
    assert "Campaign management" in body and "Call centre" in body
    assert "120,000.00" in body and "50,000.00" in body


def test_empty_period_says_what_to_do(page_client, dash_portfolio):
    body = html(page_client(dash_portfolio.crmo).get("/?period=2025-01"))
    assert "No snapshots for 2025-01 yet" in body
    assert "roi_snapshot" in body
    assert re.search(r"You can run it now from (<a href=\"/jobs\">)?Jobs", body)
    body = html(page_client(dash_portfolio.manager).get("/dashboard/projects?period=2025-01"))
    assert "the CRMO can run it now from Jobs" in body


def test_no_programs_invites_the_crmo_to_create_one(page_client, make_user, dash_now):
    body = html(page_client(make_user("crmo")).get("/"))
    assert "Create the first program" in body


def test_manager_sees_their_unmeasured_projects(page_client, dash_portfolio, make_user):
    body = html(page_client(dash_portfolio.manager).get("/"))
    assert "Your projects with missing measurements" in body
    assert "Campaign management</a> — 2 missing since 2026-09" in body
    other = html(page_client(make_user("manager")).get("/"))
    assert "Every due measurement of your projects is in" in other
    mine = html(page_client(dash_portfolio.manager).get("/dashboard/unmeasured?mine=1"))
    assert "Campaign management" in mine


def test_steering_sees_what_waits_for_their_decision(page_client, dash_portfolio):
    body = html(page_client(dash_portfolio.steering).get("/"))
    assert "Waiting for your decision" in body
    assert "Sales portal</a> — evaluate gate" in body
    manager_of_p3 = page_client(dash_portfolio.p3.manager)
    assert "Waiting for your decision" not in html(manager_of_p3.get("/"))


def test_nobody_is_asked_to_decide_their_own_project(
    page_client, dash_portfolio, make_project, make_review
):
    own = make_project("Own project", program=dash_portfolio.campaigns, manager=dash_portfolio.crmo)
    make_review(own)
    body = html(page_client(dash_portfolio.crmo).get("/dashboard/reviews?mine=1"))
    assert "Sales portal" in body and "Own project" not in body
    body = html(page_client(dash_portfolio.crmo).get("/dashboard/reviews"))
    assert "Own project" in body


def test_overdue_review_respects_the_three_month_rule(page_client, dash_portfolio, make_project):
    make_project(
        "Recently reviewed",
        program=dash_portfolio.service,
        phase="manage",
        phase_entered_on=date(2026, 1, 1),
        last_review_on=date(2026, 8, 16),  # due 2026-11-16: not overdue on the 15th
    )
    body = html(page_client(dash_portfolio.crmo).get("/dashboard/overdue-reviews"))
    assert "Call centre" in body and "Recently reviewed" not in body


def test_each_kpi_status_count_links_to_its_list(page_client, dash_portfolio):
    client = page_client(dash_portfolio.crmo)
    body = html(client.get("/?period=2026-10"))
    for status in ("on_track", "at_risk", "off_track", "no_data"):
        assert f"/dashboard/off-track?status={status}&amp;period=2026-10" in body
    at_risk = html(client.get("/dashboard/off-track?status=at_risk&period=2026-10"))
    assert "At-risk KPIs" in at_risk and "First-call resolution" in at_risk
    assert "Response rate" not in at_risk
    assert 'name="status" value="at_risk"' in at_risk  # kept when the filters change
    on_track = html(client.get("/dashboard/off-track?status=on_track&period=2026-10"))
    assert "Cost per lead" in on_track
    assert "No KPI is without data in 2026-10" in html(
        client.get("/dashboard/off-track?status=no_data&period=2026-10")
    )


def test_an_unknown_kpi_status_is_explained(page_client, dash_portfolio):
    response = page_client(dash_portfolio.crmo).get("/dashboard/off-track?status=great")
    assert response.status_code == 422
    assert "&#39;great&#39; is not one of" in html(response)
