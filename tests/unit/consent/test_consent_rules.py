"""Pure rules of consent and privacy: parsing Consent Updated events, deadlines, signed links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omnikanal.clock import FixedClock
from omnikanal.consent.events import parse
from omnikanal.consent.model import ConsentStatus, is_restricted_purpose
from omnikanal.ingest.model import Rejection, TrackedEvent
from omnikanal.privacy.model import one_month_later
from omnikanal.settings import DEFAULT_PURPOSES
from omnikanal.signing import InvalidToken, Signer

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def _event(properties: object, context: object = None) -> TrackedEvent:
    payload = {"type": "track", "event": "Consent Updated", "properties": properties}
    if context is not None:
        payload["context"] = context
    return TrackedEvent(
        "track", "m-1", "u-1", None, "Consent Updated", payload, None, None, NOW, NOW, None, None
    )


def test_one_change_carries_the_event_time_and_its_proof() -> None:
    (change,) = parse(
        _event(
            {"purpose": "sms_marketing", "status": "granted", "staffUser": "kasse-1", "policyVersion": "v3"},
            {"ip": "10.0.0.1", "userAgent": "Till/2"},
        ),
        DEFAULT_PURPOSES,
    )  # type: ignore[misc]
    assert change.status is ConsentStatus.GRANTED
    assert change.occurred_at == NOW
    assert change.policy_version == "v3"
    assert change.proof == {
        "ip": "10.0.0.1",
        "user_agent": "Till/2",
        "staff_user": "kasse-1",
        "message_id": "m-1",
    }


def test_a_list_of_consents_is_several_changes() -> None:
    changes = parse(
        _event(
            {
                "consents": [
                    {"purpose": "sms_marketing", "status": "denied"},
                    {"purpose": "analytics", "status": "granted", "channel": "app"},
                ]
            }
        ),
        DEFAULT_PURPOSES,
    )
    assert not isinstance(changes, Rejection)
    assert [(c.purpose, c.status.value, c.channel) for c in changes] == [
        ("sms_marketing", "denied", None),
        ("analytics", "granted", "app"),
    ]


@pytest.mark.parametrize(
    ("properties", "code", "field"),
    [
        ("granted", "invalid_consent", "properties"),
        ({"purpose": "telepathy", "status": "granted"}, "unknown_purpose", "properties.purpose"),
        ({"purpose": "sms_marketing", "status": "perhaps"}, "unknown_status", "properties.status"),
        ({"consents": []}, "invalid_consent", "properties.consents"),
        (
            {"consents": [{"purpose": "sms_marketing", "status": "granted"}, "x"]},
            "invalid_consent",
            "properties.consents[1]",
        ),
        (
            {"consents": [{"purpose": 5, "status": "granted"}]},
            "unknown_purpose",
            "properties.consents[0].purpose",
        ),
    ],
)
def test_bad_consent_events_say_what_is_wrong(properties: object, code: str, field: str) -> None:
    rejection = parse(_event(properties), DEFAULT_PURPOSES)
    assert isinstance(rejection, Rejection)
    assert (rejection.code, rejection.field) == (code, field)


@pytest.mark.parametrize(
    ("filed", "due"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, tzinfo=UTC), datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (datetime(2026, 12, 15, 9, tzinfo=UTC), datetime(2027, 1, 15, 9, tzinfo=UTC)),
        (datetime(2026, 3, 31, 9, tzinfo=UTC), datetime(2026, 4, 30, 9, tzinfo=UTC)),
    ],
)
def test_the_deadline_is_one_calendar_month(filed: datetime, due: datetime) -> None:
    assert one_month_later(filed) == due


def test_restriction_covers_marketing_and_personalisation_only() -> None:
    assert is_restricted_purpose("sms_marketing")
    assert is_restricted_purpose("personalisation")
    assert not is_restricted_purpose("analytics")


def test_a_signed_link_opens_only_for_its_purpose_and_until_it_expires() -> None:
    clock = FixedClock(NOW)
    signer = Signer(b"k" * 32, clock)
    token = signer.sign("preferences", {"p": "prof_1"}, timedelta(hours=1))
    assert signer.open("preferences", token)["p"] == "prof_1"
    with pytest.raises(InvalidToken) as other_purpose:
        signer.open("consent-confirm", token)
    assert other_purpose.value.code == "token_invalid"
    with pytest.raises(InvalidToken) as other_key:
        Signer(b"x" * 32, clock).open("preferences", token)
    assert other_key.value.code == "token_invalid"
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidToken) as expired:
        signer.open("preferences", token)
    assert expired.value.code == "token_expired"
