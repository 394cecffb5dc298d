"""Canned replies and macros: per queue (or every queue), an answer per locale with placeholders
filled from the case and the customer, and what else the one click does (status, tags, assignee).

Applying one is a single transaction: the answer through messaging (as every answer), the tags,
the assignment and the status change, and an entry naming the macro.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from omnikanal.clock import isoformat
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.ids import new_id
from omnikanal.profiles.service import ProfileService

from . import store
from .cases import ServiceDesk, own_queue
from .model import MacroIn

EVERY_QUEUE = "*"
PLACEHOLDER = re.compile(r"\{\{(.{0,60}?)\}\}")
FIELDS: tuple[str, ...] = (
    "case.ref",
    "case.subject",
    "case.queue",
    "case.order_id",
    "customer.first_name",
    "customer.last_name",
    "customer.name",
    "customer.email",
    "agent",
)
_TRAITS = {
    "customer.first_name": ("firstName", "first_name", "firstname"),
    "customer.last_name": ("lastName", "last_name", "lastname"),
    "customer.name": ("name",),
    "customer.email": ("email",),
}


def check_texts(texts: dict[str, str]) -> None:
    """Every placeholder must be one this module fills: a typo would reach the customer verbatim."""
    for locale, text in texts.items():
        for found in PLACEHOLDER.finditer(text):
            name = found.group(1).strip()
            if name not in FIELDS:
                raise InvalidInput(
                    "unknown_placeholder",
                    f"texts.{locale}: unknown placeholder {{{{ {name} }}}}; use any of: {', '.join(FIELDS)}",
                    f"texts.{locale}",
                )
        if not text.strip():
            raise InvalidInput("empty_text", f"texts.{locale}: must not be empty", f"texts.{locale}")


def fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1).strip(), ""), text)


def values_of(case: dict[str, Any], traits: dict[str, Any], agent: str) -> dict[str, str]:
    values = {
        "case.ref": case["ref"],
        "case.subject": case["subject"],
        "case.queue": case["queue"],
        "case.order_id": str(case["links"].get("order_id") or ""),
        "agent": agent.rpartition(":")[2],  # "staff:anna" signs as anna
    }
    for name, keys in _TRAITS.items():
        values[name] = next((str(traits[k]) for k in keys if isinstance(traits.get(k), str)), "")
    if not values["customer.name"]:
        values["customer.name"] = f"{values['customer.first_name']} {values['customer.last_name']}".strip()
    return values


def locale_of(traits: dict[str, Any], default: str) -> str:
    """The customer's language as messaging reads it (preferredLanguage first), else the default."""
    for key in ("preferredLanguage", "locale", "language", "lang"):
        value = traits.get(key)
        if isinstance(value, str) and value[:2].lower() in ("de", "en"):
            return value[:2].lower()
    return default if default in ("de", "en") else "de"


def macro_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "queue": None if row.queue == EVERY_QUEUE else row.queue,
        "texts": row.texts,
        "status": row.status,
        "tags": row.tags,
        "assignee": row.assignee,
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
    }


