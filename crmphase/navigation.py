"""The main navigation and the project page's tabs, extended by each domain.

A domain registers its entries where its views are defined, so that adding a page never
means editing another domain's template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, request, url_for
from flask_login import current_user

from crmphase.auth.rules import Action, can
from crmphase.extensions import db


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    order: int = 50
    action: Action | None = None  # shown to whoever the policy lets do it; None: everyone
    url_kwargs: Callable[[object], dict] | None = None
    # A statement that counts something for the signed-in user (bound as ``:user_id``);
    # the navigation runs every entry's count in one statement.
    count: Callable[[], sa.Select] | None = None


@dataclass(frozen=True)
class ProjectTab:
    key: str
    label: str
    endpoint: str
    order: int = 50


NAV_ENTRIES: dict[str, NavEntry] = {}
PROJECT_TABS: dict[str, ProjectTab] = {}


def add_nav(entry: NavEntry) -> None:
    NAV_ENTRIES[entry.label] = entry


def add_project_tab(tab: ProjectTab) -> None:
    PROJECT_TABS[tab.key] = tab


def _url(endpoint: str, kwargs: dict) -> str:
    """``url_for(endpoint, **kwargs)``, remembered per app and script root: the main
    navigation builds the same dozen URLs on every page."""
    key = (endpoint, tuple(sorted(kwargs.items())), request.script_root)
    urls = current_app.extensions.setdefault("crmphase_navigation_urls", {})
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for(endpoint, **kwargs)
    return url


def _counts_statement(entries: tuple[NavEntry, ...]) -> sa.Select[Any]:
    """One statement selecting each counted entry's count, remembered per app and set of
    entries."""
    statements = current_app.extensions.setdefault("crmphase_navigation_counts", {})
    key = tuple(entry.label for entry in entries)
    statement = statements.get(key)
    if statement is None:
        statement = statements[key] = sa.select(
            *(entry.count().scalar_subquery() for entry in entries if entry.count is not None)
        )
    return statement


def navigation_for(user: Any) -> list[dict[str, Any]]:
    """The main navigation of ``user``: the entries the policy lets them use, with counts."""
    shown = [
        entry
        for entry in sorted(NAV_ENTRIES.values(), key=lambda e: (e.order, e.label))
        if entry.action is None or can(user, entry.action)
    ]
    counted = tuple(entry for entry in shown if entry.count)
    counts = {}
    if counted:
        # Counts only, no entities: run on the session's connection, past the ORM's steps.
        statement = _counts_statement(counted)
        row = db.session.connection().execute(statement, {"user_id": user.id}).one()
        counts = {entry.label: int(n or 0) for entry, n in zip(counted, row, strict=True)}
    items = []
    for entry in shown:
        kwargs = entry.url_kwargs(user) if entry.url_kwargs else {}
        url = _url(entry.endpoint, kwargs)
        items.append(
            {
                "label": entry.label,
                "url": url,
                "active": request.path == url.split("?")[0] and not kwargs,
                "count": counts.get(entry.label),
            }
        )
    return items


def project_tabs() -> list[ProjectTab]:
    return sorted(PROJECT_TABS.values(), key=lambda t: (t.order, t.label))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["navigation"] = lambda: navigation_for(current_user)
    app.jinja_env.globals["project_tabs"] = project_tabs


add_nav(NavEntry("Dashboard", "dashboard.index", order=0))
add_nav(NavEntry("Programs", "programs.program_list", order=20))
add_nav(NavEntry("Projects", "programs.project_list", order=10))
add_nav(
    NavEntry(
        "My projects",
        "programs.project_list",
        order=11,
        action=Action.PROJECT_LIST_OWN,
        url_kwargs=lambda user: {"mine": "1"},
    )
)
add_project_tab(ProjectTab("overview", "Overview", "programs.project_detail", order=0))
add_project_tab(ProjectTab("events", "History", "programs.project_events", order=90))
