"""A large generated catalogue (thousands of matters) for benchmarks; deterministic for a seed."""

from __future__ import annotations

import random

from router.domain.catalogue import Catalogue

# Common characters, so generated aliases hit real text about as often as real aliases would.
_POOL = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产"
    "种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从"
    "业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又"
    "么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位"
    "入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放"
)


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
