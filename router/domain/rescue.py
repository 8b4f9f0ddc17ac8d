"""A second opinion learnt from labelled reports, asked only when the catalogue's rules were unsure.

The catalogue decides. When its best rule falls below the confidence threshold the report is held for a human
(R10, "low confidence"); if a small naive Bayes model over the report's character pairs and triples, trained by
`caseroute catalogue train-rescue` on labelled reports, names the same rule and department with high
probability, the report goes there instead, and the decision says so with the words that weighed most.

The same model can also doubt: a rule that routed a report but was less than DOUBT_BELOW sure, and that the model
contradicts with DOUBTING probability (another department), is held for a human rather than sent where it would
likely come back.

Deterministic: the model file holds integer counts, so the same labelled files give the same file, byte for byte.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FORMAT = 1
GRAMS = (2, 3)
MIN_COUNT = 3  # an n-gram seen in fewer training reports is noise, and would only make the file large
ALPHA = 0.1  # additive smoothing of the per-label n-gram frequencies
BACKING = 0.6  # the model's probability for the rule it must back
# A routed report whose rule was only half sure (confidence below DOUBT_BELOW) and for which the model names another
# department with at least DOUBTING probability is held for a human: on fresh reports this catches a third of the
# wrong automatic dispatches and few right ones (thresholds chosen on two held-out sets, ROUTING §6's return cost).
DOUBT_BELOW = 0.6
DOUBTING = 0.99


def label_of(rule: str, department_template: str) -> str:
    """What the model predicts: a rule and the department template it sends to (R9 amr, R1 police-{unit})."""
    return f"{rule} {department_template}"


def features(text: str) -> set[str]:
    """The character pairs and triples of a normalised text (within lines: the title's end is no n-gram)."""
    out: set[str] = set()
    for line in text.split("\n"):
        for n in GRAMS:
            out.update(line[i:i + n] for i in range(len(line) - n + 1))
    return out


def train(examples: Iterable[tuple[str, str]], min_count: int = MIN_COUNT) -> dict[str, Any]:
    """Counts for a model file from (normalised text, label) pairs: reports per label, n-gram counts per label."""
    documents: Counter[str] = Counter()
    per_label: dict[str, Counter[str]] = {}
    seen: Counter[str] = Counter()
    for text, label in examples:
        grams = features(text)
        documents[label] += 1
        per_label.setdefault(label, Counter()).update(grams)
        seen.update(grams)
    kept = {g for g, n in seen.items() if n >= min_count}
    return {
        "format": FORMAT,
        "min_count": min_count,
        "documents": dict(sorted(documents.items())),
        "counts": {label: dict(sorted((g, n) for g, n in grams.items() if g in kept))
                   for label, grams in sorted(per_label.items())},
    }


@dataclass(frozen=True, slots=True)
class Opinion:
    label: str
    probability: float
    words: list[str]  # the n-grams that spoke most for it


class RescueModel:
    """Multinomial naive Bayes over n-gram presence, as log tables built once from the counts."""

    __slots__ = ("_log_prior", "_log_seen", "_log_unseen", "vocabulary")

    def __init__(self, data: Mapping[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"rescue model format {data.get('format')!r}, expected {FORMAT}")
        documents: Mapping[str, int] = data["documents"]
        counts: Mapping[str, Mapping[str, int]] = data["counts"]
        self.vocabulary = frozenset(g for grams in counts.values() for g in grams)
        total = sum(documents.values())
        size = len(self.vocabulary)
        self._log_prior = {label: math.log(n / total) for label, n in documents.items()}
        self._log_seen: dict[str, dict[str, float]] = {}
        self._log_unseen: dict[str, float] = {}
        for label in documents:
            grams = counts.get(label, {})
            denominator = math.log(sum(grams.values()) + ALPHA * size)
            self._log_seen[label] = {g: math.log(n + ALPHA) - denominator for g, n in grams.items()}
            self._log_unseen[label] = math.log(ALPHA) - denominator

    def opinion(self, text: str) -> Opinion | None:
        """The most probable label for a normalised text, or None when none of its n-grams is known."""
        grams = features(text) & self.vocabulary
        if not grams:
            return None
        scores = {}
        for label, prior in self._log_prior.items():
            seen, unseen = self._log_seen[label], self._log_unseen[label]
            scores[label] = prior + sum(seen.get(g, unseen) for g in grams)
        best = max(scores, key=lambda k: (scores[k], k))
        top = scores[best]
        probability = 1.0 / sum(math.exp(s - top) for s in scores.values())
        seen, unseen = self._log_seen[best], self._log_unseen[best]
        others = [label for label in scores if label != best]

        def weight(g: str) -> float:
            return seen.get(g, unseen) - max(self._log_seen[o].get(g, self._log_unseen[o]) for o in others)

        words = sorted((g for g in grams if g in seen), key=lambda g: (-weight(g), g))[:4] if others else []
        return Opinion(best, round(probability, 3), words)


def doubts(model: RescueModel, text: str, confidence: float, department: tuple[str, str]) -> Opinion | None:
    """The model's opinion if it names another department than a half-sure rule, with DOUBTING probability.
    `department` is the rule's, as a template and as bound (police-{unit} with no unit is fire-brigade)."""
    if confidence >= DOUBT_BELOW:
        return None
    found = model.opinion(text)
    if found is None or found.probability < DOUBTING or found.label.split(" ", 1)[1] in department:
        return None
    return found


def backs(model: RescueModel, text: str, rule: str, department_template: str) -> Opinion | None:
    """The model's opinion if it names this rule and department with at least BACKING probability."""
    found = model.opinion(text)
    if found is None or found.label != label_of(rule, department_template) or found.probability < BACKING:
        return None
    return found
