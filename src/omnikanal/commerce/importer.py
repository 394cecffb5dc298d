"""Bulk import of the catalogue from CSV or JSON Lines, with a per-row error report.

Every row is checked on its own; valid rows are imported even when others fail. Rows are written in
chunks (one transaction each, so a large file does not pay one commit per row), each row inside a
savepoint, so a row refused by the database (a SKU of another product, say) is undone alone.

CSV: one row per variant, with the columns of ``CSV_COLUMNS`` (a header row names them; prices in
cents). JSON Lines: one object per line, either such a flat row or a whole product as the API takes
it (with ``variants``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection, Engine

from omnikanal.errors import InvalidInput, OmnikanalError

from .catalogue import CatalogueService
from .model import COMMERCE_CHANNELS, LOCALES, ProductIn
from .tx import write

CSV_COLUMNS: tuple[str, ...] = (
    "product_id",
    "sku",
    "gtin",
    *(f"name_{loc}" for loc in LOCALES),
    *(f"description_{loc}" for loc in LOCALES),
    "category_id",
    "brand",
    "colour",
    "size",
    "currency",
    *(f"price_{ch}" for ch in COMMERCE_CHANNELS),
    "attributes",
)
FORMATS = ("csv", "jsonl")
MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    created_products: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    more_errors: int = 0

    def fail(self, row: int, code: str, message: str, field_name: str | None) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "code": code, "message": message, "field": field_name})
        else:
            self.more_errors += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "failed": len(self.errors) + self.more_errors,
            "created_products": self.created_products,
            "errors": self.errors,
            "errors_not_listed": self.more_errors,
        }


def flat_row_to_product(row: dict[str, Any]) -> dict[str, Any]:
    """A flat row (CSV or JSON Lines) as the API's product body with one variant."""
    unknown = sorted(k for k in row if k not in CSV_COLUMNS)
    if unknown:
        raise InvalidInput("unknown_column", f"{unknown[0]}: unknown column", unknown[0])

    def text(name: str) -> str | None:
        value = row.get(name)
        if value is None:
            return None
        value = str(value).strip() if not isinstance(value, str) else value.strip()
        return value or None

    prices = []
    currency = text("currency") or "EUR"
    for channel in COMMERCE_CHANNELS:
        raw = row.get(f"price_{channel}")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            amount = int(raw) if not isinstance(raw, bool) else None
        except ValueError:
            amount = None
        if amount is None:
            raise InvalidInput("invalid_price", f"price_{channel} must be whole cents", f"price_{channel}")
        prices.append({"channel": channel, "amount_cents": amount, "currency": currency})
    attributes: Any = row.get("attributes") or {}
    if isinstance(attributes, str):
        try:
            attributes = orjson.loads(attributes)
        except orjson.JSONDecodeError:
            raise InvalidInput(
                "invalid_attributes", "attributes must be a JSON object", "attributes"
            ) from None
    variant: dict[str, Any] = {
        "sku": text("sku"),
        "gtin": text("gtin"),
        "colour": text("colour"),
        "size": text("size"),
    }
    variant["prices"] = prices
    return {
        "id": text("product_id"),
        "names": {loc: v for loc in LOCALES if (v := text(f"name_{loc}"))},
        "descriptions": {loc: v for loc in LOCALES if (v := text(f"description_{loc}"))},
        "category_id": text("category_id"),
        "brand": text("brand"),
        "attributes": attributes if isinstance(attributes, dict) else {"value": attributes},
        "variants": [variant],
    }


def read_rows(lines: Iterable[str], fmt: str) -> Iterator[tuple[int, dict[str, Any] | OmnikanalError]]:
    """(row number in the file, the row as an API product body, or why it cannot be one)."""
    if fmt == "csv":
        reader = csv.DictReader(lines)
        missing = [c for c in ("product_id", "sku") if c not in (reader.fieldnames or [])]
        if missing:
            yield (
                1,
                InvalidInput("missing_column", f"{missing[0]}: the header row lacks this column", missing[0]),
            )
            return
        for record in reader:
            number = reader.line_num
            if None in record:
                yield number, InvalidInput("extra_values", "row: more values than header columns", "row")
                continue
            try:
                yield number, flat_row_to_product(dict(record))
            except OmnikanalError as exc:
                yield number, exc
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, InvalidInput("invalid_json", f"row: not JSON ({exc})", "row")
            continue
        if not isinstance(value, dict):
            yield number, InvalidInput("invalid_row", "row: each line must be a JSON object", "row")
            continue
        if "variants" in value:
            yield number, value
            continue
        try:
            yield number, flat_row_to_product(value)
        except OmnikanalError as exc:
            yield number, exc


def _validation_failure(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "row"
    return InvalidInput("invalid_row", f"{where}: {first.get('msg', 'invalid')}", where)


class CatalogueImporter:
    def __init__(self, engine: Engine, catalogue: CatalogueService, chunk_rows: int) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._chunk_rows = chunk_rows

    def run(
        self, lines: Iterable[str], fmt: str, progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        if fmt not in FORMATS:
            raise InvalidInput("invalid_format", f"format must be one of: {', '.join(FORMATS)}", "format")
        report = ImportReport()
        chunk: list[tuple[int, ProductIn]] = []
        for number, row in read_rows(lines, fmt):
            report.rows += 1
            if isinstance(row, OmnikanalError):
                report.fail(number, row.code, row.message, row.field)
            else:
                try:
                    chunk.append((number, self._catalogue.check_product(ProductIn.model_validate(row))))
                except ValidationError as exc:
                    failure = _validation_failure(exc)
                    report.fail(number, failure.code, failure.message, failure.field)
                except OmnikanalError as exc:
                    report.fail(number, exc.code, exc.message, exc.field)
            if len(chunk) >= self._chunk_rows:
                self._write(chunk, report)
                chunk = []
            if progress is not None:
                progress(1)
        if chunk:
            self._write(chunk, report)
        report.errors.sort(key=lambda e: e["row"])
        return report

    def _write(self, chunk: list[tuple[int, ProductIn]], report: ImportReport) -> None:
        def work(conn: Connection) -> tuple[int, int, list[tuple[int, OmnikanalError]]]:
            imported = created = 0
            failed: list[tuple[int, OmnikanalError]] = []
            for number, product in chunk:
                try:
                    with conn.begin_nested():
                        created += self._catalogue.write_product(conn, product, replace_variants=False)
                    imported += 1
                except OmnikanalError as exc:
                    failed.append((number, exc))
            return imported, created, failed

        # The whole chunk is re-run on a retryable conflict, so its counts are taken from the last run.
        imported, created, failed = write(self._engine, work)
        report.imported += imported
        report.created_products += created
        for number, exc in failed:
            report.fail(number, exc.code, exc.message, exc.field)


def text_lines(data: bytes) -> Iterator[str]:
    """The lines of an uploaded file (UTF-8, a BOM tolerated)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("invalid_encoding", "the file must be UTF-8 text", "file") from None
    return iter(io.StringIO(text, newline=""))
