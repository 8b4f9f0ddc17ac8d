"""The SLA clock on fixed times: Shanghai day boundaries, working days, 调休, dispute pauses, breach keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.events import ReturnReason
from tracker.domain.commands import (
    Acknowledge,
    Adjudicate,
    Command,
    Dispatch,
    Escalate,
    EscalationKind,
    OpenDispute,
    Principle,
    Return,
    Route,
)
from tracker.domain.sla import (
    CALENDAR_DAYS,
    TZ,
    Calendar,
    ack_due,
    advance,
    breaches,
    counted,
    feedback_due,
    pauses_of,
    unescalated,
)
from tracker.domain.state import CaseState, Pause, apply, new_case


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time in Asia/Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=TZ)


# 2024 statutory holidays around 清明 and 国庆, with their make-up working days (调休).
CN_2024 = Calendar(
    working_days=True,
    holidays=frozenset({date(2024, 4, 4), date(2024, 4, 5)} | {date(2024, 10, d) for d in range(1, 8)}),
    makeup_days=frozenset({date(2024, 4, 7), date(2024, 9, 29), date(2024, 10, 12)}),
)
WEEKDAYS = Calendar(working_days=True)


def case_at(*steps: tuple[datetime, Command]) -> CaseState:
    """A case received at the first step's time with the commands applied at their times."""
    s = new_case("c-42", received_at=steps[0][0])
    for at, command in steps:
        s, _ = apply(s, command, now=at)
    return s


# -- day counting ------------------------------------------------------------------------------


@pytest.mark.parametrize("dispatched", [sh(2024, 3, 1), sh(2024, 3, 1, 15), sh(2024, 3, 1, 23, 59, 59)])
def test_the_dispatch_day_does_not_count_and_the_deadline_is_midnight(dispatched: datetime) -> None:
    assert feedback_due(dispatched, 20) == sh(2024, 3, 22)  # 24:00 of 3 月 21 日
    assert feedback_due(dispatched, 45) == sh(2024, 4, 16)


def test_days_are_shanghai_days_whatever_zone_the_time_comes_in() -> None:
    # 16:30 UTC on 1 March is already 00:30 on 2 March in Shanghai: day 0 is 2 March.
    assert feedback_due(datetime(2024, 3, 1, 16, 30, tzinfo=UTC), 20) == sh(2024, 3, 23)
    assert feedback_due(datetime(2024, 3, 1, 15, 59, tzinfo=UTC), 20) == sh(2024, 3, 22)


def test_ack_windows_are_exact_hours() -> None:
    assert ack_due(sh(2024, 3, 1, 23, 30), 2) == sh(2024, 3, 2, 1, 30)
    assert ack_due(sh(2024, 3, 1, 9, 15), 24) == sh(2024, 3, 2, 9, 15)


def test_working_days_skip_the_weekend() -> None:
    friday = sh(2024, 3, 1, 10, 0)
    assert feedback_due(friday, 1, WEEKDAYS) == sh(2024, 3, 5)  # end of Monday 4 March
    assert feedback_due(friday, 20, WEEKDAYS) == sh(2024, 3, 30)  # end of Friday 29 March
    assert ack_due(sh(2024, 3, 1, 18, 0), 24, WEEKDAYS) == sh(2024, 3, 4, 18, 0)
    assert ack_due(sh(2024, 3, 2, 11, 0), 2, WEEKDAYS) == sh(2024, 3, 4, 2, 0)  # starts Monday 00:00


def test_working_days_over_a_holiday_with_a_make_up_day() -> None:
    # 清明 2024: 4-6 April off, Sunday 7 April worked instead.
    assert feedback_due(sh(2024, 4, 3, 10, 0), 3, CN_2024) == sh(2024, 4, 10)  # 7th, 8th, 9th
    # 国庆 2024: Sunday 29 Sept worked, 1-7 Oct off, Saturday 12 Oct worked.
    assert feedback_due(sh(2024, 9, 27, 10, 0), 5, CN_2024) == sh(2024, 10, 11)
    assert feedback_due(sh(2024, 10, 10, 10, 0), 2, CN_2024) == sh(2024, 10, 13)  # 11th, 12th (Sat)


def test_calendar_days_ignore_the_holiday_table() -> None:
    calendar = Calendar(holidays=CN_2024.holidays)
    assert feedback_due(sh(2024, 9, 27, 10, 0), 5, calendar) == feedback_due(sh(2024, 9, 27, 10, 0), 5)


# -- pauses ------------------------------------------------------------------------------------


def test_a_pause_extends_the_deadline_by_its_length() -> None:
    pause = Pause(sh(2024, 3, 5, 9, 0), sh(2024, 3, 8, 14, 0))
    assert feedback_due(sh(2024, 3, 1, 15, 0), 20, paused=[pause]) == sh(2024, 3, 25, 5, 0)


def test_a_pause_after_the_deadline_changes_nothing() -> None:
    late = Pause(sh(2024, 3, 23, 9, 0), sh(2024, 3, 24, 9, 0))
    assert feedback_due(sh(2024, 3, 1, 15, 0), 20, paused=[late]) == sh(2024, 3, 22)


def test_a_pause_over_a_weekend_counts_only_its_working_time() -> None:
    # Friday 12:00 to Monday 12:00 is one working day (Fri afternoon + Mon morning).
    pause = Pause(sh(2024, 3, 8, 12, 0), sh(2024, 3, 11, 12, 0))
    assert feedback_due(sh(2024, 3, 1, 10, 0), 20, WEEKDAYS, [pause]) == sh(2024, 4, 2)


