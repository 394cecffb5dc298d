"""The condition language of segments and the definitions of computed traits: types and parsing, no I/O.

A condition is a JSON document (or YAML, which parses to the same thing). Every node is an object
with exactly one key:

* groups: ``{"all": [c, ...]}``, ``{"any": [c, ...]}``, ``{"not": c}``
* ``{"trait": {"key": "city", "op": "eq", "value": "Berlin"}}`` on a profile trait
* ``{"computed": {"name": "lifetime_value", "op": "gte", "value": 100}}`` on a computed trait
* ``{"consent": {"purpose": "marketing", "status": "granted"}}``
* ``{"identifier": {"type": "email", "exists": true}}``
* ``{"event": {"name": "Product Viewed", "where": [{"key": "category", "op": "eq", "value": "Werkzeug"}],
  "within_days": 14, "min": 3}}``: how many track events of that name (with those properties) happened
  within the window; ``min``/``max`` bound the count (``"max": 0`` means "none"); without either, min 1
* ``{"channels": {"min": 2, "within_days": 14}}``: distinct channels used within the window

Ops: eq, ne, gt, gte, lt, lte (a number, a string, or eq/ne on a boolean), in (a list of those), contains
(a substring of a string), exists (true or false). A comparison with a missing value, or one of
another JSON type, is false; ``exists: false`` is the only way to ask for a missing value.

Errors name the place as a path: ``all[1].not.event.within_days``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from omnikanal.errors import InvalidInput

LEAVES = ("trait", "computed", "consent", "identifier", "event", "channels")
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists")
ORDER_OPS = ("gt", "gte", "lt", "lte")
CONSENT_STATUSES = ("granted", "denied", "withdrawn", "pending")
FUNCTIONS = ("count", "sum", "min", "max", "first", "last", "most_frequent", "days_since_last")
# names and keys go into JSON paths and column values: a plain, printable alphabet
KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .:/-]{0,99}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
EVENT_NAME_MAX = 200
MAX_IN_VALUES = 100
MAX_STRING = 500

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 8
    max_leaves: int = 50
    max_window_days: int = 730


@dataclass(frozen=True, slots=True)
class Compare:
    """An op and its value; ``value`` is a tuple for ``in`` and a bool for ``exists``."""

    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class PropertyFilter:
    key: str
    compare: Compare


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


@dataclass(frozen=True, slots=True)
class Trait:
    key: str
    compare: Compare


@dataclass(frozen=True, slots=True)
class Computed:
    name: str
    compare: Compare


@dataclass(frozen=True, slots=True)
class Consent:
    purpose: str
    status: str


@dataclass(frozen=True, slots=True)
class IdentifierLeaf:
    type: str
    exists: bool


@dataclass(frozen=True, slots=True)
class EventCount:
    name: str
    where: tuple[PropertyFilter, ...]
    window_seconds: int | None
    min: int | None
    max: int | None


@dataclass(frozen=True, slots=True)
class Channels:
    window_seconds: int | None
    min: int | None
    max: int | None


Condition = All | AnyOf | Not | Trait | Computed | Consent | IdentifierLeaf | EventCount | Channels


@dataclass(frozen=True, slots=True)
class ComputedTrait:
    """count, sum, min, max, first, last, most_frequent or days_since_last over matching events."""

    name: str
    function: str
    event: str | None  # a track event name; None: every event of any type
    where: tuple[PropertyFilter, ...]
    property: str | None  # the property aggregated (sum/min/max/first/last/most_frequent)
    channel: bool  # aggregate the channel instead of a property
    window_seconds: int | None


def _fail(path: str, message: str, code: str = "invalid_condition") -> InvalidInput:
    return InvalidInput(code, f"{path}: {message}", path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value: Any, path: str) -> Scalar:
    if isinstance(value, bool) or _is_number(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise _fail(path, f"a string of at most {MAX_STRING} characters is expected")
        return value
    raise _fail(path, "a string, a finite number or a boolean is expected")


def parse_compare(body: dict[str, Any], path: str, *, value_key: str = "value") -> Compare:
    op = body.get("op")
    if not isinstance(op, str) or op not in OPS:
        raise _fail(f"{path}.op", f"op must be one of: {', '.join(OPS)}", "unknown_op")
    vpath = f"{path}.{value_key}"
    if value_key not in body:
        raise _fail(vpath, "a value is required")
    value = body[value_key]
    if op == "exists":
        if not isinstance(value, bool):
            raise _fail(vpath, "exists takes true or false")
        return Compare(op, value)
    if op == "in":
        if not isinstance(value, list) or not value:
            raise _fail(vpath, "in takes a non-empty list")
        if len(value) > MAX_IN_VALUES:
            raise _fail(vpath, f"in takes at most {MAX_IN_VALUES} values")
        items = tuple(_scalar(v, f"{vpath}[{i}]") for i, v in enumerate(value))
        return Compare(op, items)
    if op == "contains":
        if not isinstance(value, str) or not value:
            raise _fail(vpath, "contains takes a non-empty string")
        return Compare(op, _scalar(value, vpath))
    scalar = _scalar(value, vpath)
    if op in ORDER_OPS and isinstance(scalar, bool):
        raise _fail(vpath, f"{op} compares numbers or strings, not booleans")
    return Compare(op, scalar)


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "an object is expected")
    return value


def _keys(body: dict[str, Any], path: str, required: set[str], optional: set[str]) -> None:
    for key in body:
        if key not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            raise _fail(_join(path, key), f"unknown key; allowed here: {allowed}", "unknown_key")
    for key in sorted(required):
        if key not in body:
            raise _fail(_join(path, key), "is required")


def _key(value: Any, path: str, what: str = "key") -> str:
    if not isinstance(value, str) or not KEY_RE.match(value):
        raise _fail(
            path, f"{what} must be 1 to 100 letters, digits or _ .:/- (starting with a letter or digit)"
        )
    return value


def _count(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > 1_000_000:
        raise _fail(path, "a whole number from 0 to 1000000 is expected")
    return value


def _window(body: dict[str, Any], path: str, limits: Limits) -> int | None:
    days = body.get("within_days")
    hours = body.get("within_hours")
    if days is not None and hours is not None:
        raise _fail(_join(path, "within_hours"), "give within_days or within_hours, not both")
    if days is None and hours is None:
        return None
    key, amount, unit = ("within_days", days, 86400) if days is not None else ("within_hours", hours, 3600)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
        raise _fail(_join(path, key), "a whole number of at least 1 is expected")
    seconds = amount * unit
    if seconds > limits.max_window_days * 86400:
        raise _fail(
            _join(path, key),
            f"the window is longer than the limit of {limits.max_window_days} days",
            "window_too_long",
        )
    return seconds


def _bounds(body: dict[str, Any], path: str) -> tuple[int | None, int | None]:
    low = _count(body["min"], f"{path}.min") if "min" in body else None
    high = _count(body["max"], f"{path}.max") if "max" in body else None
    if low is not None and high is not None and low > high:
        raise _fail(f"{path}.max", "max is smaller than min")
    if low is None and high is None:
        low = 1
    return low, high


def _filters(value: Any, path: str) -> tuple[PropertyFilter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(path, "a list of property filters is expected")
    if len(value) > 10:
        raise _fail(path, "at most 10 property filters are allowed")
    found = []
    for i, item in enumerate(value):
        ipath = f"{path}[{i}]"
        body = _object(item, ipath)
        _keys(body, ipath, {"key", "op"}, {"value"})
        found.append(PropertyFilter(_key(body["key"], f"{ipath}.key"), parse_compare(body, ipath)))
    return tuple(found)


def _event_name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > EVENT_NAME_MAX:
        raise _fail(path, f"an event name of 1 to {EVENT_NAME_MAX} characters is expected")
    return value


class _Parser:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.leaves = 0

    def node(self, value: Any, path: str, depth: int) -> Condition:
        if depth > self.limits.max_depth:
            raise _fail(
                path or "$", f"conditions nest deeper than the limit of {self.limits.max_depth}", "too_deep"
            )
        body = _object(value, path or "$")
        if len(body) != 1:
            raise _fail(
                path or "$",
                "a condition is an object with exactly one key, such as all, any, not, "
                "trait, computed, consent, identifier, event or channels",
            )
        ((kind, inner),) = body.items()
        here = f"{path}.{kind}" if path else kind
        if kind in ("all", "any"):
            if not isinstance(inner, list):
                raise _fail(here, "a list of conditions is expected")
            if not inner:
                raise _fail(here, "an empty group is not allowed", "empty_group")
            items = tuple(self.node(v, f"{here}[{i}]", depth + 1) for i, v in enumerate(inner))
            return All(items) if kind == "all" else AnyOf(items)
        if kind == "not":
            return Not(self.node(inner, here, depth + 1))
        if kind not in LEAVES:
            raise _fail(
                here,
                "unknown condition; expected all, any, not, trait, computed, consent, identifier, event "
                "or channels",
                "unknown_condition",
            )
        self.leaves += 1
        if self.leaves > self.limits.max_leaves:
            raise _fail(
                here,
                f"the condition has more than the limit of {self.limits.max_leaves} leaves",
                "too_many_leaves",
            )
        leaf = _object(inner, here)
        if kind == "trait":
            _keys(leaf, here, {"key", "op"}, {"value"})
            return Trait(_key(leaf["key"], f"{here}.key"), parse_compare(leaf, here))
        if kind == "computed":
            _keys(leaf, here, {"name", "op"}, {"value"})
            name = leaf["name"]
            if not isinstance(name, str) or not NAME_RE.match(name):
                raise _fail(f"{here}.name", "a computed trait name (lower case, digits, _) is expected")
            return Computed(name, parse_compare(leaf, here))
        if kind == "consent":
            _keys(leaf, here, {"purpose", "status"}, set())
            status = leaf["status"]
            if status not in CONSENT_STATUSES:
                raise _fail(f"{here}.status", f"status must be one of: {', '.join(CONSENT_STATUSES)}")
            return Consent(_key(leaf["purpose"], f"{here}.purpose", "purpose"), status)
        if kind == "identifier":
            _keys(leaf, here, {"type"}, {"exists"})
            exists = leaf.get("exists", True)
            if not isinstance(exists, bool):
                raise _fail(f"{here}.exists", "true or false is expected")
            return IdentifierLeaf(_key(leaf["type"], f"{here}.type", "type"), exists)
        if kind == "event":
            _keys(leaf, here, {"name"}, {"where", "within_days", "within_hours", "min", "max"})
            low, high = _bounds(leaf, here)
            return EventCount(
                _event_name(leaf["name"], f"{here}.name"),
                _filters(leaf.get("where"), f"{here}.where"),
                _window(leaf, here, self.limits),
                low,
                high,
            )
        if kind == "channels":
            _keys(leaf, here, set(), {"within_days", "within_hours", "min", "max"})
            low, high = _bounds(leaf, here)
            return Channels(_window(leaf, here, self.limits), low, high)
        raise _fail(
            here,
            "unknown condition; expected all, any, not, trait, computed, consent, identifier, "
            "event or channels",
            "unknown_condition",
        )


def parse_condition(document: Any, limits: Limits | None = None) -> Condition:
    """Parse and validate a condition document; InvalidInput names the place of the first problem."""
    return _Parser(limits or Limits()).node(document, "", 1)


def parse_computed(document: Any, limits: Limits | None = None) -> ComputedTrait:
    """Parse a computed trait definition, e.g.
    ``{"name": "lifetime_value", "function": "sum", "event": "Order Completed", "property": "revenue"}``."""
    limits = limits or Limits()
    body = _object(document, "$")
    _keys(
        body,
        "",
        {"name", "function"},
        {"event", "where", "property", "channel", "within_days", "within_hours"},
    )
    name = body["name"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise _fail("name", "a name of lower-case letters, digits and _ (at most 60) is expected")
    function = body["function"]
    if function not in FUNCTIONS:
        raise _fail("function", f"function must be one of: {', '.join(FUNCTIONS)}", "unknown_function")
    event = _event_name(body["event"], "event") if body.get("event") is not None else None
    prop = _key(body["property"], "property", "property") if body.get("property") is not None else None
    channel = body.get("channel", False)
    if not isinstance(channel, bool):
        raise _fail("channel", "true or false is expected")
    needs_value = function in ("sum", "min", "max", "first", "last", "most_frequent")
    if needs_value and prop is None and not channel:
        raise _fail("property", f"{function} needs a property (or channel: true)")
    if prop is not None and channel:
        raise _fail("channel", "give property or channel: true, not both")
    if function in ("sum", "min", "max") and channel:
        raise _fail("channel", f"{function} needs a numeric property, not the channel")
    if not needs_value and (prop is not None or channel):
        raise _fail("property" if prop is not None else "channel", f"{function} takes no property")
    where = _filters(body.get("where"), "where")
    if where and event is None:
        raise _fail("where", "property filters need an event name")
    return ComputedTrait(name, function, event, where, prop, channel, _window(body, "", limits))


# --- shared semantics of a comparison (the SQL compiler mirrors these) ---


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def compare(stored: Any, cmp: Compare) -> bool:
    """Whether a stored JSON value (None: missing) satisfies a comparison."""
    if cmp.op == "exists":
        return (stored is not None) is bool(cmp.value)
    if stored is None:
        return False
    kind = _kind(stored)
    if cmp.op == "in":
        return any(_kind(v) == kind and stored == v for v in cmp.value)
    if cmp.op == "contains":
        return kind == "string" and cmp.value in stored
    if kind != _kind(cmp.value):
        return False
    if cmp.op == "eq":
        return bool(stored == cmp.value)
    if cmp.op == "ne":
        return bool(stored != cmp.value)
    if cmp.op == "gt":
        return bool(stored > cmp.value)
    if cmp.op == "gte":
        return bool(stored >= cmp.value)
    if cmp.op == "lt":
        return bool(stored < cmp.value)
    return bool(stored <= cmp.value)


def in_bounds(count: int, low: int | None, high: int | None) -> bool:
    return (low is None or count >= low) and (high is None or count <= high)


def walk(condition: Condition) -> list[Condition]:
    """Every node, depth first."""
    if isinstance(condition, All | AnyOf):
        return [condition, *(n for item in condition.items for n in walk(item))]
    if isinstance(condition, Not):
        return [condition, *walk(condition.item)]
    return [condition]
