"""Journey documents: parsing, schema and semantic checks, and the parsed types. No I/O.

A document is JSON (or YAML, which parses to the same thing). The JSON Schema (schema.py) checks the
shape; the checks here add what it cannot: step references, cycles that no wait interrupts, durations
within the limits, audience and branch conditions in the segments language. Every error names its
place as a JSON pointer (``/steps/3/wait/duration``). Names that must exist in the database (segments,
computed traits) are checked by the service; unknown event names and traits only warn, because a
journey is often written before the first such event arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from omnikanal.errors import InvalidInput
from omnikanal.journeys.recommended import Recommended, is_recommended, parse_recommended
from omnikanal.journeys.schema import STEP_KINDS, journey_schema
from omnikanal.segments.model import Condition, Limits, PropertyFilter, parse_compare, parse_condition

DURATION_RE = re.compile(
    r"^(?P<sign>-?)P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
WAIT_KINDS = ("wait", "wait_for")  # the steps that end a pass of the engine
REENTRY = ("once", "after_exit", "cooldown", "every_time")


@dataclass(frozen=True, slots=True)
class JourneyLimits:
    max_steps: int = 50
    max_wait_days: int = 730
    max_document_bytes: int = 256 * 1024


def fail(pointer: str, message: str, code: str = "invalid_journey") -> InvalidInput:
    return InvalidInput(code, f"{pointer}: {message}", pointer)


def parse_duration(text: str, pointer: str, max_days: int, *, signed: bool = False) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds.

    Years and months are refused: their length depends on the date, and a wait must be exact.
    """
    match = DURATION_RE.match(text) if isinstance(text, str) else None
    if match is None or text.rstrip("-").endswith(("P", "T")):
        raise fail(
            pointer, f"{text!r} is not an ISO 8601 duration like P3D, PT2H or P1DT12H (no years or months)"
        )
    if match["sign"] and not signed:
        raise fail(pointer, "a duration here must not be negative")
    parts = {k: int(v) for k, v in match.groupdict().items() if k != "sign" and v}
    value = timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )
    if value > timedelta(days=max_days):
        raise fail(pointer, f"{text} is longer than the limit of {max_days} days")
    return -value if match["sign"] else value


@dataclass(frozen=True, slots=True)
class EventMatch:
    name: str
    where: tuple[PropertyFilter, ...]


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    kind: str
    body: dict[str, Any]
    next: str | None  # the following step (None: the journey ends after it)
    # parsed parts, by kind
    duration: timedelta | None = None  # wait.duration, wait_for.timeout, wait.until_trait.offset
    event: EventMatch | None = None  # wait_for.event
    condition: Condition | None = None  # branch.if
    recommended: Recommended | None = None  # branch.if.recommended


@dataclass(frozen=True, slots=True)
class Journey:
    name: str
    trigger_kind: str  # event, segment_entered, date, api
    trigger: Any  # the trigger's body: an event, a segment's name, a date rule, {} for api
    trigger_event: EventMatch | None
    trigger_offset: timedelta
    audience: Condition | None
    reentry: str
    cooldown: timedelta | None
    key: str | None
    exit_events: tuple[EventMatch, ...]
    exit_segments: tuple[str, ...]
    goal_event: EventMatch | None
    goal_within: timedelta | None
    steps: dict[str, Step]
    first: str
    segments: tuple[tuple[str, str], ...] = field(default=())  # (pointer, segment name or id) to resolve
    computed: tuple[tuple[str, str], ...] = field(default=())  # (pointer, computed trait name)

    def event_names(self) -> set[str]:
        """Every event name the document reacts to."""
        found = {e.name for e in self.exit_events}
        for match in (self.trigger_event, self.goal_event):
            if match is not None:
                found.add(match.name)
        found.update(s.event.name for s in self.steps.values() if s.event is not None)
        return found


