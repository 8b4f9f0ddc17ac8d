"""Pydantic models from trusted values, without model_construct's per-field bookkeeping (~4x cheaper)."""

from __future__ import annotations

import importlib
from typing import Any, Final, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

# BaseModel keeps its state in four slots; their descriptors set them without __setattr__'s checks (and, called
# directly, without object.__setattr__'s look-up of the descriptor through the class's MRO).
_new: Final = object.__new__
_set_dict: Final = BaseModel.__dict__["__dict__"].__set__
_set_fields: Final = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra: Final = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private: Final = BaseModel.__dict__["__pydantic_private__"].__set__


def _made_in_c() -> Any:
    """router/domain/_trusted.c's made(cls, values, fields) when it is built (`make venv`), else None: the sources
    then take the Python steps below, which make the same model (tests/unit/router/test_fast_paths.py)."""
    try:
        in_c = importlib.import_module("router.domain._trusted")
    except ImportError:
        return None
    in_c.setup(BaseModel)
    return in_c.made


_MADE: Final[Any] = _made_in_c()


# One set per class, shared by its instances: every field is set, so pydantic's only change to it (adding a name
# on assignment) leaves it as it is.
_ALL_SET: Final[dict[type[BaseModel], set[str]]] = {}


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """An instance of `cls` holding `values`, which must name every field with a valid value."""
    fields = _ALL_SET.get(cls)  # inline, not a helper: ten models a decision make the call show
    if fields is None:
        fields = _ALL_SET[cls] = set(cls.model_fields)
    if len(values) != len(fields):
        fields = set(values)
    if _MADE is not None:
        made: M = _MADE(cls, values, fields)  # the steps below in one C call, a fifth of their cost
        return made
    model = _new(cls)
    _set_dict(model, values)
    _set_fields(model, fields)
    _set_extra(model, None)
    _set_private(model, None)
    return model


def check_trusted(cls: type[BaseModel]) -> None:
    """Fail early if a model grows what trusted() cannot honour (hooks, private attributes)."""
    if cls.__pydantic_post_init__ or cls.__private_attributes__ or cls.model_config.get("extra") == "allow":
        raise TypeError(f"{cls.__name__} needs model_construct, not trusted()")
