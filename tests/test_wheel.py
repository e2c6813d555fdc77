"""Deliverable 1 of issue 15: the built wheel is the whole app.

The wheel is built from a copy of the checkout, installed into a fresh virtualenv, and run
from an empty folder (no checkout on the path): it migrates the database, creates a user,
loads the demo, and gunicorn serves every page reachable from the dashboard with its
stylesheets and scripts. It fails if templates, static files or migrations are not in the
wheel, or if the app looks for them next to a checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[1]
# What the build does not need (and what a build leaves behind, which must not leak in).
NOT_FOR_THE_BUILD = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "instance",
    "test-artifacts",
    ".*_cache",
    ".hypothesis",
    "bench",
    "docs",
    "tests",
)
# Each top-level folder of the repository and where the wheel installs it.
RESOURCE_FOLDERS = {
    "templates": "crmphase/templates",
    "static": "crmphase/static",
    "migrations": "crmphase/migrations",
}
PASSWORD = "a password long enough for the policy"
JAVASCRIPT = ("text/javascript", "application/javascript")
MAX_PAGES = 300


def _run(command: list[str], *, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``crmphase-*.whl`` built from a clean copy of the checkout."""
    source = tmp_path_factory.mktemp("source") / "crmphase"
    shutil.copytree(CHECKOUT, source, ignore=NOT_FOR_THE_BUILD)
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source,
    )
    (built,) = out.glob("crmphase-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel and its dependencies (from the package index)."""
    path = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", str(path)])
    _run([str(path / "bin" / "pip"), "install", "--quiet", str(wheel)], timeout=900)
    return path


@pytest.fixture
def empty_folder(tmp_path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def _environment(venv: Path, folder: Path, database_url: str) -> dict[str, str]:
    """The environment of a new installation: nothing of the test run or the checkout."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CRMPHASE_", "FLASK_", "PYTHON", "TEST_"))
        and name not in {"DATABASE_URL", "SECRET_KEY", "VIRTUAL_ENV"}
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["CRMPHASE_INSTANCE_PATH"] = str(folder / "instance")
    env["CRMPHASE_SECURE_COOKIES"] = "0"  # plain http on the loopback
    if database_url.startswith("postgresql"):
        env["DATABASE_URL"] = database_url
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _PageParts(HTMLParser):
    """The links, stylesheets, scripts and the CSRF token of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.assets: list[str] = []
        self.csrf_token: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        elif tag == "link" and attributes.get("rel") in ("stylesheet", "icon"):
            self.assets.append(attributes["href"])
        elif tag == "script" and attributes.get("src"):
            self.assets.append(attributes["src"])
        elif tag == "input" and attributes.get("name") == "csrf_token":
            self.csrf_token = attributes.get("value")


def _parse(html: str) -> _PageParts:
    parts = _PageParts()
    parts.feed(html)
    return parts


class _Browser:
    """Just enough of a browser: cookies, redirects, and same-origin URLs."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            response = self.opener.open(urllib.parse.urljoin(self.base, path), body, timeout=30)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers.get_content_type(), error.read(), error.url
        with response:
            return (
                response.status,
                response.headers.get_content_type(),
                response.read(),
                (response.url),
            )


def _wait_until_serving(server: subprocess.Popen, browser: _Browser, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited:\n{log.read_text()}"
        try:
            status, *_ = browser.get("/login")
        except OSError:
            time.sleep(0.3)
            continue
        if status == 200:
            return
    pytest.fail("gunicorn did not answer within 60 s")


def test_the_wheel_holds_every_module_template_static_file_and_migration(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(path.relative_to(CHECKOUT))
        for path in (CHECKOUT / "crmphase").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    for folder, installed in RESOURCE_FOLDERS.items():
        files = [p for p in (CHECKOUT / folder).rglob("*") if p.is_file()]
        assert files, folder
        expected |= {
            f"{installed}/{path.relative_to(CHECKOUT / folder)}"
            for path in files
            if "__pycache__" not in path.parts
        }
    assert sorted(expected - names) == []
    assert not any(name.startswith(("templates/", "static/", "migrations/")) for name in names)


def test_the_console_script_has_the_flask_commands(venv, empty_folder):
    env = _environment(venv, empty_folder, database_url="")
    help_text = _run([str(venv / "bin" / "crmphase"), "--help"], cwd=empty_folder, env=env)
    for command in ("db", "users", "scheduler", "jobs", "export", "demo"):
        assert re.search(rf"^\s+{command}\s", help_text.stdout, re.MULTILINE), command


def test_the_installed_wheel_migrates_and_serves_every_page_from_an_empty_folder(
    venv, empty_folder, fresh_database_url
):
    env = _environment(venv, empty_folder, fresh_database_url)
    flask = [str(venv / "bin" / "flask"), "--app", "crmphase"]
    located = _run(
        [str(venv / "bin" / "python"), "-c", "import crmphase; print(crmphase.__file__)"],
        cwd=empty_folder,
        env=env,
    )
    assert Path(located.stdout.strip()).is_relative_to(venv), "crmphase came from elsewhere"

    _run([*flask, "db", "upgrade"], cwd=empty_folder, env=env)
    _run(
        [*flask, "users", "create", "officer@example.com", "--role", "crmo", "--password-stdin"],
        cwd=empty_folder,
        env=env,
        input=PASSWORD + "\n",
    )
    _run([str(venv / "bin" / "crmphase"), "demo"], cwd=empty_folder, env=env)
    if not fresh_database_url.startswith("postgresql"):
        assert (empty_folder / "instance" / "crmphase.sqlite3").is_file()
    assert (empty_folder / "instance" / "secret_key").is_file()

    port = _free_port()
    log = empty_folder / "gunicorn.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [
                str(venv / "bin" / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--no-control-socket",  # gunicorn's default socket lies in $HOME, shared
                "crmphase:create_app()",
            ],
            cwd=empty_folder,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        browser = _Browser(f"http://127.0.0.1:{port}")
        _wait_until_serving(server, browser, log)
        status, _, login_page, _ = browser.get("/login")
        token = _parse(login_page.decode()).csrf_token
        assert token, "the sign-in form has no CSRF token"
        status, kind, _, url = browser.get(
            "/login",
            {"csrf_token": token, "email": "officer@example.com", "password": PASSWORD},
        )
        assert (status, kind, urllib.parse.urlsplit(url).path) == (200, "text/html", "/")

        pages, assets, failures = _crawl(browser, start="/")
        assert failures == [], f"{failures}\n{log.read_text()}"
        assert len(pages) > 20, sorted(pages)  # the demo's programs, projects, gates, ...
        assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
        for asset in sorted({*assets, "/assets/plotly.min.js"}):
            status, kind, body, _ = browser.get(asset)
            expected = JAVASCRIPT if asset.endswith(".js") else None
            assert status == 200 and body, (asset, status)
            if asset.endswith(".css"):
                assert kind == "text/css", (asset, kind)
            elif expected:
                assert kind in expected, (asset, kind)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _crawl(browser: _Browser, start: str) -> tuple[set[str], set[str], list]:
    """Every same-origin page reachable by links from ``start`` (one URL per path: the
    other query strings of a page render the same template), up to ``MAX_PAGES``."""
    seen, assets, failures = {start}, set(), []
    queue = [start]
    while queue and len(seen) <= MAX_PAGES:
        url = queue.pop(0)
        status, kind, body, _ = browser.get(url)
        if status != 200:
            failures.append((url, status))
            continue
        if kind != "text/html":
            continue
        parts = _parse(body.decode())
        assets.update(urllib.parse.urlsplit(a).path for a in parts.assets)
        for link in parts.links:
            target = urllib.parse.urlsplit(urllib.parse.urljoin(url, link))
            if target.netloc or target.scheme or target.path in seen:
                continue
            seen.add(target.path)
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return seen, assets, failures
