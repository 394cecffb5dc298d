"""Types of the service capability: statuses, priorities, channels and the API's input. No I/O."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ORIGIN = "service"

STATUSES: tuple[str, ...] = ("new", "open", "waiting_customer", "waiting_us", "resolved", "closed")
# Statuses in which the case is still the team's to work (the resolution clock runs).
OPEN_STATUSES = frozenset({"new", "open", "waiting_customer", "waiting_us"})
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
# Channels a case comes in on, as timeline channels (sources.model.CHANNELS).
CHANNELS: tuple[str, ...] = ("email", "sms", "chat", "social", "hotline", "store", "web", "app")
# The messaging channel an answer goes out on, per case channel; the rest answer by email.
ANSWER_CHANNEL: dict[str, str] = {"sms": "sms", "chat": "whatsapp"}
ENTRY_KINDS: tuple[str, ...] = ("inbound", "outbound", "note", "status", "assign", "call", "macro", "merge")
LINK_KEYS: tuple[str, ...] = ("order_id", "reservation_id", "return_id", "product_id")

QUEUE_PATTERN = r"^[a-z0-9][a-z0-9_:.-]{0,99}$"
STATUS_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_BODY = 100_000

# Timeline events of a case (track events through ingest, origin "service").
OPENED = "Case Opened"
MESSAGE_RECEIVED = "Case Message Received"
REPLIED = "Case Replied"
RESOLVED = "Case Resolved"
RATED = "Case Rated"

# The messaging templates answers and surveys are rendered with (per locale, by the customer's).
REPLY_TEMPLATE = "service.reply"
CSAT_TEMPLATE = "service.csat"


def reference_tag(ref: str) -> str:
    """How a case's reference appears in a subject: replies that keep it thread without headers."""
    return f"[#{ref}]"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseIn(_Strict):
    profile_id: str = Field(min_length=1, max_length=40)
    subject: str = Field(min_length=1, max_length=500)
    queue: str = Field(
        default="hotline", pattern=QUEUE_PATTERN, description="hotline, email, store:<id>, ..."
    )
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    channel: Literal["email", "sms", "chat", "social", "hotline", "store", "web", "app"] = "hotline"
    body: str | None = Field(default=None, max_length=MAX_BODY, description="what the customer said")
    assignee: str | None = Field(default=None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)
    order_id: str | None = Field(default=None, max_length=100)
    reservation_id: str | None = Field(default=None, max_length=100)
    return_id: str | None = Field(default=None, max_length=100)
    product_id: str | None = Field(default=None, max_length=100)


class ReplyIn(_Strict):
    text: str = Field(min_length=1, max_length=MAX_BODY)
    channel: Literal["email", "sms", "whatsapp"] | None = Field(
        default=None, description="default: the case's channel (email where it has no answer channel)"
    )


class NoteIn(_Strict):
    text: str = Field(min_length=1, max_length=MAX_BODY)


class AssignIn(_Strict):
    assignee: str | None = Field(max_length=200, description="null: unassigned")


class StatusIn(_Strict):
    status: str = Field(min_length=1, max_length=40)


class CsatIn(_Strict):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class MacroIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    queue: str | None = Field(default=None, pattern=QUEUE_PATTERN, description="null: every queue")
    texts: dict[Literal["de", "en"], str] = Field(
        default_factory=dict,
        description="the answer per locale, with placeholders such as {{ customer.first_name }} and "
        "{{ case.ref }}; none: the macro sends nothing",
    )
    status: str | None = Field(default=None, max_length=40, description="the status it sets")
    tags: list[str] = Field(default_factory=list, max_length=20, description="tags it adds")
    assignee: str | None = Field(default=None, max_length=200, description="whom it assigns")


class MacroApplyIn(_Strict):
    channel: Literal["email", "sms", "whatsapp"] | None = Field(
        default=None, description="the answer's channel (default: the case's)"
    )


class MacroOut(BaseModel):
    id: str
    name: str
    queue: str | None = Field(description="null: every queue")
    texts: dict[str, str]
    status: str | None
    tags: list[str]
    assignee: str | None
    created_at: str
    updated_at: str
    locale: str | None = Field(default=None, description="with a case: the customer's language")
    preview: str | None = Field(default=None, description="with a case: the answer, filled in")


class MacroList(BaseModel):
    items: list[MacroOut]


class MergeIn(_Strict):
    into: str = Field(min_length=1, max_length=40, description="the case that stays (the survivor)")


E164 = r"^\+[1-9][0-9]{6,14}$"
REF_PATTERN = r"^C-[0-9A-F]{10}$"


class SenderIn(_Strict):
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$")
    phone: str | None = Field(default=None, pattern=E164, description="E.164, +4930...")
    name: str | None = Field(default=None, max_length=200)
    handle: str | None = Field(default=None, max_length=200, description="the sender's name in the chat tool")

    @model_validator(mode="after")
    def _reachable(self) -> SenderIn:
        if self.email is None and self.phone is None:
            raise ValueError("sender: give an email or a phone (E.164), so the sender becomes a profile")
        return self


class ChatMessageIn(_Strict):
    id: str = Field(
        min_length=1, max_length=200, description="the message's id in the chat tool (a repeat is one entry)"
    )
    channel: Literal["chat", "social"] = "chat"
    sender: SenderIn
    text: str = Field(min_length=1, max_length=10_000)
    subject: str | None = Field(default=None, max_length=500)
    case_ref: str | None = Field(
        default=None, pattern=REF_PATTERN, description="continue this case (the sender's)"
    )


class CallIn(_Strict):
    id: str = Field(min_length=1, max_length=200, description="the call's id in the phone system")
    event: Literal["started", "ended", "missed"]
    caller: str = Field(pattern=E164, description="the caller's number, E.164")
    duration_seconds: int | None = Field(default=None, ge=0, le=86_400)
    agent: str | None = Field(default=None, max_length=200)
    open_case: bool = Field(default=False, description="open a case (or add the call to her open one)")
    subject: str | None = Field(default=None, max_length=500)


class HookOut(BaseModel):
    outcome: str | None = None
    case_id: str | None
    profile_id: str
    console_url: str | None = None
