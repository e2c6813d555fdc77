"""The gate flow through the pages, in real Chromium: a manager ticks the manual criteria and
requests a review, a steering member approves it, and the project shows in its new phase.
"""

import re
from decimal import Decimal

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def strategize_project(make_user, make_program, make_project, make_kpi):
    """A project in strategize whose auto criteria are met (objective, both leads, a KPI
    with baseline, target and target period); only the manual criteria are left."""
    manager = make_user("manager", name="Paula Manager")
    steering = make_user("steering", name="Sven Steering")
    program = make_program("Customer Knowledge")
    project = make_project(
        "Campaign management", program=program, manager=manager, phase="strategize"
    )
    make_kpi(
        project,
        name="Campaign response rate",
        baseline_value=Decimal("2.0"),
        target_value=Decimal("4.0"),
        target_period="2026-12",
        owner_id=manager.id,
    )
    return project, manager, steering


def test_manager_requests_and_steering_approves_through_the_pages(
    page, strategize_project, browser_login, screenshot
):
    project, manager, steering = strategize_project

    browser_login(page, manager)
    page.goto(f"/projects/{project.id}")
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Gate").click()
    page.wait_for_url(re.compile(rf"/projects/{project.id}/gate"))
    while page.get_by_role("button", name="Tick", exact=True).count():
        row = page.locator("tr", has=page.get_by_role("button", name="Tick", exact=True)).first
        row.locator("textarea").fill("Agreed in the kick-off workshop with the business")
        row.get_by_role("button", name="Tick", exact=True).click()
        page.wait_for_load_state()
        assert "Criterion ticked." in page.inner_text("main")
    page.get_by_role("button", name="Request review").click()
    page.wait_for_load_state()
    assert "Review requested" in page.inner_text("main")
    screenshot(page, "gate-review-requested")
    page.context.clear_cookies()

    browser_login(page, steering)
    page.get_by_role("link", name=re.compile("Waiting for my decision")).click()
    item = page.locator(".queue-item", has_text="Campaign management")
    item.get_by_label("Decision").select_option("go")
    item.get_by_label("Rationale").fill("Business case owned by marketing; proceed to evaluate.")
    item.get_by_role("button", name="Record decision").click()
    page.wait_for_load_state()

    page.goto(f"/projects/{project.id}")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert "evaluate" in heading.lower() and "strategize" not in heading.lower()
    screenshot(page, "gate-approved")
    page.goto("/")
    assert page.get_by_role("link", name="1 active in evaluate").is_visible()
