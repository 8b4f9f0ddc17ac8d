"""A large generated catalogue (thousands of matters) for benchmarks; deterministic for a seed."""

from __future__ import annotations

import random

from catalogue.model import Catalogue
from router.domain.text import COMMON_HANZI

# Common characters, so generated aliases hit real text about as often as real aliases would.
_POOL = COMMON_HANZI


def _word(rng: random.Random, taken: set[str]) -> str:
    while True:
        word = "".join(rng.choice(_POOL) for _ in range(rng.randint(3, 5)))
        if word not in taken:
            taken.add(word)
            return word


def synthetic_catalogue(base: Catalogue, matters: int = 5000, aliases: int = 4, seed: int = 7) -> Catalogue:
    """The base catalogue plus `matters` generated matters with `aliases` aliases each, as a new version."""
    rng = random.Random(seed)
    data = base.model_dump(mode="json")
    taken = {
        a["w"]
        for section in ("industries", "matters")
        for item in data[section].values()
        for a in item["aliases"]
    }
    departments = sorted(d for d in data["departments"])
    for i in range(matters):
        data["matters"][f"synthetic-{i:05d}"] = {
            "name": f"合成事项{i}",
            "department": rng.choice(departments),
            "aliases": [{"w": _word(rng, taken)} for _ in range(aliases)],
        }
    data["version"] = f"{base.version}+synthetic{matters}"
    return Catalogue.model_validate(data)
