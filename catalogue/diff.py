"""A readable, structural diff of two catalogue versions: rules, rulings, matters, industries, aliases, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Sections keyed by code; each entry is compared field by field, alias lists word by word.
KEYED = ("units", "departments", "industries", "matters", "unit_departments", "gazetteer")
# Sections compared as one value each, field by field.
WHOLE = ("settings", "supervision", "rules", "cues", "spelling")


@dataclass(frozen=True)
class Change:
    """One difference at a dotted path: `added`, `removed` or `changed` (with the words added or removed)."""

    path: str
    kind: str
    before: Any = None
    after: Any = None
    words_added: list[str] = field(default_factory=list)
    words_removed: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.words_added or self.words_removed:
            parts = [f"+{w}" for w in self.words_added] + [f"-{w}" for w in self.words_removed]
            return f"~ {self.path}: {' '.join(parts)}"
        if self.kind == "added":
            return f"+ {self.path}: {_short(self.after)}"
        if self.kind == "removed":
            return f"- {self.path}: {_short(self.before)}"
        return f"~ {self.path}: {_short(self.before)} → {_short(self.after)}"


@dataclass(frozen=True)
class CatalogueDiff:
    before: str
    after: str
    changes: list[Change]

    def as_dict(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after,
                "changes": [{"path": c.path, "kind": c.kind, "before": c.before, "after": c.after,
                             "words_added": c.words_added, "words_removed": c.words_removed} for c in self.changes],
                "text": self.text()}

    def text(self) -> str:
        head = f"catalogue {self.before} → {self.after}: {len(self.changes)} change(s)"
        return "\n".join([head, *(c.line() for c in self.changes)])


def _short(value: Any, limit: int = 160) -> str:
    if isinstance(value, dict) and "lead" in value and "match" in value:  # a ruling: who, for what
        terms = "、".join(value["match"].get("terms", []))
        text = f"{value.get('lead')} ({value.get('principle')}) for [{terms}] by {value.get('ruled_by')}"
    elif isinstance(value, dict) and "name" in value:
        text = str(value["name"])
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _words(value: Any) -> list[str] | None:
    """The words of an alias list (plain strings or {w: ...}), or None when `value` is not one."""
    if not isinstance(value, list) or not all(isinstance(v, str | dict) for v in value):
        return None
    if any(isinstance(v, dict) and "w" not in v for v in value):
        return None
    return [v if isinstance(v, str) else str(v["w"]) for v in value]


def _compare(path: str, before: Any, after: Any, out: list[Change]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                out.append(Change(sub, "removed", before=before[key]))
            elif key not in before:
                out.append(Change(sub, "added", after=after[key]))
            else:
                _compare(sub, before[key], after[key], out)
        return
    old, new = _words(before), _words(after)
    if old is not None and new is not None:
        added = [w for w in new if w not in old]
        removed = [w for w in old if w not in new]
        if added or removed:
            out.append(Change(path, "changed", before, after, words_added=added, words_removed=removed))
            return
    out.append(Change(path, "changed", before, after))


def diff_catalogues(before: dict[str, Any], after: dict[str, Any]) -> CatalogueDiff:
    """Every difference of two catalogue documents (as dumped to JSON), rulings by id."""
    out: list[Change] = []
    for top in ("version", "district"):
        _compare(top, before.get(top), after.get(top), out)
    for section in (*KEYED, *WHOLE):
        _compare(section, before.get(section) or {}, after.get(section) or {}, out)
    rulings_before = {r["id"]: r for r in before.get("rulings") or []}
    rulings_after = {r["id"]: r for r in after.get("rulings") or []}
    _compare("rulings", rulings_before, rulings_after, out)
    known = {"version", "district", "rulings", *KEYED, *WHOLE}
    for top in sorted((set(before) | set(after)) - known):
        _compare(top, before.get(top), after.get(top), out)
    return CatalogueDiff(str(before.get("version")), str(after.get("version")), out)
