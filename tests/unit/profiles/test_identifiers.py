"""Identifier extraction and normalisation."""

from __future__ import annotations

from omnikanal.profiles.identity.model import IdentityRules, extract_identifiers, normalise
from omnikanal.settings import DEFAULT_IDENTIFIER_LIMITS, DEFAULT_JUNK_VALUES

RULES = IdentityRules(
    junk_values=frozenset(DEFAULT_JUNK_VALUES),
    default_region="DE",
    identifier_traits={"loyaltyCard": "loyalty_card"},
    limits=DEFAULT_IDENTIFIER_LIMITS,
    default_limit=10,
)


def test_email_is_trimmed_and_lower_cased() -> None:
    assert normalise("email", "  Max.Mustermann@Example.DE ", RULES) == "max.mustermann@example.de"


def test_not_an_email_is_no_identifier() -> None:
    assert normalise("email", "max at example", RULES) is None


def test_german_phone_numbers_become_e164_in_any_notation() -> None:
    for raw in ("0171 1234567", "+49 171 1234567", "0049-171-1234567", "(0171) 123 45 67"):
        assert normalise("phone", raw, RULES) == "+491711234567", raw


def test_an_impossible_phone_number_is_no_identifier() -> None:
    assert normalise("phone", "12", RULES) is None


def test_junk_values_are_ignored_case_insensitively() -> None:
    for raw in ("null", "NULL", "undefined", "0", "anonymous", "", "  "):
        assert normalise("user_id", raw, RULES) is None, raw
    assert normalise("email", "TEST@test.com", RULES) is None


def test_extraction_covers_ids_traits_context_traits_external_ids_and_configured_traits() -> None:
    event = {
        "userId": "u-1",
        "anonymousId": "a-1",
        "traits": {"email": "A@B.DE", "loyaltyCard": "LC-77"},
        "context": {
            "traits": {"phone": "0171 1234567"},
            "externalIds": [{"id": "C-9", "type": "crm_id", "collection": "users", "encoding": "none"}],
        },
    }
    assert extract_identifiers(event, RULES) == [
        ("user_id", "u-1"),
        ("anonymous_id", "a-1"),
        ("email", "a@b.de"),
        ("loyalty_card", "LC-77"),
        ("phone", "+491711234567"),
        ("crm_id", "C-9"),
    ]


def test_booleans_and_objects_are_never_identifiers() -> None:
    assert extract_identifiers({"userId": True, "anonymousId": {"x": 1}}, RULES) == []
