"""Numbers, money, shares and durations as the page's language writes them (Babel's CLDR data).

German staff read "785.112,82 €" and "30 Tage", English staff "€785,112.82" and "30 days"; a
hand-written "%.2f EUR" is neither. The filters read the page's language from the template context
(``lang``), so a template writes ``{{ value | money }}`` without passing it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

DASH = "–"

# The plotly.js ``separators`` layout key: decimal mark, then thousands mark.
CHART_SEPARATORS: dict[str, str] = {"de": ",.", "en": ".,"}


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse("de_DE" if lang == "de" else "en_GB")


def _lang(context: jinja2.runtime.Context) -> str:
    return str(context.get("lang") or "de")


def number(value: Any, lang: str, digits: int | None = None) -> str:
    """A count or an amount; ``digits`` fixes the decimals (none: as many as the value has, up to 3)."""
    if value is None or value == "":
        return DASH
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=_locale(lang)))


def money(value: Any, lang: str, currency: str | None = "EUR") -> str:
    """An amount in major units (euros, not cents) with its currency."""
    if value is None or value == "":
        return DASH
    return str(format_currency(value, currency or "EUR", locale=_locale(lang)))


def percent(share: Any, lang: str, digits: int = 1) -> str:
    """A share (0.123) as a percentage ("12,3 %")."""
    if share is None or share == "":
        return DASH
    locale = _locale(lang)
    # the language's own pattern ("#,##0 %" in German, "#,##0%" in English) with the decimals asked for
    pattern = str(locale.percent_formats[None].pattern)
    if digits:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * digits, 1)
    return str(format_percent(share, format=pattern, locale=locale))


def days(value: Any, lang: str) -> str:
    """A number of days ("30 Tage", "1 day")."""
    if value is None or value == "":
        return DASH
    return str(format_unit(value, "duration-day", locale=_locale(lang)))


@jinja2.pass_context
def number_filter(context: jinja2.runtime.Context, value: Any, digits: int | None = None) -> str:
    return number(value, _lang(context), digits)


@jinja2.pass_context
def money_filter(context: jinja2.runtime.Context, value: Any, currency: str | None = "EUR") -> str:
    return money(value, _lang(context), currency)


@jinja2.pass_context
def cents_filter(context: jinja2.runtime.Context, value: Any, currency: str | None = "EUR") -> str:
    """An amount held in minor units (``total_cents``)."""
    return money(None if value is None else value / 100, _lang(context), currency)


@jinja2.pass_context
def percent_filter(context: jinja2.runtime.Context, share: Any, digits: int = 1) -> str:
    return percent(share, _lang(context), digits)


@jinja2.pass_context
def days_filter(context: jinja2.runtime.Context, value: Any) -> str:
    return days(value, _lang(context))


FILTERS: dict[str, Any] = {
    "number": number_filter,
    "money": money_filter,
    "cents": cents_filter,
    "percent": percent_filter,
    "days": days_filter,
}
