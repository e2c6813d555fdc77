"""Gate criteria of SPEC §3 as pure rules: phases, defaults, auto criteria, gate status."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmphase.phases.rules import (
    AUTO_KEYS,
    DEFAULT_CRITERIA,
    PHASE_ORDER,
    CriterionDefinition,
    CriterionKind,
    CriterionResult,
    CriterionState,
    DecisionKind,
    GateStatus,
    KpiFacts,
    Phase,
    ProjectFacts,
    ProjectState,
    add_months,
    earlier_phases,
    evaluate_auto,
    gate_status,
    manual_reset_keys,
    next_phase,
    planned_duration_months,
)

COMPLETE_KPI = KpiFacts("Churn", True, True, True, measurement_count=2)

# Every auto criterion met: each test changes only what it is about.
GOOD = ProjectFacts(
    objective="Cut churn of premium customers",
    business_lead="Ana Ruiz",
    it_lead="Ben Okafor",
    kpis=(COMPLETE_KPI,),
    budget=Decimal("80000.00"),
    planned_start=date(2026, 1, 1),
    planned_end=date(2026, 5, 31),
    team_member_count=3,
    planned_cost_total=Decimal("80000.00"),
    planned_benefit_total=Decimal("200000.00"),
    missing_measurement_count=0,
    bite_size_max_months=6,
    bite_size_max_budget=None,
)


def facts(**changes) -> ProjectFacts:
    return replace(GOOD, **changes)


# --- phases and enums ----------------------------------------------------------------------


def test_enum_values_are_the_spec_words():
    assert [str(p) for p in Phase] == ["strategize", "evaluate", "execute", "manage"]
    assert [str(s) for s in ProjectState] == ["active", "on_hold", "killed", "retired"]
    assert {str(d) for d in DecisionKind} == {"go", "hold", "kill", "recycle", "retire", "reopen"}
    assert {str(k) for k in CriterionKind} == {"auto", "manual"}
    assert Phase("manage") == "manage"


@pytest.mark.parametrize(
    ("phase", "following", "earlier"),
    [
        (Phase.STRATEGIZE, Phase.EVALUATE, []),
        (Phase.EVALUATE, Phase.EXECUTE, [Phase.STRATEGIZE]),
        (Phase.EXECUTE, Phase.MANAGE, [Phase.STRATEGIZE, Phase.EVALUATE]),
        (Phase.MANAGE, None, [Phase.STRATEGIZE, Phase.EVALUATE, Phase.EXECUTE]),
    ],
)
def test_phase_order(phase, following, earlier):
    assert next_phase(phase) == following
    assert earlier_phases(phase) == earlier
    assert PHASE_ORDER.index(phase) == len(earlier)


# --- default criteria ----------------------------------------------------------------------

SPEC_TABLE = {
    Phase.STRATEGIZE: [
        ("objective_stated", "auto"),
        ("leads_named", "auto"),
        ("kpi_defined", "auto"),
        ("customer_needs_factored", "manual"),
        ("business_case_owned", "manual"),
    ],
    Phase.EVALUATE: [
        ("resources_planned", "auto"),
        ("business_case_defined", "auto"),
        ("bite_size", "auto"),
        ("evaluation_criteria_standardised", "manual"),
        ("option_chosen_with_users", "manual"),
    ],
    Phase.EXECUTE: [
        ("pilot_measured", "auto"),
        ("no_missing_measurement", "auto"),
        ("pilot_reviewed", "manual"),
        ("data_cleansing_validated", "manual"),
        ("users_trained", "manual"),
    ],
    Phase.MANAGE: [("upgrade_plan_dated", "manual")],
}


@pytest.mark.parametrize("phase", list(Phase))
def test_default_criteria_are_the_spec_table(phase):
    rows = DEFAULT_CRITERIA[phase]
    assert [(c.key, str(c.kind)) for c in rows] == SPEC_TABLE[phase]
    assert all(c.required and c.label for c in rows)


def test_every_auto_default_has_a_rule_and_every_rule_a_default():
    defaults = {c.key for rows in DEFAULT_CRITERIA.values() for c in rows if c.kind == "auto"}
    assert defaults == AUTO_KEYS
    keys = [c.key for rows in DEFAULT_CRITERIA.values() for c in rows]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("key", sorted(AUTO_KEYS))
def test_every_auto_rule_is_met_by_a_complete_project(key):
    result = evaluate_auto(key, GOOD)
    assert result.met, result.explanation
    assert result.explanation


def test_unknown_auto_key_raises_key_error():
    with pytest.raises(KeyError, match="customer_needs_factored"):
        evaluate_auto("customer_needs_factored", GOOD)


# --- auto criteria, met and unmet -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "changes", "met", "explanation"),
    [
        # strategize → evaluate
        ("objective_stated", {}, True, "objective stated"),
        ("objective_stated", {"objective": None}, False, "no objective stated"),
        ("objective_stated", {"objective": "   "}, False, "no objective stated"),
        ("leads_named", {}, True, "business lead and IT lead named"),
        ("leads_named", {"it_lead": None}, False, "no IT lead named"),
        ("leads_named", {"business_lead": ""}, False, "no business lead named"),
        (
            "leads_named",
            {"business_lead": None, "it_lead": " "},
            False,
            "no business lead and no IT lead named",
        ),
        ("kpi_defined", {}, True, "KPI 'Churn' has baseline, target and target period"),
        ("kpi_defined", {"kpis": ()}, False, "no KPI yet"),
        (
            "kpi_defined",
            {"kpis": (COMPLETE_KPI, replace(COMPLETE_KPI, name="NPS"))},
            True,
            "KPIs 'Churn', 'NPS' have baseline, target and target period",
        ),
        (
            "kpi_defined",
            {"kpis": (KpiFacts("Churn", True, True, False, 0),)},
            False,
            "KPI 'Churn' has no target period",
        ),
        (
            "kpi_defined",
            {"kpis": (KpiFacts("NPS", False, True, False, 0),)},
            False,
            "KPI 'NPS' has no baseline and no target period",
        ),
        (
            "kpi_defined",
            {"kpis": (KpiFacts("NPS", True, False, True, 0), COMPLETE_KPI)},
            True,
            "KPI 'Churn' has baseline",
        ),
        # evaluate → execute
        ("resources_planned", {}, True, "budget 80,000.00, 2026-01-01 to 2026-05-31, 3 team"),
        ("resources_planned", {"budget": None}, False, "no budget set"),
        ("resources_planned", {"budget": Decimal("0.00")}, False, "no budget set"),
        ("resources_planned", {"planned_start": None}, False, "no planned start"),
        ("resources_planned", {"planned_end": None}, False, "no planned end"),
        ("resources_planned", {"team_member_count": 0}, False, "no team member"),
        (
            "resources_planned",
            {"planned_end": date(2025, 12, 31)},
            False,
            "planned end is before planned start",
        ),
        (
            "resources_planned",
            {"budget": None, "team_member_count": 0},
            False,
            "no budget set; no team member",
        ),
        ("business_case_defined", {}, True, "planned ROI 150.00%"),
        (
            "business_case_defined",
            {"planned_cost_total": Decimal(0)},
            False,
            "no planned costs entered",
        ),
        (
            "business_case_defined",
            {"planned_benefit_total": Decimal(0)},
            False,
            "no planned benefits entered",
        ),
        (
            "business_case_defined",
            {"planned_cost_total": Decimal(0), "planned_benefit_total": Decimal(0)},
            False,
            "no planned costs entered and no planned benefits entered — no planned ROI yet",
        ),
        ("bite_size", {}, True, "planned 5 months ≤ 6 allowed"),
        (
            "bite_size",
            {"planned_end": date(2026, 9, 30)},
            False,
            "bite-size: planned 9 months > 6 allowed — split the project",
        ),
        ("bite_size", {"planned_end": date(2026, 6, 30)}, True, "planned 6 months ≤ 6 allowed"),
        ("bite_size", {"planned_end": date(2026, 7, 1)}, False, "planned 7 months > 6 allowed"),
        ("bite_size", {"planned_start": None}, False, "bite-size: planned start and end not set"),
        ("bite_size", {"planned_end": None}, False, "bite-size: planned start and end not set"),
        (
            "bite_size",
            {"planned_end": date(2025, 12, 1)},
            False,
            "planned end is before planned start",
        ),
        (
            "bite_size",
            {"bite_size_max_budget": Decimal("100000")},
            True,
            "planned 5 months ≤ 6 allowed; budget 80,000.00 ≤ 100,000.00 allowed",
        ),
        (
            "bite_size",
            {"bite_size_max_budget": Decimal("80000")},
            True,
            "budget 80,000.00 ≤ 80,000.00 allowed",
        ),
        (
            "bite_size",
            {"bite_size_max_budget": Decimal("50000")},
            False,
            "bite-size: budget 80,000.00 > 50,000.00 allowed — split the project",
        ),
        (
            "bite_size",
            {"bite_size_max_budget": Decimal("50000"), "planned_end": date(2026, 12, 31)},
            False,
            "bite-size: planned 12 months > 6 allowed; budget 80,000.00 > 50,000.00 allowed",
        ),
        (
            "bite_size",
            {"bite_size_max_budget": Decimal("50000"), "budget": None},
            False,
            "no budget set to compare with the 50,000.00 allowed",
        ),
        ("bite_size", {"budget": None}, True, "planned 5 months ≤ 6 allowed"),
        ("bite_size", {"bite_size_max_months": 3}, False, "planned 5 months > 3 allowed"),
        # execute → manage
        ("pilot_measured", {}, True, "the KPI is measured"),
        (
            "pilot_measured",
            {"kpis": (COMPLETE_KPI, replace(COMPLETE_KPI, name="NPS"))},
            True,
            "all 2 KPIs measured",
        ),
        ("pilot_measured", {"kpis": ()}, False, "no KPI to measure"),
        (
            "pilot_measured",
            {"kpis": (COMPLETE_KPI, KpiFacts("NPS", True, True, True, 0))},
            False,
            "KPI 'NPS' has no measurement — record the pilot results",
        ),
        (
            "pilot_measured",
            {
                "kpis": (
                    KpiFacts("Churn", True, True, True, 0),
                    KpiFacts("NPS", True, True, True, 0),
                )
            },
            False,
            "KPIs 'Churn', 'NPS' have no measurement",
        ),
        ("no_missing_measurement", {}, True, "no due measurement missing"),
        (
            "no_missing_measurement",
            {"missing_measurement_count": 1},
            False,
            "1 due measurement missing",
        ),
        (
            "no_missing_measurement",
            {"missing_measurement_count": 2},
            False,
            "2 due measurements missing",
        ),
    ],
)
def test_auto_criterion(key, changes, met, explanation):
    result = evaluate_auto(key, facts(**changes))
    assert result == CriterionResult(met, result.explanation)
    assert explanation in result.explanation


# --- planned duration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 1, 1), date(2026, 6, 30), 6),
        (date(2026, 1, 15), date(2026, 7, 14), 6),
        (date(2026, 1, 1), date(2026, 7, 1), 7),
        (date(2026, 1, 15), date(2026, 7, 15), 7),
        (date(2026, 3, 10), date(2026, 3, 10), 1),
        (date(2026, 3, 10), date(2026, 4, 9), 1),
        (date(2026, 3, 10), date(2026, 4, 10), 2),
        (date(2026, 1, 1), date(2026, 1, 31), 1),
        (date(2026, 1, 1), date(2026, 12, 31), 12),
        (date(2025, 11, 1), date(2026, 2, 28), 4),
        # a start on the 31st: a month later is the last day of the shorter month
        (date(2026, 1, 31), date(2026, 2, 27), 1),
        (date(2026, 1, 31), date(2026, 2, 28), 2),
        (date(2026, 8, 31), date(2026, 11, 29), 3),
        (date(2028, 1, 31), date(2028, 2, 28), 1),  # leap year: Feb 29 is the anniversary
    ],
)
def test_planned_duration_months(start, end, months):
    assert planned_duration_months(start, end) == months


def test_planned_duration_refuses_an_end_before_the_start():
    with pytest.raises(ValueError, match="before planned start"):
        planned_duration_months(date(2026, 2, 1), date(2026, 1, 31))


@given(
    start=st.dates(date(2000, 1, 1), date(2090, 12, 31)),
    days=st.integers(min_value=0, max_value=4000),
)
def test_planned_duration_counts_started_months(start, days):
    end = start + timedelta(days=days)
    months = planned_duration_months(start, end)
    assert months >= 1
    # end falls inside month number `months`: after its first day, before the next one
    assert add_months(start, months - 1) <= end < add_months(start, months)
    # one more day never shortens the project, and adds at most one month
    later = planned_duration_months(start, end + timedelta(days=1))
    assert months <= later <= months + 1


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 15), 3, date(2026, 4, 15)),
        (date(2026, 8, 31), 3, date(2026, 11, 30)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(day, months, expected):
    assert add_months(day, months) == expected


# --- gate status ---------------------------------------------------------------------------


def state(key, *, met, required=True, explanation="", kind=CriterionKind.MANUAL):
    return CriterionState(key, key.replace("_", " ").capitalize(), kind, required, met, explanation)


def test_gate_ready_when_every_required_criterion_is_met():
    gate = GateStatus(Phase.EXECUTE, (state("a", met=True), state("b", met=True)))
    assert gate.ready
    assert gate.blocking == ()
    assert gate.blocking_reasons == []


def test_gate_blocking_lists_unmet_required_criteria_with_their_explanation():
    unmet = state("pilot_measured", met=False, explanation="KPI 'NPS' has no measurement")
    gate = GateStatus(
        Phase.EXECUTE,
        (state("users_trained", met=True), unmet, state("pilot_reviewed", met=False)),
    )
    assert not gate.ready
    assert [c.key for c in gate.blocking] == ["pilot_measured", "pilot_reviewed"]
    assert gate.blocking_reasons == [
        "Pilot measured: KPI 'NPS' has no measurement",
        "Pilot reviewed",
    ]


def test_advisory_criteria_never_block():
    gate = GateStatus(Phase.MANAGE, (state("nice_to_have", met=False, required=False),))
    assert gate.ready
    assert gate.blocking_reasons == []


def test_empty_gate_is_ready():
    assert GateStatus(Phase.MANAGE, ()).ready


def test_gate_status_computes_auto_and_takes_manual_ticks():
    advisory = CriterionDefinition(
        "security_review", "Security review", CriterionKind.MANUAL, False
    )
    gate = gate_status(
        Phase.STRATEGIZE,
        (*DEFAULT_CRITERIA[Phase.STRATEGIZE], advisory),
        facts(it_lead=None),
        {"customer_needs_factored": (True, "workshop notes 2026-01-12")},
    )
    by_key = {c.key: c for c in gate.criteria}
    assert by_key["objective_stated"].met
    assert by_key["customer_needs_factored"].evidence == "workshop notes 2026-01-12"
    assert [c.key for c in gate.blocking] == ["leads_named", "business_case_owned"]
    assert gate.blocking_reasons[0] == "Business lead and IT lead both named: no IT lead named"
    assert not by_key["security_review"].met
    assert not gate.ready


def test_gate_status_ready_when_everything_is_met():
    manual = {c.key: (True, "done") for c in DEFAULT_CRITERIA[Phase.EVALUATE]}
    gate = gate_status(Phase.EVALUATE, DEFAULT_CRITERIA[Phase.EVALUATE], GOOD, manual)
    assert gate.ready, gate.blocking_reasons


@pytest.mark.parametrize(
    ("phase", "keys"),
    [
        (Phase.STRATEGIZE, ("customer_needs_factored", "business_case_owned")),
        (
            Phase.EVALUATE,
            ("evaluation_criteria_standardised", "option_chosen_with_users"),
        ),
        (Phase.EXECUTE, ("pilot_reviewed", "data_cleansing_validated", "users_trained")),
        (Phase.MANAGE, ("upgrade_plan_dated",)),
    ],
)
def test_manual_reset_keys_are_the_manual_criteria_of_that_gate(phase, keys):
    assert manual_reset_keys(phase, DEFAULT_CRITERIA[phase]) == keys
    assert manual_reset_keys(phase) == keys


def test_manual_reset_keys_include_the_programs_own_manual_criteria():
    extra = (
        CriterionDefinition("gdpr_checked", "GDPR checked", CriterionKind.MANUAL),
        CriterionDefinition("kpi_defined", "dup", CriterionKind.AUTO),
    )
    assert manual_reset_keys(Phase.MANAGE, extra) == ("upgrade_plan_dated", "gdpr_checked")
