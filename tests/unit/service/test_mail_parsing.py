"""Reading inbound mail without I/O: threading keys, automatic mail, sanitised HTML, broken MIME."""

from __future__ import annotations

from omnikanal.service.mail import MAX_ORDER_WORDS, order_words, parse

PLAIN = (
    b"From: Erika <Erika@Example.org>\r\nTo: service+c-00aa11bb22@shop.example\r\n"
    b"Subject: AW: Frage [#C-1A2B3C4D5E]\r\nMessage-ID: <m1@example.org>\r\n"
    b"In-Reply-To: <msg_0123456789abcdef0123456789abcdef@shop.example>\r\n"
    b"References: <first@example.org> <msg_0123456789abcdef0123456789abcdef@shop.example>\r\n"
    b"\r\nHallo\r\n"
)


def test_threading_keys_from_headers_subject_and_address() -> None:
    mail = parse(PLAIN, ["service+C-00AA11BB22@shop.example"], "erika@example.org")
    assert mail.sender == "erika@example.org"
    assert mail.name == "Erika"
    assert mail.message_id == "m1@example.org"
    assert mail.references[0] == "msg_0123456789abcdef0123456789abcdef@shop.example"
    assert mail.own_message_ids == ("msg_0123456789abcdef0123456789abcdef",)
    assert mail.refs == ("C-1A2B3C4D5E", "C-00AA11BB22")
    assert mail.text == "Hallo"
    assert mail.automatic is None


def test_automatic_mail_is_recognised() -> None:
    auto = PLAIN.replace(b"\r\n\r\n", b"\r\nAuto-Submitted: auto-replied\r\n\r\n", 1)
    assert parse(auto, [], "x@example.org").automatic == "auto-submitted: auto-replied"
    assert parse(PLAIN, [], "").automatic == "null sender (a bounce)"
    report = b"From: MAILER-DAEMON@example.org\r\nContent-Type: multipart/report; boundary=b\r\n\r\n--b--\r\n"
    assert parse(report, [], "x@example.org").automatic == "delivery report"


def test_html_only_mail_is_sanitised_and_gives_text() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p onclick='x()'>Gr&uuml;&szlig;e<script>alert(1)</script> <a href='javascript:x'>hier</a></p>"
    )
    mail = parse(raw, [], "a@example.org")
    assert mail.html is not None
    assert "script" not in mail.html
    assert "javascript" not in mail.html
    assert "onclick" not in mail.html
    assert mail.text.startswith("Grüße")


def test_malformed_mime_still_parses() -> None:
    raw = b"From: a@example.org\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nabc\xff\r\n"
    mail = parse(raw, [], "a@example.org")
    assert mail.text.startswith("abc")
    assert mail.subject == "(no subject)"
    assert parse(b"garbage without headers", [], None).sender == ""


def test_order_words_are_the_words_with_a_digit_subject_first() -> None:
    words = order_words(
        "Reklamation zu Bestellung WEB-100234.",
        "Guten Tag, meine Bestellung #4711 vom 02.12.2026 (ord_0a1b2c3d) kam kaputt an. Re: AB",
    )
    assert words == ("WEB-100234", "4711", "02.12.2026", "ord_0a1b2c3d")


def test_order_words_are_bounded_and_skip_short_and_repeated_words() -> None:
    text = " ".join(f"A{n:03d}" for n in range(100)) + " 12 X1"
    words = order_words("A000", text)
    assert words[0] == "A000"
    assert len(words) == MAX_ORDER_WORDS
    assert len(set(words)) == len(words)
    assert "12" not in order_words("", "12 ab x9")
