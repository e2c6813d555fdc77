"""The gated phases as plain code (SPEC §3): phases, states, gate criteria and decisions.

Pure: takes plain values (dataclasses, ``Decimal``, ``date``) and returns results or raises
:class:`DecisionRefused`. No Flask, no database; services load the facts and write the outcome.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from crmphase.auth.rules import gate_decider_refusal
from crmphase.money import round_half_up


class Phase(enum.StrEnum):
    STRATEGIZE = "strategize"
    EVALUATE = "evaluate"
    EXECUTE = "execute"
    MANAGE = "manage"


class ProjectState(enum.StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    KILLED = "killed"
    RETIRED = "retired"


# A closed project changes only when the CRMO reopens it.
CLOSED_STATES: frozenset[ProjectState] = frozenset({ProjectState.KILLED, ProjectState.RETIRED})


class DecisionKind(enum.StrEnum):
    GO = "go"
    HOLD = "hold"
    KILL = "kill"
    RECYCLE = "recycle"
    RETIRE = "retire"
    REOPEN = "reopen"


class CriterionKind(enum.StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


PHASE_ORDER: tuple[Phase, ...] = (Phase.STRATEGIZE, Phase.EVALUATE, Phase.EXECUTE, Phase.MANAGE)


def next_phase(phase: Phase) -> Phase | None:
    """The phase a go leads to from ``phase``; ``None`` from manage, the last one."""
    index = PHASE_ORDER.index(phase)
    return PHASE_ORDER[index + 1] if index + 1 < len(PHASE_ORDER) else None


def earlier_phases(phase: Phase) -> list[Phase]:
    """The phases before ``phase``, in order: where a recycle may send a project."""
    return list(PHASE_ORDER[: PHASE_ORDER.index(phase)])


# --- gate criteria -------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionDefinition:
    """One line of a gate's checklist; ``required=False`` makes it advisory."""

    key: str
    label: str
    kind: CriterionKind
    required: bool = True
    help: str = ""


_AUTO, _MANUAL = CriterionKind.AUTO, CriterionKind.MANUAL

# The gate that LEAVES each phase (manage's gate is its periodic review).
DEFAULT_CRITERIA: dict[Phase, tuple[CriterionDefinition, ...]] = {
    Phase.STRATEGIZE: (
        CriterionDefinition(
            "objective_stated", "Objective stated", _AUTO, help="What's the point of the project?"
        ),
        CriterionDefinition("leads_named", "Business lead and IT lead both named", _AUTO),
        CriterionDefinition(
            "kpi_defined", "At least one KPI with baseline, target and target period", _AUTO
        ),
        CriterionDefinition(
            "customer_needs_factored", "Customer needs factored into the strategy", _MANUAL
        ),
        CriterionDefinition(
            "business_case_owned", "Business case drafted and owned by the business", _MANUAL
        ),
    ),
    Phase.EVALUATE: (
        CriterionDefinition(
            "resources_planned",
            "Budget, planned start and end, and team set",
            _AUTO,
            help="Budget above 0, planned start and end dates, at least one team member.",
        ),
        CriterionDefinition(
            "business_case_defined",
            "Business case defined: planned costs and benefits entered",
            _AUTO,
            help="Planned cost and benefit entries, so that a planned ROI exists.",
        ),
        CriterionDefinition(
            "bite_size",
            "Bite-size: duration and budget within the program's limits",
            _AUTO,
            help="Planned duration at most bite_size_max_months; budget at most "
            "bite_size_max_budget when the program sets one.",
        ),
        CriterionDefinition(
            "evaluation_criteria_standardised",
            "Evaluation criteria standardised (usability, process fit, ROI/TCO)",
            _MANUAL,
        ),
        CriterionDefinition(
            "option_chosen_with_users", "Option or vendor chosen with the business users", _MANUAL
        ),
    ),
    Phase.EXECUTE: (
        CriterionDefinition(
            "pilot_measured", "Pilot measured: every KPI has at least one measurement", _AUTO
        ),
        CriterionDefinition("no_missing_measurement", "No due measurement missing", _AUTO),
        CriterionDefinition(
            "pilot_reviewed", "Pilot results reviewed, targets fine-tuned", _MANUAL
        ),
        CriterionDefinition(
            "data_cleansing_validated",
            "Data cleansing and import validated by the business data owner",
            _MANUAL,
        ),
        CriterionDefinition("users_trained", "Users trained by experts in their job", _MANUAL),
    ),
    Phase.MANAGE: (
        CriterionDefinition(
            "upgrade_plan_dated",
            "Upgrade or replacement plan dated",
            _MANUAL,
            help="Checked at the periodic review, every 3 months.",
        ),
    ),
}


