"""The catalogue's learnt second opinion, read from the file its catalogue names (the rescue's only I/O)."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import orjson

from catalogue.loader import CATALOGUE_DIR
from catalogue.model import Catalogue
from router.domain.compiled import CompiledCatalogue, compile_catalogue
from router.domain.rescue import RescueModel

log = logging.getLogger(__name__)


@cache
def _read(path: Path) -> RescueModel:
    return RescueModel(orjson.loads(path.read_bytes()))


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
