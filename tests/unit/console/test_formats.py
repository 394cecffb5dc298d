"""Numbers, money, shares and days as German and English staff write them."""

from __future__ import annotations

from omnikanal.console.chart_tables import table
from omnikanal.console.formats import DASH, days, money, number, percent


def test_german_and_english_write_numbers_and_money_their_own_way() -> None:
    assert number(785112.82, "de", 2) == "785.112,82"
    assert number(785112.82, "en", 2) == "785,112.82"
    assert number(1234, "de") == "1.234"
    assert money(785112.82, "de") == "785.112,82\xa0€"
    assert money(785112.82, "en") == "€785,112.82"
    assert money(12.5, "de", "CHF").endswith("CHF")


def test_shares_and_days_carry_their_unit_in_the_language() -> None:
    assert percent(0.1234, "de") == "12,3\xa0%"
    assert percent(0.1234, "en") == "12.3%"
    assert percent(0.5, "de", 0) == "50\xa0%"
    assert days(30, "de") == "30 Tage"
    assert days(1, "en") == "1 day"


def test_a_missing_value_is_a_dash_not_none_or_zero() -> None:
    for lang in ("de", "en"):
        assert number(None, lang) == DASH
        assert money(None, lang) == DASH
        assert percent(None, lang) == DASH
        assert days(None, lang) == DASH
    assert number(0, "de") == "0"


def test_a_line_chart_becomes_one_row_per_day_and_one_column_per_channel() -> None:
    figure = {
        "data": [
            {"type": "scatter", "name": "web", "x": ["2026-12-01", "2026-12-02"], "y": [3, 4]},
            {"type": "scatter", "name": "store", "x": ["2026-12-02"], "y": [7]},
        ]
    }
    assert table(figure, "Tag") == {
        "columns": ["Tag", "web", "store"],
        "rows": [["2026-12-01", 3, 0], ["2026-12-02", 4, 7]],
    }


def test_a_pie_becomes_one_row_per_slice_and_an_unnamed_bar_takes_the_value_heading() -> None:
    pie = {"data": [{"type": "pie", "labels": ["ein Kanal", "mehrere"], "values": [5, 2]}]}
    assert table(pie, "", "Kunden") == {"columns": ["", "Kunden"], "rows": [["ein Kanal", 5], ["mehrere", 2]]}
    bar = {"data": [{"type": "bar", "x": ["web", "store"], "y": [10.5, 3.0]}]}
    assert table(bar, "Kanal", "Umsatz") == {
        "columns": ["Kanal", "Umsatz"],
        "rows": [["web", 10.5], ["store", 3.0]],
    }