def manual_reset_keys(
    phase: Phase, criteria: Iterable[CriterionDefinition] = ()
) -> tuple[str, ...]:
    """Keys of the manual criteria to untick when a recycle sends a project back to ``phase``.

    That is the gate leaving ``phase``: its default manual criteria plus the manual ones in
    ``criteria`` (the program's additions; passing the whole checklist is fine too). Auto
    criteria are recomputed from the data, so they are never listed.
    """
    keys = dict.fromkeys(
        c.key for c in (*DEFAULT_CRITERIA[phase], *criteria) if c.kind == CriterionKind.MANUAL
    )
    return tuple(keys)


# --- facts and auto criteria ---------------------------------------------------------------


@dataclass(frozen=True)
class KpiFacts:
    """What the gate needs to know about one KPI."""

    name: str
    has_baseline: bool
    has_target: bool
    has_target_period: bool
    measurement_count: int


@dataclass(frozen=True)
class ProjectFacts:
    """What the auto criteria read about a project (and its program's bite-size limits)."""

    objective: str | None
    business_lead: str | None
    it_lead: str | None
    kpis: tuple[KpiFacts, ...]
    budget: Decimal | None
    planned_start: date | None
    planned_end: date | None
    team_member_count: int
    planned_cost_total: Decimal
    planned_benefit_total: Decimal
    missing_measurement_count: int
    bite_size_max_months: int
    bite_size_max_budget: Decimal | None


