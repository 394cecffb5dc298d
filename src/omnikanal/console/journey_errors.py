"""What the journey editor says when the journeys service refuses a document or warns about it, in
the page's language: the place (the step's number and the form field, from the error's JSON
pointer) and the sentence (from the service's English message, matched by its pattern).

A message without a pattern here is said as "this entry is not valid", with the service's words
beside it as recorded (the journeys validator names its JSON Schema's rules, which are many)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from omnikanal.errors import OmnikanalError

# The service's message (after its "pointer: ") → the text key of the sentence; groups fill {0}, {1}.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"^'(.*)' is not an ISO 8601 duration", "jf_err_duration"),
        (r"^(\S+) is longer than the limit of (\d+) days", "jf_err_too_long"),
        (r"^a duration here must not be negative", "jf_err_negative"),
        (r"^a (?:wait|timeout) lasts longer than zero", "jf_err_zero"),
        (r"^wait_for waits for exactly one of", "jf_err_wait_for"),
        (r"^give either template or content", "jf_err_message"),
        (r"^no step with id '(.*)'", "jf_err_no_step"),
        (r"^step id '(.*)' is used by /steps/(\d+) already", "jf_err_step_twice"),
        (r"^the steps (.*) form a cycle without a wait", "jf_err_cycle"),
        (r"^an exit step ends the run", "jf_err_exit_next"),
        (r"^no segment named '(.*)'", "jf_err_no_segment"),
        (r"^no computed trait named '(.*)'", "jf_err_no_computed"),
        (r"^a journey named '(.*)' exists already", "jf_err_exists"),
        (r"^a date trigger names either", "jf_err_date"),
        (r"^reentry cooldown needs", "jf_err_cooldown"),
        (r"^a cooldown needs reentry", "jf_err_cooldown_reentry"),
        (r"^not JSON", "jf_err_json"),
        (r"^'' +is too short|should be non-empty|^'' does not match", "jf_err_empty"),
        (r"^'(.*)' does not match", "jf_err_format"),
        (r"is not one of \[", "jf_err_choice"),
        (r"is not of type 'integer'", "jf_err_integer"),
        (r"is (?:greater|less) than the (?:maximum|minimum) of (\d+)", "jf_err_range"),
        (r"is not a 'uri'", "jf_err_url"),
        (r"^\[\] should be non-empty|is too short", "jf_err_empty"),
    )
)
# Fields holding an ISO 8601 duration (the schema's pattern refuses other text first).
DURATION_FIELDS = frozenset({"duration", "offset", "timeout", "cooldown", "within"})
WARNINGS = {
    "unknown_event": "jf_warn_event",
    "unknown_template": "jf_warn_template",
    "unknown_trait": "jf_warn_trait",
}
# A JSON pointer's last names → the form field they are entered in.
FIELD_OF = {
    "duration": "duration",
    "time": "time",
    "weekdays": "weekdays",
    "trait": "trait",
    "offset": "offset",
    "timeout": "timeout",
    "on_timeout": "on_timeout",
    "segment": "subject",
    "event": "subject",
    "if": "condition",
    "then": "then",
    "else": "else",
    "variants": "variants",
    "holdout": "holdout",
    "channel": "channel",
    "template": "template",
    "text": "text",
    "subject": "mail_subject",
    "purpose": "purpose",
    "queue": "queue",
    "kind": "task_kind",
    "url": "url",
    "key": "key",
    "value": "value",
    "reason": "reason",
    "next": "next",
    "id": "id",
}
TOP_OF = {
    "name": "name",
    "description": "description",
    "trigger": "trigger_subject",
    "entry": "reentry",
    "cooldown": "cooldown",
    "exit": "exit_event",
    "goal": "goal_event",
    "within": "goal_within",
}


@dataclass(frozen=True, slots=True)
class Said:
    """A refusal as the page says it: where, what, the service's own words when there is no
    sentence for them, and the form field to mark (``s2_duration``, ``name``)."""

    place: str
    sentence: str
    recorded: str | None
    field: str | None


def _field(parts: list[str]) -> tuple[int | None, str | None]:
    """(step index, form field) of a JSON pointer's parts."""
    if parts[:1] == ["steps"] and len(parts) > 1 and parts[1].isdigit():
        names = [p for p in parts[3:] if not p.isdigit() and p != "name"] or parts[2:3]
        chosen = next((FIELD_OF[p] for p in reversed(names) if p in FIELD_OF), None)
        return int(parts[1]), chosen
    chosen = next((TOP_OF[p] for p in reversed(parts) if p in TOP_OF), None)
    return None, chosen


def _place(t: dict[str, str], pointer: str) -> tuple[str, str | None]:
    parts = [p for p in pointer.strip("/").split("/") if p]
    step, chosen = _field(parts)
    label = t.get(f"jf_{chosen}", "") if chosen else ""
    if step is not None:
        where = t["jf_step_n"].format(n=step + 1)
        return (f"{where}, {label}" if label else where), (f"s{step}_{chosen}" if chosen else None)
    return (label or t["jf_document"]), chosen


def _sentence(t: dict[str, str], message: str) -> tuple[str, bool]:
    for pattern, key in PATTERNS:
        found = pattern.search(message)
        if found:
            return t[key].format(*found.groups()), True
    return t["jf_err_other"], False


def say(t: dict[str, str], exc: OmnikanalError) -> Said:
    """The refusal of a journey document, in the page's language."""
    pointer = exc.field or ""
    message = exc.message
    if pointer.startswith("/") and message.startswith(f"{pointer}: "):
        message = message[len(pointer) + 2 :]
    elif ": " in message and message.split(": ", 1)[0] in ("name", "document"):
        pointer, message = "/" + message.split(": ", 1)[0], message.split(": ", 1)[1]
    pointer = pointer if pointer.startswith("/") else f"/{pointer}"
    missing = re.match(r"^'(\w+)' is a required property", message)
    if missing:  # the place names the missing field
        pointer, message = f"{pointer.rstrip('/')}/{missing.group(1)}", "''  is too short"
    place, chosen = _place(t, pointer)
    mismatch = re.match(r"^'(.*)' does not match", message)
    if mismatch and chosen and chosen.split("_", 1)[-1] in DURATION_FIELDS:
        return Said(place, t["jf_err_duration"].format(mismatch.group(1)), None, chosen)
    if mismatch and chosen and chosen.endswith("_time"):
        return Said(place, t["jf_err_time"].format(mismatch.group(1)), None, chosen)
    sentence, known = _sentence(t, message)
    return Said(place, sentence, None if known else message, chosen)


def warning_text(t: dict[str, str], warning: dict[str, str]) -> tuple[str, str, str]:
    """A warning of the check (an event nobody sent yet ...) in the page's language, as the text
    before the name it is about, that name as typed, and the text after it."""
    key = WARNINGS.get(warning.get("code", ""))
    named = re.search(r"'(.*)'", warning.get("message", ""))
    if key is None or named is None:
        return warning.get("message", ""), "", ""
    before, _, after = t[key].partition("{0}")
    return before, named.group(1), after
