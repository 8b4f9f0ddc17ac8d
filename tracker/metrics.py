"""The tracker's Prometheus metrics; label sets are bounded (catalogue codes, rules, reasons, kinds)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 172800, 432000, 864000, 1728000, 3888000)

cases_received_total = Counter("cases_received_total", "Cases the tracker opened", ["source", "unit"])
cases_routed_total = Counter("cases_routed_total", "Routing decisions recorded", ["rule", "primary"])
case_gaps_total = Counter("case_gaps_total", "Cases no rule fitted (R10), sent for adjudication")
dispatch_returns_total = Counter("dispatch_returns_total", "Returns (退单) by department and reason",
                                 ["department", "reason"])
dispatch_success_ratio = Gauge("dispatch_success_ratio",
                               "First dispatches accepted ÷ first dispatches with an outcome", ["window"])
dispatch_pending = Gauge("dispatch_pending", "First dispatches still inside their ack window (no outcome yet)",
                         ["window"])
first_dispatch_accuracy_ratio = Gauge("first_dispatch_accuracy_ratio",
                                      "Settled cases handled by the first department dispatched to", ["window"])
case_ack_seconds = Histogram("case_ack_seconds", "Dispatch to acknowledgement (报到)", ["department"],
                             buckets=LATENCY_BUCKETS)
case_feedback_seconds = Histogram("case_feedback_seconds", "First dispatch to feedback (反馈)", ["department"],
                                  buckets=LATENCY_BUCKETS)
cases_overdue = Gauge("cases_overdue", "Open cases with an escalated breach", ["department", "kind"])
escalations_total = Counter("escalations_total", "Escalations to safety-office (督办)", ["kind"])
joint_inspections_total = Counter("joint_inspections_total", "Joint inspections (联合检查) triggers opened",
                                  ["trigger"])
subject_tier_changes_total = Counter("subject_tier_changes_total",
                                     "Subjects whose credit tier changed (not a new subject's first), by the new tier",
                                     ["tier"])
# Department scorecards (考核) of the month so far, refreshed every CASEROUTE_SCORECARD_REFRESH_S; departments are
# the catalogue's codes (per-unit ones bound to the catalogue's units), the settlements a fixed vocabulary.
scorecard_ack_on_time_ratio = Gauge("scorecard_ack_on_time_ratio",
                                    "Dispatches this month answered within the ack window ÷ decided", ["department"])
scorecard_feedback_on_time_ratio = Gauge("scorecard_feedback_on_time_ratio",
                                         "Dispatches this month with feedback by the deadline ÷ decided",
                                         ["department"])
scorecard_returns = Gauge("scorecard_returns", "Returns this month by how they were settled",
                          ["department", "settlement"])
scorecard_reopened_cases = Gauge("scorecard_reopened_cases",
                                 "Cases dispatched to the department again this month after it let go of them",
                                 ["department"])
scorecard_ack_median_seconds = Gauge("scorecard_ack_median_seconds", "Median dispatch-to-ack time this month",
                                     ["department"])
scorecard_feedback_median_seconds = Gauge("scorecard_feedback_median_seconds",
                                          "Median first-dispatch-to-feedback time this month", ["department"])
