"""The published JSON Schema of a journey document (``GET /api/journeys/schema``).

The schema checks the shape; model.py adds what a schema cannot say (step references, cycles,
durations within limits, names that must exist). Segment conditions (``audience``, ``branch.if``)
are checked by the segments parser, so the schema only asks for an object there.
"""

from __future__ import annotations

from typing import Any

DURATION = r"^-?P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$"
STEP_ID = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,59}$"
LOCAL_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
CHANNELS = ["auto", "email", "sms", "whatsapp"]


def _one_of_keys(properties: dict[str, Any]) -> dict[str, Any]:
    """An object with exactly one of these keys."""
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
    }


_FILTER = {
    "type": "object",
    "required": ["key", "op"],
    "properties": {"key": {"type": "string", "minLength": 1}, "op": {"type": "string"}, "value": {}},
    "additionalProperties": False,
}
_EVENT = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "where": {"type": "array", "items": _FILTER, "maxItems": 20},
    },
    "additionalProperties": False,
}
_DURATION = {"type": "string", "pattern": DURATION}
_NEXT = {"type": "string", "pattern": STEP_ID}
_CONTENT = {
    "type": "object",
    "properties": {"subject": {"type": "string"}, "text": {"type": "string"}, "html": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}

_STEP_BODIES: dict[str, Any] = {
    "wait": _one_of_keys(
        {
            "duration": _DURATION,
            "until": {
                "type": "object",
                "required": ["time"],
                "properties": {
                    "time": {"type": "string", "pattern": LOCAL_TIME},
                    "weekdays": {
                        "type": "array",
                        "items": {"enum": WEEKDAYS},
                        "minItems": 1,
                        "uniqueItems": True,
                    },
                },
                "additionalProperties": False,
            },
            "until_trait": {
                "type": "object",
                "required": ["trait"],
                "properties": {
                    "trait": {"type": "string", "minLength": 1, "maxLength": 100},
                    "offset": _DURATION,
                    "annual": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
        }
    ),
    "wait_for": {
        "type": "object",
        "required": ["timeout"],
        "properties": {
            "event": _EVENT,
            "segment": {"type": "string", "minLength": 1},
            "timeout": _DURATION,
            "on_timeout": _NEXT,
        },
        "additionalProperties": False,
    },
    "branch": {
        "type": "object",
        "required": ["if", "then", "else"],
        "properties": {"if": {"type": "object"}, "then": _NEXT, "else": _NEXT},
        "additionalProperties": False,
    },
    "split": {
        "type": "object",
        "required": ["variants"],
        "properties": {
            "variants": {
                "type": "array",
                "minItems": 1,
                "maxItems": 10,
                "items": {
                    "type": "object",
                    "required": ["name", "weight", "next"],
                    "properties": {
                        "name": {"type": "string", "pattern": STEP_ID},
                        "weight": {"type": "integer", "minimum": 1, "maximum": 100},
                        "next": _NEXT,
                    },
                    "additionalProperties": False,
                },
            },
            "holdout": {"type": "integer", "minimum": 0, "maximum": 50},
        },
        "additionalProperties": False,
    },
    "send": {
        "type": "object",
        "properties": {
            "channel": {"enum": CHANNELS},
            "template": {"type": "string", "minLength": 1},
            "content": _CONTENT,
            "purpose": {"type": "string"},
            "transactional": {"type": "boolean"},
            # at the customer's best hour of the day (their time zone); quiet hours still rule
            "send_at": {"enum": ["best_hour"]},
        },
        "additionalProperties": False,
    },
    "task": {
        "type": "object",
        "required": ["queue"],
        "properties": {
            "queue": {"type": "string", "minLength": 1, "maxLength": 80},
            "kind": {"type": "string", "minLength": 1, "maxLength": 40},
            "template": {"type": "string", "minLength": 1},
            "content": _CONTENT,
        },
        "additionalProperties": False,
    },
    "update_trait": {
        "type": "object",
        "required": ["key", "value"],
        "properties": {"key": {"type": "string", "minLength": 1, "maxLength": 100}, "value": {}},
        "additionalProperties": False,
    },
    "webhook": {
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
            "template": {"type": "string", "minLength": 1},
            "content": _CONTENT,
        },
        "additionalProperties": False,
    },
    "exit": {
        "type": "object",
        "properties": {"reason": {"type": "string", "pattern": STEP_ID}},
        "additionalProperties": False,
    },
}

STEP_KINDS: tuple[str, ...] = tuple(_STEP_BODIES)


def _step_schema() -> dict[str, Any]:
    # Every kind is an optional property and model.py asks for exactly one: a oneOf over the kinds
    # would answer "not valid under any of the given schemas" instead of naming the wrong field.
    return {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string", "pattern": STEP_ID}, "next": _NEXT, **_STEP_BODIES},
        "additionalProperties": False,
    }


def journey_schema(max_steps: int) -> dict[str, Any]:
    """The schema, with the configured step limit."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://omnikanal.invalid/schemas/journey.json",
        "title": "Omnikanal journey",
        "type": "object",
        "required": ["name", "trigger", "steps"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": "string", "maxLength": 2000},
            "trigger": _one_of_keys(
                {
                    "event": _EVENT,
                    "segment_entered": {"type": "string", "minLength": 1},
                    # a date trait of the profile (a birthday) or a computed trait holding a time
                    # (days_since_last: N days after the last order); model.py asks for one of them
                    "date": {
                        "type": "object",
                        "properties": {
                            "trait": {"type": "string", "minLength": 1, "maxLength": 100},
                            "computed": {"type": "string", "minLength": 1, "maxLength": 100},
                            "offset": _DURATION,
                            "annual": {"type": "boolean"},
                        },
                        "additionalProperties": False,
                    },
                    "api": {"type": "object", "additionalProperties": False},
                }
            ),
            "entry": {
                "type": "object",
                "properties": {
                    "audience": {"type": "object"},
                    "reentry": {"enum": ["once", "after_exit", "cooldown", "every_time"]},
                    "cooldown": _DURATION,
                    "key": {"type": "string", "minLength": 1, "maxLength": 100},
                },
                "additionalProperties": False,
            },
            "exit": {
                "type": "array",
                "maxItems": 20,
                "items": _one_of_keys(
                    {"event": _EVENT, "segment_exited": {"type": "string", "minLength": 1}}
                ),
            },
            "goal": {
                "type": "object",
                "required": ["event", "within"],
                "properties": {"event": _EVENT, "within": _DURATION},
                "additionalProperties": False,
            },
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_steps,
                "items": _step_schema(),
            },
        },
        "additionalProperties": False,
    }
