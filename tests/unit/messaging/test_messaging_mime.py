"""The directly composed email parses back, with the email package, into what was put in."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from omnikanal.messaging.channels.mime import compose, header_text


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_text_and_html_parts_round_trip_with_umlauts_long_lines_and_dots() -> None:
    text = "Grüße aus Köln – 20 % Rabatt!\n.a line that starts with a dot\n" + "x" * 300 + "\nEnde"
    html = "<p>Grüße</p>\n<p>" + "ü" * 200 + "</p>"
    raw = compose([("From", "shop@example.de"), ("Subject", header_text("Ihr Einkauf"))], text, html)
    assert all(len(line) <= 78 for line in raw.split(b"\r\n")[4:])
    mail = _parse(raw)
    assert mail["Subject"] == "Ihr Einkauf"
    plain = mail.get_body(("plain",))
    rich = mail.get_body(("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == text
    assert rich.get_content().replace("\r\n", "\n").rstrip("\n") == html


def test_non_ascii_subject_is_encoded_words_that_decode_back() -> None:
    subject = "Ihre Bestellung ist abholbereit – Größe M, Farbe Grün, Filiale Düsseldorf-Altstadt"
    encoded = header_text(subject)
    assert encoded.isascii()
    assert all(len(word.strip()) <= 75 for word in encoded.split("\r\n"))
    mail = _parse(compose([("Subject", encoded)], "t", None))
    assert mail["Subject"] == subject


def test_a_header_value_cannot_start_a_new_header() -> None:
    mail = _parse(compose([("Subject", header_text("Hallo\r\nBcc: evil@example.org"))], "t", None))
    assert mail["Bcc"] is None
    assert mail.get_body(("plain",)) is not None
