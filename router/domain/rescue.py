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
from typing import Any, Final, NamedTuple

from router.domain.rounding import round3

FORMAT: Final = 1
GRAMS: Final = (2, 3)
MIN_COUNT: Final = 3  # an n-gram seen in fewer training reports is noise, and would only make the file large
ALPHA: Final = 0.1  # additive smoothing of the per-label n-gram frequencies
BACKING: Final = 0.6  # the model's probability for the rule it must back
# A routed report whose rule was not sure (confidence below DOUBT_BELOW) and for which the model names another
# department with at least DOUBTING probability goes by the reading of the report the model names, or is held for
# a human. DOUBT_BELOW was 0.6 until December 2026; 0.8 was chosen on 1,400 read reports the model was not trained
# on (wrong dispatches 11 -> 7, right 1,375 -> 1,373), and on 3,600 unread reports it cut wrong automatic dispatches
# from 64 to 21 for 41 more held and 9 more right.
DOUBT_BELOW: Final = 0.8
DOUBTING: Final = 0.99


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


ENTRY: Final = 4  # bytes of a packed row entry: label index, lift index
NARROW: Final = 2  # the same when both indexes fit a byte each (a few dozen labels, a few hundred counts)
_MOST: Final = 1 << 16  # labels or distinct counts two bytes can index


def _pack(label: int, lift: int) -> bytes:
    return bytes((label & 0xFF, label >> 8, lift & 0xFF, lift >> 8))


class Guess(NamedTuple):
    """The most probable label before it is explained: explaining is asked only of an opinion that is used."""

    label: str
    probability: float
    grams: set[str]  # the text's n-grams the model knows


class Tables(NamedTuple):
    """What asking a model reads, built from a model file's counts by tables(). Plain tuples, floats and bytes, so
    that rescue_file can keep them (marshal) and a start-up need not build them again."""

    labels: tuple[str, ...]
    base: tuple[float, ...]  # per label: its prior
    unseen: tuple[float, ...]  # per label: what a known n-gram it never saw adds
    by_unseen: tuple[int, ...]  # label indexes by descending `unseen`, for explain()
    lift_values: tuple[float, ...]  # what seeing an n-gram adds, per distinct count
    rows: dict[str, bytes]  # per n-gram: the packed entries of the labels that saw it (see RescueModel)
    entry: int  # bytes per entry of a row: ENTRY, or NARROW


