"""A journey document with every step kind the engine knows, in every form the console's editor
holds, and the editor's form fields for a document (as a browser would post them)."""

from __future__ import annotations

from typing import Any

from omnikanal.console.journey_form import JourneyForm

EVERY_KIND: dict[str, Any] = {
    "name": "Warenkorb erinnern",
    "description": "Alle Arten von Schritten",
    "trigger": {"event": {"name": "Product Added"}},
    "entry": {"reentry": "cooldown", "cooldown": "P30D"},
    "exit": [{"event": {"name": "Order Completed"}}],
    "goal": {"event": {"name": "Order Completed"}, "within": "P7D"},
    "steps": [
        {"id": "warten", "wait": {"duration": "PT2H"}},
        {"id": "morgens", "wait": {"until": {"time": "09:00", "weekdays": ["mon", "fri"]}}},
        {
            "id": "geburtstag",
            "wait": {"until_trait": {"trait": "birthday", "offset": "-P1D", "annual": True}},
        },
        {
            "id": "test",
            "split": {
                "variants": [
                    {"name": "A", "weight": 1, "next": "mail"},
                    {"name": "B", "weight": 2, "next": "frage"},
                ],
                "holdout": 10,
            },
        },
        {
            "id": "mail",
            "send": {
                "channel": "email",
                "template": "cart-reminder",
                "purpose": "email_marketing",
                "send_at": "best_hour",
            },
            "next": "kauf",
        },
        {
            "id": "frage",
            "branch": {
                "if": {"trait": {"key": "vip", "op": "eq", "value": True}},
                "then": "sms",
                "else": "kauf",
            },
        },
        {
            "id": "sms",
            "send": {"channel": "sms", "content": {"text": "Ihr Warenkorb wartet"}, "transactional": True},
        },
        {
            "id": "kauf",
            "wait_for": {"event": {"name": "Order Completed"}, "timeout": "P2D", "on_timeout": "anruf"},
            "next": "merken",
        },
        {
            "id": "anruf",
            "task": {"queue": "hotline", "kind": "call", "content": {"text": "Warenkorb liegt"}},
            "next": "haken",
        },
        {
            "id": "haken",
            "webhook": {"url": "https://crm.example.invalid/hook", "content": {"text": "Warenkorb"}},
        },
        {"id": "stamm", "wait_for": {"segment": "Stammkunden", "timeout": "P1D"}},
        {"id": "merken", "update_trait": {"key": "cart_reminded", "value": 3}},
        {"id": "ende", "exit": {"reason": "finished"}},
    ],
}


def posted(form: JourneyForm) -> dict[str, str]:
    """The fields a browser posts for the form as the editor draws it (every field of a row, the
    ones of other kinds empty, and two empty rows)."""
    fields = {name: value for name, value in form.top.items() if value}
    for i, step in enumerate(form.steps):
        fields[f"s{i}_kind"] = step.kind
        fields[f"s{i}_id"] = step.id
        fields.update({f"s{i}_{name}": value for name, value in step.f.items() if value})
    fields[f"s{len(form.steps)}_kind"] = ""
    return {"source": "form", **fields}
