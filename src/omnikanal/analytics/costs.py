"""Media spend from CSV: one row per day and key (a business channel, or a campaign's source, medium
and name), cost, currency, clicks, impressions. Modelled on Google Analytics' cost data import.

A file whose columns are wrong is refused whole, naming the columns. Otherwise each bad row is
reported with its line and field and left out, and every good row is kept.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from omnikanal.errors import InvalidInput

REQUIRED = ("date", "cost")
KEY = ("channel", "source", "medium", "campaign")
OPTIONAL = ("currency", "clicks", "impressions")
KNOWN = REQUIRED + KEY + OPTIONAL
LIMITS = {"channel": 20, "source": 100, "medium": 100, "campaign": 200}
# A cost per day above this is a typing error (cents would not fit any budget).
MAX_COST = Decimal("100000000")


@dataclass
class Parsed:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0


def _header(reader: Any) -> list[str]:
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInput("empty_file", "the file has no header line", "file") from None
    unknown = [h for h in header if h not in KNOWN]
    missing = [h for h in REQUIRED if h not in header]
    if unknown or missing:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(unknown) + f" (known: {', '.join(KNOWN)})")
        raise InvalidInput("invalid_columns", "columns: " + "; ".join(parts), "columns")
    if not any(k in header for k in KEY):
        raise InvalidInput("invalid_columns", "columns: need channel or source/medium/campaign", "columns")
    if len(set(header)) != len(header):
        raise InvalidInput("invalid_columns", "columns: a column is named twice", "columns")
    return header


def _day(text: str) -> date:
    text = text.strip()
    if len(text) == 8 and text.isdigit():  # GA's YYYYMMDD
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return date.fromisoformat(text)


def _count(text: str) -> int | None:
    if not text.strip():
        return None
    value = int(text.strip())
    if value < 0:
        raise ValueError
    return value


def _row(values: dict[str, str], currency: str) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """The cost row, or the (field, message) of its first error."""
    try:
        day = _day(values.get("date", ""))
    except ValueError:
        return None, ("date", "not a date like 2026-03-01")
    try:
        cost = Decimal(values.get("cost", "").strip())
    except InvalidOperation:
        return None, ("cost", "not a number like 123.45")
    if not cost.is_finite() or cost < 0:
        return None, ("cost", "must be zero or more")
    if cost > MAX_COST or cost != cost.quantize(Decimal("0.01")):
        return None, ("cost", f"at most {MAX_COST} with at most two decimals")
    given = (values.get("currency") or currency).strip().upper()
    if given != currency:
        return None, ("currency", f"{given!r}: costs are kept in {currency} (no exchange rates)")
    key: dict[str, str] = {}
    for name in KEY:
        text = (values.get(name) or "").strip()
        if len(text) > LIMITS[name]:
            return None, (name, f"at most {LIMITS[name]} characters")
        key[name] = text.lower() if name in ("channel", "source", "medium") else text
    if not any(key.values()):
        return None, ("channel", "give a channel or a source, medium or campaign")
    counts: dict[str, int | None] = {}
    for name in ("clicks", "impressions"):
        try:
            counts[name] = _count(values.get(name) or "")
        except ValueError:
            return None, (name, "a whole number, zero or more")
    row = {"day": day, **key, "cost_cents": int(cost * 100), "currency": currency, **counts}
    return row, None


def parse_costs(text: str, currency: str, max_rows: int) -> Parsed:
    reader = csv.reader(io.StringIO(text))
    header = _header(reader)
    parsed = Parsed()
    seen: dict[tuple[Any, ...], int] = {}
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        parsed.lines += 1
        if parsed.lines > max_rows:
            raise InvalidInput("too_many_rows", f"file: at most {max_rows} rows", "file")
        if len(record) != len(header):
            parsed.errors.append(
                {"line": line, "field": "columns", "message": f"{len(record)} cells, expected {len(header)}"}
            )
            continue
        row, error = _row(dict(zip(header, record, strict=True)), currency)
        if error is not None or row is None:
            assert error is not None
            parsed.errors.append({"line": line, "field": error[0], "message": error[1]})
            continue
        key = tuple(row[k] for k in ("day", *KEY))
        if key in seen:
            message = f"the same day and key as line {seen[key]}"
            parsed.errors.append({"line": line, "field": "date", "message": message})
            continue
        seen[key] = line
        parsed.rows.append(row)
    return parsed
