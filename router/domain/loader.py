"""Reading catalogue files: the one place in the router's domain that touches the file system."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from router.domain.catalogue import Catalogue
from router.domain.validation import Problem, check_catalogue

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "catalogues"
DEFAULT_CATALOGUE = CATALOGUE_DIR / "haishu.yaml"


class CatalogueError(ValueError):
    """A catalogue that cannot be used; `problems` lists every one found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


def _path_of(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def parse_catalogue(data: Any, source: str = "<catalogue>") -> Catalogue:
    """Validate catalogue data (e.g. from a catalogue.v1 event) into a Catalogue, or raise CatalogueError."""
    try:
        cat = Catalogue.model_validate(data)
    except ValidationError as exc:
        # Schema errors first; cross-references cannot be checked on a half-parsed catalogue.
        problems = [Problem(_path_of(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise CatalogueError(source, problems) from None
    problems = check_catalogue(cat)
    if problems:
        raise CatalogueError(source, problems)
    return cat


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Load and validate a YAML (or JSON) catalogue file; the default is the 海曙 catalogue."""
    file = Path(path) if path is not None else DEFAULT_CATALOGUE
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(str(file), [Problem("<file>", str(exc))]) from None
    return parse_catalogue(data, str(file))


def catalogue_json_schema() -> dict[str, Any]:
    """The JSON Schema of a catalogue file, generated from the models."""
    schema = Catalogue.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "caseroute responsibility catalogue"
    return schema


def write_json_schema(path: Path | None = None) -> Path:
    """Write the generated JSON Schema next to the catalogues (kept in git so editors can use it)."""
    out = path or CATALOGUE_DIR / "catalogue.schema.json"
    out.write_text(json.dumps(catalogue_json_schema(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out
