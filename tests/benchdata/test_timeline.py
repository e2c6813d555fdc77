"""The simulated life of a project through its gates (pure, no app)."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from crmphase.benchdata.timeline import simulate_timeline
from crmphase.periods import Period

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)
START = datetime(2021, 6, 1, 9, tzinfo=UTC)


def _timelines(seed: int, count: int):
    rng = random.Random(seed)
    span = (NOW - START).days - 14
    for _ in range(count):
        created = START + timedelta(days=int(span * rng.random()))
        yield simulate_timeline(rng, created, NOW)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_decision_follows_from_the_position_before_it(seed):
    for timeline in _timelines(seed, 300):
        phase, state = "strategize", "active"
        previous = timeline.created_at
        for decision in timeline.decisions:
            assert (decision.phase, decision.from_state) == (phase, state)
            assert previous <= decision.decided_at <= NOW
            assert state not in ("killed", "retired"), "nothing is decided after a kill"
            if decision.decision == "recycle":
                assert decision.to_phase == decision.resulting_phase
            else:
                assert decision.to_phase is None
            phase, state = decision.resulting_phase, decision.resulting_state
            previous = decision.decided_at
        assert (timeline.phase, timeline.state) == (phase, state)


def test_phase_entered_on_and_last_review_match_the_decisions():
    for timeline in _timelines(4, 300):
        changes = [
            d for d in timeline.decisions if d.resulting_phase != d.phase or d.decision == "recycle"
        ]
        expected = changes[-1].decided_at.date() if changes else timeline.created_at.date()
        assert timeline.phase_entered_on == expected
        if timeline.last_review_on is not None:
            assert timeline.phase == "manage"
            last_go = [d for d in timeline.decisions if d.decision == "go" and d.phase == "manage"]
            assert timeline.last_review_on == last_go[-1].decided_at.date()


def test_retirement_only_from_manage_after_a_while_in_it():
    retired = 0
    for timeline in _timelines(5, 600):
        for decision in timeline.decisions:
            if decision.decision == "retire":
                retired += 1
                assert decision.phase == "manage"
                entered = timeline.first_entered["manage"]
                assert (decision.decided_at.date() - entered).days >= 540
    assert retired > 0


def test_shares_of_phases_and_states_are_plausible():
    positions = Counter((t.phase, t.state) for t in _timelines(6, 2000))
    share = {key: count / 2000 for key, count in positions.items()}
    by_phase = Counter()
    for (phase, state), value in share.items():
        if state in ("active", "on_hold"):
            by_phase[phase] += value
    for phase in ("strategize", "evaluate", "execute"):
        assert by_phase[phase] > 0.01, f"nobody is in {phase}"
    assert by_phase["manage"] == max(by_phase.values()), "most live projects run in manage"
    killed = sum(v for (_, state), v in share.items() if state == "killed")
    assert 0.05 < killed < 0.35
    assert share.get(("manage", "retired"), 0) > 0


def test_tracked_periods_are_the_active_execute_and_manage_months():
    for timeline in _timelines(7, 200):
        through = Period(2026, 5)
        tracked = timeline.tracked(through)
        by_period = timeline.phase_by_period(through)
        if "execute" not in timeline.first_entered:
            assert not tracked
        for period in tracked:
            assert period <= through
            assert period >= Period.of(timeline.first_entered["execute"])
        # A month whose last active phase was execute or manage is tracked.
        for period, phase in by_period.items():
            if phase in ("execute", "manage"):
                assert period in tracked


def test_same_seed_same_life():
    first = [(t.phase, t.state, t.decisions) for t in _timelines(8, 50)]
    again = [(t.phase, t.state, t.decisions) for t in _timelines(8, 50)]
    other = [(t.phase, t.state, t.decisions) for t in _timelines(9, 50)]
    assert first == again
    assert first != other
