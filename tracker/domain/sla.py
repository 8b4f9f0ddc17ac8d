"""The SLA clock: ack windows, feedback deadlines, dispute pauses and breaches, in Asia/Shanghai time.

Day counting follows the Civil Code's rule for periods (民法典 第二百零一条、第二百零三条): the day
a case is dispatched does not count, counting starts the next day, and the period ends at 24:00
of its last day. So "20 days" from a dispatch at 3 月 1 日 15:00 is due 3 月 21 日 24:00
(= 3 月 22 日 00:00) in Asia/Shanghai. We chose this over exactly N×24 h because it is the rule
departments already know, it gives a date people can read on a console, and a case dispatched at
23:50 does not lose a day. Hours (the ack window) are exact elapsed time, since a 2-hour hazard
window must not be stretched to a day boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tracker.domain.case import CaseState, Pause, Status
from tracker.domain.commands import Escalate, EscalationKind

TZ = ZoneInfo("Asia/Shanghai")
ZERO = timedelta(0)


@dataclass(frozen=True)
class Calendar:
    """Which days count: every day (default) or working days with holidays and make-up days (调休)."""

    working_days: bool = False
    holidays: frozenset[date] = frozenset()  # days off that would otherwise be working days
    makeup_days: frozenset[date] = frozenset()  # weekend days that are working days (调休上班)

    def counts(self, day: date) -> bool:
        """Whether the clock runs on this (Asia/Shanghai) day."""
        if not self.working_days or day in self.makeup_days:
            return True
        return day.weekday() < 5 and day not in self.holidays


CALENDAR_DAYS = Calendar()


def local_day(at: datetime) -> date:
    """The Asia/Shanghai date of an instant."""
    return at.astimezone(TZ).date()


def day_start(day: date) -> datetime:
    """00:00 of a day in Asia/Shanghai, as an aware datetime."""
    return datetime.combine(day, time(0), TZ)


def advance(start: datetime, delta: timedelta, calendar: Calendar = CALENDAR_DAYS) -> datetime:
    """The instant at which `delta` of counted time has passed since `start`."""
    if not calendar.working_days:
        return (start.astimezone(UTC) + delta).astimezone(TZ)
    cur, left = start.astimezone(TZ), delta
    while True:
        day = cur.date()
        end = day_start(day + timedelta(days=1))
        if calendar.counts(day):
            room = end.astimezone(UTC) - cur.astimezone(UTC)
            if left <= room:
                return (cur.astimezone(UTC) + left).astimezone(TZ)
            left -= room
        cur = end


def counted(start: datetime, end: datetime, calendar: Calendar = CALENDAR_DAYS) -> timedelta:
    """How much counted time lies between two instants (zero if end is not after start)."""
    if end <= start:
        return ZERO
    if not calendar.working_days:
        return end - start
    total, cur = ZERO, start.astimezone(TZ)
    while cur < end:
        next_midnight = day_start(cur.date() + timedelta(days=1))
        stop = min(next_midnight, end.astimezone(TZ))
        if calendar.counts(cur.date()):
            total += stop.astimezone(UTC) - cur.astimezone(UTC)
        cur = next_midnight
    return total


def ack_due(dispatched_at: datetime, ack_hours: float, calendar: Calendar = CALENDAR_DAYS) -> datetime:
    """When the ack window of a dispatch closes; with working days, only their hours count."""
    return advance(dispatched_at, timedelta(hours=ack_hours), calendar)


def feedback_due(
    dispatched_at: datetime, days: int, calendar: Calendar = CALENDAR_DAYS, paused: Iterable[Pause] = ()
) -> datetime:
    """24:00 of the `days`-th counted day after the dispatch day, extended by paused (disputed) time."""
    day, left = local_day(dispatched_at), days
    while left > 0:
        day += timedelta(days=1)
        if calendar.counts(day):
            left -= 1
    due = day_start(day + timedelta(days=1))
    # A pause extends the deadline by exactly the counted time it lasted (not rounded to days): a
    # dispute settled in an afternoon costs the department that afternoon and nothing more. Pauses
    # after the (extended) due date changed nothing; the breach had already happened.
    for pause in sorted(paused, key=lambda p: p.start):
        start = max(pause.start, dispatched_at)
        if start < due:
            due = advance(due, counted(start, pause.end, calendar), calendar)
    return due


def pauses_of(state: CaseState, now: datetime) -> tuple[Pause, ...]:
    """The case's dispute pauses, including one still running at `now`."""
    if state.dispute_started_at is None:
        return state.pauses
    return (*state.pauses, Pause(state.dispute_started_at, max(now, state.dispute_started_at)))