class _DocumentLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases and with a bounded depth.

    An alias repeats an anchored node, so a few hundred bytes can stand for millions of nodes; a
    journey never needs one. The composer recurses per level, so a deep document would end in
    Python's recursion limit: it is stopped at the configured depth first.
    """

    max_depth = 32
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise _Refused(f"YAML aliases (*{mark.line + 1}) are not allowed", mark)
        if self._depth >= self.max_depth:
            raise _Refused(
                f"the document is nested deeper than {self.max_depth} levels",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Refused(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


def load_text(text: str | bytes, media_type: str | None, max_depth: int = 32) -> Any:
    """A document from JSON or YAML text (YAML is a superset of JSON, so one parser serves both).

    CPU-bound: callers on the event loop run it in a thread, after checking the size.
    """
    loader: _DocumentLoader | None = None
    try:
        # the reader checks the characters (NUL, undecodable bytes) as it is built: inside the try
        loader = _DocumentLoader(text)
        loader.max_depth = max_depth
        return loader.get_single_data()
    except _Refused as exc:
        mark = exc.problem_mark
        raise InvalidInput(
            "invalid_document",
            f"body: {exc.problem} (line {mark.line + 1}, column {mark.column + 1})",
            "body",
        ) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        place = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        kind = "YAML" if media_type and "yaml" in media_type else "JSON or YAML"
        raise InvalidInput("invalid_document", f"the body is not valid {kind}{place}", "body") from None
    finally:
        if loader is not None:
            loader.dispose()


@cache
def _validator(max_steps: int) -> Draft202012Validator:
    return Draft202012Validator(journey_schema(max_steps))


def pointer_of(error: ValidationError) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in error.absolute_path) or "/"


def _event(body: dict[str, Any], pointer: str) -> EventMatch:
    where = []
    for i, item in enumerate(body.get("where") or []):
        # the segments language parses property filters; its paths are rewritten to pointers
        try:
            where.append(PropertyFilter(item["key"], parse_compare(item, f"{pointer}/where/{i}")))
        except InvalidInput as exc:
            raise fail(f"{pointer}/where/{i}", exc.message.split(": ", 1)[-1]) from None
    return EventMatch(body["name"], tuple(where))


def _condition(document: Any, pointer: str, limits: Limits) -> Condition:
    try:
        return parse_condition(document, limits)
    except InvalidInput as exc:
        inner = exc.field or ""
        return_pointer = pointer + (
            "/" + inner.replace("[", "/").replace("]", "").replace(".", "/") if inner else ""
        )
        raise fail(return_pointer, exc.message.split(": ", 1)[-1]) from None


def _computed_names(condition: Any, pointer: str) -> list[tuple[str, str]]:
    """The computed traits a raw condition document uses, for the existence check."""
    found: list[tuple[str, str]] = []
    if isinstance(condition, dict):
        for key, value in condition.items():
            if key == "computed" and isinstance(value, dict) and isinstance(value.get("name"), str):
                found.append((f"{pointer}/computed/name", value["name"]))
            else:
                found.extend(_computed_names(value, f"{pointer}/{key}"))
    elif isinstance(condition, list):
        for i, item in enumerate(condition):
            found.extend(_computed_names(item, f"{pointer}/{i}"))
    return found


def parse_journey(document: Any, limits: JourneyLimits, condition_limits: Limits) -> Journey:
    """Check a document against the schema and the semantic rules; the first error names its place."""
    if not isinstance(document, dict):
        raise fail("/", "a journey document is a JSON object")
    error = best_match(_validator(limits.max_steps).iter_errors(document))
    if error is not None:
        raise fail(pointer_of(error), error.message)
    max_days = limits.max_wait_days
    segments: list[tuple[str, str]] = []
    computed: list[tuple[str, str]] = []

    trigger: dict[str, Any] = document["trigger"]
    trigger_kind = next(iter(trigger))
    trigger_event = _event(trigger["event"], "/trigger/event") if trigger_kind == "event" else None
    trigger_offset = timedelta()
    if trigger_kind == "segment_entered":
        segments.append(("/trigger/segment_entered", trigger["segment_entered"]))
    if trigger_kind == "date" and "offset" in trigger["date"]:
        trigger_offset = parse_duration(
            trigger["date"]["offset"], "/trigger/date/offset", max_days, signed=True
        )
    if trigger_kind == "date":
        named = [k for k in ("trait", "computed") if k in trigger["date"]]
        if len(named) != 1:
            raise fail("/trigger/date", "a date trigger names either a trait or a computed trait")
        if named == ["computed"]:
            computed.append(("/trigger/date/computed", trigger["date"]["computed"]))

    entry: dict[str, Any] = document.get("entry") or {}
    audience = None
    if "audience" in entry:
        audience = _condition(entry["audience"], "/entry/audience", condition_limits)
        computed.extend(_computed_names(entry["audience"], "/entry/audience"))
    reentry = entry.get("reentry", "after_exit")
    cooldown = None
    if reentry == "cooldown":
        if "cooldown" not in entry:
            raise fail("/entry/cooldown", "reentry cooldown needs a cooldown duration (e.g. P30D)")
        cooldown = parse_duration(entry["cooldown"], "/entry/cooldown", max_days)
    elif "cooldown" in entry:
        raise fail("/entry/cooldown", "a cooldown needs reentry: cooldown")
    key = entry.get("key")
    if key is not None and trigger_kind not in ("event", "api"):
        raise fail("/entry/key", "a journey key comes from the trigger event's properties or the API call")

    exit_events: list[EventMatch] = []
    exit_segments: list[str] = []
    for i, item in enumerate(document.get("exit") or []):
        if "event" in item:
            exit_events.append(_event(item["event"], f"/exit/{i}/event"))
        else:
            exit_segments.append(item["segment_exited"])
            segments.append((f"/exit/{i}/segment_exited", item["segment_exited"]))

    goal = document.get("goal")
    goal_event = _event(goal["event"], "/goal/event") if goal else None
    goal_within = parse_duration(goal["within"], "/goal/within", max_days) if goal else None

    steps = _steps(document["steps"], max_days, condition_limits, segments, computed)
    return Journey(
        name=document["name"],
        trigger_kind=trigger_kind,
        trigger=trigger[trigger_kind],
        trigger_event=trigger_event,
        trigger_offset=trigger_offset,
        audience=audience,
        reentry=reentry,
        cooldown=cooldown,
        key=key,
        exit_events=tuple(exit_events),
        exit_segments=tuple(exit_segments),
        goal_event=goal_event,
        goal_within=goal_within,
        steps=steps,
        first=document["steps"][0]["id"],
        segments=tuple(segments),
        computed=tuple(computed),
    )


def _steps(
    raw: list[dict[str, Any]],
    max_days: int,
    condition_limits: Limits,
    segments: list[tuple[str, str]],
    computed: list[tuple[str, str]],
) -> dict[str, Step]:
    positions: dict[str, int] = {}
    for i, item in enumerate(raw):
        if item["id"] in positions:
            raise fail(
                f"/steps/{i}/id", f"step id {item['id']!r} is used by /steps/{positions[item['id']]} already"
            )
        positions[item["id"]] = i
    steps: dict[str, Step] = {}
    for i, item in enumerate(raw):
        pointer = f"/steps/{i}"
        kinds = [k for k in STEP_KINDS if k in item]
        if len(kinds) != 1:
            raise fail(pointer, f"a step has exactly one of: {', '.join(STEP_KINDS)} (found {len(kinds)})")
        kind = kinds[0]
        body: dict[str, Any] = item[kind]
        here = f"{pointer}/{kind}"
        default_next = raw[i + 1]["id"] if i + 1 < len(raw) and kind != "exit" else None
        following = item.get("next", default_next)
        if kind == "exit" and "next" in item:
            raise fail(f"{pointer}/next", "an exit step ends the run; it has no next step")
        duration = None
        event = None
        condition = None
        recommended = None
        if kind == "wait":
            if "duration" in body:
                duration = parse_duration(body["duration"], f"{here}/duration", max_days)
                if not duration:
                    # a wait of nothing would let a loop through it spin without ever waiting
                    raise fail(f"{here}/duration", "a wait lasts longer than zero")
            elif "until_trait" in body and "offset" in body["until_trait"]:
                duration = parse_duration(
                    body["until_trait"]["offset"], f"{here}/until_trait/offset", max_days, signed=True
                )
        elif kind == "wait_for":
            duration = parse_duration(body["timeout"], f"{here}/timeout", max_days)
            if not duration:
                raise fail(f"{here}/timeout", "a timeout lasts longer than zero")
            has_event, has_segment = "event" in body, "segment" in body
            if has_event == has_segment:
                raise fail(here, "wait_for waits for exactly one of: event, segment")
            if has_event:
                event = _event(body["event"], f"{here}/event")
            else:
                segments.append((f"{here}/segment", body["segment"]))
        elif kind == "branch" and is_recommended(body["if"]):
            recommended = parse_recommended(body["if"]["recommended"], f"{here}/if/recommended")
        elif kind == "branch":
            condition = _condition(body["if"], f"{here}/if", condition_limits)
            computed.extend(_computed_names(body["if"], f"{here}/if"))
        elif kind in ("send", "task", "webhook") and ("template" in body) == ("content" in body):
            raise fail(here, "give either template or content")
        steps[item["id"]] = Step(item["id"], kind, body, following, duration, event, condition, recommended)
    for i, item in enumerate(raw):
        for pointer, target in _references(steps[item["id"]], f"/steps/{i}"):
            if target not in steps:
                raise fail(pointer, f"no step with id {target!r}", "unknown_step")
    _check_cycles(steps, positions)
    return steps


def _references(step: Step, pointer: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if step.next is not None:
        found.append((f"{pointer}/next", step.next))
    body = step.body
    if step.kind == "branch":
        found += [(f"{pointer}/branch/then", body["then"]), (f"{pointer}/branch/else", body["else"])]
    if step.kind == "split":
        found += [(f"{pointer}/split/variants/{i}/next", v["next"]) for i, v in enumerate(body["variants"])]
    if step.kind == "wait_for" and "on_timeout" in body:
        found.append((f"{pointer}/wait_for/on_timeout", body["on_timeout"]))
    return found


def successors(step: Step) -> list[str]:
    return [target for _, target in _references(step, "")]


def _check_cycles(steps: dict[str, Step], positions: dict[str, int]) -> None:
    """Refuse a loop through which a run could go round without ever waiting (it would never stop).

    Depth-first search over the graph without the edges leaving wait steps: any cycle left is one
    without a wait.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(step_id: str, path: list[str]) -> None:
        state[step_id] = 1
        path.append(step_id)
        step = steps[step_id]
        if step.kind not in WAIT_KINDS:
            for target in successors(step):
                if state.get(target) == 1:
                    loop = [*path[path.index(target) :], target]
                    raise fail(
                        f"/steps/{positions[step_id]}",
                        f"the steps {' -> '.join(loop)} form a cycle without a wait",
                        "cycle_without_wait",
                    )
                if target not in state:
                    visit(target, path)
        path.pop()
        state[step_id] = 2

    for step_id in steps:
        if step_id not in state:
            visit(step_id, [])
