"""Just enough PromQL to tell which metrics, label matchers and grouping labels an expression uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Functions and aggregations are identifiers followed by "("; these words never name a metric either.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "atan2", "inf", "nan"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}  # followed by (label, ...)
GROUPING = {"by", "without"}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<duration>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<variable>\$\{?[A-Za-z0-9_]+\}?)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^=<>(){}\[\],@:])
""", re.VERBOSE)


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str


@dataclass
class Selector:
    """A metric name with its label matchers, as written in the expression."""

    metric: str
    matchers: list[Matcher] = field(default_factory=list)


@dataclass
class Usage:
    """What one expression needs: its selectors, and the labels each aggregation groups by."""

    selectors: list[Selector]
    grouping: list[tuple[list[str], list[str]]]  # (labels of a by/without clause, metrics it aggregates)


def tokenize(expr: str) -> list[tuple[str, str]]:
    """(kind, text) tokens without whitespace; unknown characters raise ValueError."""
    tokens, pos = [], 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise ValueError(f"cannot read PromQL at {expr[pos:pos + 20]!r}")
        if match.lastgroup != "space":
            tokens.append((match.lastgroup or "", match.group()))
        pos = match.end()
    return tokens


def _closing(tokens: list[tuple[str, str]], start: int) -> int:
    """Index of the bracket closing the one at `start`."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opening, depth = tokens[start][1], 0
    for i in range(start, len(tokens)):
        if tokens[i][1] == opening:
            depth += 1
        elif tokens[i][1] == pairs[opening]:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced {opening!r}")


def _opening(tokens: list[tuple[str, str]], end: int) -> int:
    """Index of the "(" that the ")" at `end` closes."""
    depth = 0
    for i in range(end, -1, -1):
        depth += {")": 1, "(": -1}.get(tokens[i][1], 0)
        if depth == 0:
            return i
    raise ValueError("unbalanced ')'")


def _matchers(tokens: list[tuple[str, str]]) -> list[Matcher]:
    out = []
    for i in range(0, len(tokens), 4):  # label op "value" [,]
        label, op, value = tokens[i][1], tokens[i + 1][1], tokens[i + 2][1]
        out.append(Matcher(label, op, value[1:-1].encode().decode("unicode_escape")))
    return out


def _labels(tokens: list[tuple[str, str]]) -> list[str]:
    return [text for kind, text in tokens if kind == "ident"]


def parse(expr: str) -> Usage:
    """Selectors and grouping clauses of a PromQL expression."""
    tokens = tokenize(expr)
    selectors: list[tuple[int, Selector]] = []
    clauses: list[tuple[int, int, list[str]]] = []  # (index of the keyword, of its closing ")", labels)
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text == "[":  # range or subquery: durations and Grafana variables, no metric
            i = _closing(tokens, i) + 1
            continue
        if kind == "ident" and text in LABEL_LISTS and following == "(":
            end = _closing(tokens, i + 1)
            if text in GROUPING:
                clauses.append((i, end, _labels(tokens[i + 2:end])))
            i = end + 1
            continue
        # An aggregation is followed by "(" or by its clause: `sum by (x) (...)`.
        if kind == "ident" and text not in KEYWORDS and following != "(" and following not in GROUPING:
            selector = Selector(text)
            if following == "{":
                end = _closing(tokens, i + 1)
                selector.matchers = _matchers(tokens[i + 2:end])
                i = end
            selectors.append((i, selector))
        i += 1
    grouping = []
    for at, closing, labels in clauses:
        # `sum by (x) (arg)` or `sum (arg) by (x)`: the argument is the parenthesis after or before the clause.
        if closing + 1 < len(tokens) and tokens[closing + 1][1] == "(":
            span = (closing + 1, _closing(tokens, closing + 1))
        else:
            span = (_opening(tokens, at - 1), at - 1)
        grouping.append((labels, [s.metric for pos, s in selectors if span[0] <= pos <= span[1]]))
    return Usage([s for _, s in selectors], grouping)
