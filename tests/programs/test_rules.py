"""The field rules of programs and projects (SPEC §2), without an app."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crmphase.errors import FieldErrors
from crmphase.programs.rules import (
    check_department,
    check_name,
    check_program_limits,
    check_project_plan,
    clean_name,
)


def errors_of(check, *args) -> list[tuple[str, str]]:
    errors = FieldErrors()
    check(*args, errors)
    return [(e.field, e.message) for e in errors.errors]


@pytest.mark.parametrize(
    ("name", "fine", "errors"),
    [
        ("Loyalty", True, []),
        ("", False, [("name", "a project needs a name")]),
        ("x" * 121, False, [("name", "use at most 120 characters")]),
        ("x" * 120, True, []),
    ],
)
def test_a_name_is_needed_and_short(name, fine, errors):
    collected = FieldErrors()
    assert check_name(name, "project", collected) is fine
    assert [(e.field, e.message) for e in collected.errors] == errors


def test_names_are_saved_without_spaces_around():
    assert clean_name("  Loyalty pilot ") == "Loyalty pilot"
    assert clean_name(None) == ""


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, []),
        ({"discount_rate": Decimal("0.08"), "bite_size_max_months": 6}, []),
        ({"discount_rate": Decimal("1")}, ["discount_rate"]),
        ({"discount_rate": Decimal("-0.01")}, ["discount_rate"]),
        ({"bite_size_max_months": 0}, ["bite_size_max_months"]),
        ({"bite_size_max_months": 121}, ["bite_size_max_months"]),
        ({"bite_size_max_budget": Decimal("0")}, ["bite_size_max_budget"]),
        ({"measurement_grace_days": 91}, ["measurement_grace_days"]),
        (
            {"discount_rate": Decimal("2"), "measurement_grace_days": -1},
            ["discount_rate", "measurement_grace_days"],
        ),
    ],
)
def test_program_limits(data, fields):
    assert [field for field, _ in errors_of(check_program_limits, data)] == fields


@pytest.mark.parametrize(("department", "fine"), [("sales", True), ("legal", False), (None, False)])
def test_a_project_belongs_to_a_known_department(department, fine):
    assert (errors_of(check_department, department) == []) is fine


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, []),
        ({"budget": Decimal("-1")}, ["budget"]),
        ({"planned_start": date(2026, 3, 1), "planned_end": date(2026, 2, 28)}, ["planned_end"]),
        ({"planned_start": date(2026, 3, 1), "planned_end": date(2026, 3, 1)}, []),
        ({"business_lead": "b" * 121, "it_lead": "i" * 121}, ["business_lead", "it_lead"]),
    ],
)
def test_project_plan(data, fields):
    assert [field for field, _ in errors_of(check_project_plan, data)] == fields