@dataclass(frozen=True)
class CriterionResult:
    """An auto criterion computed: met or not, and a line saying why (and what to do)."""

    met: bool
    explanation: str


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to a shorter month's end (Aug 31 + 3 → Nov 30)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def planned_duration_months(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` inclusive, a started month counting as whole.

    Month *n* of a project runs from ``start`` plus *n − 1* months up to the day before
    ``start`` plus *n* months (same day of month, clamped to a shorter month's end). The
    duration is the number of the month that contains ``end``: 2026-01-01..2026-06-30 is 6,
    2026-01-15..2026-07-14 is 6, 2026-01-01..2026-07-01 is 7, a single day is 1.
    Raises ``ValueError`` when ``end`` is before ``start``.
    """
    if end < start:
        raise ValueError(f"planned end {end} is before planned start {start}")
    months = (end.year - start.year) * 12 + end.month - start.month
    # ``months`` is at most one too many or too few; settle it on the anniversary dates.
    months = max(months, 1)
    while add_months(start, months - 1) > end:
        months -= 1
    while add_months(start, months) <= end:
        months += 1
    return months


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _objective_stated(facts: ProjectFacts) -> CriterionResult:
    if _blank(facts.objective):
        return CriterionResult(False, "no objective stated — say what the point of the project is")
    return CriterionResult(True, "objective stated")


def _leads_named(facts: ProjectFacts) -> CriterionResult:
    missing = [
        role
        for role, name in (("business lead", facts.business_lead), ("IT lead", facts.it_lead))
        if _blank(name)
    ]
    if missing:
        return CriterionResult(False, f"no {' and no '.join(missing)} named")
    return CriterionResult(True, "business lead and IT lead named")


def _kpi_names(names: list[str]) -> str:
    quoted = ", ".join(f"'{name}'" for name in names)
    return f"KPI {quoted}" if len(names) == 1 else f"KPIs {quoted}"


def _has(names: list[str]) -> str:
    return "has" if len(names) == 1 else "have"


def _kpi_gaps(kpi: KpiFacts) -> list[str]:
    return [
        what
        for what, present in (
            ("baseline", kpi.has_baseline),
            ("target", kpi.has_target),
            ("target period", kpi.has_target_period),
        )
        if not present
    ]


def _kpi_defined(facts: ProjectFacts) -> CriterionResult:
    if not facts.kpis:
        return CriterionResult(
            False, "no KPI yet — add one with baseline, target and target period"
        )
    complete = [kpi.name for kpi in facts.kpis if not _kpi_gaps(kpi)]
    if complete:
        return CriterionResult(
            True, f"{_kpi_names(complete)} {_has(complete)} baseline, target and target period"
        )
    lines = [f"KPI '{kpi.name}' has no {' and no '.join(_kpi_gaps(kpi))}" for kpi in facts.kpis]
    return CriterionResult(False, "; ".join(lines))


def _resources_planned(facts: ProjectFacts) -> CriterionResult:
    problems = []
    if facts.budget is None or facts.budget <= 0:
        problems.append("no budget set")
    if facts.planned_start is None:
        problems.append("no planned start")
    if facts.planned_end is None:
        problems.append("no planned end")
    if facts.planned_start and facts.planned_end and facts.planned_end < facts.planned_start:
        problems.append("planned end is before planned start")
    if facts.team_member_count < 1:
        problems.append("no team member")
    if problems or facts.budget is None:  # no budget is always among the problems
        return CriterionResult(False, "; ".join(problems))
    members = f"{facts.team_member_count} team member{'s' if facts.team_member_count > 1 else ''}"
    return CriterionResult(
        True,
        f"budget {_money(facts.budget)}, {facts.planned_start} to {facts.planned_end}, {members}",
    )


def _business_case_defined(facts: ProjectFacts) -> CriterionResult:
    problems = []
    if facts.planned_cost_total <= 0:
        problems.append("no planned costs entered")
    if facts.planned_benefit_total <= 0:
        problems.append("no planned benefits entered")
    if problems:
        return CriterionResult(False, f"{' and '.join(problems)} — no planned ROI yet")
    roi = round_half_up(
        (facts.planned_benefit_total - facts.planned_cost_total) / facts.planned_cost_total * 100
    )
    return CriterionResult(
        True,
        f"planned cost {_money(facts.planned_cost_total)}, planned benefit "
        f"{_money(facts.planned_benefit_total)}: planned ROI {roi}%",
    )


def _bite_size(facts: ProjectFacts) -> CriterionResult:
    limit = facts.bite_size_max_months
    start, end = facts.planned_start, facts.planned_end
    if start is None or end is None:
        return CriterionResult(
            False, "bite-size: planned start and end not set — set them to check the duration"
        )
    if end < start:
        return CriterionResult(False, "bite-size: planned end is before planned start")
    months = planned_duration_months(start, end)
    problems, fine = [], []
    if months > limit:
        problems.append(f"planned {months} months > {limit} allowed")
    else:
        fine.append(f"planned {months} months ≤ {limit} allowed")
    cap = facts.bite_size_max_budget
    if cap is not None:
        if facts.budget is None:
            problems.append(f"no budget set to compare with the {_money(cap)} allowed")
        elif facts.budget > cap:
            problems.append(f"budget {_money(facts.budget)} > {_money(cap)} allowed")
        else:
            fine.append(f"budget {_money(facts.budget)} ≤ {_money(cap)} allowed")
    if problems:
        return CriterionResult(False, f"bite-size: {'; '.join(problems)} — split the project")
    return CriterionResult(True, "; ".join(fine))


def _pilot_measured(facts: ProjectFacts) -> CriterionResult:
    if not facts.kpis:
        return CriterionResult(False, "no KPI to measure — the pilot needs at least one")
    unmeasured = [kpi.name for kpi in facts.kpis if kpi.measurement_count < 1]
    if unmeasured:
        return CriterionResult(
            False,
            f"{_kpi_names(unmeasured)} {_has(unmeasured)} no measurement"
            " — record the pilot results",
        )
    count = len(facts.kpis)
    return CriterionResult(
        True, "the KPI is measured" if count == 1 else f"all {count} KPIs measured"
    )


def _no_missing_measurement(facts: ProjectFacts) -> CriterionResult:
    count = facts.missing_measurement_count
    if count > 0:
        noun = "measurement" if count == 1 else "measurements"
        return CriterionResult(False, f"{count} due {noun} missing — record them")
    return CriterionResult(True, "no due measurement missing")


_AUTO_RULES = {
    "objective_stated": _objective_stated,
    "leads_named": _leads_named,
    "kpi_defined": _kpi_defined,
    "resources_planned": _resources_planned,
    "business_case_defined": _business_case_defined,
    "bite_size": _bite_size,
    "pilot_measured": _pilot_measured,
    "no_missing_measurement": _no_missing_measurement,
}
AUTO_KEYS: frozenset[str] = frozenset(_AUTO_RULES)


def evaluate_auto(key: str, facts: ProjectFacts) -> CriterionResult:
    """Compute the auto criterion ``key`` from ``facts``; ``KeyError`` for an unknown key."""
    try:
        rule = _AUTO_RULES[key]
    except KeyError:
        raise KeyError(f"no auto rule for criterion '{key}'") from None
    return rule(facts)


# --- gate status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionState:
    """One criterion of a gate as it stands now."""

    key: str
    label: str
    kind: CriterionKind
    required: bool
    met: bool
    explanation: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class GateStatus:
    """The checklist of the gate leaving ``phase``."""

    phase: Phase
    criteria: tuple[CriterionState, ...]

    @property
    def blocking(self) -> tuple[CriterionState, ...]:
        """The required criteria not met; advisory ones never block."""
        return tuple(c for c in self.criteria if c.required and not c.met)

    @property
    def ready(self) -> bool:
        return not self.blocking

    @property
    def blocking_reasons(self) -> list[str]:
        """One line per blocking criterion: ``"label: explanation"``."""
        return [f"{c.label}: {c.explanation}" if c.explanation else c.label for c in self.blocking]


def gate_status(
    phase: Phase,
    definitions: Iterable[CriterionDefinition],
    facts: ProjectFacts,
    manual: Mapping[str, tuple[bool, str]],
) -> GateStatus:
    """Assemble the gate leaving ``phase``: auto criteria computed, manual ones from ``manual``.

    ``manual`` maps a manual key to ``(met, evidence)`` as ticked by the manager; a key not
    in it is unticked.
    """
    states = []
    for definition in definitions:
        if definition.kind == CriterionKind.AUTO:
            result = evaluate_auto(definition.key, facts)
            met, explanation, evidence = result.met, result.explanation, ""
        else:
            met, evidence = manual.get(definition.key, (False, ""))
            explanation = "" if met else "not checked yet — the manager ticks it with evidence"
        states.append(
            CriterionState(
                key=definition.key,
                label=definition.label,
                kind=definition.kind,
                required=definition.required,
                met=met,
                explanation=explanation,
                evidence=evidence,
            )
        )
    return GateStatus(phase, tuple(states))


# --- decisions -----------------------------------------------------------------------------

_E = TypeVar("_E", bound=enum.StrEnum)

ALLOWED_DECISIONS: dict[ProjectState, frozenset[DecisionKind]] = {
    ProjectState.ACTIVE: frozenset(
        {
            DecisionKind.GO,
            DecisionKind.HOLD,
            DecisionKind.KILL,
            DecisionKind.RECYCLE,
            DecisionKind.RETIRE,
        }
    ),
    # A held project resumes only through go (criteria met), or is recycled, killed, retired.
    ProjectState.ON_HOLD: frozenset(
        {DecisionKind.GO, DecisionKind.KILL, DecisionKind.RECYCLE, DecisionKind.RETIRE}
    ),
    ProjectState.KILLED: frozenset({DecisionKind.REOPEN}),
    ProjectState.RETIRED: frozenset({DecisionKind.REOPEN}),
}


@dataclass(frozen=True)
class Position:
    """Where a project stands: its phase and state."""

    phase: Phase
    state: ProjectState


def allowed_decisions(position: Position) -> list[DecisionKind]:
    """The decisions the rules allow in this state and phase (not who may take them): what
    the state allows, without retire outside manage or recycle where no phase is earlier."""
    allowed = [kind for kind in DecisionKind if kind in ALLOWED_DECISIONS[position.state]]
    if position.phase != Phase.MANAGE:
        allowed = [kind for kind in allowed if kind != DecisionKind.RETIRE]
    if not earlier_phases(position.phase):
        allowed = [kind for kind in allowed if kind != DecisionKind.RECYCLE]
    return allowed


@dataclass(frozen=True)
class DecisionOutcome:
    """Where a decision leaves the project, and what the service must do besides.

    ``reset_manual_gate`` names the phase whose leaving gate gets its manual criteria
    unticked; ``periodic_review`` says a go in manage recorded the quarterly review.
    """

    phase: Phase
    state: ProjectState
    reset_manual_gate: Phase | None
    periodic_review: bool
    phase_changed: bool


class DecisionRefused(Exception):
    """A decision that may not be taken; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.status = status
        self.reasons = reasons


def _check_decider(decision: DecisionKind, actor_role: str, actor_manages_project: bool) -> None:
    refusal = gate_decider_refusal(
        actor_role,
        reopen=decision == DecisionKind.REOPEN,
        manages_project=actor_manages_project,
    )
    if refusal is not None:
        raise DecisionRefused(403, [refusal])


def _check_to_phase(
    position: Position, decision: DecisionKind, to_phase: Phase | None
) -> Phase | None:
    if decision != DecisionKind.RECYCLE:
        if to_phase is not None:
            raise DecisionRefused(422, ["to_phase is only for a recycle decision"])
        return None
    earlier = earlier_phases(position.phase)
    if not earlier:
        raise DecisionRefused(422, ["a project in strategize has no earlier phase to recycle to"])
    if to_phase is None or to_phase not in earlier:
        choices = ", ".join(earlier)
        raise DecisionRefused(
            422, [f"recycle needs to_phase earlier than {position.phase}: {choices}"]
        )
    return to_phase


def _check_state(position: Position, decision: DecisionKind) -> None:
    state = position.state
    if decision in ALLOWED_DECISIONS[state]:
        return
    if state in (ProjectState.KILLED, ProjectState.RETIRED):
        raise DecisionRefused(409, [f"project is {state}; only the CRMO can reopen it"])
    needed = " or ".join(
        s.replace("_", " ") for s, allowed in ALLOWED_DECISIONS.items() if decision in allowed
    )
    raise DecisionRefused(
        409, [f"project is {state.replace('_', ' ')}; {decision} needs it {needed}"]
    )


def _parse(enum_type: type[_E], value: object, what: str) -> _E:
    try:
        return enum_type(str(value))
    except ValueError:
        choices = ", ".join(enum_type)
        raise DecisionRefused(422, [f"'{value}' is not a {what}; use one of {choices}"]) from None


def decide(
    position: Position,
    decision: DecisionKind | str,
    *,
    gate: GateStatus | None,
    to_phase: Phase | str | None = None,
    actor_role: str,
    actor_manages_project: bool,
) -> DecisionOutcome:
    """Apply a gate decision to ``position`` (SPEC §3) or raise :class:`DecisionRefused`.

    Checked in this order: who decides (403, as the policy in :mod:`crmphase.auth.rules`
    answers it), whether the project's state allows the decision (409), whether it is well
    formed (422: recycle's ``to_phase``), whether the phase allows it (409: retire outside
    manage) and for go whether the gate is ready (409, listing the blocking criteria).
    Decision and phases may be given as plain strings; an unknown decision is refused (422)
    before anything else.
    ``gate`` is the status of the gate leaving ``position.phase``; it is only read for go.
    The rationale is checked by the caller.
    """
    decision = _parse(DecisionKind, decision, "decision")
    position = Position(Phase(position.phase), ProjectState(position.state))
    _check_decider(decision, actor_role, actor_manages_project)
    _check_state(position, decision)
    if to_phase is not None:
        to_phase = _parse(Phase, to_phase, "phase")
    target = _check_to_phase(position, decision, to_phase)
    phase = position.phase

    if decision == DecisionKind.GO:
        if gate is None or gate.phase != phase:
            raise ValueError(f"go needs the status of the gate leaving {phase}")
        if not gate.ready:
            raise DecisionRefused(409, gate.blocking_reasons)
        following = next_phase(phase)
        if following is None:
            return DecisionOutcome(phase, ProjectState.ACTIVE, None, True, False)
        return DecisionOutcome(following, ProjectState.ACTIVE, None, False, True)
    if decision == DecisionKind.HOLD:
        return DecisionOutcome(phase, ProjectState.ON_HOLD, None, False, False)
    if decision == DecisionKind.KILL:
        return DecisionOutcome(phase, ProjectState.KILLED, None, False, False)
    if decision == DecisionKind.RETIRE:
        if phase != Phase.MANAGE:
            raise DecisionRefused(
                409, [f"only a project in manage can be retired; it is in {phase}"]
            )
        return DecisionOutcome(phase, ProjectState.RETIRED, None, False, False)
    if decision == DecisionKind.RECYCLE:
        assert target is not None
        return DecisionOutcome(target, ProjectState.ACTIVE, target, False, True)
    return DecisionOutcome(phase, ProjectState.ACTIVE, None, False, False)  # reopen


# --- periodic review in manage -------------------------------------------------------------

REVIEW_EVERY_MONTHS = 3


def next_review_due(last_review_or_entered_manage: date) -> date:
    """The day the next periodic review is due: same day 3 months later, clamped to month end."""
    return add_months(last_review_or_entered_manage, REVIEW_EVERY_MONTHS)


def review_overdue(
    phase: Phase,
    state: ProjectState,
    last_review_or_entered_manage: date | None,
    today: date,
) -> bool:
    """True when an active project in manage is past the day its periodic review was due.

    On the due day itself the review is due, not overdue. Without a date nothing is overdue.
    """
    if phase != Phase.MANAGE or state != ProjectState.ACTIVE:
        return False
    if last_review_or_entered_manage is None:
        return False
    return today > next_review_due(last_review_or_entered_manage)
