"""Item 1 of the trust issue: security headers on every answer, and a Content-Security-Policy
without inline scripts or styles that every template can live with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crmphase.assets import TEMPLATES, installed_path
from crmphase.web import CONTENT_SECURITY_POLICY

TEMPLATE_FOLDER = installed_path(TEMPLATES)
TEMPLATE_FILES = sorted(TEMPLATE_FOLDER.rglob("*.html"))


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_the_policy_allows_no_inline_or_eval_code():
    directives = _directives(CONTENT_SECURITY_POLICY)
    for name in ("script-src", "default-src"):
        sources = directives.get(name, [])
        assert "'unsafe-inline'" not in sources, name
        assert "'unsafe-eval'" not in sources, name
        assert "*" not in sources and "data:" not in sources, name
    # Inline styles are allowed because plotly.js injects its own style rules at run time;
    # the templates still hold none (checked below), and no style source is foreign.
    style = directives["style-src"]
    assert "'unsafe-eval'" not in style and "*" not in style and "data:" not in style
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]


@pytest.mark.parametrize(
    "path", ["/login", "/healthz", "/api/v1/openapi.json", "/static/css/app.css", "/nope"]
)
def test_every_kind_of_answer_carries_the_security_headers(client, path):
    with client.get(path) as response:
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "camera=()" in headers["Permissions-Policy"]


def test_signed_in_pages_are_not_cached(page_client, make_user):
    response = page_client(make_user("viewer")).get("/account/tokens")
    assert response.headers["Cache-Control"] == "no-store"


def test_hsts_is_sent_over_https(client):
    response = client.get("/login", base_url="https://localhost")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_a_404_page_does_not_echo_the_path_unescaped(client):
    response = client.get("/<script>alert(1)</script>")
    assert response.status_code == 404
    assert b"<script>alert(1)</script>" not in response.data


def test_every_template_compiles(app):
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        app.jinja_env.get_template(name)


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATE_FOLDER)))
def test_templates_hold_nothing_the_policy_would_block(path: Path):
    """What the CSP refuses in a browser, refused here first: inline <script> blocks,
    <style> blocks, style="..." attributes, on*="..." handlers, javascript: URLs, and
    scripts or styles from other sites."""
    text = path.read_text()
    # A downloaded, standalone document (the monthly review) carries its own CSS so that it
    # works offline; the app never renders that branch (it links the stylesheet instead).
    text = re.sub(r"\{% if embedded_css %\}<style>.*?</style>", "", text, flags=re.S)
    problems = []
    for match in re.finditer(r"<script\b([^>]*)>", text, re.I):
        attributes = match.group(1)
        is_data_block = re.search(r'type="application/json"', attributes)  # never executed
        if "src=" not in attributes and not is_data_block:
            problems.append("an inline <script> block (put it in static/js/)")
    if re.search(r"<style\b", text, re.I):
        problems.append("a <style> block (put it in static/css/app.css)")
    if re.search(r"\sstyle\s*=", text, re.I):
        problems.append("a style= attribute (use a class from static/css/app.css)")
    if re.search(r"\son[a-z]+\s*=", text, re.I):
        problems.append("an on...= event handler (attach it from a static/js file)")
    if re.search(r"javascript:", text, re.I):
        problems.append("a javascript: URL")
    if re.search(r"""(src|href)\s*=\s*["']https?://""", text, re.I):
        problems.append("a script, style or image from another site")
    assert not problems, f"{path.name}: {problems}"