def test_dispute_pauses_the_case_clock_through_the_state_machine() -> None:
    s = case_at(
        (sh(2024, 3, 1, 9, 0), Route("amr")),
        (sh(2024, 3, 1, 15, 0), Dispatch("amr")),
        (sh(2024, 3, 2, 9, 0), Return("amr", ReturnReason.not_our_remit)),
        (sh(2024, 3, 2, 9, 0), OpenDispute()),
    )
    assert breaches(s, sh(2024, 4, 1)) == []  # nobody holds a disputed case
    assert pauses_of(s, sh(2024, 3, 4, 9, 0)) == (Pause(sh(2024, 3, 2, 9, 0), sh(2024, 3, 4, 9, 0)),)
    s, _ = apply(s, Adjudicate("urban-mgmt", Principle.nearest), now=sh(2024, 3, 7, 9, 0))
    s, _ = apply(s, Dispatch("urban-mgmt"), now=sh(2024, 3, 7, 10, 0))
    due = feedback_due(s.first_dispatched_at or s.received_at, 20, paused=s.pauses)
    assert due == sh(2024, 3, 27)  # 3 月 22 日 00:00 + 5 days disputed
    assert [b.kind for b in breaches(s, due)] == [EscalationKind.ack_overdue]
    assert [b.kind for b in breaches(s, due + timedelta(seconds=1))][-1] is EscalationKind.feedback_overdue


@given(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2024, 12, 31), timezones=st.just(TZ)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    st.sampled_from([CALENDAR_DAYS, WEEKDAYS, CN_2024]),
)
def test_advance_and_counted_agree(start: datetime, delta: timedelta, calendar: Calendar) -> None:
    end = advance(start, delta, calendar)
    assert end >= start and counted(start, end, calendar) == delta


# -- breaches ----------------------------------------------------------------------------------

DISPATCHED = case_at((sh(2024, 3, 1, 9, 0), Route("police-nanmen", ack_hours=2)), (sh(2024, 3, 1, 10, 0),
                     Dispatch("police-nanmen")))


def test_ack_breach_starts_strictly_after_the_window() -> None:
    assert breaches(DISPATCHED, sh(2024, 3, 1, 12, 0)) == []
    (breach,) = breaches(DISPATCHED, sh(2024, 3, 1, 12, 0, 1))
    assert (breach.kind, breach.due_at, breach.overdue_by) == (
        EscalationKind.ack_overdue, sh(2024, 3, 1, 12, 0), timedelta(seconds=1))


def test_hazard_ack_window_runs_on_the_wall_clock_even_with_working_days() -> None:
    s = case_at((sh(2024, 3, 2, 9, 0), Route("fire-brigade", ack_hours=2)), (sh(2024, 3, 2, 9, 0),
                Dispatch("fire-brigade")))  # a Saturday
    found = breaches(s, sh(2024, 3, 2, 12, 0), calendar=WEEKDAYS)
    assert [b.due_at for b in found] == [sh(2024, 3, 2, 11, 0)]


def test_an_acked_case_can_only_miss_its_feedback_deadline() -> None:
    s, _ = apply(DISPATCHED, Acknowledge("police-nanmen"), now=sh(2024, 3, 1, 13, 0))
    assert [(b.kind, b.due_at) for b in breaches(s, sh(2024, 3, 25))] == [
        (EscalationKind.feedback_overdue, sh(2024, 3, 22))]


def test_breach_keys_are_stable_across_recomputation_and_replicas() -> None:
    first = breaches(DISPATCHED, sh(2024, 3, 1, 13, 0))
    later = breaches(DISPATCHED, sh(2024, 3, 3, 8, 0))
    rebuilt = case_at((sh(2024, 3, 1, 9, 0), Route("police-nanmen", ack_hours=2)), (sh(2024, 3, 1, 10, 0),
                      Dispatch("police-nanmen")))  # a restarted replica loading the same case
    again = breaches(rebuilt, sh(2024, 3, 2, 8, 0))
    keys = [[b.key for b in found] for found in (first, later, again)]
    assert keys == [["c-42:ack_overdue:1"]] * 3
    assert first[0].due_at == later[0].due_at == again[0].due_at


def test_an_escalated_breach_is_not_pending_again_and_a_new_attempt_gets_a_new_key() -> None:
    now = sh(2024, 3, 1, 13, 0)
    (breach,) = unescalated(DISPATCHED, now)
    s, _ = apply(DISPATCHED, breach.command(), now=now)
    assert unescalated(s, now + timedelta(hours=5)) == [] and s.ack_overdue
    s, _ = apply(s, Return("police-nanmen", ReturnReason.wrong_unit), now=now)
    s, _ = apply(s, OpenDispute(), now=now)
    s, _ = apply(s, Adjudicate("police-ximen", Principle.nearest), now=now)
    s, _ = apply(s, Dispatch("police-ximen"), now=now)
    assert not s.ack_overdue and [b.key for b in unescalated(s, now + timedelta(hours=3))] == [
        "c-42:ack_overdue:2"]
    assert apply(s, Escalate(EscalationKind.ack_overdue, 2), now=now)[0].escalations == {
        (EscalationKind.ack_overdue, 1), (EscalationKind.ack_overdue, 2)}
