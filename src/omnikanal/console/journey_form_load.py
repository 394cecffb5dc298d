"""A journey document back into the editor's form (journey_form.py), where the form can hold it:
NotForm names what it cannot (an entry audience, event property filters, a fourth variant, a
recommendation branch ...), and the page then offers the JSON box instead."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from omnikanal.console.journey_form import MAX_STEPS, VARIANTS, JourneyForm, NotForm, Step
from omnikanal.journeys.schema import STEP_KINDS, WEEKDAYS


def _only(body: Any, allowed: set[str], what: str) -> dict[str, Any]:
    if not isinstance(body, dict) or set(body) - allowed:
        raise NotForm(what)
    return body


def _event_name(body: Any, what: str) -> str:
    return str(_only(body, {"name"}, what).get("name", ""))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _message(body: dict[str, Any]) -> dict[str, str]:
    if "template" in body:
        return {"template": str(body["template"])}
    content = _only(body.get("content") or {}, {"text", "subject"}, "content")
    return {"text": _text(content.get("text")), "mail_subject": _text(content.get("subject"))}


def _wait(body: dict[str, Any]) -> dict[str, str]:
    if "until" in body:
        until = _only(body["until"], {"time", "weekdays"}, "until")
        days = {f"wd_{d}": "1" for d in until.get("weekdays") or [] if d in WEEKDAYS}
        return {"wait_mode": "until", "time": _text(until.get("time")), **days}
    if "until_trait" in body:
        rule = _only(body["until_trait"], {"trait", "offset", "annual"}, "until_trait")
        annual = "1" if rule.get("annual") else ""
        return {
            "wait_mode": "until_trait",
            "trait": _text(rule.get("trait")),
            "offset": _text(rule.get("offset")),
        } | {"annual": annual}
    return {"wait_mode": "duration", "duration": _text(body.get("duration"))}


def _wait_for(body: dict[str, Any]) -> dict[str, str]:
    found = {"timeout": _text(body.get("timeout")), "on_timeout": _text(body.get("on_timeout"))}
    if "segment" in body:
        return {"wait_for": "segment", "subject": _text(body["segment"]), **found}
    return {"wait_for": "event", "subject": _event_name(body.get("event"), "wait_for event"), **found}


def _branch(body: dict[str, Any]) -> dict[str, str]:
    condition = body.get("if")
    if isinstance(condition, dict) and "recommended" in condition:
        raise NotForm("recommended")
    text = json.dumps(condition, ensure_ascii=False)
    return {"condition": text, "then": _text(body.get("then")), "else": _text(body.get("else"))}


def _split(body: dict[str, Any]) -> dict[str, str]:
    variants = body.get("variants") or []
    if len(variants) > VARIANTS:
        raise NotForm("variants")
    found = {"holdout": _text(body.get("holdout"))}
    for v, variant in enumerate(variants):
        for part in ("name", "weight", "next"):
            found[f"v{v}_{part}"] = _text(variant.get(part))
    return found


def _send(body: dict[str, Any]) -> dict[str, str]:
    return {
        "channel": _text(body.get("channel")) or "auto",
        "purpose": _text(body.get("purpose")),
        "transactional": "1" if body.get("transactional") else "",
        "best_hour": "1" if body.get("send_at") == "best_hour" else "",
        **_message(body),
    }


READERS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "wait": _wait,
    "wait_for": _wait_for,
    "branch": _branch,
    "split": _split,
    "send": _send,
    "task": lambda b: {"queue": _text(b.get("queue")), "task_kind": _text(b.get("kind")), **_message(b)},
    "webhook": lambda b: {"url": _text(b.get("url")), **_message(b)},
    "update_trait": lambda b: {"key": _text(b.get("key")), "value": _text(b.get("value"))},
    "exit": lambda b: {"reason": _text(b.get("reason"))},
}


def _step(raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise NotForm("step")
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1 or not isinstance(raw[kinds[0]], dict):
        raise NotForm("step kind")
    kind = kinds[0]
    values = READERS[kind](raw[kind])
    if "next" in raw:
        values["next"] = _text(raw["next"])
    return Step(_text(raw.get("id")), kind, values)


def _trigger(trigger: Any) -> dict[str, str]:
    if not isinstance(trigger, dict) or len(trigger) != 1:
        raise NotForm("trigger")
    kind, body = next(iter(trigger.items()))
    if kind == "event":
        return {"trigger": "event", "trigger_subject": _event_name(body, "trigger event")}
    if kind == "segment_entered":
        return {"trigger": kind, "trigger_subject": _text(body)}
    if kind == "date":
        date = _only(body, {"trait", "offset", "annual"}, "date trigger")
        annual = "1" if date.get("annual") else ""
        return {"trigger": "date", "trigger_subject": _text(date.get("trait")), "trigger_annual": annual} | {
            "trigger_offset": _text(date.get("offset"))
        }
    if kind == "api":
        return {"trigger": "api"}
    raise NotForm("trigger")


def _rules(document: dict[str, Any]) -> dict[str, str]:
    """Reentry, the one exit event and the goal."""
    entry = _only(document.get("entry") or {}, {"reentry", "cooldown"}, "entry")
    found = {"reentry": _text(entry.get("reentry")), "cooldown": _text(entry.get("cooldown"))}
    exits = document.get("exit") or []
    if len(exits) > 1 or (exits and set(exits[0]) != {"event"}):
        raise NotForm("exit")
    if exits:
        found["exit_event"] = _event_name(exits[0]["event"], "exit event")
    if document.get("goal"):
        goal = _only(document["goal"], {"event", "within"}, "goal")
        found["goal_event"] = _event_name(goal.get("event"), "goal event")
        found["goal_within"] = _text(goal.get("within"))
    return found


def form_of_document(document: Any) -> JourneyForm:
    """The form for a document; NotForm when the form cannot hold all of it."""
    if not isinstance(document, dict):
        raise NotForm("document")
    steps = document.get("steps") or []
    if not isinstance(steps, list) or len(steps) > MAX_STEPS:
        raise NotForm("steps")
    top = {"name": _text(document.get("name")), "description": _text(document.get("description"))}
    top |= _trigger(document.get("trigger")) | _rules(document)
    return JourneyForm(top, [_step(raw) for raw in steps])
