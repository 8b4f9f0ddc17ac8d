"""Linking decided reports to the open cases they repeat (pure): where their originals can be, which report
becomes a duplicate of which case, and which stay open for the reports after it, in a batch or a stream."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalogue.model import DuplicateSettings
from router.domain.duplicates import Box, OpenCase, find_duplicate, search_boxes, subject_of
from router.domain.text import normalise_address
from schemas.decision import Decision, DecisionStatus
from schemas.report import Report


@dataclass(frozen=True)
class Search:
    """Where a batch's originals can be: per subject the start of the earliest window, and the places (the
    reports' addresses, boxes around their coordinates)."""

    since: dict[str, datetime]
    addresses: list[str]
    boxes: list[Box]


@dataclass(frozen=True)
class Linked:
    """A report's outcome: its decision (marked a duplicate when it repeats an open case), the case as later
    reports are compared with it, and whether it stays open for them."""

    decision: Decision
    case: OpenCase
    open: bool


def search_for(decided: Iterable[tuple[Decision, Report]], settings: DuplicateSettings) -> Search | None:
    """The open cases worth reading for these reports; None when no report has a subject to link by.

    Only a report's own place can hold its original, and at a place only the first report of a matter stays
    open (the later ones are its duplicates): a handful of rows however busy the subject is elsewhere."""
    window = timedelta(days=settings.window_days)
    since: dict[str, datetime] = {}
    addresses: set[str] = set()
    points: list[tuple[float, float]] = []
    for decision, report in decided:
        subject = subject_of(decision)
        if subject is not None and decision.status is DecisionStatus.routed:
            since[subject] = min(since.get(subject, report.reported_at - window), report.reported_at - window)
            if address := normalise_address(report.location.address):
                addresses.add(address)
            if report.location.lat is not None and report.location.lon is not None:
                points.append((report.location.lat, report.location.lon))
    if not since:
        return None
    return Search(since, sorted(addresses), search_boxes(points, settings.distance_m))


def newest_first(cases: Iterable[OpenCase]) -> dict[str, list[OpenCase]]:
    """Open cases by subject, newest first (stable: cases as new keep the order they came in)."""
    found: dict[str, list[OpenCase]] = {}
    for case in cases:
        found.setdefault(case.subject or "", []).append(case)
    for listed in found.values():
        listed.sort(key=_newest_first)
    return found


class OpenCases:
    """The open cases later reports may repeat, by subject newest first: each report linked in turn joins them
    when it stays open. The router's batch planner and `caseroute route --link-duplicates` both link with it."""

    def __init__(self, settings: DuplicateSettings, recent: dict[str, list[OpenCase]] | None = None) -> None:
        self.settings = settings
        # A copy: the linked reports join it, not the caller's lists (`recent` as newest_first gives it).
        self._newest = {subject: list(cases) for subject, cases in (recent or {}).items()}

    def link(self, case_id: str, report: Report, decision: Decision) -> Linked:
        """The report linked to the newest open case on its subject at its place within the window, if any;
        kept as an open case for the reports after it when it is routed and not a duplicate."""
        subject = subject_of(decision)
        duplicate_of = _duplicate_of(decision, report, self._newest.get(subject or "", []), self.settings)
        if duplicate_of is not None:
            decision = decision.model_copy(update={"status": DecisionStatus.duplicate, "duplicate_of": duplicate_of})
        case = OpenCase(case_id, decision.unit, normalise_address(report.location.address), report.location.lat,
                        report.location.lon, subject, report.reported_at)
        is_open = duplicate_of is None and decision.status is DecisionStatus.routed
        if is_open and subject is not None:
            listed = self._newest.setdefault(subject, [])
            # After the newer ones and those as new: the order a stable sort by age would give them.
            listed.insert(bisect_right(listed, _newest_first(case), key=_newest_first), case)
        return Linked(decision, case, is_open)


def link_duplicates(reports: Sequence[tuple[str, Report, Decision]], recent: dict[str, list[OpenCase]],
                    settings: DuplicateSettings) -> list[Linked]:
    """Each (case id, report, decision) in order: linked to the newest open case on its subject at its place
    within the window, the earlier reports of the batch included (`recent` as newest_first gives it)."""
    cases = OpenCases(settings, recent)
    return [cases.link(case_id, report, decision) for case_id, report, decision in reports]


def _newest_first(case: OpenCase) -> float:
    """The sort key that puts newer cases first."""
    return -case.opened_at.timestamp()


def _duplicate_of(decision: Decision, report: Report, newest: list[OpenCase], settings: DuplicateSettings
                  ) -> str | None:
    """The newest open case on the same subject at the same place within the window, if any (`newest` is newest
    first: the window is a prefix, and the first match is the answer)."""
    if subject_of(decision) is None or decision.status is not DecisionStatus.routed:
        return None
    since = report.reported_at - timedelta(days=settings.window_days)
    in_window = bisect_right(newest, -since.timestamp(), key=_newest_first)
    return find_duplicate(decision, address=report.location.address, lat=report.location.lat,
                          lon=report.location.lon, reported_at=report.reported_at, recent=newest[:in_window],
                          settings=settings)
