"""The ``crmphase`` console script: the same commands as ``flask --app crmphase``."""

from __future__ import annotations

from flask.cli import FlaskGroup

from crmphase import create_app

main = FlaskGroup(
    name="crmphase",
    create_app=create_app,
    help="crmphase: every command of `flask --app crmphase` (db, users, scheduler, jobs, ...).",
)
