"""Text the stores can keep: PostgreSQL refuses NUL (U+0000) in text and JSONB, so it is refused at the door."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, model_validator

_ESCAPED_NUL = b"\\u0000"  # how JSON writes U+0000


def _has_nul(value: Any) -> bool:
    # One C-speed serialisation finds what a Python walk over every field would (a fifth of a route's cost);
    # the walk runs only to name the field once there is one.
    try:
        return _ESCAPED_NUL in orjson.dumps(value)
    except TypeError:
        return _find_nul(value, "") is not None


def _find_nul(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_nul(key, path) or _find_nul(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _find_nul(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


class StorableText(BaseModel):
    """Base of inputs that are stored: a NUL character anywhere is a validation error (422 / dead letter),
    not a database error after the input was accepted."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        found = _find_nul(data, "") if _has_nul(data) else None
        if found is not None:
            raise ValueError(f"{found or 'text'} contains a NUL character (U+0000), which cannot be stored")
        return data
