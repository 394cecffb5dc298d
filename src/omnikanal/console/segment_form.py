"""The segment builder's form and the condition language, both ways: rows of a form (one rule each,
combined by "all" or "any") into a condition document, and a condition back into rows where the
form can show it (a group of rules, each perhaps negated). Deeper conditions stay JSON-only.

Pure functions: the segments service still parses and checks every document it is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_ROWS = 8
KINDS = ("event", "no_event", "channels", "trait", "computed", "consent", "identifier")
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "in", "exists")
CONSENT_STATUSES = ("granted", "pending", "withdrawn", "denied")


@dataclass
class Row:
    """One rule of the form. ``subject`` is the event name, trait key, computed trait, consent
    purpose or identifier type, depending on ``kind``."""

    kind: str = ""
    negate: bool = False
    subject: str = ""
    op: str = "eq"
    value: str = ""
    least: str = ""
    most: str = ""
    days: str = ""
    prop: str = ""
    prop_value: str = ""


@dataclass
class Builder:
    match: str = "all"
    rows: list[Row] = field(default_factory=list)

    def padded(self, blank: int = 2) -> list[Row]:
        """The rows and a few empty ones to add rules without a script."""
        return (self.rows + [Row() for _ in range(blank)])[: max(MAX_ROWS, len(self.rows))]


class NotForm(ValueError):
    """The form cannot hold this condition; the JSON box edits it."""


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return text


def _value(op: str, text: str) -> Any:
    if op == "exists":
        return True
    if op == "in":
        return [_number(part.strip()) for part in text.split(",") if part.strip()]
    if text.lower() in ("true", "false", "ja", "nein", "yes", "no"):
        return text.lower() in ("true", "ja", "yes")
    return _number(text) if op in ("gt", "gte", "lt", "lte", "eq", "ne") else text


def _window(row: Row, body: dict[str, Any]) -> dict[str, Any]:
    if row.days.strip():
        body["within_days"] = _number(row.days.strip())
    return body


def _leaf(row: Row) -> dict[str, Any]:
    subject = row.subject.strip()
    if row.kind in ("event", "no_event"):
        body: dict[str, Any] = {"name": subject}
        if row.prop.strip():
            body["where"] = [{"key": row.prop.strip(), "op": "eq", "value": _number(row.prop_value.strip())}]
        _window(row, body)
        if row.kind == "no_event":
            body["max"] = 0
        else:
            if row.least.strip():
                body["min"] = _number(row.least.strip())
            if row.most.strip():
                body["max"] = _number(row.most.strip())
        return {"event": body}
    if row.kind == "channels":
        body = _window(row, {})
        body["min"] = _number(row.least.strip() or "2")
        if row.most.strip():
            body["max"] = _number(row.most.strip())
        return {"channels": body}
    if row.kind in ("trait", "computed"):
        key = "key" if row.kind == "trait" else "name"
        return {row.kind: {key: subject, "op": row.op, "value": _value(row.op, row.value.strip())}}
    if row.kind == "consent":
        return {"consent": {"purpose": subject, "status": row.op or "granted"}}
    if row.kind == "identifier":
        return {"identifier": {"type": subject, "exists": row.op != "missing"}}
    raise NotForm(f"unknown rule {row.kind!r}")


def condition_of(builder: Builder) -> dict[str, Any]:
    """The condition document of the filled-in rows (empty rows are left out)."""
    parts = []
    for row in builder.rows:
        leaf = _leaf(row)
        parts.append({"not": leaf} if row.negate else leaf)
    if not parts:
        raise NotForm("no rule")
    if len(parts) == 1:
        return parts[0]
    return {"any" if builder.match == "any" else "all": parts}


def builder_of_form(form: dict[str, str]) -> Builder:
    rows = []
    for i in range(MAX_ROWS):
        kind = form.get(f"r{i}_kind", "")
        if kind not in KINDS:
            continue
        rows.append(
            Row(
                kind=kind,
                negate=form.get(f"r{i}_not") == "1",
                subject=form.get(f"r{i}_subject", "")[:200],
                op=form.get(f"r{i}_op", "eq")[:20],
                value=form.get(f"r{i}_value", "")[:500],
                least=form.get(f"r{i}_min", "")[:10],
                most=form.get(f"r{i}_max", "")[:10],
                days=form.get(f"r{i}_days", "")[:10],
                prop=form.get(f"r{i}_prop", "")[:200],
                prop_value=form.get(f"r{i}_prop_value", "")[:500],
            )
        )
    return Builder("any" if form.get("match") == "any" else "all", rows)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _row_of(node: Any) -> Row:
    negate = isinstance(node, dict) and set(node) == {"not"}
    leaf = node["not"] if negate else node
    if not isinstance(leaf, dict) or len(leaf) != 1:
        raise NotForm("not a rule")
    kind, body = next(iter(leaf.items()))
    if not isinstance(body, dict) or "within_hours" in body:
        raise NotForm("not a rule the form holds")
    days = _text(body.get("within_days"))
    if kind == "event":
        where = body.get("where") or []
        if len(where) > 1 or (where and where[0].get("op") != "eq"):
            raise NotForm("property filters beyond one equality")
        prop, prop_value = (where[0]["key"], _text(where[0].get("value"))) if where else ("", "")
        none = body.get("max") == 0 and "min" not in body
        return Row(
            kind="no_event" if none else "event",
            negate=negate,
            subject=str(body.get("name", "")),
            least="" if none else _text(body.get("min")),
            most="" if none else _text(body.get("max")),
            days=days,
            prop=prop,
            prop_value=prop_value,
        )
    if kind == "channels":
        return Row("channels", negate, least=_text(body.get("min")), most=_text(body.get("max")), days=days)
    if kind in ("trait", "computed"):
        subject = body.get("key" if kind == "trait" else "name", "")
        return Row(kind, negate, str(subject), str(body.get("op", "eq")), _text(body.get("value")))
    if kind == "consent":
        return Row("consent", negate, str(body.get("purpose", "")), str(body.get("status", "granted")))
    if kind == "identifier":
        op = "present" if body.get("exists", True) else "missing"
        return Row("identifier", negate, str(body.get("type", "")), op)
    raise NotForm(f"{kind} is not a rule the form holds")


def builder_of(condition: Any) -> Builder:
    """The form's rows for a condition; NotForm when it nests deeper than one group."""
    if isinstance(condition, dict) and len(condition) == 1 and next(iter(condition)) in ("all", "any"):
        match, items = next(iter(condition.items()))
        if not isinstance(items, list) or len(items) > MAX_ROWS:
            raise NotForm("too many rules for the form")
        return Builder(match, [_row_of(item) for item in items])
    return Builder("all", [_row_of(condition)])
