"""The demo portfolio's people, programs and projects, drawn from the seeds (Gartner's CRM
Summit advice): a customer database and campaign project owned by marketing, a contact
center owned by service, sales-force automation owned by sales, and a steering committee of
their executives.

Everything is created through the domains' services (so the audit trail tells the story),
each object looked up by its natural key first, so running it twice adds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crmphase import clock
from crmphase.auth.loaders import user_by_email
from crmphase.auth.models import User
from crmphase.auth.services import create_user
from crmphase.extensions import db
from crmphase.programs.models import Program, Project
from crmphase.programs.services import create_program, create_project

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
    user = user_by_email(email)
    assert user is not None, f"the demo user {email} is loaded first"
    return user


def load_users() -> list[str]:
    """Create the demo users that do not exist yet; return their emails."""
    created = []
    for email, name, role in USERS:
        if user_by_email(email) is None:
            create_user(email, role, DEMO_PASSWORD, name=name)
            created.append(email)
    return created


def load_programs() -> None:
    """Create the demo programs that do not exist yet, run by the demo CRMO."""
    crmo = _user("crmo@demo.crmphase")
    for spec in PROGRAMS:
        if db.session.scalar(sa.select(Program.id).where(Program.name == spec["name"])):
            continue
        create_program(
            crmo,
            {
                "name": spec["name"],
                "objective": spec["objective"],
                "executive_sponsor": spec["executive_sponsor"],
                "crmo_id": crmo.id,
                "discount_rate": Decimal("0.08"),
                "bite_size_max_months": 6,
                "measurement_grace_days": 10,
                "steering_member_ids": [_user(email).id for email in spec["steering"]],
            },
        )


def load_projects() -> None:
    """Create the demo projects that do not exist yet, each by its manager, in strategize.

    A project is created three months before its planned start (the day its strategize
    phase began), so that its gates can be taken on the dates :mod:`crmphase.demo.gates`
    gives them."""
    analyst = _user("analyst@demo.crmphase")
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
        program_id = db.session.scalar(sa.select(Program.id).where(Program.name == program_name))
        exists = db.session.scalar(
            sa.select(Project.id).where(Project.program_id == program_id, Project.name == name)
        )
        if exists:
            continue
        manager_user = _user(manager)
        created_at = datetime.combine(
            (start or date(2026, 9, 1)) - timedelta(days=90), time(9), tzinfo=UTC
        )
        with clock.frozen(created_at):
            create_project(
                manager_user,
                {
                    "program_id": program_id,
                    "name": name,
                    "department": department,
                    "manager_id": manager_user.id,
                    "objective": objective,
                    "customer_need": need,
                    "business_lead": business_lead,
                    "it_lead": it_lead,
                    "budget": Decimal(budget) if budget else None,
                    "planned_start": start,
                    "planned_end": end,
                    "team_member_ids": [analyst.id],
                },
            )


def demo_project_targets() -> dict[str, str]:
    """Project name → the phase the demo should bring it to."""
    return {spec[1]: spec[4] for spec in PROJECTS}