class MacroBook:
    def __init__(self, desk: ServiceDesk, profiles: ProfileService, default_locale: str) -> None:
        self._desk = desk
        self._profiles = profiles
        self._default_locale = default_locale

    def create(self, body: MacroIn, store_id: str | None) -> dict[str, Any]:
        if store_id is not None:  # a store's staff keep their own store's macros only
            own_queue(body.queue or EVERY_QUEUE, store_id)
        texts: dict[str, str] = {str(k): v for k, v in body.texts.items()}
        check_texts(texts)
        if body.status is not None and body.status not in self._desk.config.statuses:
            statuses = ", ".join(self._desk.config.statuses)
            raise InvalidInput("invalid_status", f"status must be one of: {statuses}", "status")
        now = self._desk.clock_now()
        row = {
            "id": new_id("mac"),
            "queue": body.queue or EVERY_QUEUE,
            "name": body.name,
            "texts": texts,
            "status": body.status,
            "tags": list(dict.fromkeys(body.tags)),
            "assignee": body.assignee,
            "created_at": now,
            "updated_at": now,
        }
        try:
            self._desk.write(lambda conn: store.insert_macro(conn, row))
        except IntegrityError:
            raise Conflict("macro_exists", f"name: the queue has a macro {body.name!r} already") from None
        return self.get(str(row["id"]), store_id)

    def get(self, macro_id: str, store_id: str | None) -> dict[str, Any]:
        with read_tx(self._desk.engine) as conn:
            return macro_view(self._macro(conn, macro_id, store_id))

    def all(self, queue: str | None, store_id: str | None) -> list[dict[str, Any]]:
        if store_id is not None:
            queue = f"store:{store_id}"
        queues = [queue, EVERY_QUEUE] if queue else None
        with read_tx(self._desk.engine) as conn:
            return [macro_view(r) for r in store.macros(conn, queues)]

    def delete(self, macro_id: str, store_id: str | None) -> None:
        def work(conn: Connection) -> None:
            row = self._macro(conn, macro_id, store_id)
            own_queue(row.queue, store_id)  # a store's staff cannot delete the shared macros
            store.delete_macro(conn, macro_id)

        self._desk.write(work)

    def for_case(self, case_id: str, actor: str, store_id: str | None) -> list[dict[str, Any]]:
        """The macros of the case's queue, with their answer filled for this case and customer."""
        case = self._desk.get(case_id, store_id)
        values, locale = self._context(case, actor)
        with read_tx(self._desk.engine) as conn:
            rows = store.macros(conn, [case["queue"], EVERY_QUEUE])
        return [macro_view(r) | {"locale": locale, "preview": self._text(r, values, locale)} for r in rows]

    def apply(
        self, case_id: str, macro_id: str, actor: str, channel: str | None, store_id: str | None
    ) -> dict[str, Any]:
        desk = self._desk
        case = desk.get(case_id, store_id)
        values, locale = self._context(case, actor)

        def work(conn: Connection) -> None:
            macro = self._macro(conn, macro_id, store_id)
            row = desk.case_row(conn, case_id, store_id, lock=True)
            if macro.queue not in (EVERY_QUEUE, row.queue):
                raise Conflict("macro_other_queue", f"macro {macro_id} belongs to the queue {macro.queue}")
            if row.status == "closed":
                raise Conflict("case_closed", f"case {case_id} is closed")
            data = {"macro_id": macro.id, "name": macro.name, "locale": locale}
            desk.add_entry(conn, row.id, row.profile_id, "macro", None, actor, None, data=data)
            text = self._text(macro, values, locale)
            if text:
                desk.answer(conn, row, text, actor, channel)
            if macro.tags:
                tags = list(dict.fromkeys([*row.tags, *macro.tags]))[:50]
                store.update_case(conn, row.id, {"tags": tags})
            if macro.assignee is not None:
                desk.assign_in(conn, store.get_case(conn, row.id), macro.assignee, actor)
            if macro.status is not None:  # last: the macro's status wins over the answer's
                desk.change_status(conn, store.get_case(conn, row.id), macro.status, actor)

        desk.write(work)
        return desk.get(case_id, store_id)

    def _context(self, case: dict[str, Any], actor: str) -> tuple[dict[str, str], str]:
        try:
            observed = self._profiles.get(case["profile_id"]).get("traits") or {}
        except NotFound:  # erased meanwhile: nothing personal to fill in
            observed = {}
        # a profile's traits are observations ({"value", "source", "at"}): the value is filled in
        traits = {k: v.get("value") if isinstance(v, dict) else v for k, v in observed.items()}
        return values_of(case, traits, actor), locale_of(traits, self._default_locale)

    @staticmethod
    def _text(macro: Any, values: dict[str, str], locale: str) -> str | None:
        texts: dict[str, str] = macro.texts or {}
        chosen = texts.get(locale) or next(iter(texts.values()), None)
        return fill(chosen, values) if chosen else None

    @staticmethod
    def _macro(conn: Connection, macro_id: str, store_id: str | None) -> Any:
        row = store.macro(conn, macro_id)
        if row is None or (
            row.queue != EVERY_QUEUE and store_id is not None and row.queue != f"store:{store_id}"
        ):
            raise NotFound("macro_not_found", f"no macro {macro_id!r}")
        return row
