"""Browser tests: a live server on 127.0.0.1 driven by real headless Chromium.

Chromium is Debian's ``chromium`` package, driven by Playwright's sync API through
``executable_path`` (never ``playwright install``). Without it these tests skip with a
message saying how to install it; with ``CI`` set they fail instead.

Reusable pieces (for the gate-flow test and others):

- ``live_server`` — the base URL of a server with CSRF on, on the test database;
- ``db`` — overridden here to really commit (tables emptied after each test), so the
  factories (``make_user``, ``make_project``, ...) write data the server sees;
- ``page`` — a fresh browser context and page per test; any JavaScript error or
  Content-Security-Policy violation fails the test;
- ``browser_login(page, user)`` — signs in through the login page;
- ``screenshot(page, name)`` — a full-page PNG in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD, is_postgres

CHROMIUM = os.environ.get("CRMPHASE_CHROMIUM", "/usr/bin/chromium")
# Headless, sandbox off (CI runs as root), and nothing that reaches out to the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
]
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}


def _chromium_or_skip() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path:
        return path
    message = (
        f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` "
        "(Debian) to run the browser tests, or set CRMPHASE_CHROMIUM to its path"
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def db(committed_db):
    """Browser tests need data another thread can read: real commits, emptied after.

    Objects stay loaded after a commit, so reading ``user.email`` in a test starts no
    transaction (on SQLite every transaction outside a GET request takes the write lock,
    which would make the server wait). A test that queries should commit afterwards.
    """
    committed_db.session.remove()
    committed_db.session.configure(expire_on_commit=False)
    try:
        yield committed_db
    finally:
        committed_db.session.remove()
        committed_db.session.configure(expire_on_commit=True)


@pytest.fixture(scope="session")
def live_app(app, database_url, tmp_path_factory):
    """A second app on the same (already migrated) database, as production runs it:
    CSRF on, rate limits off, cookies allowed over plain http on 127.0.0.1."""
    from crmphase import create_app

    return create_app(
        {
            "TESTING": False,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}
            if is_postgres(database_url)
            else {"connect_args": {"timeout": 15, "check_same_thread": False}},
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "CRMPHASE_EXPORT_DIR": str(tmp_path_factory.mktemp("live-exports")),
            "SERVER_NAME": None,
        }
    )


@pytest.fixture(scope="session")
def live_server(live_app):
    """The base URL of ``live_app`` served by werkzeug in a thread on a free port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with live_app.app_context():
            from crmphase.extensions import db as _db

            _db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


class BrowserProblems:
    """Console errors, CSP violations and uncaught exceptions seen by a page."""

    def __init__(self):
        self.messages: list[str] = []
        self.expected: list[str] = []

    def expect(self, text: str) -> None:
        """Tolerate console errors containing ``text`` (e.g. a page that answers 400 on
        purpose). CSP violations and uncaught exceptions are never tolerated."""
        self.expected.append(text)

    def console(self, message) -> None:
        text = message.text
        csp = "Content-Security-Policy" in text or "Content Security Policy" in text
        if not csp and any(part in text for part in self.expected):
            return
        if message.type == "error" or csp:
            self.messages.append(f"console {message.type}: {text}")

    def page_error(self, error) -> None:
        self.messages.append(f"page error: {error}")

    def request(self, request) -> None:
        """Pages must work offline: nothing may be fetched from another host (no CDN)."""
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http://", "https://")) and host != "127.0.0.1":
            self.messages.append(f"request to another host: {request.url}")

    def watch(self, page) -> None:
        page.on("console", self.console)
        page.on("pageerror", self.page_error)
        page.on("request", self.request)


@pytest.fixture
def page(browser, live_server, request):
    """A new context and page per test, at laptop size; fails the test on any JS error
    or CSP violation, and writes a screenshot when the test failed."""
    context = browser.new_context(base_url=live_server, viewport=LAPTOP)
    context.set_default_timeout(15000)
    page = context.new_page()
    problems = BrowserProblems()
    problems.watch(page)
    page.problems = problems
    yield page
    try:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            _write_screenshot(page, f"FAILED-{request.node.name}")
    finally:
        context.close()
    assert not problems.messages, "the browser reported:\n" + "\n".join(problems.messages)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _artifacts() -> Path:
    path = Path(os.environ.get("CRMPHASE_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_screenshot(page, name: str) -> Path:
    path = _artifacts() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot():
    """``screenshot(page, "dashboard")`` → ``test-artifacts/dashboard.png`` (full page)."""
    return _write_screenshot


def sign_in(page, user, password: str = PASSWORD) -> None:
    """Sign ``user`` in through the login page (a real form, with its CSRF token)."""
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def browser_login():
    """``browser_login(page, user)`` signs in through the login page."""
    return sign_in
