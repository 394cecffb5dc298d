"""An outgoing email as wire bytes, composed directly.

``email.message.EmailMessage`` with ``set_content`` and the generator behind ``send_message`` cost
about 3 ms of CPU per message, more than the SMTP exchange itself and the whole policy gate; at
hundreds of emails a second that is the dispatcher's limit. Our emails have one fixed shape
(headers, a text part, an HTML part), so they are written here as RFC 5322/2045 text: CRLF line
ends, quoted-printable UTF-8 bodies (binascii's C encoder), RFC 2047 encoded words for non-ASCII
header text. Addresses must be ASCII here; the caller falls back to the email package otherwise
(internationalised addresses need SMTPUTF8).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence

CRLF = "\r\n"
# An encoded word is at most 75 characters: "=?utf-8?b?" + base64 + "?=" leaves 63 for base64,
# that is 45 bytes of UTF-8 before encoding (rounded down to whole characters).
_WORD_BYTES = 45


def is_ascii(*values: str) -> bool:
    return all(value.isascii() for value in values)


def header_text(value: str) -> str:
    """Unstructured header text (a subject): as it is when plain ASCII, else RFC 2047 words."""
    value = value.replace("\r", " ").replace("\n", " ")
    if value.isascii():
        return value
    words: list[str] = []
    chunk = ""
    for char in value:
        if len((chunk + char).encode()) > _WORD_BYTES:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk:
        words.append(chunk)
    encoded = [f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words]
    return (CRLF + " ").join(encoded)


def _qp(text: str) -> str:
    """Quoted-printable UTF-8 with CRLF line ends (lines of at most 76 characters)."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(normalised.encode(), istext=True, header=False).decode("ascii")
    # binascii keeps bare LFs as line ends; a line that starts with a dot is doubled by the SMTP
    # client (RFC 5321 transparency), so nothing else is needed here.
    return encoded.replace("\n", CRLF)


def compose(headers: Sequence[tuple[str, str]], text: str, html: str | None) -> bytes:
    """The message: ``headers`` (already safe header values), then a text part and an optional
    HTML part as multipart/alternative."""
    lines = [f"{name}: {value}" for name, value in headers]
    lines.append("MIME-Version: 1.0")
    if html is None:
        lines += [
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            _qp(text),
        ]
        return (CRLF.join(lines) + CRLF).encode("ascii")
    boundary = "=_omnikanal_" + secrets.token_hex(12)
    lines += [
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        _qp(text),
        f"--{boundary}",
        'Content-Type: text/html; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        _qp(html),
        f"--{boundary}--",
        "",
    ]
    return CRLF.join(lines).encode("ascii")
