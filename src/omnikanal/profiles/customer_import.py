"""Customer files (a loyalty-card box typed in, an old shop's export) read into identify events.

Each row becomes one Segment ``identify`` event and goes through ingest like any other, so
validation, stitching, consent rules and the event log treat an imported customer as one who
registered; matching then compares them with everyone else. No I/O here but the text handed in.

A row without a customer number is a person without a user id (a card filled in at a till): it gets
an anonymous id made from its content, so importing the same file again is deduplicated rather than
doubled (the message id is made the same way).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from omnikanal.errors import InvalidInput

# Column -> where its value goes in the identify event's traits; ("address", x) is inside address.
TRAIT_OF: dict[str, tuple[str, ...]] = {
    "customer_id": (),
    "first_name": ("firstName",),
    "last_name": ("lastName",),
    "birthday": ("birthday",),
    "gender": ("gender",),
    "email": ("email",),
    "phone": ("phone",),
    "street": ("address", "street"),
    "house_number": ("address", "houseNumber"),
    "postcode": ("address", "postalCode"),
    "city": ("address", "city"),
    "store": ("store",),
    "loyalty_card": ("loyaltyCard",),
}
# The headings a German export has, and common spellings, for the same columns.
ALIASES = {
    "kundennummer": "customer_id",
    "kundennr": "customer_id",
    "user_id": "customer_id",
    "userid": "customer_id",
    "vorname": "first_name",
    "firstname": "first_name",
    "nachname": "last_name",
    "lastname": "last_name",
    "geburtstag": "birthday",
    "geburtsdatum": "birthday",
    "birth_date": "birthday",
    "geschlecht": "gender",
    "e-mail": "email",
    "telefon": "phone",
    "mobil": "phone",
    "strasse": "street",
    "straße": "street",
    "hausnummer": "house_number",
    "plz": "postcode",
    "postleitzahl": "postcode",
    "postal_code": "postcode",
    "ort": "city",
    "stadt": "city",
    "filiale": "store",
    "kundenkarte": "loyalty_card",
}
# Without one of these a row could not be told from anyone else's.
IDENTIFYING = ("customer_id", "email", "phone", "loyalty_card", "last_name")
ENCODINGS = ("utf-8", "cp1252", "latin-1")
MAX_ROWS = 5_000_000


@dataclass(frozen=True)
class Row:
    number: int  # the line's number in the file, the heading being line 1
    event: dict[str, Any] | None
    problem: str | None = None  # why the row was set aside (the event is None then)
    field: str | None = None


def decode(data: bytes, encoding: str | None) -> str:
    """The file's text: UTF-8 (a BOM tolerated) unless told otherwise; a wrong guess is an error."""
    if encoding is not None and encoding not in ENCODINGS:
        raise InvalidInput("invalid_encoding", f"encoding must be one of: {', '.join(ENCODINGS)}", "encoding")
    try:
        return data.decode("utf-8-sig" if encoding in (None, "utf-8") else encoding)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "invalid_encoding",
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} at position {exc.start}); "
            "a file saved by Excel on Windows is usually --encoding cp1252",
            "encoding",
        ) from None


def columns(heading: list[str]) -> list[str]:
    """The heading's column names in our terms; unknown, missing or repeated ones are an error."""
    names = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in heading]
    unknown = [h for h, n in zip(heading, names, strict=True) if n not in TRAIT_OF]
    if unknown:
        raise InvalidInput(
            "unknown_column",
            f"unknown column(s): {', '.join(unknown)}; known: {', '.join(TRAIT_OF)}",
            unknown[0],
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInput("repeated_column", f"column(s) given twice: {', '.join(repeated)}", repeated[0])
    if not any(n in names for n in IDENTIFYING):
        raise InvalidInput(
            "missing_column", f"the file needs at least one of: {', '.join(IDENTIFYING)}", "heading"
        )
    return names


def read_rows(text: str) -> Iterator[Row]:
    """The rows of a customer CSV (comma, semicolon or tab separated), each as an identify event."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    heading = next(reader, None)
    if not heading:
        raise InvalidInput("empty_file", "the file has no heading row", "file")
    names = columns(heading)
    for index, values in enumerate(reader):
        number = index + 2
        if index >= MAX_ROWS:
            raise InvalidInput("too_many_rows", f"at most {MAX_ROWS:,} rows per file", "file")
        if not any(v.strip() for v in values):
            continue  # a blank line, as spreadsheets leave at the end
        if len(values) != len(names):
            yield Row(number, None, f"has {len(values)} values; the heading names {len(names)}", "row")
            continue
        yield row_event(number, dict(zip(names, (v.strip() for v in values), strict=True)))


def row_event(number: int, values: dict[str, str]) -> Row:
    present = {k: v for k, v in values.items() if v}
    if not any(k in present for k in IDENTIFYING):
        return Row(number, None, f"holds none of: {', '.join(IDENTIFYING)}", IDENTIFYING[0])
    traits: dict[str, Any] = {}
    for column, value in present.items():
        path = TRAIT_OF[column]
        if len(path) == 1:
            traits[path[0]] = value
        elif len(path) == 2:
            traits.setdefault(path[0], {})[path[1]] = value
    digest = hashlib.sha256(repr(sorted(present.items())).encode()).hexdigest()[:24]
    event: dict[str, Any] = {"type": "identify", "messageId": f"import-{digest}", "traits": traits}
    if "customer_id" in present:
        event["userId"] = present["customer_id"]
    else:
        event["anonymousId"] = f"import-{digest}"
    return Row(number, event)
