"""GS1 trade item numbers (GTIN-8, -12, -13, -14): check digit and the 14-digit normal form. No I/O.

Every GTIN is stored as 14 digits (zero-padded on the left, as GS1 prescribes for GTIN-14 fields), so
an EAN-13 scanned at the till and the same number written as a UPC-A or with leading zeros find the
same variant.
"""

from __future__ import annotations

from omnikanal.errors import InvalidInput

GTIN_LENGTHS = (8, 12, 13, 14)


def check_digit(body: str) -> int:
    """The GS1 check digit of a number without its check digit (weights 3, 1, 3, ... from the right)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid(value: str) -> bool:
    """Whether ``value`` is a GTIN of a standard length with a correct check digit."""
    try:
        normalise(value)
    except InvalidInput:
        return False
    return True


def normalise(value: object, field: str = "gtin", *, lenient: bool = False) -> str:
    """The 14-digit form of a GTIN, its check digit verified; InvalidInput naming ``field`` if not.

    ``lenient`` (for look-ups) also accepts a number whose leading zeros were dropped, e.g. a GTIN-12
    typed as 11 digits: with the zeros put back it is the same number.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidInput("invalid_gtin", f"{field} must be a string of digits", field)
    digits = value.strip()
    if not digits.isascii() or not digits.isdigit():
        raise InvalidInput("invalid_gtin", f"{field} must contain only the digits 0-9", field)
    # Leading zeros beyond 14 digits carry nothing (a GTIN-14 field padded further by some system).
    if len(digits) > 14:
        digits = digits.lstrip("0").rjust(14, "0")
        if len(digits) > 14:
            raise InvalidInput("invalid_gtin", f"{field} has more than 14 significant digits", field)
    if not lenient and len(digits) not in GTIN_LENGTHS:
        raise InvalidInput(
            "invalid_gtin",
            f"{field} must have 8, 12, 13 or 14 digits (GTIN-8/12/13/14), not {len(digits)}",
            field,
        )
    padded = digits.rjust(14, "0")
    if padded.strip("0") == "":
        raise InvalidInput("invalid_gtin", f"{field} must not be all zeros", field)
    expected = check_digit(padded[:-1])
    if int(padded[-1]) != expected:
        raise InvalidInput(
            "invalid_check_digit",
            f"{field} {digits} has the check digit {padded[-1]}; the GS1 check digit is {expected}",
            field,
        )
    return padded


def display(gtin14: str) -> str:
    """The shortest standard form of a stored GTIN (EAN-13 for most European goods)."""
    for length in GTIN_LENGTHS:
        if gtin14[: 14 - length].strip("0") == "":
            return gtin14[14 - length :]
    return gtin14