def tables(data: Mapping[str, Any]) -> Tables:
    """The tables of a model file's counts (see RescueModel for their layout)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"rescue model format {data.get('format')!r}, expected {FORMAT}")
    documents: dict[str, int] = data["documents"]
    counts: dict[str, dict[str, int]] = data["counts"]
    total = sum(documents.values())
    log_alpha = math.log(ALPHA)
    lift_at: dict[int, int] = {}  # a count -> where its lift is in lift_values: counts are small integers
    lift_values: list[float] = []
    rows: dict[str, bytearray] = {}
    labels = tuple(documents)
    if len(labels) > _MOST:
        raise ValueError(f"rescue model with {len(labels)} labels, at most {_MOST}")
    totals: list[int] = []
    for i, label in enumerate(labels):
        grams = counts.get(label, {})
        totals.append(sum(grams.values()))
        entry_of: dict[int, bytes] = {}  # a count -> this label's packed entry for it
        for g, n in grams.items():
            entry = entry_of.get(n)
            if entry is None:
                at = lift_at.get(n)
                if at is None:
                    at = lift_at[n] = len(lift_values)
                    lift_values.append(math.log(n + ALPHA) - log_alpha)
                entry = entry_of[n] = _pack(i, at)
            row = rows.get(g)
            if row is None:
                rows[g] = bytearray(entry)
            else:
                row += entry
    if len(lift_values) > _MOST:
        raise ValueError(f"rescue model with {len(lift_values)} distinct counts, at most {_MOST}")
    # The n-grams any label saw (a label with counts but no documents is never predicted; its n-grams count).
    size = len(rows) + len({g for label, grams in counts.items() if label not in documents
                            for g in grams if g not in rows})
    unseen = tuple(log_alpha - math.log(t + ALPHA * size) for t in totals)
    # Indexes below 256 have a zero high byte: the low bytes alone are the entries, and a quarter less to read.
    narrow = len(labels) <= 256 and len(lift_values) <= 256
    return Tables(
        labels,
        tuple(math.log(documents[label] / total) for label in labels),
        unseen,
        tuple(sorted(range(len(totals)), key=lambda i: -unseen[i])),
        tuple(lift_values),
        {g: bytes(row[0::2]) if narrow else bytes(row) for g, row in rows.items()},
        NARROW if narrow else ENTRY,
    )


class RescueModel:
    """Multinomial naive Bayes over n-gram presence, as log tables built once from the counts.

    A label's score is its prior, plus "unseen" for every known n-gram of the text, plus for the n-grams the label
    was trained on what seeing them adds (log((n + ALPHA) / ALPHA) for n reports: the same for every label). Stored
    that way, per n-gram only the labels that saw it are visited, not all of them: asking was most of a routing
    decision's cost when every label was scored for every n-gram.

    An n-gram's row is packed in one bytes object, ENTRY bytes per label that saw it: the label's index and the
    index of its lift in `_lift_values`, each two bytes little-endian, or NARROW bytes, one each, when every index
    fits a byte. A row of tuples and floats cost two cache misses per entry, which were most of asking; a bytes row
    is one object, read without allocating."""

    __slots__ = ("_base", "_by_unseen", "_entry", "_labels", "_lift_values", "_rows", "_unseen")

    def __init__(self, data: Mapping[str, Any] | Tables) -> None:
        """A model from a model file's counts, or from the tables built from them before (rescue_file's cache)."""
        built = data if isinstance(data, Tables) else tables(data)
        self._labels, self._base, self._unseen, self._by_unseen, self._lift_values, self._rows, self._entry = built

    def tables(self) -> Tables:
        return Tables(self._labels, self._base, self._unseen, self._by_unseen, self._lift_values, self._rows,
                      self._entry)

    def best(self, text: str) -> Guess | None:
        """The most probable label, its probability and the text's known n-grams; None when none is known."""
        # features(text) & known, in one pass: each n-gram of the text is looked up as it is cut, and only the
        # known ones are kept (most are not known, and a set of them all cost a third of asking).
        table = self._rows
        grams: set[str] = set()
        rows: list[bytes] = []
        for line in text.split("\n"):
            for n in GRAMS:
                for at in range(len(line) - n + 1):
                    g = line[at:at + n]
                    found = table.get(g)  # not `row`: compiled, the loop below would read a bytes | None
                    if found is not None:
                        seen = len(grams)
                        grams.add(g)  # new if the set grew: one hash probe, not two
                        if len(grams) > seen:
                            rows.append(found)
        if not grams:
            return None
        known = len(grams)
        base, unseen = self._base, self._unseen
        scores: list[float] = []
        for i in range(len(base)):  # by index, not zip(): compiled, zip is a call into Python per report
            scores.append(base[i] + known * unseen[i])
        lift_values = self._lift_values
        if self._entry == NARROW:
            for row in rows:
                for k in range(0, len(row), NARROW):
                    i = row[k]
                    scores[i] = scores[i] + lift_values[row[k + 1]]  # not +=: two boxed floats
        else:
            for row in rows:
                for k in range(0, len(row), ENTRY):
                    i = row[k] | row[k + 1] << 8
                    scores[i] = scores[i] + lift_values[row[k + 2] | row[k + 3] << 8]
        labels = self._labels
        best = 0
        for i in range(1, len(scores)):  # max by (score, label), as written out: a key function per label costs
            if scores[i] > scores[best] or (scores[i] == scores[best] and labels[i] > labels[best]):
                best = i
        top = scores[best]
        probability = 1.0 / sum(math.exp(s - top) for s in scores)
        return Guess(labels[best], round3(probability), grams)

    def lifts(self, gram: str) -> dict[int, float]:
        """What seeing `gram` adds to each label that saw it, by label index."""
        row = self._rows[gram]
        lift_values = self._lift_values
        if self._entry == NARROW:
            return {row[k]: lift_values[row[k + 1]] for k in range(0, len(row), NARROW)}
        return {row[k] | row[k + 1] << 8: lift_values[row[k + 2] | row[k + 3] << 8] for k in range(0, len(row), ENTRY)}

    def explained(self, guess: Guess) -> Opinion:
        return Opinion(guess.label, guess.probability, self.explain(guess.label, guess.grams))

    def explain(self, best: str, grams: set[str]) -> list[str]:
        """The n-grams that spoke most for `best`: by how far its log-probability of each passes the strongest
        other label's."""
        if len(self._labels) < 2:
            return []
        me = self._labels.index(best)
        unseen = self._unseen
        weights: dict[str, float] = {}
        for g in grams:
            row = self.lifts(g)
            mine = row.get(me)
            if mine is None:
                continue  # an n-gram `best` never saw does not speak for it
            # The strongest other label: among those that saw g by their lift, and among the rest, which score
            # just their "unseen", the first by descending "unseen" (a row's few labels walked, not every label).
            strongest = -math.inf
            for i, lift in row.items():
                if i != me and unseen[i] + lift > strongest:
                    strongest = unseen[i] + lift
            for i in self._by_unseen:
                if i != me and i not in row:
                    strongest = max(strongest, unseen[i])
                    break
            weights[g] = unseen[me] + mine - strongest
        return sorted(weights, key=lambda g: (-weights[g], g))[:4]

    def opinion(self, text: str) -> Opinion | None:
        """The most probable label for a normalised text, or None when none of its n-grams is known."""
        found = self.best(text)
        return None if found is None else self.explained(found)


def doubts(model: RescueModel, text: str, confidence: float, department: tuple[str, str], rule: str = "",
           fallback: str = "") -> Opinion | None:
    """The model's opinion if it names another department than a half-sure rule, with DOUBTING probability.
    `department` is the rule's, as a template and as bound; the `rule` to its template's district `fallback` (R1
    fire-brigade for R1 police-{unit}) agrees too."""
    if confidence >= DOUBT_BELOW:
        return None
    found = model.best(text)
    if (found is None or found.probability < DOUBTING or found.label.split(" ", 1)[1] in department
            or found.label == label_of(rule, fallback)):
        return None
    return model.explained(found)


def backs(model: RescueModel, text: str, rule: str, department_template: str) -> Opinion | None:
    """The model's opinion if it names this rule and department with at least BACKING probability."""
    found = model.best(text)
    if found is None or found.label != label_of(rule, department_template) or found.probability < BACKING:
        return None
    return model.explained(found)
