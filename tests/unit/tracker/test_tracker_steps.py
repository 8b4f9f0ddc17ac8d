"""What a decision or a reply asks of a case (tracker.domain.steps): the commands the handlers apply."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.decision import Candidate, Decision, DecisionStatus
from schemas.events import DepartmentReply, FeedbackOutcome, ReturnReason
from schemas.report import Hazard
from tracker.domain import commands as cmd
from tracker.domain.state import apply, new_case
from tracker.domain.steps import candidates_left, decision_commands, is_stale, reply_command

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def decision(status: DecisionStatus = DecisionStatus.routed, primary: str = "amr", **extra: object) -> Decision:
    return Decision(external_id="x", status=status, rule="R9", primary=primary, deadline_days=20, ack_hours=24,
                    hazard=Hazard.none, unit="nanmen", confidence=0.9, catalogue_version="test",
                    alternatives=[Candidate(department="ecology", rule="R9", score=0.5)], **extra)


def test_a_first_decision_routes_and_dispatches_a_gap_only_routes_a_duplicate_is_marked() -> None:
    fresh = new_case("C1", received_at=NOW)
    assert decision_commands(fresh, decision()) == [cmd.Route("amr", 24, 20), cmd.Dispatch("amr")]
    assert decision_commands(fresh, decision(DecisionStatus.gap, "establishment-office")) == [
        cmd.Route(None, 24, 20, gap=True)]
    assert decision_commands(fresh, decision(DecisionStatus.duplicate, duplicate_of="C0")) == [
        cmd.MarkDuplicate("C0")]


def test_after_a_return_the_next_candidate_or_a_dispute() -> None:
    state = new_case("C1", received_at=NOW)
    for command in decision_commands(state, decision()):
        state, _ = apply(state, command, now=NOW)
    state, _ = apply(state, cmd.Return("amr", ReturnReason.not_our_remit), now=NOW)
    assert decision_commands(state, decision(primary="ecology")) == [cmd.Reroute("ecology", 24, 20)]
    assert decision_commands(state, decision(DecisionStatus.gap)) == [
        cmd.OpenDispute("no candidate department left")]
    assert candidates_left(["amr", "ecology"], state) == 1, "amr returned it"
    assert not is_stale(2, state) and is_stale(1, state)
    assert not is_stale(1, new_case("C2", received_at=NOW)), "a received case takes any decision"


def test_a_reply_is_its_command_or_refused_for_what_it_lacks() -> None:
    def reply(kind: str, **extra: object) -> DepartmentReply:
        return DepartmentReply(case_id="C1", department="amr", kind=kind, **extra)

    assert reply_command(reply("ack")) == cmd.Acknowledge("amr")
    assert reply_command(reply("feedback", outcome=FeedbackOutcome.resolved, text="done")) == cmd.GiveFeedback(
        "amr", FeedbackOutcome.resolved, "done")
    assert reply_command(reply("return", reason=ReturnReason.wrong_unit)) == cmd.Return("amr", ReturnReason.wrong_unit)
    for bad, why in ((reply("feedback"), "needs an outcome"), (reply("return"), "coded reason"),
                     (reply("cheer"), "unknown reply kind")):
        with pytest.raises(cmd.IllegalTransition, match=why):
            reply_command(bad)