def breach_key(case_id: str, kind: EscalationKind, attempt: int) -> str:
    """The idempotency key of one breach: unique per case, kind and dispatch attempt."""
    return f"{case_id}:{kind.value}:{attempt}"


@dataclass(frozen=True)
class Breach:
    """A missed ack window or feedback deadline of the case's current dispatch attempt."""

    case_id: str
    kind: EscalationKind
    attempt: int
    due_at: datetime
    overdue_by: timedelta

    @property
    def key(self) -> str:
        """Stable across recomputation, so restarts and replicas cannot escalate twice."""
        return breach_key(self.case_id, self.kind, self.attempt)

    def command(self) -> Escalate:
        """The state-machine command that records this breach's escalation."""
        return Escalate(self.kind, self.attempt)


def breaches(
    state: CaseState,
    now: datetime,
    *,
    calendar: Calendar = CALENDAR_DAYS,
    ack_calendar: Calendar = CALENDAR_DAYS,
) -> list[Breach]:
    """The breaches the case is in at `now` (strictly after the due instant), escalated or not."""
    # The ack window runs per dispatch: a new department gets its own window to report in. It runs
    # on wall-clock hours by default because a 2-hour hazard window must not wait for Monday.
    # The feedback deadline runs per case from the first dispatch, paused while disputed: it is the
    # promise made to the reporter, and time lost to a wrong dispatch is the system's, not theirs.
    # A breach is keyed by the attempt, so the department now holding the case is escalated once.
    found: list[Breach] = []
    current, first_at = state.current, state.first_dispatched_at
    if state.status is Status.dispatched and current is not None:
        due = ack_due(current.dispatched_at, state.ack_hours, ack_calendar)
        if now > due:
            found.append(Breach(state.case_id, EscalationKind.ack_overdue, state.attempt, due, now - due))
    if state.status in (Status.dispatched, Status.acknowledged) and first_at is not None:
        due = feedback_due(first_at, state.deadline_days, calendar, state.pauses)
        if now > due:
            found.append(
                Breach(state.case_id, EscalationKind.feedback_overdue, state.attempt, due, now - due)
            )
    return found


def unescalated(
    state: CaseState,
    now: datetime,
    *,
    calendar: Calendar = CALENDAR_DAYS,
    ack_calendar: Calendar = CALENDAR_DAYS,
) -> list[Breach]:
    """The breaches at `now` that the case has not yet recorded an escalation for."""
    found = breaches(state, now, calendar=calendar, ack_calendar=ack_calendar)
    return [b for b in found if (b.kind, b.attempt) not in state.escalations]


def next_due(
    state: CaseState,
    *,
    calendar: Calendar = CALENDAR_DAYS,
    ack_calendar: Calendar = CALENDAR_DAYS,
) -> datetime | None:
    """The earliest instant at which a not-yet-escalated breach would begin; None when nothing is owed."""
    # The clock scans an index on this instant, so a case costs nothing until it is actually due.
    dues: list[datetime] = []
    current, first_at = state.current, state.first_dispatched_at
    if state.status is Status.dispatched and current is not None and not state.ack_overdue:
        dues.append(ack_due(current.dispatched_at, state.ack_hours, ack_calendar))
    if state.status in (Status.dispatched, Status.acknowledged) and first_at is not None \
            and not state.feedback_overdue:
        dues.append(feedback_due(first_at, state.deadline_days, calendar, state.pauses))
    return min(dues) if dues else None
