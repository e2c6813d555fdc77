"""The demo portfolio, drawn from the seeds (Gartner's CRM Summit advice): a customer
database and campaign project owned by marketing, a contact center owned by service,
sales-force automation owned by sales, and a steering committee of their executives.

Every step looks its objects up by natural key first, so running it twice adds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crmphase.auth.models import User
from crmphase.auth.passwords import hash_password
from crmphase.extensions import db
from crmphase.phases.services import enter_gate
from crmphase.programs.models import Program, Project

DEMO_PASSWORD = "crmphase-demo"

USERS = [
    ("crmo@demo.crmphase", "Carla Moreno", "crmo"),
    ("marketing.exec@demo.crmphase", "Maria Keller", "steering"),
    ("sales.exec@demo.crmphase", "Sam Ortega", "steering"),
    ("service.exec@demo.crmphase", "Siobhan Vance", "steering"),
    ("pm.marketing@demo.crmphase", "Paul Martin", "manager"),
    ("pm.service@demo.crmphase", "Priya Shah", "manager"),
    ("pm.sales@demo.crmphase", "Peter Sales", "manager"),
    ("analyst@demo.crmphase", "Ana Lytic", "viewer"),
]

PROGRAMS = [
    {
        "name": "Customer Knowledge",
        "objective": "Know every customer across marketing, sales and service, and use that "
        "knowledge in every contact.",
        "executive_sponsor": "Maria Keller, Chief Marketing Officer",
        "steering": [
            "marketing.exec@demo.crmphase",
            "sales.exec@demo.crmphase",
            "service.exec@demo.crmphase",
        ],
    },
    {
        "name": "Service Excellence",
        "objective": "Resolve customer requests at first contact, in every channel.",
        "executive_sponsor": "Siobhan Vance, VP Customer Service",
        "steering": ["service.exec@demo.crmphase", "sales.exec@demo.crmphase"],
    },
]

# (program, name, department, manager, phase, objective, customer need, business lead,
#  IT lead, budget, planned start, planned end)
PROJECTS = [
    (
        "Customer Knowledge",
        "Customer database and campaign management",
        "marketing",
        "pm.marketing@demo.crmphase",
        "manage",
        "One customer database that marketing uses to plan, run and measure campaigns.",
        "Customers want offers that fit them, not mass mailings.",
        "Maria Keller (Marketing)",
        "Ivan Petrov (IT)",
        "180000.00",
        date(2025, 1, 6),
        date(2025, 6, 30),
    ),
    (
        "Customer Knowledge",
        "Sales-force automation",
        "sales",
        "pm.sales@demo.crmphase",
        "execute",
        "Give the sales force one view of accounts, opportunities and contacts.",
        "Customers expect the account manager to know their history.",
        "Sam Ortega (Sales)",
        "Ivan Petrov (IT)",
        "220000.00",
        date(2025, 9, 1),
        date(2026, 2, 28),
    ),
    (
        "Customer Knowledge",
        "E-marketing self-service portal",
        "e-marketing",
        "pm.marketing@demo.crmphase",
        "evaluate",
        "Let customers manage their preferences and subscriptions online.",
        "Customers want to choose what we send them.",
        "Maria Keller (Marketing)",
        "Lena Fischer (IT)",
        "90000.00",
        date(2026, 9, 1),
        date(2027, 1, 31),
    ),
    (
        "Service Excellence",
        "Contact center consolidation",
        "service",
        "pm.service@demo.crmphase",
        "execute",
        "Bring three call centers onto one contact-center platform with case history.",
        "Customers do not want to repeat themselves.",
        "Siobhan Vance (Service)",
        "Lena Fischer (IT)",
        "260000.00",
        date(2025, 11, 3),
        date(2026, 4, 30),
    ),
    (
        "Service Excellence",
        "Field service scheduling",
        "service",
        "pm.service@demo.crmphase",
        "strategize",
        "Offer customers two-hour windows for field visits.",
        "",
        "Siobhan Vance (Service)",
        "",
        None,
        None,
        None,
    ),
]


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def load_users() -> list[str]:
    created = []
    password_hash = None
    for email, name, role in USERS:
        if _user(email) is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            db.session.add(User(email=email, name=name, role=role, password_hash=password_hash))
            created.append(email)
    db.session.commit()
    return created


def load_programs() -> None:
    crmo = _user("crmo@demo.crmphase")
    for spec in PROGRAMS:
        program = db.session.scalar(sa.select(Program).where(Program.name == spec["name"]))
        if program is None:
            program = Program(
                name=spec["name"],
                objective=spec["objective"],
                executive_sponsor=spec["executive_sponsor"],
                crmo=crmo,
                discount_rate=Decimal("0.08"),
                bite_size_max_months=6,
                measurement_grace_days=10,
            )
            program.steering_members = [_user(email) for email in spec["steering"]]
            db.session.add(program)
    db.session.commit()


def load_projects() -> None:
    for (
        program_name,
        name,
        department,
        manager,
        _phase,
        objective,
        need,
        business_lead,
        it_lead,
        budget,
        start,
        end,
    ) in PROJECTS:
        program = db.session.scalar(sa.select(Program).where(Program.name == program_name))
        exists = db.session.scalar(
            sa.select(Project.id).where(Project.program_id == program.id, Project.name == name)
        )
        if exists:
            continue
        manager_user, analyst = _user(manager), _user("analyst@demo.crmphase")
        project = Project(
            program=program,
            name=name,
            department=department,
            manager=manager_user,
            objective=objective,
            customer_need=need,
            business_lead=business_lead,
            it_lead=it_lead,
            budget=Decimal(budget) if budget else None,
            planned_start=start,
            planned_end=end,
            phase="strategize",
            phase_entered_on=start or date(2026, 9, 1),
            # the project existed before its first gate (two months before the start)
            created_at=datetime.combine(
                (start or date(2026, 9, 1)) - timedelta(days=90), time(9), tzinfo=UTC
            ),
        )
        project.team_members = [analyst]
        db.session.add(project)
        db.session.flush()
        enter_gate(project)
    db.session.commit()


def demo_project_targets() -> dict[str, str]:
    """Project name → the phase the demo should bring it to."""
    return {spec[1]: spec[4] for spec in PROJECTS}


def _leave_a_review_waiting(project_name: str) -> list[str]:
    """The steering queue of a real program is rarely empty: one manager asks for a review."""
    from crmphase.phases import services as gates

    project = db.session.scalar(sa.select(Project).where(Project.name == project_name))
    if project is None or gates.pending_review(project.id) is not None:
        return []
    gates.request_review(project.manager, project, "Can we start evaluating vendors?")
    return [f"gates: a review of '{project_name}' waits for the steering committee"]


def load_demo() -> list[str]:
    """Load the demo portfolio; return lines to print (the logins)."""
    created = load_users()
    load_programs()
    load_projects()
    # Each domain adds its part: KPIs, measurements and money first (seeded for the phase
    # each project will reach), then the gates walked on the projects' planned dates.
    from crmphase.metrics.demo import load_metrics_demo
    from crmphase.phases.demo import add_demo_gates

    metric_lines = load_metrics_demo(demo_project_targets().keys(), phases=demo_project_targets())
    gate_lines = add_demo_gates()
    gate_lines += _leave_a_review_waiting("Field service scheduling")
    lines = [f"demo loaded ({len(created)} new users)", "", "Sign in at http://127.0.0.1:5000 as:"]
    for email, _name, role in USERS:
        lines.append(f"  {role:<9} {email:<32} password: {DEMO_PASSWORD}")
    return lines + metric_lines + gate_lines
