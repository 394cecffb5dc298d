"""Small parts of messaging without I/O: Twilio's signature, Standard Webhooks, the rate limit,
template checks."""

from __future__ import annotations

import time

import pytest

from omnikanal.errors import InvalidInput
from omnikanal.messaging.channels.sms import twilio_signature, valid_twilio_signature
from omnikanal.messaging.channels.webhook import sign
from omnikanal.messaging.dispatcher import RateLimiter
from omnikanal.messaging.templates import TemplateParts, check


def test_twilio_signature_matches_the_example_in_twilios_documentation() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert valid_twilio_signature("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid_twilio_signature("12345", url, {**params, "Digits": "9"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid_twilio_signature("12345", url, params, None)


def test_standard_webhooks_signature_matches_the_specifications_example() -> None:
    # the example of the Standard Webhooks specification (and its reference libraries' tests)
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected


def test_the_rate_limit_spaces_sends_out() -> None:
    limiter = RateLimiter({"sms": 50.0})
    started = time.monotonic()
    for _ in range(75):  # a burst of 50, then 25 more at 50/s
        limiter.take("sms")
    assert time.monotonic() - started >= 0.45
    unlimited = time.monotonic()
    for _ in range(1000):
        limiter.take("email")
    assert time.monotonic() - unlimited < 0.1


@pytest.mark.parametrize(
    ("parts", "code", "field"),
    [
        (TemplateParts(None, "Hallo {{ name }}", None), "template_unknown_variable", "body_text"),
        (TemplateParts(None, "{% for x in data.items %}", None), "template_syntax", "body_text"),
        (TemplateParts("Hi {{ traits.a", "x", None), "template_syntax", "subject"),
        (TemplateParts(None, "  ", None), "missing_body", "body_text"),
    ],
)
def test_template_checks_name_the_field(parts: TemplateParts, code: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check(parts, channel="sms")
    assert caught.value.code == code
    assert caught.value.field == field
    assert field in caught.value.message


def test_loops_and_filters_over_allowed_names_pass() -> None:
    check(
        TemplateParts(
            "{{ traits.firstName | default('Kunde') }}",
            "{% for item in data['items'] %}{{ item.name }} {{ track(item.url) }}{% endfor %}",
            "<p>{{ links.preference_url }}</p>",
        ),
        channel="email",
    )
