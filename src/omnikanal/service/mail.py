"""Reading an inbound mail: who sent it, what it answers, its text and sanitised HTML, and whether
it is an automatic message (auto-reply, bounce) that must never open a case or get an answer."""

from __future__ import annotations

import email
import email.policy
import html as html_lib
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

import nh3

from .model import MAX_BODY

REF = re.compile(r"\[#(C-[0-9A-F]{10})\]")
PLUS_REF = re.compile(r"\+(c-[0-9a-f]{10})@", re.IGNORECASE)
MSG_ID = re.compile(r"<([^<>\s]{1,900})>")
# Words that may be an order id (commerce's ids: the shop's own, or "ord_<hex>" given by the hub);
# only those that are orders of the sender count (commerce.touchpoints.orders_among).
ORDER_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{2,99}")
MAX_ORDER_WORDS = 20
ORDER_TEXT = 5_000  # the start of the body: where a customer names the order they write about
# Message-IDs of our own outbound messages: "<msg_<hex>@domain>" (messaging/channels/email.py)
OWN_ID = re.compile(r"^(msg_[0-9a-f]{32})@")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class InboundMail:
    sender: str
    name: str
    subject: str
    message_id: str | None
    references: tuple[str, ...]  # In-Reply-To and References, newest first
    refs: tuple[str, ...]  # case references from the subject and the recipient addresses
    text: str
    html: str | None
    automatic: str | None  # why it is an automatic message, or None
    attachments: tuple[Attachment, ...] = ()

    @property
    def own_message_ids(self) -> tuple[str, ...]:
        return tuple(m.group(1) for m in (OWN_ID.match(r) for r in self.references) if m)


def parse(raw: bytes, recipients: list[str], envelope_sender: str | None) -> InboundMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    subject = _header(message, "Subject")[:500]
    sender_name, sender = parseaddr(_header(message, "From"))
    references = [*MSG_ID.findall(_header(message, "In-Reply-To"))]
    references += reversed(MSG_ID.findall(_header(message, "References")))
    refs = [*REF.findall(subject)]
    addresses = [*recipients, *(a for _, a in getaddresses([_header(message, "To"), _header(message, "Cc")]))]
    refs += [m.upper() for a in addresses for m in PLUS_REF.findall(a)]
    own = MSG_ID.findall(_header(message, "Message-ID"))
    text, html = _bodies(message)
    return InboundMail(
        sender=sender.strip().lower(),
        name=sender_name.strip()[:200],
        subject=subject.strip() or "(no subject)",
        message_id=own[0] if own else None,
        references=tuple(dict.fromkeys(references)),
        refs=tuple(dict.fromkeys(refs)),
        text=text,
        html=html,
        automatic=automatic(message, envelope_sender),
        attachments=tuple(_attachments(message)),
    )


def automatic(message: EmailMessage, envelope_sender: str | None) -> str | None:
    """Why a mail is machine-made (RFC 3834 Auto-Submitted, delivery reports, list and bulk mail)."""
    submitted = _header(message, "Auto-Submitted").strip().lower()
    if submitted and submitted != "no":
        return f"auto-submitted: {submitted}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return "null sender (a bounce)"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"precedence: {precedence}"
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return "auto-reply header"
    local = parseaddr(_header(message, "From"))[1].partition("@")[0].lower()
    if local in ("mailer-daemon", "postmaster"):
        return f"from {local}"
    return None


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # a header the parser cannot make sense of
        return ""
    return str(value) if value is not None else ""


def _bodies(message: EmailMessage) -> tuple[str, str | None]:
    """The text (from the plain part, else from the HTML) and the HTML, sanitised by nh3."""
    plain = _content(message.get_body(preferencelist=("plain",)))
    markup = _content(message.get_body(preferencelist=("html",)))
    clean = nh3.clean(markup[: MAX_BODY * 5]) if markup else None
    if plain:
        text = plain
    elif markup:
        text = html_lib.unescape(nh3.clean(markup[: MAX_BODY * 5], tags=set()))
    else:
        text = ""
    return text.strip()[:MAX_BODY], clean


def _content(part: object) -> str:
    if not isinstance(part, EmailMessage):
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, UnicodeError, AssertionError):  # unknown charset, broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


MAX_ATTACHMENTS = 20  # parts read as attachments at most; the rest are named as refused


def _attachments(message: EmailMessage) -> list[Attachment]:
    found: list[Attachment] = []
    try:
        parts = list(message.iter_attachments())
    except (TypeError, KeyError, ValueError):  # a broken multipart structure: no attachments
        return found
    for part in parts[:MAX_ATTACHMENTS]:
        if not isinstance(part, EmailMessage) or part.is_multipart():
            continue
        try:
            content = part.get_payload(decode=True)
            name = part.get_filename() or "attachment"
        except (ValueError, LookupError, TypeError):
            continue
        if isinstance(content, bytes):
            clean = SAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._ ")[:200]
            found.append(Attachment(clean or "attachment", part.get_content_type()[:100], content))
    return found


# a stored file name: no path, no control or quoting characters (it goes into Content-Disposition)
SAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\;]+')


def order_words(subject: str, text: str) -> tuple[str, ...]:
    """Words of the subject, then of the start of the body, that could be an order id: with a digit,
    without the punctuation that ends a sentence. At most ``MAX_ORDER_WORDS``, subject first."""
    words: dict[str, None] = {}
    for found in ORDER_WORD.finditer(f"{subject}\n{text[:ORDER_TEXT]}"):
        word = found.group(0).rstrip("._:-")
        if len(word) >= 3 and any(c.isdigit() for c in word):
            words.setdefault(word, None)
            if len(words) >= MAX_ORDER_WORDS:
                break
    return tuple(words)
