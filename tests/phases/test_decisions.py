"""Gate decisions of SPEC §3: who decides, what each decision does, and in which state."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmphase.phases.rules import (
    ALLOWED_DECISIONS,
    PHASE_ORDER,
    CriterionKind,
    CriterionState,
    DecisionKind,
    DecisionOutcome,
    DecisionRefused,
    GateStatus,
    Phase,
    Position,
    ProjectState,
    decide,
)

S, EV, EX, M = Phase.STRATEGIZE, Phase.EVALUATE, Phase.EXECUTE, Phase.MANAGE
ACTIVE, ON_HOLD, KILLED, RETIRED = (
    ProjectState.ACTIVE,
    ProjectState.ON_HOLD,
    ProjectState.KILLED,
    ProjectState.RETIRED,
)
GO, HOLD, KILL, RECYCLE, RETIRE, REOPEN = (
    DecisionKind.GO,
    DecisionKind.HOLD,
    DecisionKind.KILL,
    DecisionKind.RECYCLE,
    DecisionKind.RETIRE,
    DecisionKind.REOPEN,
)


def gate(phase: Phase, *, ready: bool = True) -> GateStatus:
    return GateStatus(
        phase,
        (
            CriterionState("objective_stated", "Objective stated", CriterionKind.AUTO, True, True),
            CriterionState(
                "pilot_reviewed",
                "Pilot results reviewed",
                CriterionKind.MANUAL,
                True,
                ready,
                "" if ready else "not checked yet",
            ),
        ),
    )


def run(position, decision, *, ready=True, to_phase=None, role="crmo", manages=False):
    return decide(
        position,
        decision,
        gate=gate(position.phase, ready=ready),
        to_phase=to_phase,
        actor_role=role,
        actor_manages_project=manages,
    )


def refused(position, decision, **kwargs) -> DecisionRefused:
    with pytest.raises(DecisionRefused) as caught:
        run(position, decision, **kwargs)
    return caught.value


# --- the allowed table, every decision in every state and phase ----------------------------


def test_allowed_table_is_the_spec():
    spec = {
        ACTIVE: {GO, HOLD, KILL, RECYCLE, RETIRE},
        ON_HOLD: {GO, KILL, RECYCLE, RETIRE},
        KILLED: {REOPEN},
        RETIRED: {REOPEN},
    }
    assert spec == ALLOWED_DECISIONS


def expected_outcome(phase: Phase, decision: DecisionKind) -> DecisionOutcome | int:
    """What SPEC §3 says an allowed decision does, by a CRMO who does not manage the project."""
    index = PHASE_ORDER.index(phase)
    if decision == GO:
        if phase == M:
            return DecisionOutcome(M, ACTIVE, None, True, False)
        return DecisionOutcome(PHASE_ORDER[index + 1], ACTIVE, None, False, True)
    if decision == HOLD:
        return DecisionOutcome(phase, ON_HOLD, None, False, False)
    if decision == KILL:
        return DecisionOutcome(phase, KILLED, None, False, False)
    if decision == RETIRE:
        return DecisionOutcome(phase, RETIRED, None, False, False) if phase == M else 409
    if decision == RECYCLE:
        return DecisionOutcome(S, ACTIVE, S, False, True) if phase != S else 422
    return DecisionOutcome(phase, ACTIVE, None, False, False)


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("state", list(ProjectState))
@pytest.mark.parametrize("decision", list(DecisionKind))
def test_every_decision_in_every_state(phase, state, decision):
    position = Position(phase, state)
    to_phase = S if decision == RECYCLE else None
    if decision not in ALLOWED_DECISIONS[state]:
        assert refused(position, decision, to_phase=to_phase).status == 409
        return
    expected = expected_outcome(phase, decision)
    if isinstance(expected, int):
        assert refused(position, decision, to_phase=to_phase).status == expected
    else:
        assert run(position, decision, to_phase=to_phase) == expected


@pytest.mark.parametrize("state", [KILLED, RETIRED])
@pytest.mark.parametrize("decision", [GO, HOLD, KILL, RECYCLE, RETIRE])
@pytest.mark.parametrize("role", ["crmo", "steering"])
def test_killed_or_retired_only_leave_by_reopen(state, decision, role):
    error = refused(Position(EX, state), decision, to_phase=S, role=role)
    assert error.status == 409
    assert error.reasons == [f"project is {state}; only the CRMO can reopen it"]


@pytest.mark.parametrize(
    ("state", "decision", "reason"),
    [
        (ON_HOLD, HOLD, "project is on hold; hold needs it active"),
        (ACTIVE, REOPEN, "project is active; reopen needs it killed or retired"),
        (ON_HOLD, REOPEN, "project is on hold; reopen needs it killed or retired"),
    ],
)
def test_state_conflicts_say_why(state, decision, reason):
    error = refused(Position(EV, state), decision)
    assert (error.status, error.reasons) == (409, [reason])
    assert str(error) == reason


# --- who decides ---------------------------------------------------------------------------


@pytest.mark.parametrize("decision", list(DecisionKind))
@pytest.mark.parametrize("role", ["crmo", "steering", "manager", "viewer"])
def test_nobody_decides_a_project_they_manage(decision, role):
    state = KILLED if decision == REOPEN else ACTIVE
    to_phase = S if decision == RECYCLE else None
    error = refused(Position(M, state), decision, to_phase=to_phase, role=role, manages=True)
    assert error.status == 403
    assert "you manage this project" in error.reasons[0]


@pytest.mark.parametrize("decision", list(DecisionKind))
@pytest.mark.parametrize("role", ["manager", "viewer", "", "CRMO"])
def test_only_steering_and_crmo_decide(decision, role):
    state = KILLED if decision == REOPEN else ACTIVE
    to_phase = S if decision == RECYCLE else None
    assert refused(Position(M, state), decision, to_phase=to_phase, role=role).status == 403


@pytest.mark.parametrize("decision", [GO, HOLD, KILL, RECYCLE, RETIRE])
def test_steering_decides_gates(decision):
    to_phase = EX if decision == RECYCLE else None
    expected = (
        DecisionOutcome(EX, ACTIVE, EX, False, True)
        if decision == RECYCLE
        else expected_outcome(M, decision)
    )
    assert run(Position(M, ACTIVE), decision, to_phase=to_phase, role="steering") == expected


@pytest.mark.parametrize("state", [KILLED, RETIRED])
def test_reopen_is_crmo_only(state):
    error = refused(Position(EX, state), REOPEN, role="steering")
    assert (error.status, error.reasons) == (403, ["only the CRMO can reopen a project"])
    assert run(Position(EX, state), REOPEN, role="crmo") == DecisionOutcome(
        EX, ACTIVE, None, False, False
    )


# --- go ------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("state", [ACTIVE, ON_HOLD])
def test_go_is_refused_with_the_blocking_list_unless_ready(phase, state):
    blocked = gate(phase, ready=False)
    with pytest.raises(DecisionRefused) as caught:
        decide(
            Position(phase, state),
            GO,
            gate=blocked,
            actor_role="steering",
            actor_manages_project=False,
        )
    assert caught.value.status == 409
    assert (
        caught.value.reasons
        == blocked.blocking_reasons
        == ["Pilot results reviewed: not checked yet"]
    )


def test_advisory_criteria_do_not_block_go():
    advisory = CriterionState("extra", "Extra", CriterionKind.MANUAL, False, False, "not yet")
    outcome = decide(
        Position(S, ACTIVE),
        GO,
        gate=GateStatus(S, (advisory,)),
        actor_role="crmo",
        actor_manages_project=False,
    )
    assert outcome.phase == EV


@pytest.mark.parametrize("state", [ACTIVE, ON_HOLD])
def test_go_in_manage_records_the_periodic_review(state):
    outcome = run(Position(M, state), GO)
    assert outcome == DecisionOutcome(M, ACTIVE, None, periodic_review=True, phase_changed=False)


def test_hold_then_go_resumes_only_with_criteria_met():
    held = run(Position(EV, ACTIVE), HOLD)
    assert held == DecisionOutcome(EV, ON_HOLD, None, False, False)
    on_hold = Position(held.phase, held.state)
    assert refused(on_hold, GO, ready=False).status == 409
    assert run(on_hold, GO, ready=True) == DecisionOutcome(EX, ACTIVE, None, False, True)


@pytest.mark.parametrize("wrong", [None, EX])
def test_go_needs_the_status_of_the_gate_leaving_the_phase(wrong):
    with pytest.raises(ValueError, match="gate leaving evaluate"):
        decide(
            Position(EV, ACTIVE),
            GO,
            gate=None if wrong is None else gate(wrong),
            actor_role="crmo",
            actor_manages_project=False,
        )


def test_other_decisions_ignore_the_gate():
    outcome = decide(
        Position(EX, ACTIVE), KILL, gate=None, actor_role="steering", actor_manages_project=False
    )
    assert outcome.state == KILLED


# --- recycle -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "to_phase"),
    [(EV, S), (EX, S), (EX, EV), (M, S), (M, EV), (M, EX)],
)
@pytest.mark.parametrize("state", [ACTIVE, ON_HOLD])
def test_recycle_goes_back_and_resets_that_gate(phase, to_phase, state):
    outcome = run(Position(phase, state), RECYCLE, to_phase=to_phase, role="steering")
    assert outcome == DecisionOutcome(
        to_phase, ACTIVE, reset_manual_gate=to_phase, periodic_review=False, phase_changed=True
    )


@pytest.mark.parametrize(
    ("phase", "to_phase"),
    [(S, None), (S, S), (EV, None), (EV, EV), (EV, EX), (M, M), (EX, "nowhere")],
)
def test_recycle_needs_a_strictly_earlier_phase(phase, to_phase):
    error = refused(Position(phase, ACTIVE), RECYCLE, to_phase=to_phase)
    assert error.status == 422
    assert error.reasons


def test_recycle_names_the_phases_it_may_go_back_to():
    error = refused(Position(EX, ACTIVE), RECYCLE)
    assert error.reasons == ["recycle needs to_phase earlier than execute: strategize, evaluate"]


@pytest.mark.parametrize("decision", [GO, HOLD, KILL, RETIRE])
def test_to_phase_is_only_for_recycle(decision):
    error = refused(Position(M, ACTIVE), decision, to_phase=S)
    assert (error.status, error.reasons) == (422, ["to_phase is only for a recycle decision"])


# --- other decisions -----------------------------------------------------------------------


@pytest.mark.parametrize("phase", [S, EV, EX])
@pytest.mark.parametrize("state", [ACTIVE, ON_HOLD])
def test_retire_is_for_manage_only(phase, state):
    error = refused(Position(phase, state), RETIRE)
    assert error.status == 409
    assert error.reasons == [f"only a project in manage can be retired; it is in {phase}"]


def test_plain_strings_are_accepted():
    outcome = decide(
        Position("execute", "active"),
        "recycle",
        gate=None,
        to_phase="evaluate",
        actor_role="steering",
        actor_manages_project=False,
    )
    assert outcome == DecisionOutcome(EV, ACTIVE, EV, False, True)


def test_unknown_decision_is_malformed():
    error = refused(Position(EX, ACTIVE), "approve")
    assert error.status == 422
    assert "'approve' is not a decision" in error.reasons[0]


# --- any sequence of decisions ---------------------------------------------------------------

steps = st.lists(
    st.tuples(
        st.sampled_from([*DecisionKind, "approve"]),
        st.one_of(st.none(), st.sampled_from(list(Phase))),
        st.sampled_from(["crmo", "steering", "manager", "viewer"]),
        st.booleans(),  # the actor manages the project
        st.booleans(),  # the gate is ready
    ),
    max_size=40,
)


@given(
    start=st.builds(Position, st.sampled_from(list(Phase)), st.sampled_from(list(ProjectState))),
    steps=steps,
)
def test_any_sequence_of_decisions_keeps_the_phase_rules(start, steps):
    position = start
    for decision, to_phase, role, manages, ready in steps:
        before = position
        try:
            outcome = run(
                before, decision, ready=ready, to_phase=to_phase, role=role, manages=manages
            )
        except DecisionRefused as error:
            assert error.status in (403, 409, 422)
            assert error.reasons
            continue
        position = Position(outcome.phase, outcome.state)
        old, new = PHASE_ORDER.index(before.phase), PHASE_ORDER.index(position.phase)

        assert role in ("crmo", "steering") and not manages
        assert outcome.phase_changed == (new != old)
        if decision == GO:
            assert ready
            assert new == old + 1 or (before.phase == position.phase == M)
            assert outcome.periodic_review == (before.phase == M)
        elif decision == RECYCLE:
            assert new < old
            assert outcome.reset_manual_gate == position.phase
        else:
            assert new == old
        if decision != RECYCLE:
            assert outcome.reset_manual_gate is None
        if decision != GO:
            assert not outcome.periodic_review
        if before.state in (KILLED, RETIRED):
            assert decision == REOPEN and role == "crmo"
        if decision == REOPEN:
            assert before.state in (KILLED, RETIRED)
            assert position == Position(before.phase, ACTIVE)
        if position.state in (KILLED, RETIRED) and before.state != position.state:
            assert decision in (KILL, RETIRE)
        if position.state == RETIRED:
            assert position.phase == M
