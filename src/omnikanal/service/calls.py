"""Calls the hotline logs by hand: the topic and outcome of a conversation on the caller's timeline
(next to the phone system's own call events), a logged call turned into a case with the call as its
first entry, and a profile for a caller the hub does not know yet, made through identity the way
the phone system's webhook does (an identify carrying the number in E.164)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from omnikanal.commerce.touchpoints import live_profile
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.ids import new_id
from omnikanal.profiles.identity.model import normalise_phone
from omnikanal.profiles.service import ProfileService, TimelineQuery

from . import store
from .cases import ServiceDesk
from .hooks import ChannelHooks

CALL_LOGGED = "Call Completed"
# The outcomes an agent picks from; free text may add to any of them.
OUTCOMES: tuple[str, ...] = (
    "solved",
    "information_given",
    "callback_agreed",
    "forwarded",
    "complaint_recorded",
    "other",
)
MAX_TOPIC = 200
MAX_TEXT = 2000
# How far back the timeline is searched for the call a case is opened from.
CALL_SEARCH = 200


@dataclass(frozen=True)
class CallNote:
    topic: str
    outcome: str
    outcome_text: str | None = None
    note: str | None = None


def _clean(text: str | None, limit: int) -> str | None:
    value = (text or "").strip()
    return value[:limit] or None


def call_properties(note: CallNote, actor: str) -> dict[str, Any]:
    """A call's properties on the timeline, or InvalidInput naming the field at fault."""
    topic = _clean(note.topic, MAX_TOPIC)
    if topic is None:
        raise InvalidInput("topic_required", "topic: say what the call was about", "topic")
    if note.outcome not in OUTCOMES:
        raise InvalidInput("invalid_outcome", f"outcome must be one of: {', '.join(OUTCOMES)}", "outcome")
    props: dict[str, Any] = {"topic": topic, "outcome": note.outcome, "agent": actor}
    for key, value in (("outcome_text", note.outcome_text), ("note", note.note)):
        cleaned = _clean(value, MAX_TEXT)
        if cleaned is not None:
            props[key] = cleaned
    return props


class CallLog:
    def __init__(
        self, desk: ServiceDesk, hooks: ChannelHooks, profiles: ProfileService, queue: str, region: str
    ) -> None:
        self._desk = desk
        self._hooks = hooks
        self._profiles = profiles
        self._queue = queue
        self._region = region

    def log(self, profile_id: str, note: CallNote, actor: str) -> dict[str, Any]:
        """The call on the caller's timeline (channel hotline); answers the event's message id."""
        call_id = new_id("call")
        props = call_properties(note, actor) | {"call_id": call_id}
        key = f"hotline-call:{call_id}"

        def work(conn: Connection) -> str:
            live = live_profile(conn, profile_id, lock=True)
            self._desk.emit(conn, live, CALL_LOGGED, props, "hotline", key)
            return live

        live = self._desk.write(work)
        return {"profile_id": live, "call_id": call_id, "message_id": key}

    def to_case(self, profile_id: str, message_id: str, actor: str) -> str:
        """A case for a call on the timeline, the call its first entry; once per call (Conflict after)."""
        call = self._call(profile_id, message_id)
        props = dict(call["properties"])
        key = f"call-case:{message_id}"
        topic = str(props.get("topic") or "Anruf")
        text = " · ".join(str(props[k]) for k in ("topic", "outcome_text", "note") if props.get(k))

        def work(conn: Connection) -> str:
            if store.mail_known(conn, key):
                raise Conflict("call_has_case", "this call has a case already", "message_id")
            live = live_profile(conn, profile_id, lock=True)
            case_id = self._desk.create(
                conn,
                profile_id=live,
                subject=topic,
                queue=self._queue,
                priority="normal",
                channel="hotline",
                actor=actor,
            )
            data = props | {"event": call.get("event")}
            self._desk.add_entry(
                conn, case_id, live, "call", "hotline", actor, text or None, mail_message_id=key, data=data
            )
            return case_id

        return self._desk.write(work)

    def _call(self, profile_id: str, message_id: str) -> dict[str, Any]:
        events = self._profiles.timeline(profile_id, TimelineQuery(limit=CALL_SEARCH))["events"]
        for event in events:
            if event.get("message_id") == message_id and str(event.get("event") or "").startswith("Call "):
                return dict(event)
        raise NotFound("call_not_found", f"message_id: no call {message_id!r} on this timeline", "message_id")

    def new_caller(self, phone: str, name: str | None = None) -> str:
        """The profile of a caller by number (made through identity if unknown); answers its id."""
        number = normalise_phone(phone.strip(), self._region)
        if number is None:
            raise InvalidInput("invalid_phone", "phone: not a phone number", "phone")
        traits: dict[str, Any] = {"phone": number}
        cleaned = _clean(name, MAX_TOPIC)
        if cleaned:
            traits["name"] = cleaned
        return self._hooks.sender_profile("hotline", f"caller:{number}", traits, "hotline")
