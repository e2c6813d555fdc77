"""``flask demo``: a realistic portfolio drawn from the seeds. Running it twice adds nothing.

The builder, in the order it runs: :mod:`~crmphase.demo.portfolio` (people, programs and
projects), :mod:`~crmphase.demo.metrics` (KPIs, measurements and money, seeded for the phase
each project will reach), then :mod:`~crmphase.demo.gates` (the gates walked on the
projects' planned dates through the real decisions).
"""

from __future__ import annotations

import click
from flask import Flask

from crmphase.demo.gates import add_demo_gates, leave_a_review_waiting
from crmphase.demo.metrics import load_metrics_demo
from crmphase.demo.portfolio import (
    DEMO_PASSWORD,
    USERS,
    demo_project_targets,
    load_programs,
    load_projects,
    load_users,
)


def load_demo() -> list[str]:
    """Load the demo portfolio; return lines to print (the logins)."""
    created = load_users()
    load_programs()
    load_projects()
    targets = demo_project_targets()
    metric_lines = load_metrics_demo(targets.keys(), phases=targets)
    gate_lines = add_demo_gates(targets)
    gate_lines += leave_a_review_waiting("Field service scheduling")
    lines = [f"demo loaded ({len(created)} new users)", "", "Sign in at http://127.0.0.1:5000 as:"]
    for email, _name, role in USERS:
        lines.append(f"  {role:<9} {email:<32} password: {DEMO_PASSWORD}")
    return lines + metric_lines + gate_lines


@click.command("demo", help="Load the demo portfolio (idempotent) and print the logins.")
def demo_command():
    for line in load_demo():
        click.echo(line)


def init_app(app: Flask) -> None:
    """Register ``flask demo``."""
    app.cli.add_command(demo_command)
