"""Which unit (属地) a report belongs to: the reporter's code, else its address, grid or text."""

from __future__ import annotations

from router.domain.compiled import OUTSIDE, CompiledCatalogue
from router.domain.lexicon import WordValue, as_bytes
from router.domain.text import normalise
from schemas.report import Location


def _best_place(text: str, cc: CompiledCatalogue) -> tuple[str, str] | None:
    """The heaviest place named, the first of equals: (unit, the place's words)."""
    best: tuple[float, int, str, str] | None = None
    matches: list[tuple[int, WordValue]] = cc.place_names.longest(as_bytes(text))  # typed: native ints compiled
    for end, (_length, word, payloads, _flags) in matches:
        for _kind, unit, weight, *_ in payloads:
            key = (-weight, end)  # byte offsets order matches as character offsets would
            if best is None or key < best[:2]:
                best = (-weight, end, unit, word)
    return (best[2], best[3]) if best else None


def resolve_unit(location: Location, text: str, cc: CompiledCatalogue,
                 address: str | None = None) -> tuple[str | None, str, str]:
    """(unit code or None, source field, the words that decided) for a report; `address` is its address already
    normalised, when the caller has it."""
    given = (location.unit or "").strip()
    if given in cc.unit_names:
        return given, "location.unit", given
    # A reporter may type the name instead of the code; treat it like any other address text.
    for source, raw in (
        ("location.unit", given),
        ("location.address", location.address),
        ("location.grid", location.grid),
    ):
        if raw:
            where = address if source == "location.address" and address is not None else normalise(raw)
            found = _best_place(where, cc)
            if found:
                return _unit(found[0]), source, found[1]
    found = _best_place(text, cc)
    if found:
        return _unit(found[0]), "text", found[1]
    return None, "", ""


def _unit(code: str) -> str | None:
    # A place of the district outside every unit settles the question: no unit, and no guessing from the text.
    return None if code == OUTSIDE else code
