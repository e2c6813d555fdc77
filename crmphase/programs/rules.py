"""What makes a program's or a project's fields valid (SPEC §2), as plain code.

Pure: each check reads plain values and adds its field errors to a :class:`FieldErrors`.
No Flask, no database: :mod:`crmphase.programs.services` asks the database what only it
knows (whether a name is taken, whether a user exists and may hold a position) between
these checks, so a form lists every error in the order of its fields.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from crmphase.errors import FieldErrors
from crmphase.money import MAX_MONEY

MAX_NAME = 120


class Department(enum.StrEnum):
    """The business department that owns a project (Gartner: business and IT share CRM)."""

    MARKETING = "marketing"
    SALES = "sales"
    SERVICE = "service"
    E_MARKETING = "e-marketing"
    IT = "it"
    OTHER = "other"


def clean_name(name: object) -> str:
    """A program's or project's name as it is saved: no spaces around."""
    return str(name or "").strip()


def check_name(name: str, what: str, errors: FieldErrors) -> bool:
    """Add the error of a blank or overlong name; True when the name itself is fine (then
    whether it is taken is worth asking)."""
    if not name:
        errors.add("name", f"a {what} needs a name")
        return False
    if len(name) > MAX_NAME:
        errors.add("name", f"use at most {MAX_NAME} characters")
        return False
    return True


def check_program_limits(data: Mapping[str, Any], errors: FieldErrors) -> None:
    """The program's discount rate, bite-size limits and measurement grace, each optional."""
    rate = data.get("discount_rate")
    if rate is not None and not (Decimal(0) <= Decimal(rate) < 1):
        errors.add(
            "discount_rate", "the annual discount rate is a fraction from 0 to below 1, e.g. 0.08"
        )
    months = data.get("bite_size_max_months")
    if months is not None and not 1 <= int(months) <= 120:
        errors.add("bite_size_max_months", "between 1 and 120 months")
    budget = data.get("bite_size_max_budget")
    if budget is not None and not (0 < Decimal(budget) <= MAX_MONEY):
        errors.add("bite_size_max_budget", "a positive amount, or leave it empty")
    grace = data.get("measurement_grace_days")
    if grace is not None and not 0 <= int(grace) <= 90:
        errors.add("measurement_grace_days", "between 0 and 90 days")


def check_department(department: object, errors: FieldErrors) -> None:
    """Every project belongs to one of the departments of :class:`Department`."""
    if department not in {d.value for d in Department}:
        errors.add("department", f"choose one of {', '.join(d.value for d in Department)}")


def check_project_plan(data: Mapping[str, Any], errors: FieldErrors) -> None:
    """The project's budget, planned dates and leads' names, each optional."""
    budget = data.get("budget")
    if budget is not None and not (Decimal(0) <= Decimal(budget) <= MAX_MONEY):
        errors.add("budget", "the budget cannot be negative")
    start: date | None = data.get("planned_start")
    end: date | None = data.get("planned_end")
    if start and end and end < start:
        errors.add("planned_end", "the planned end is before the planned start")
    for field in ("business_lead", "it_lead"):
        if len(data.get(field) or "") > MAX_NAME:
            errors.add(field, f"use at most {MAX_NAME} characters")
