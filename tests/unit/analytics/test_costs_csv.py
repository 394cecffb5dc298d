"""The cost file: wrong columns refuse the file by name; bad rows are named by line and field and
every good row is kept."""

from __future__ import annotations

from datetime import date

import pytest

from omnikanal.analytics.costs import parse_costs
from omnikanal.errors import InvalidInput

GOOD_AND_BAD = """date,channel,source,medium,campaign,cost,currency,clicks,impressions
2026-11-10,,google,cpc,spring,35.00,EUR,100,1000
20261111,,google,cpc,spring,15,,50,500
2026-11-12,,newsletter,email,nov,-5,EUR,,
2026-11-12,,radio-ffh,radio,autumn,40,USD,,
2026-11-10,,Google,cpc,spring,10.00,EUR,,
2026-13-01,web,,,,5,EUR,,
2026-11-12,,,,,5,EUR,,
2026-11-12,web,,,,1.234,EUR,,
2026-11-12,web,,,,2,EUR,-1,
2026-11-12,web,,,,2
2026-11-12,store,,,,1200,EUR,,
"""


def test_bad_rows_are_named_by_line_and_field_and_the_good_ones_kept() -> None:
    parsed = parse_costs(GOOD_AND_BAD, "EUR", 1000)
    assert [(e["line"], e["field"]) for e in parsed.errors] == [
        (4, "cost"),
        (5, "currency"),
        (6, "date"),  # the same day and key as line 2 (sources are compared in lower case)
        (7, "date"),
        (8, "channel"),
        (9, "cost"),
        (10, "clicks"),
        (11, "columns"),
    ]
    assert [(r["day"], r["source"] or r["channel"], r["cost_cents"]) for r in parsed.rows] == [
        (date(2026, 11, 10), "google", 3500),
        (date(2026, 11, 11), "google", 1500),
        (date(2026, 11, 12), "store", 120_000),
    ]
    assert parsed.lines == 11


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("day,cost\n", ["missing date", "unknown day"]),
        ("date,cost,budget\n", ["unknown budget"]),
        ("date,cost\n", ["channel or source"]),
        ("", ["no header"]),
    ],
)
def test_a_file_with_wrong_columns_is_refused_naming_them(header: str, words: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_costs(header, "EUR", 1000)
    for word in words:
        assert word in caught.value.message
    assert caught.value.field in ("columns", "file")


def test_more_rows_than_the_limit_refuse_the_file() -> None:
    text = "date,channel,cost\n" + "".join(f"2026-11-{d:02d},web,1\n" for d in range(1, 6))
    with pytest.raises(InvalidInput) as caught:
        parse_costs(text, "EUR", 4)
    assert caught.value.field == "file"
