"""The small PromQL reader finds metrics, matchers and grouping labels, and skips functions and keywords."""

from __future__ import annotations

from tests.ops.promql import Matcher, parse


def test_functions_aggregations_ranges_and_numbers_are_not_metrics() -> None:
    usage = parse('histogram_quantile(0.9, sum by (department, le) (rate(case_ack_seconds_bucket[$__rate_interval])))'
                  " * 3600 + vector(0.988)")
    assert [s.metric for s in usage.selectors] == ["case_ack_seconds_bucket"]
    assert usage.grouping == [(["department", "le"], ["case_ack_seconds_bucket"])]


def test_matchers_with_every_operator_and_escaped_values() -> None:
    usage = parse('a{x="1", y=~"5..",z!="q\\"r"} / ignoring(y) b{w!~"n"} offset 1h and on(x) c')
    assert [s.metric for s in usage.selectors] == ["a", "b", "c"]
    assert usage.selectors[0].matchers == [Matcher("x", "=", "1"), Matcher("y", "=~", "5.."),
                                           Matcher("z", "!=", 'q"r')]
    assert usage.selectors[1].matchers == [Matcher("w", "!~", "n")]


def test_grouping_after_the_argument_and_binary_keywords_before_parentheses() -> None:
    usage = parse("sum(rate(x_total[5m])) by (group) > 0 and (max without (topic) (lag))")
    assert [s.metric for s in usage.selectors] == ["x_total", "lag"]
    assert usage.grouping == [(["group"], ["x_total"]), (["topic"], ["lag"])]


def test_subqueries_and_offsets() -> None:
    usage = parse("deriv(sum by (department) (cases_overdue)[1h:5m]) - cases_overdue offset 1h")
    assert [s.metric for s in usage.selectors] == ["cases_overdue", "cases_overdue"]
