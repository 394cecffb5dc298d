"""Realistic German person records with known duplicates, for evaluation and benchmarks. No I/O.

Each person gets one clean record; some get further records as another channel would hold them:
typos, umlauts spelt out or dropped (Müller, Mueller, Muller), first and last name swapped, a title,
"Str." for "Straße", a phone without country code, an email with two letters swapped, a move to
another city, a married name, missing fields. Some people are namesakes of others (same first and
last name, another person). Names and postcodes are drawn from pools shaped like real German ones
(names.py): Müller about 0.4 % of people, tens of thousands of surnames, a few hundred first names,
some 7,500 postcodes. Seeded, so a run can be repeated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from omnikanal.matching import names
from omnikanal.matching.names import STREETS

MAIL_DOMAINS = ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de", "posteo.de")
_ASCII_UMLAUT = {"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "Ä": "A", "Ö": "O", "Ü": "U"}
_SPELT_UMLAUT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}


@dataclass(frozen=True, slots=True)
class Record:
    record_id: str
    person_id: str  # the truth: records with the same person id are the same person
    traits: dict[str, Any]


def _mail_part(text: str) -> str:
    return "".join(_SPELT_UMLAUT.get(c, c) for c in text.lower()).replace(" ", "").replace("-", "")


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(3)
    if kind == 0:  # two letters swapped
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:  # one letter dropped
        return text[:i] + text[i + 1 :]
    return text[:i] + rng.choice("aeinrst") + text[i + 1 :]  # one letter wrong


def _person(
    rng: random.Random, n: int, today: date, namesake: dict[str, Any] | None = None
) -> dict[str, Any]:
    female = rng.random() < 0.5 if namesake is None else namesake["gender"] == "female"
    first = names.first_name(rng, female) if namesake is None else namesake["firstName"]
    last = names.surname(rng) if namesake is None else namesake["lastName"]
    if namesake is None and rng.random() < 0.02:  # a double name
        last = f"{last}-{names.surname(rng)}"
    city, postcode = names.place(rng)
    born = today - timedelta(days=rng.randrange(18 * 365, 85 * 365))
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{last}{rng.randrange(10, 99)}"))
    return {
        "firstName": first,
        "lastName": last,
        "gender": "female" if female else "male",
        "birthday": born.isoformat(),
        "email": f"{_mail_part(local)}{n % 7 or ''}@{rng.choice(MAIL_DOMAINS)}",
        "phone": f"+4915{rng.randrange(10, 79)}{rng.randrange(1000000, 9999999)}",
        "address": {
            "street": f"{rng.choice(STREETS)} {rng.randrange(1, 120)}",
            "postalCode": postcode,
            "city": city,
        },
    }


def _variant(rng: random.Random, base: dict[str, Any], person_number: int, today: date) -> dict[str, Any]:
    traits = {**base, "address": dict(base["address"])}
    roll = rng.random
    if roll() < 0.3:
        traits["lastName"] = _typo(rng, traits["lastName"])
    if roll() < 0.2:
        traits["firstName"] = _typo(rng, traits["firstName"])
    if roll() < 0.3:
        table = _ASCII_UMLAUT if roll() < 0.5 else _SPELT_UMLAUT
        traits["lastName"] = "".join(table.get(c, c) for c in traits["lastName"])
    if roll() < 0.05:
        traits["firstName"], traits["lastName"] = traits["lastName"], traits["firstName"]
    if roll() < 0.1:
        traits["firstName"] = f"Dr. {traits['firstName']}"
    if roll() < 0.3:
        traits["address"]["street"] = traits["address"]["street"].replace("straße", "str.")
    if roll() < 0.3:
        traits["phone"] = "0" + traits["phone"][3:]  # national format, no country code
    if roll() < 0.2:
        local, _, domain = traits["email"].partition("@")
        traits["email"] = f"{_typo(rng, local)}@{domain}"
    if roll() < 0.1:  # moved house
        traits["address"] = _person(rng, person_number, today)["address"]
    if roll() < 0.1 and traits.get("gender") == "female":  # married name, new email
        traits["lastName"] = names.surname(rng)
        traits["email"] = f"{_mail_part(traits['firstName'])}.{_mail_part(traits['lastName'])}@web.de"
    for key, chance in (("email", 0.35), ("phone", 0.4), ("birthday", 0.25), ("address", 0.15)):
        if roll() < chance:
            traits.pop(key, None)
    return traits


def generate(
    count: int,
    seed: int = 7,
    duplicate_share: float = 0.3,
    today: date | None = None,
    namesake_share: float = 0.03,
) -> list[Record]:
    """About ``count`` records; ``duplicate_share`` of the people have one to three more records,
    ``namesake_share`` of them bear the first and last name of another person."""
    rng = random.Random(seed)
    today = today or date(2026, 1, 1)
    records: list[Record] = []
    person = 0
    people: list[dict[str, Any]] = []
    while len(records) < count:
        person += 1
        # Namesakes: 3 % share the name of someone earlier (a common name more often, as people do).
        namesake = rng.choice(people) if people and rng.random() < namesake_share else None
        base = _person(rng, person, today, namesake)
        people.append(base)
        pid = f"person-{person}"
        records.append(Record(f"r{len(records)}", pid, base))
        if rng.random() < duplicate_share:
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                if len(records) >= count:
                    break
                records.append(Record(f"r{len(records)}", pid, _variant(rng, base, person, today)))
    rng.shuffle(records)
    return records
