"""GTINs: GS1 check digits, the 14-digit normal form, and look-ups with or without leading zeros."""

from __future__ import annotations

import random

import pytest

from omnikanal.commerce import gtin
from omnikanal.errors import InvalidInput

# Real numbers of each length (check digits from the GS1 calculator).
VALID = [
    ("96385074", "00000096385074"),  # GTIN-8
    ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
    ("4006381333931", "04006381333931"),  # GTIN-13 (EAN-13)
    ("10614141000415", "10614141000415"),  # GTIN-14
    ("  4006381333931 ", "04006381333931"),  # surrounding blanks from a scanner or a CSV
    ("0004006381333931", "04006381333931"),  # padded beyond 14 with zeros
]


@pytest.mark.parametrize(("raw", "normal"), VALID)
def test_valid_gtins_normalise_to_14_digits(raw: str, normal: str) -> None:
    assert gtin.normalise(raw) == normal
    assert gtin.is_valid(raw)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("4006381333932", "invalid_check_digit"),
        ("96385075", "invalid_check_digit"),
        ("036000291453", "invalid_check_digit"),
        ("10614141000416", "invalid_check_digit"),
        ("400638133393", "invalid_check_digit"),  # an EAN-13 missing its last digit
        ("12345", "invalid_gtin"),  # no GTIN length
        ("40063813339310", "invalid_check_digit"),
        ("4006-381333931", "invalid_gtin"),
        ("", "invalid_gtin"),
        ("00000000", "invalid_gtin"),
        ("４００６３８１３３３９３１", "invalid_gtin"),  # full-width digits are not ASCII digits
        ("123456789012345678", "invalid_gtin"),
    ],
)
def test_invalid_gtins_name_the_field_and_the_reason(raw: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        gtin.normalise(raw, "variants.0.gtin")
    assert caught.value.code == code
    assert caught.value.field == "variants.0.gtin"
    assert "variants.0.gtin" in caught.value.message
    assert not gtin.is_valid(raw)


def test_the_message_of_a_wrong_check_digit_gives_the_right_one() -> None:
    with pytest.raises(InvalidInput, match="GS1 check digit is 1"):
        gtin.normalise("4006381333932")


def test_lenient_lookup_accepts_a_number_whose_leading_zeros_were_dropped() -> None:
    assert gtin.normalise("36000291452", lenient=True) == "00036000291452"
    assert gtin.normalise("96385074", lenient=True) == "00000096385074"
    with pytest.raises(InvalidInput):
        gtin.normalise("36000291452")  # 11 digits is no GTIN length when storing
    with pytest.raises(InvalidInput):
        gtin.normalise("36000291453", lenient=True)


def test_non_strings_are_refused_and_ints_read_as_digits() -> None:
    assert gtin.normalise(4006381333931) == "04006381333931"
    for bad in (None, True, 4.0, ["4006381333931"]):
        with pytest.raises(InvalidInput):
            gtin.normalise(bad)


def test_every_generated_number_with_its_check_digit_is_valid_and_round_trips() -> None:
    rng = random.Random(6)
    for _ in range(2000):
        length = rng.choice(gtin.GTIN_LENGTHS)
        body = "".join(rng.choice("0123456789") for _ in range(length - 1))
        body = str(rng.randint(1, 9)) + body[1:]
        number = body + str(gtin.check_digit(body))
        normal = gtin.normalise(number)
        assert len(normal) == 14
        assert normal.lstrip("0") == number.lstrip("0")
        assert gtin.display(normal) == number.rjust(len(gtin.display(normal)), "0")
        wrong = body + str((gtin.check_digit(body) + rng.randint(1, 9)) % 10)
        assert not gtin.is_valid(wrong)


def test_display_gives_the_shortest_standard_form() -> None:
    assert gtin.display("04006381333931") == "4006381333931"
    assert gtin.display("00000096385074") == "96385074"
    assert gtin.display("10614141000415") == "10614141000415"
