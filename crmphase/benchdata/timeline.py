"""A project's life through the gates, simulated from a random source (pure).

No Flask, no database, no clock: the caller passes the random generator, the day the
project was created and "now". Every decision goes through :func:`crmphase.phases.rules.decide`,
so the simulated history is one the product itself would have allowed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from crmphase.metrics.rules import PositionChange, position_history, tracked_periods
from crmphase.periods import Period, period_range
from crmphase.phases.rules import (
    DecisionKind,
    GateStatus,
    Phase,
    Position,
    ProjectState,
    decide,
)

# Days a project stays in a phase before its gate is decided: (shortest, longest).
PHASE_DAYS: dict[Phase, tuple[int, int]] = {
    Phase.STRATEGIZE: (20, 75),
    Phase.EVALUATE: (25, 90),
    Phase.EXECUTE: (85, 180),  # bite-size: at most about six months
    Phase.MANAGE: (80, 110),  # the periodic review, every three months, sometimes late
}
HOLD_DAYS = (30, 120)

# Shares of the decisions taken at each gate while the project is active.
GATE_ODDS: dict[Phase, tuple[tuple[DecisionKind, float, Phase | None], ...]] = {
    Phase.STRATEGIZE: (
        (DecisionKind.GO, 0.86, None),
        (DecisionKind.KILL, 0.07, None),
        (DecisionKind.HOLD, 0.07, None),
    ),
    Phase.EVALUATE: (
        (DecisionKind.GO, 0.84, None),
        (DecisionKind.KILL, 0.06, None),
        (DecisionKind.HOLD, 0.05, None),
        (DecisionKind.RECYCLE, 0.05, Phase.STRATEGIZE),
    ),
    Phase.EXECUTE: (
        (DecisionKind.GO, 0.86, None),
        (DecisionKind.KILL, 0.04, None),
        (DecisionKind.HOLD, 0.04, None),
        (DecisionKind.RECYCLE, 0.06, Phase.EVALUATE),
    ),
    Phase.MANAGE: (
        (DecisionKind.GO, 0.95, None),
        (DecisionKind.RETIRE, 0.03, None),
        (DecisionKind.RECYCLE, 0.02, Phase.EVALUATE),  # an upgrade starts over
    ),
}
RESUME_ODDS = ((DecisionKind.GO, 0.75, None), (DecisionKind.KILL, 0.25, None))
MIN_MANAGE_DAYS_BEFORE_RETIRE = 540
OPEN_REVIEW_WINDOW_DAYS = 21


@dataclass(frozen=True)
class SimulatedDecision:
    """A gate decision as the gates service would have recorded it."""

    decided_at: datetime
    decision: str
    phase: str
    from_state: str
    to_phase: str | None
    resulting_phase: str
    resulting_state: str


@dataclass
class Timeline:
    """What happened to one project from its creation until now."""

    created_at: datetime
    decisions: list[SimulatedDecision] = field(default_factory=list)
    phase: str = Phase.STRATEGIZE.value
    state: str = ProjectState.ACTIVE.value
    phase_entered_on: date | None = None
    last_review_on: date | None = None
    open_review_requested_at: datetime | None = None
    # First day the project entered each phase (strategize: its creation).
    first_entered: dict[str, date] = field(default_factory=dict)

    def changes(self) -> list[PositionChange]:
        """The project's positions over time, as the metrics domain reads them."""
        return position_history(
            self.created_at.date(),
            self.phase_entered_on or self.created_at.date(),
            self.phase,
            self.state,
            [
                PositionChange(d.decided_at.date(), d.resulting_phase, d.resulting_state)
                for d in self.decisions
            ],
        )

    def tracked(self, through: Period) -> frozenset[Period]:
        """Periods up to ``through`` in which the project was active in execute or manage."""
        return tracked_periods(self.changes(), through)

    def phase_by_period(self, through: Period) -> dict[Period, str]:
        """For each period up to ``through`` in which the project was active, the latest
        phase it was active in during that period."""
        changes = sorted(self.changes(), key=lambda c: c.at)
        result: dict[Period, str] = {}
        end = through.last_day
        for index, change in enumerate(changes):
            if change.state != ProjectState.ACTIVE.value:
                continue
            until = changes[index + 1].at - timedelta(days=1) if index + 1 < len(changes) else end
            until = min(until, end)
            if until < change.at:
                continue
            for period in period_range(Period.of(change.at), Period.of(until)):
                result[period] = change.phase
        return result


def _pick(rng: random.Random, odds) -> tuple[DecisionKind, Phase | None]:
    roll = rng.random()
    for decision, share, to_phase in odds:
        roll -= share
        if roll < 0:
            return decision, to_phase
    return odds[0][0], odds[0][2]


def _working_time(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=UTC)


def simulate_timeline(rng: random.Random, created_at: datetime, now: datetime) -> Timeline:
    """Walk a project created at ``created_at`` through its gates until ``now``."""
    timeline = Timeline(created_at=created_at, phase_entered_on=created_at.date())
    timeline.first_entered[Phase.STRATEGIZE.value] = created_at.date()
    position = Position(Phase.STRATEGIZE, ProjectState.ACTIVE)
    since = created_at.date()
    manage_since: date | None = None
    while True:
        if position.state == ProjectState.ON_HOLD:
            wait = rng.randint(*HOLD_DAYS)
        else:
            wait = rng.randint(*PHASE_DAYS[position.phase])
        day = since + timedelta(days=wait)
        at = _working_time(rng, day)
        if at > now:
            ahead = (day - now.date()).days
            if (
                position.state == ProjectState.ACTIVE
                and ahead <= OPEN_REVIEW_WINDOW_DAYS
                and rng.random() < 0.5
            ):
                back = rng.randint(0, min(10, max(0, (now.date() - since).days)))
                timeline.open_review_requested_at = min(
                    now, _working_time(rng, now.date() - timedelta(days=back))
                )
            break
        if position.state == ProjectState.ON_HOLD:
            decision, to_phase = _pick(rng, RESUME_ODDS)
        else:
            decision, to_phase = _pick(rng, GATE_ODDS[position.phase])
            if decision == DecisionKind.RETIRE and (
                manage_since is None or (day - manage_since).days < MIN_MANAGE_DAYS_BEFORE_RETIRE
            ):
                decision = DecisionKind.GO
        outcome = decide(
            position,
            decision,
            gate=GateStatus(position.phase, ()),
            to_phase=to_phase,
            actor_role="steering",
            actor_manages_project=False,
        )
        timeline.decisions.append(
            SimulatedDecision(
                decided_at=at,
                decision=decision.value,
                phase=position.phase.value,
                from_state=position.state.value,
                to_phase=to_phase.value if to_phase else None,
                resulting_phase=outcome.phase.value,
                resulting_state=outcome.state.value,
            )
        )
        if outcome.phase_changed:
            timeline.phase_entered_on = day
            timeline.last_review_on = None
            timeline.first_entered.setdefault(outcome.phase.value, day)
            manage_since = day if outcome.phase == Phase.MANAGE else None
        if outcome.periodic_review:
            timeline.last_review_on = day
        position = Position(outcome.phase, outcome.state)
        since = day
        if position.state in (ProjectState.KILLED, ProjectState.RETIRED):
            break
    timeline.phase = position.phase.value
    timeline.state = position.state.value
    return timeline
