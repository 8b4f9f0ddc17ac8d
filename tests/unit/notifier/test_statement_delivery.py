"""The monthly statement (statements.v1) reaches the supervisor subscriptions of the office it names, only them."""

from __future__ import annotations

from notifier.domain.recipients import Incoming, SubscriberKind, SubscriptionView, recipients
from notifier.domain.vocabulary import REPORT_MONTHLY, event_type_of, valid_pattern


def test_report_monthly_goes_to_the_named_supervisor_that_asked_for_it() -> None:
    assert event_type_of("statements", "caseroute.statement.monthly", {"to": "safety-office"}) == REPORT_MONTHLY
    assert valid_pattern("report.monthly") and valid_pattern("report.*")
    subs = [SubscriptionView("a", SubscriberKind.supervisor, "safety-office", ("report.monthly",)),
            SubscriptionView("b", SubscriberKind.supervisor, "other-office", ("*",)),
            SubscriptionView("c", SubscriberKind.department, "amr", ("*",)),
            SubscriptionView("d", SubscriberKind.supervisor, "safety-office", ("case.*",))]
    found = recipients(Incoming(REPORT_MONTHLY, "statement-2026-11", None, escalated_to="safety-office"), subs, None)
    assert [r.subscription_id for r in found] == ["a"]
