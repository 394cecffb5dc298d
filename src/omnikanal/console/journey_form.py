"""The journey editor's form, both ways: the form's fields (the journey's name, trigger, reentry,
exit event and goal, and one row of fields per step, each for its kind) into a journey document, and
a document back into the form where the form can hold it. Anything else stays JSON-only.

Pure functions: the journeys service still checks every document it is given; the form only spares
staff the JSON. The step kinds are the engine's (journeys/schema.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from omnikanal.journeys.schema import CHANNELS, STEP_KINDS, WEEKDAYS

MAX_STEPS = 20
BLANK_STEPS = 2
VARIANTS = 3
TRIGGERS = ("event", "segment_entered", "date", "api")
REENTRY = ("once", "after_exit", "cooldown", "every_time")
WAIT_MODES = ("duration", "until", "until_trait")
WAIT_FOR = ("event", "segment")


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a step row: its name (``s<i>_<name>``), the step kinds it belongs to and how
    it is drawn (text, number, select, check, area, weekdays, variants)."""

    name: str
    kinds: tuple[str, ...]
    widget: str = "text"
    options: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()  # a wait's fields: the wait modes that use them


FIELDS: tuple[Field, ...] = (
    Field("wait_mode", ("wait",), "select", WAIT_MODES),
    Field("duration", ("wait",), modes=("duration",)),
    Field("time", ("wait",), modes=("until",)),
    Field("weekdays", ("wait",), "weekdays", tuple(WEEKDAYS), ("until",)),
    Field("trait", ("wait",), modes=("until_trait",)),
    Field("offset", ("wait",), modes=("until_trait",)),
    Field("annual", ("wait",), "check", modes=("until_trait",)),
    Field("wait_for", ("wait_for",), "select", WAIT_FOR),
    Field("subject", ("wait_for",)),
    Field("timeout", ("wait_for",)),
    Field("on_timeout", ("wait_for",)),
    Field("condition", ("branch",), "area"),
    Field("then", ("branch",)),
    Field("else", ("branch",)),
    Field("variants", ("split",), "variants"),
    Field("holdout", ("split",), "number"),
    Field("channel", ("send",), "select", tuple(CHANNELS)),
    Field("purpose", ("send",), "select"),
    Field("url", ("webhook",)),
    Field("queue", ("task",)),
    Field("task_kind", ("task",)),
    Field("template", ("send", "task", "webhook")),
    Field("mail_subject", ("send",)),
    Field("text", ("send", "task", "webhook"), "area"),
    Field("transactional", ("send",), "check"),
    Field("best_hour", ("send",), "check"),
    Field("key", ("update_trait",)),
    Field("value", ("update_trait",)),
    Field("reason", ("exit",)),
    Field("next", tuple(k for k in STEP_KINDS if k not in ("branch", "split", "exit"))),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
TOP: tuple[str, ...] = ("name", "description", "trigger", "trigger_subject", "trigger_offset")
TOP += ("trigger_annual", "reentry", "cooldown", "exit_event", "goal_event", "goal_within")


class NotForm(ValueError):
    """The form cannot hold this document; the JSON box edits it."""


@dataclass
class Step:
    id: str = ""
    kind: str = ""
    f: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.f.get(name, "")


@dataclass
class JourneyForm:
    top: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.top.get(name, "")

    def padded(self) -> list[Step]:
        """The steps and a few empty rows to add steps without a script."""
        return (self.steps + [Step() for _ in range(BLANK_STEPS)])[: max(MAX_STEPS, len(self.steps))]


def _variant_keys(i: int) -> list[str]:
    return [f"s{i}_v{v}_{part}" for v in range(VARIANTS) for part in ("name", "weight", "next")]


def form_of_post(posted: dict[str, str]) -> JourneyForm:
    """The form as posted (each text cut to a sane length; unknown kinds are empty rows)."""
    top = {name: posted.get(name, "").strip()[:2000] for name in TOP}
    steps = []
    for i in range(MAX_STEPS):
        kind = posted.get(f"s{i}_kind", "")
        if kind not in STEP_KINDS:
            continue
        values = {name: posted.get(f"s{i}_{name}", "").strip()[:5000] for name in FIELD_NAMES}
        values.update({f"wd_{d}": posted.get(f"s{i}_wd_{d}", "") for d in WEEKDAYS})
        values.update({k.split("_", 1)[1]: posted.get(k, "").strip()[:80] for k in _variant_keys(i)})
        steps.append(Step(posted.get(f"s{i}_id", "").strip()[:60], kind, values))
    return JourneyForm(top, steps)


def _scalar(text: str) -> Any:
    """A typed value: a whole number, a decimal, true/false, else the text."""
    if text.lower() in ("true", "false", "ja", "nein"):
        return text.lower() in ("true", "ja")
    for kind in (int, float):
        try:
            return kind(text.replace(",", ".") if kind is float else text)
        except ValueError:
            continue
    return text


def _int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text  # the schema names the field and what it wants


def _message(f: dict[str, str]) -> dict[str, Any]:
    """template, or the text (with a subject for email) written in the step."""
    if f.get("template"):
        return {"template": f["template"]}
    if f.get("text") or f.get("mail_subject"):
        content = {"text": f.get("text", "")}
        if f.get("mail_subject"):
            content["subject"] = f["mail_subject"]
        return {"content": content}
    return {}


def _wait(f: dict[str, str]) -> dict[str, Any]:
    mode = f.get("wait_mode") or "duration"
    if mode == "until":
        until: dict[str, Any] = {"time": f.get("time", "")}
        days = [d for d in WEEKDAYS if f.get(f"wd_{d}")]
        if days:
            until["weekdays"] = days
        return {"until": until}
    if mode == "until_trait":
        rule: dict[str, Any] = {"trait": f.get("trait", "")}
        if f.get("offset"):
            rule["offset"] = f["offset"]
        if f.get("annual"):
            rule["annual"] = True
        return {"until_trait": rule}
    return {"duration": f.get("duration", "")}


def _wait_for(f: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if f.get("wait_for") == "segment":
        body["segment"] = f.get("subject", "")
    else:
        body["event"] = {"name": f.get("subject", "")}
    body["timeout"] = f.get("timeout", "")
    if f.get("on_timeout"):
        body["on_timeout"] = f["on_timeout"]
    return body


def _branch(f: dict[str, str]) -> dict[str, Any]:
    try:
        condition = json.loads(f.get("condition") or "{}")
    except json.JSONDecodeError:
        raise NotForm("condition") from None
    return {"if": condition, "then": f.get("then", ""), "else": f.get("else", "")}


def _split(f: dict[str, str]) -> dict[str, Any]:
    variants = [
        {
            "name": f[f"v{v}_name"],
            "weight": _int(f.get(f"v{v}_weight") or "1"),
            "next": f.get(f"v{v}_next", ""),
        }
        for v in range(VARIANTS)
        if f.get(f"v{v}_name")
    ]
    body: dict[str, Any] = {"variants": variants}
    if f.get("holdout"):
        body["holdout"] = _int(f["holdout"])
    return body


def _send(f: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": f.get("channel") or "auto", **_message(f)}
    if f.get("purpose"):
        body["purpose"] = f["purpose"]
    if f.get("transactional"):
        body["transactional"] = True
    if f.get("best_hour"):
        body["send_at"] = "best_hour"
    return body


def _task(f: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"queue": f.get("queue", "")}
    if f.get("task_kind"):
        body["kind"] = f["task_kind"]
    return {**body, **_message(f)}


def _webhook(f: dict[str, str]) -> dict[str, Any]:
    return {"url": f.get("url", ""), **_message(f)}


def _exit(f: dict[str, str]) -> dict[str, Any]:
    return {"reason": f["reason"]} if f.get("reason") else {}


BODIES = {
    "wait": _wait,
    "wait_for": _wait_for,
    "branch": _branch,
    "split": _split,
    "send": _send,
    "task": _task,
    "webhook": _webhook,
    "update_trait": lambda f: {"key": f.get("key", ""), "value": _scalar(f.get("value", ""))},
    "exit": _exit,
}


def _trigger(form: JourneyForm) -> dict[str, Any]:
    kind, subject = form.get("trigger") or "event", form.get("trigger_subject")
    if kind == "segment_entered":
        return {"segment_entered": subject}
    if kind == "date":
        date: dict[str, Any] = {"trait": subject}
        if form.get("trigger_offset"):
            date["offset"] = form.get("trigger_offset")
        if form.get("trigger_annual"):
            date["annual"] = True
        return {"date": date}
    if kind == "api":
        return {"api": {}}
    return {"event": {"name": subject}}


def document_of(form: JourneyForm) -> dict[str, Any]:
    """The journey document of the filled-in form; a step without an id is named by its place."""
    document: dict[str, Any] = {"name": form.get("name")}
    if form.get("description"):
        document["description"] = form.get("description")
    document["trigger"] = _trigger(form)
    if form.get("reentry"):
        document["entry"] = {"reentry": form.get("reentry")}
        if form.get("cooldown"):
            document["entry"]["cooldown"] = form.get("cooldown")
    if form.get("exit_event"):
        document["exit"] = [{"event": {"name": form.get("exit_event")}}]
    if form.get("goal_event"):
        document["goal"] = {"event": {"name": form.get("goal_event")}, "within": form.get("goal_within")}
    steps = []
    for n, row in enumerate(form.steps, start=1):
        try:
            body = BODIES[row.kind](row.f)
        except NotForm:  # the branch's condition is not JSON
            raise NotForm(f"/steps/{n - 1}/branch/if") from None
        step: dict[str, Any] = {"id": row.id or f"schritt-{n}", row.kind: body}
        if row.get("next") and row.kind not in ("branch", "split", "exit"):
            step["next"] = row.get("next")
        steps.append(step)
    document["steps"] = steps
    return document
