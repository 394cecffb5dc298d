"""The matching card: what identifies a person, normalised as a German retailer needs. No I/O.

A card is built from a profile's traits (Segment spec names first, then common snake_case ones), so
anonymous profiles (a loyalty card filled in at a till) get one as well. Every field is optional:
Splink scores a missing value as neither for nor against a match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from omnikanal.profiles.identity.model import normalise_email, normalise_phone

FIELDS = ("first_name", "last_name", "birth_date", "email", "phone", "postcode", "city", "street")

# Titles and name particles that say nothing about who a person is.
_TITLES = frozenset({"dr", "prof", "herr", "frau", "dipl", "ing", "med", "phil", "rer", "nat", "mag"})
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe"})
_NOT_LETTER = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
# Str., Strasse, Straße and str at the end of a word all become "strasse"; "pl." "platz".
_STREET_WORDS = (
    (re.compile(r"(str\.?|strasse|straße)(?=\s|\d|$)"), "strasse"),
    (re.compile(r"\bpl\.(?=\s|\d|$)"), "platz"),
)
MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class Card:
    profile_id: str
    first_name: str | None = None
    last_name: str | None = None
    birth_date: str | None = None  # ISO date
    email: str | None = None
    phone: str | None = None  # E.164
    postcode: str | None = None
    city: str | None = None
    street: str | None = None  # normalised street and house number

    def row(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in FIELDS)


@dataclass(frozen=True, slots=True)
class CardProblem:
    """A value left out of matching, and why (the profile keeps it)."""

    field: str
    reason: str


def fold(text: str) -> str:
    """Lower case, umlauts spelt out (Müller → mueller), other accents dropped, only letters."""
    lowered = text.strip().lower().translate(_UMLAUTS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", _NOT_LETTER.sub(" ", ascii_only.replace("-", " "))).strip()


def name(raw: Any) -> str | None:
    """A first or last name for comparison: folded, titles dropped, double names joined by a space."""
    if not isinstance(raw, str) or len(raw) > MAX_NAME:
        return None
    words = [w for w in fold(raw.replace(".", " ")).split(" ") if w and w not in _TITLES]
    joined = " ".join(words)
    # A single letter is an initial, not a name; the same for values that are no name at all.
    return joined if len(joined.replace(" ", "")) >= 2 else None


def street(raw: Any, number: Any = None) -> str | None:
    if not isinstance(raw, str) or len(raw) > 200:
        return None
    text = raw.strip().lower().translate(_UMLAUTS)
    for pattern, replacement in _STREET_WORDS:
        text = pattern.sub(replacement, text)
    if isinstance(number, str | int) and not isinstance(number, bool):
        text = f"{text} {number}"
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = re.sub(r"(\D)(\d)", r"\1 \2", text)
    # "hauptstrasse 5" and "haupt strasse 5" are the same street
    text = _SPACES.sub(" ", text).strip().replace(" strasse", "strasse")
    return text or None


def postcode(raw: Any) -> str | None:
    """German postcodes have five digits; a four-digit one lost its leading zero (Dresden: 01067)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    digits = re.sub(r"\D", "", raw.removeprefix("D-").removeprefix("DE-"))
    if len(digits) == 4:
        digits = "0" + digits
    return digits if len(digits) == 5 else None


def birth_date(raw: Any, today: date) -> tuple[str | None, str | None]:
    """(ISO date, problem): a date that cannot be a birthday (month 0, in the future) is left out."""
    if raw is None or raw == "":
        return None, None
    if not isinstance(raw, str):
        return None, "not_a_date"
    text = raw.strip()[:10]
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text) or re.fullmatch(
        r"(\d{1,2})\.(\d{1,2})\.(\d{4})", raw.strip()
    )
    if match is None:
        return None, "not_a_date"
    parts = [int(p) for p in match.groups()]
    year, month, day = parts if len(match.group(1)) == 4 else (parts[2], parts[1], parts[0])
    try:
        born = date(year, month, day)
    except ValueError:
        return None, "impossible_date"
    if born > today or born.year < today.year - 120:
        return None, "implausible_date"
    return born.isoformat(), None


def _value(traits: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = traits.get(key)
        if isinstance(value, Mapping) and "value" in value:  # as kept on the profile, with provenance
            value = value["value"]
        if value not in (None, ""):
            return value
    return None


def _split_name(full: Any) -> tuple[Any, Any]:
    if not isinstance(full, str):
        return None, None
    if "," in full:  # "Müller, Anna"
        last, _, first = full.partition(",")
        return first, last
    words = full.split()
    return (" ".join(words[:-1]), words[-1]) if len(words) >= 2 else (None, None)


def build_card(
    profile_id: str, traits: Mapping[str, Any], region: str, today: date
) -> tuple[Card, list[CardProblem]]:
    """The card of one profile, and the values that were left out."""
    problems: list[CardProblem] = []
    first_raw = _value(traits, "firstName", "first_name", "firstname", "vorname")
    last_raw = _value(traits, "lastName", "last_name", "lastname", "nachname")
    if first_raw is None and last_raw is None:
        first_raw, last_raw = _split_name(_value(traits, "name"))
    address = _value(traits, "address")
    address = address if isinstance(address, Mapping) else {}
    born, problem = birth_date(_value(traits, "birthday", "birth_date", "birthdate", "dateOfBirth"), today)
    if problem:
        problems.append(CardProblem("birthday", problem))
    email_raw = _value(traits, "email")
    phone_raw = _value(traits, "phone", "mobile")
    first, last = name(first_raw), name(last_raw)
    for label, raw, value in (("firstName", first_raw, first), ("lastName", last_raw, last)):
        if raw is not None and value is None:
            problems.append(CardProblem(label, "not_a_name"))
    card = Card(
        profile_id=profile_id,
        first_name=first,
        last_name=last,
        birth_date=born,
        email=normalise_email(email_raw) if isinstance(email_raw, str) else None,
        phone=normalise_phone(str(phone_raw), region) if isinstance(phone_raw, str | int) else None,
        postcode=postcode(_value(address, "postalCode", "postal_code", "postcode", "zip")),
        city=name(_value(address, "city")),
        street=street(_value(address, "street"), _value(address, "houseNumber", "house_number")),
    )
    return card, problems
