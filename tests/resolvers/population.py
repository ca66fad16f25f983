"""A small seeded population for the match-model tests: people with two to four
records each (CRM, a second CRM entry with typos, a call typed by an agent, a
tweet with a handle and an abbreviated name), each record written as the
record format writes it, with the truth (record key -> person)."""

from __future__ import annotations

import random
from typing import Any

GIVEN = ["José", "María", "Carlos", "Lucía", "Jean", "Camille", "Emily", "Daniel", "Sofía",
         "Pierre", "Laura", "Andrés", "Marta", "Hugo", "Clara", "Tomás", "Elena", "Pablo",
         "Nora", "Iván", "Olivia", "Mateo", "Irene", "Bruno"]  # fmt: skip
FAMILY = ["González", "Francavilla", "Dubois", "Smith", "Pérez", "Moreau", "Taylor", "Ruiz",
          "Lefebvre", "Navarro", "Brown", "Ortega", "Girard", "Castillo", "Walker", "Molina",
          "Roux", "Vidal", "Iglesias", "Serrano", "Fontaine", "Hughes", "Cabrera",
          "Marchand"]  # fmt: skip
CITIES = ["Madrid", "Buenos Aires", "Paris", "London", "Sevilla", "Lyon"]


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def population(people: int = 150, seed: int = 3) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Records and truth. No two people share a given + family name."""
    rng = random.Random(seed)
    names = rng.sample([(g, f) for g in GIVEN for f in FAMILY], people)
    records: list[dict[str, Any]] = []
    truth: dict[str, int] = {}

    def add(person: int, record: dict[str, Any]) -> None:
        records.append(record)
        truth[f"{record['source']}/{record['source_id']}"] = person

    for person, (given, family) in enumerate(names):
        birth = f"19{rng.randint(40, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        city = rng.choice(CITIES)
        address = f"{rng.randint(1, 999)} Calle {rng.choice(FAMILY)}"
        postcode = str(rng.randint(10000, 99999))
        base = {"birth_date": birth, "city": city, "address": address, "postcode": postcode}
        add(person, {"source": "crm", "source_id": f"A{person}", "name": f"{given} {family}",
                     "identifiers": [{"type": "account", "value": f"AC{person:05d}"}],
                     "attributes": base})  # fmt: skip
        if rng.random() < 0.7:  # the same customer entered again, with a typo
            add(person, {"source": "crm", "source_id": f"B{person}",
                         "name": f"{given} {_typo(rng, family)}",
                         "attributes": dict(base, address=_typo(rng, address))})  # fmt: skip
        if rng.random() < 0.6:
            handle = (given[0] + family).lower().replace("é", "e").replace("á", "a")
            add(person, {"source": "twitter", "source_id": f"T{person}",
                         "name": f"{given} {family[0]}.",
                         "identifiers": [{"type": "twitter", "value": "@" + handle}],
                         "attributes": {"city": city}})  # fmt: skip
    return records, truth
