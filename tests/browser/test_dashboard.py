"""What a CRMO sees: the dashboard in real headless Chromium, under the app's CSP."""

import re

import pytest

from tests.browser.conftest import TABLET

pytestmark = pytest.mark.browser

CHARTS = ("chart-coverage", "chart-roi", "chart-money", "chart-kpis", "chart-overruns")


def wait_for_charts(page, charts=CHARTS) -> None:
    for chart in charts:
        page.wait_for_selector(f'#{chart}[data-rendered="true"]', state="attached")


def test_login_and_the_charts_render_with_data(page, dash_portfolio, browser_login, screenshot):
    page.goto("/")
    assert "/login" in page.url  # the dashboard needs a signed-in user
    browser_login(page, dash_portfolio.crmo)
    assert re.search(r"/(\?.*)?$", page.url)
    assert page.get_by_role("heading", level=1, name=re.compile("Portfolio")).is_visible()
    wait_for_charts(page)
    # Plotly drew real marks from the data: ROI lines for both programs, four status bars.
    assert page.locator("#chart-roi .scatterlayer .trace").count() == 2
    assert page.locator("#chart-kpis .bars .point").count() == 4
    assert page.locator("#chart-overruns .bars .point").count() >= 2
    legend = page.locator("#chart-roi .legend").text_content()
    assert "Campaigns" in legend and "Service" in legend
    assert page.locator("#tile-coverage b").inner_text() == "66.7 %"
    screenshot(page, "dashboard-laptop")


def test_a_headline_figure_links_through_to_its_list(
    page, dash_portfolio, browser_login, screenshot
):
    browser_login(page, dash_portfolio.crmo)
    page.locator("#tile-unmeasured").click()
    page.wait_for_url(re.compile(r"/dashboard/unmeasured\?period=2026-10$"))
    row = page.get_by_role("row", name=re.compile("Campaign management"))
    assert "2026-09" in row.inner_text()
    screenshot(page, "dashboard-unmeasured")
    row.get_by_role("link", name="Campaign management").click()
    page.wait_for_url(re.compile(rf"/projects/{dash_portfolio.p1.id}$"))
    assert page.get_by_role("heading", name=re.compile("Campaign management")).is_visible()


def test_funnel_cell_opens_the_filtered_project_list(page, dash_portfolio, browser_login):
    browser_login(page, dash_portfolio.steering)
    page.get_by_role("link", name="1 on_hold in strategize").click()
    page.wait_for_url(re.compile(r"/projects\?phase=strategize&state=on_hold$"))
    assert page.get_by_role("link", name="Data warehouse").is_visible()
    assert page.get_by_role("link", name="Campaign management").count() == 0


def test_filters_are_in_the_url_and_work_from_the_keyboard(page, dash_portfolio, browser_login):
    browser_login(page, dash_portfolio.crmo)
    page.get_by_label("Program", exact=True).select_option(label="Service")
    page.get_by_label("Period", exact=True).focus()
    page.keyboard.press("Enter")  # submits the filter form
    page.wait_for_url(re.compile(rf"program_id={dash_portfolio.service.id}"))
    assert "period=2026-10" in page.url
    assert page.locator("#tile-roi b").inner_text() == "80 %"
    page.reload()  # a bookmark shows the same
    assert page.get_by_label("Program", exact=True).input_value() == str(dash_portfolio.service.id)
    wait_for_charts(page, CHARTS[:4])  # no overrun in Service: that card says so instead
    assert "No project has spent more than its budget" in page.inner_text("main")


def test_a_bad_period_in_the_url_is_explained(page, dash_portfolio, browser_login):
    browser_login(page, dash_portfolio.crmo)
    page.problems.expect("status of 400")
    response = page.goto("/?period=2026-13")
    assert response.status == 400
    assert "month must be 01 to 12" in page.get_by_role("alert").first.inner_text()
    wait_for_charts(page)  # the default period is still shown


def test_tablet_width_has_no_sideways_scrolling(
    browser, live_server, dash_portfolio, screenshot, artifacts_dir
):
    from tests.browser.conftest import BrowserProblems, sign_in

    context = browser.new_context(base_url=live_server, viewport=TABLET, has_touch=True)
    try:
        page = context.new_page()
        problems = BrowserProblems()
        problems.watch(page)
        sign_in(page, dash_portfolio.crmo)
        wait_for_charts(page)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        box = page.locator("#chart-roi").bounding_box()
        assert box["width"] <= TABLET["width"]
        screenshot(page, "dashboard-tablet")
        page.screenshot(path=str(artifacts_dir / "dashboard-tablet-first-screen.png"))
        assert not problems.messages, problems.messages
    finally:
        context.close()


def test_roles_see_what_they_can_do(page, dash_portfolio, browser_login):
    browser_login(page, dash_portfolio.manager)
    assert page.get_by_role("heading", name=re.compile("Your projects with missing")).is_visible()
    assert page.get_by_role("link", name="My projects").is_visible()
    page.context.clear_cookies()
    browser_login(page, dash_portfolio.steering)
    assert page.get_by_role("heading", name=re.compile("Waiting for your decision")).is_visible()
    page.get_by_role("link", name="Sales portal").first.click()
    page.wait_for_url(re.compile(rf"/projects/{dash_portfolio.p3.id}$"))


def test_the_csp_guard_catches_inline_script(page, dash_portfolio, browser_login):
    """The app's CSP refuses inline script, and this suite notices when a page has one."""
    browser_login(page, dash_portfolio.crmo)
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.injected = true"; document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected") is None
    assert any("Content Security Policy" in m for m in page.problems.messages)
    page.problems.messages.clear()  # the violation was the point of this test
