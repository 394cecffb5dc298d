"""The matching card: German normalisation of names, streets, postcodes and birthdays."""

from __future__ import annotations

from datetime import date

from omnikanal.matching.card import build_card, fold, name, postcode, street

TODAY = date(2026, 1, 1)


def test_umlauts_and_sharp_s_fold_to_one_spelling() -> None:
    assert fold("Müller") == fold("Mueller") == "mueller"
    assert fold("Weiß") == "weiss"
    assert fold("Çelik") == "celik"


def test_titles_go_and_double_names_keep_both_parts() -> None:
    assert name("Dr. Hans-Peter") == "hans peter"
    assert name("Prof. Dr. med. Anna") == "anna"
    assert name("Leutheusser-Schnarrenberger") == "leutheusser schnarrenberger"


def test_empty_and_absurd_names_are_no_names() -> None:
    assert name("") is None
    assert name("!!") is None
    assert name("X") is None
    assert name("a" * 200) is None
    assert name(42) is None


def test_street_abbreviations_are_spelt_out() -> None:
    assert (
        street("Lindenstr. 12")
        == street("Lindenstraße 12")
        == street("Linden Strasse 12")
        == "lindenstrasse 12"
    )
    assert street("Am Markt", "3a") == "am markt 3a"


def test_postcodes_have_five_digits_and_keep_their_leading_zero() -> None:
    assert postcode("1067") == "01067"
    assert postcode("D-50667") == "50667"
    assert postcode(50667) == "50667"
    assert postcode("123") is None


def test_a_card_reads_spec_traits_and_profile_traits_with_provenance() -> None:
    traits = {
        "firstName": {"value": "Anna", "source": "webshop", "at": "2026-01-01T00:00:00+00:00"},
        "lastName": {"value": "Müller"},
        "email": {"value": " Anna@Web.de "},
        "phone": {"value": "0151 23456789"},
        "birthday": {"value": "12.03.1984"},
        "address": {"value": {"street": "Lindenstr. 12", "postalCode": "50667", "city": "Köln"}},
    }
    card, problems = build_card("p1", traits, "DE", TODAY)
    assert problems == []
    assert card.row() == {
        "profile_id": "p1",
        "first_name": "anna",
        "last_name": "mueller",
        "birth_date": "1984-03-12",
        "email": "anna@web.de",
        "phone": "+4915123456789",
        "postcode": "50667",
        "city": "koeln",
        "street": "lindenstrasse 12",
    }


def test_a_full_name_is_split_when_first_and_last_are_missing() -> None:
    assert build_card("p", {"name": "Müller, Anna"}, "DE", TODAY)[0].first_name == "anna"
    assert build_card("p", {"name": "Anna Maria Müller"}, "DE", TODAY)[0].last_name == "mueller"


def test_birthdays_that_cannot_be_are_left_out_and_reported() -> None:
    for raw, reason in (
        ("1984-00-12", "impossible_date"),
        ("2030-01-01", "implausible_date"),
        ("soon", "not_a_date"),
    ):
        card, problems = build_card("p", {"birthday": raw, "lastName": "Weber"}, "DE", TODAY)
        assert card.birth_date is None
        assert [(p.field, p.reason) for p in problems] == [("birthday", reason)]


def test_the_review_threshold_may_not_exceed_the_merge_threshold() -> None:
    import pytest
    from pydantic import ValidationError

    from omnikanal.settings import Settings

    with pytest.raises(ValidationError, match="matching_review_threshold"):
        Settings(matching_review_threshold=0.95, matching_merge_threshold=0.9)
