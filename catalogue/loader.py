"""Reading catalogue files: the one place of the catalogue that touches the file system."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from catalogue.model import Catalogue
from catalogue.validation import Problem, check_catalogue

# libyaml's parser where PyYAML was built with it: the default catalogue and its gazetteer load ~5x faster,
# which every `caseroute route` start pays.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CATALOGUE_DIR = Path(__file__).resolve().parent / "data"
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


def _load_yaml(file: Path, cache: Path | None = None) -> Any:
    """A YAML file's data. With `cache` (a directory), the data parsed before from the same bytes is read back
    (marshal, by a digest of the bytes, Python's and PyYAML's versions): parsing the default catalogue and its
    gazetteer was a quarter of a `caseroute route` start. Data marshal cannot hold, or a cache that cannot be read
    or written, is parsed as before: the same data either way."""
    raw = file.read_bytes()
    kept: Path | None = None
    if cache is not None:
        digest = hashlib.sha256(f"{sys.version}\0{yaml.__version__}\0{_YAML_LOADER.__name__}\0".encode() + raw)
        kept = cache / f"{file.stem}-{digest.hexdigest()[:32]}.yaml-data"
        try:
            return marshal.loads(kept.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            pass
    data = yaml.load(raw.decode("utf-8"), Loader=_YAML_LOADER)
    if kept is not None:
        _keep(kept, data)
    return data


def _keep(file: Path, data: Any) -> None:
    temporary: str | None = None
    try:
        dumped = marshal.dumps(data)
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=file.name)
        with os.fdopen(handle, "wb") as out:
            out.write(dumped)
        os.chmod(temporary, 0o644)
        os.replace(temporary, file)  # whole or not at all, whoever else writes it at the same time
    except (OSError, ValueError):  # ValueError: data marshal cannot hold (a YAML date)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def read_catalogue_file(path: Path | str | None = None, cache: Path | None = None) -> dict[str, Any]:
    """A catalogue file's data, its generated gazetteer (`divisions_file`) read in; the default is 海曙's. `cache`:
    a directory where the files' parsed data is kept (see _load_yaml)."""
    file = Path(path) if path is not None else DEFAULT_CATALOGUE
    try:
        data = _load_yaml(file, cache)
        if isinstance(data, dict) and "divisions_file" in data:
            # The generated gazetteer lives in a file of its own, so the hand-kept catalogue stays small.
            divisions = file.parent / str(data.pop("divisions_file"))
            data["divisions"] = _load_yaml(divisions, cache)
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(str(file), [Problem("<file>", str(exc))]) from None
    if not isinstance(data, dict):
        raise CatalogueError(str(file), [Problem("<file>", "not a mapping")])
    return data


def load_catalogue(path: Path | str | None = None, cache: Path | None = None) -> Catalogue:
    """Load and validate a YAML (or JSON) catalogue file; the default is the 海曙 catalogue. `cache`: a directory
    where the files' parsed data is kept (see _load_yaml)."""
    return parse_catalogue(read_catalogue_file(path, cache), str(path or DEFAULT_CATALOGUE))


def catalogue_json_schema() -> dict[str, Any]:
    """The JSON Schema of a catalogue file, generated from the models."""
    schema = Catalogue.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "caseroute responsibility catalogue"
    # A file may name its generated gazetteer instead of holding it (read_catalogue_file reads it in).
    schema["properties"]["divisions_file"] = {
        "type": "string", "description": "file beside this one generated by `caseroute catalogue gazetteer`"}
    return schema


def write_json_schema(path: Path | None = None) -> Path:
    """Write the generated JSON Schema next to the catalogues (kept in git so editors can use it)."""
    out = path or CATALOGUE_DIR / "catalogue.schema.json"
    out.write_text(json.dumps(catalogue_json_schema(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out
