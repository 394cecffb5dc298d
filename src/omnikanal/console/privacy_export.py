"""A finished export as people read it: every capability's part as tables with German or English
headings, nested values as "label: value" lines, times in the page's language; no JSON.

The machine-readable JSON (Art. 20 GDPR) stays a download of its own; this is the Art. 15 answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from omnikanal.consent.texts import PURPOSE_LABELS
from omnikanal.console.customer_texts import CUSTOMER_TEXTS
from omnikanal.console.export_labels import AREAS, CODED, FIELDS, HIDDEN, VALUES
from omnikanal.console.export_values import EXPORT_VALUES
from omnikanal.console.hotline_texts import EVENT_NAMES
from omnikanal.console.workspace_texts import action_label, actor_label

FORMATS: dict[str, str] = {"de": "%d.%m.%Y %H:%M", "en": "%Y-%m-%d %H:%M"}
MAX_ROWS = 2000  # per table; an export of a very active person still renders in a browser
MAX_DEPTH = 3
# Fields named in words like the rest of the console: purposes, event names, identifier types.
NAMED = frozenset(
    {"purpose", "event", "rule", "channel_reason", "merged_by", "medium", "source", "identifier_type"}
)
# Fields holding what was recorded as it was recorded (ids, codes, template names): shown as such.
RECORDED = frozenset({"id", "template", "merged_into", "sku", "value", "key", "identifier_value"})


def recorded(key: str) -> bool:
    return key in RECORDED or key.endswith(("_id", "_ids"))


def _values(lang: str) -> dict[str, str]:
    """Codes in words: the export's own, then identifier types, purposes and event names."""
    idtypes = {
        k.removeprefix("idtype_"): v for k, v in CUSTOMER_TEXTS[lang].items() if k.startswith("idtype_")
    }
    named = {**EVENT_NAMES[lang], **PURPOSE_LABELS[lang], **idtypes, **EXPORT_VALUES[lang]}
    return {**named, **VALUES[lang]}


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[list[str]]]  # a cell is one or more lines
    more: int = 0  # rows left out of the page (the JSON download has them all)
    recorded: list[bool] = field(default_factory=list)  # per column: values as recorded


@dataclass
class Area:
    title: str
    facts: list[tuple[str, list[str]]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


class Readable:
    def __init__(self, lang: str, zone: str) -> None:
        self.lang = lang if lang in FIELDS else "de"
        self.zone = ZoneInfo(zone)
        self.yes_no = ("ja", "nein") if self.lang == "de" else ("yes", "no")
        self.values = _values(self.lang)

    def label(self, key: str) -> str:
        return FIELDS[self.lang].get(key) or self.values.get(key) or key.replace("_", " ")

    def lines(self, value: Any, depth: int = 0) -> list[str]:
        """A value as text lines: nested objects as "label: value", lists one item a line."""
        if value is None or value == "" or value == [] or value == {}:
            return ["–"]
        if isinstance(value, bool):
            return [self.yes_no[0] if value else self.yes_no[1]]
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                return [f"{len(value)} …"]
            if set(value) >= {"value"} and len(value) <= 4:  # an observed trait: its value first
                return self.lines(value["value"], depth + 1)
            out: list[str] = []
            for key, inner in value.items():
                if key in HIDDEN:
                    continue
                text = self.cell(str(key), inner, depth + 1)
                out.append(f"{self.label(str(key))}: {text[0]}")
                out.extend(f"  {line}" for line in text[1:])
            return out
        if isinstance(value, list):
            if depth >= MAX_DEPTH:
                return [f"{len(value)} …"]
            return [line for item in value for line in self.lines(item, depth + 1)]
        return [self.scalar(value)]

    def cell(self, key: str, value: Any, depth: int = 0) -> list[str]:
        """A field's value, with codes, actions and actors in words."""
        if isinstance(value, str):
            if key == "action":
                return [action_label(self.lang, value)]
            if key in ("actor", "requested_by", "completed_by"):
                return [actor_label(self.lang, value)]
            if key in CODED or key in NAMED:
                return [self.values.get(value, value)]
        if key in NAMED and isinstance(value, list):
            return [self.values.get(v, v) if isinstance(v, str) else self.scalar(v) for v in value]
        return self.lines(value, depth)

    def scalar(self, value: Any) -> str:
        if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
            return moment.astimezone(self.zone).strftime(FORMATS[self.lang])
        if isinstance(value, float):
            text = f"{value:.2f}"
            return text.replace(".", ",") if self.lang == "de" else text
        return str(value)

    def table(self, title: str, items: list[Any]) -> Table:
        columns: list[str] = []
        for item in items[:MAX_ROWS]:
            for key in item if isinstance(item, dict) else ("value",):
                if key not in columns and key not in HIDDEN:
                    columns.append(key)
        rows = [
            [self.cell(key, item.get(key) if isinstance(item, dict) else item) for key in columns]
            for item in items[:MAX_ROWS]
        ]
        more = max(0, len(items) - MAX_ROWS)
        return Table(title, [self.label(c) for c in columns], rows, more, [recorded(c) for c in columns])

    def area(self, name: str, part: Any) -> Area:
        area = Area(AREAS[self.lang].get(name, name))
        if isinstance(part, list):
            area.tables.append(self.table(area.title, part))
            return area
        if not isinstance(part, dict):
            area.facts.append((area.title, self.lines(part)))
            return area
        for key, value in part.items():
            if isinstance(value, list) and (not value or isinstance(value[0], dict)):
                area.tables.append(self.table(self.label(key), value))
            else:
                area.facts.append((self.label(key), self.cell(key, value)))
        return area


def readable(document: dict[str, Any], lang: str, zone: str) -> list[Area]:
    """The export's parts as areas, core first, the rest in the order the document has them."""
    view = Readable(lang, zone)
    parts: dict[str, Any] = document.get("parts", {})
    order = ["core", "consent"] + [n for n in parts if n not in ("core", "consent", "privacy")] + ["privacy"]
    return [view.area(name, parts[name]) for name in order if name in parts]
