"""The catalogue's learnt second opinion, read from the file its catalogue names (the rescue's only I/O).

Building the model's tables from the file's counts (about 200,000 of them) was a sixth of `caseroute route`'s
start-up, so the tables built are kept, by marshal, in a cache file named by a digest of what they were built
from: the model file, the code that builds and reads them (router/domain/rescue.py) and the Python version. A cache
that cannot be read or written is skipped; the tables are then built as before, the same tables either way.
The cache lives in $CASEROUTE_VAR/cache, else in a checkout's var/cache (where `make` puts its builds); an
installed package without CASEROUTE_VAR builds the tables at every start.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import tempfile
from functools import cache
from pathlib import Path

import orjson

from catalogue.loader import CATALOGUE_DIR
from catalogue.model import Catalogue
from router.domain.compiled import CompiledCatalogue, compile_catalogue
from router.domain.rescue import RescueModel, Tables
from router.native import DOMAIN

log = logging.getLogger(__name__)
CHECKOUT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path | None:
    """Where built tables are kept: $CASEROUTE_VAR/cache, a checkout's var/cache, or nowhere."""
    var = os.environ.get("CASEROUTE_VAR")
    if var:
        return Path(var) / "cache"
    return CHECKOUT / "var" / "cache" if (CHECKOUT / "pyproject.toml").is_file() else None


def _cache_file(path: Path, data: bytes) -> Path | None:
    where = cache_dir()
    if where is None:
        return None
    h = hashlib.sha256(sys.version.encode())
    try:
        h.update((DOMAIN / "rescue.py").read_bytes())  # the tables' layout is this code's
    except OSError:
        return None
    h.update(data)
    return where / f"{path.stem}-{h.hexdigest()[:32]}.tables"


def _cached(file: Path) -> RescueModel | None:
    try:
        return RescueModel(Tables(*marshal.loads(file.read_bytes())))
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, TypeError) as exc:  # unreadable or not tables: built again
        log.warning("rescue tables cache %s unusable (%s): building the tables", file, exc)
        return None


def _keep(file: Path, model: RescueModel) -> None:
    temporary: str | None = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=file.name)
        with os.fdopen(handle, "wb") as out:
            out.write(marshal.dumps(tuple(model.tables())))
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would make every other user build the tables again
        os.replace(temporary, file)  # whole or not at all, whoever else writes it at the same time
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        log.info("rescue tables not cached in %s: %s", file.parent, exc)


@cache
def _read(path: Path) -> RescueModel:
    data = path.read_bytes()
    file = _cache_file(path, data)
    model = _cached(file) if file is not None else None
    if model is None:
        model = RescueModel(orjson.loads(data))
        if file is not None:
            _keep(file, model)
    return model


def rescue_for(cat: Catalogue, directory: Path = CATALOGUE_DIR) -> RescueModel | None:
    """The model the catalogue names, from the folder of its file; None when it names none or the file is gone."""
    if cat.rescue_model is None:
        return None
    path = (directory / cat.rescue_model).resolve()
    if not path.is_file():
        log.warning("catalogue %s names rescue model %s, which is not there: deciding without it",
                    cat.version, path)
        return None
    return _read(path)


def compiled(cat: Catalogue, directory: Path = CATALOGUE_DIR) -> CompiledCatalogue:
    """The compiled catalogue with its rescue model: what every caller that decides should use."""
    return compile_catalogue(cat, rescue_for(cat, directory))
