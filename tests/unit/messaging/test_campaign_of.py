"""The campaign a message's timeline events name: the sender's, else its journey's."""

from __future__ import annotations

from omnikanal.messaging.model import campaign_of


def test_the_senders_campaign_comes_before_the_journeys_name() -> None:
    assert campaign_of({"campaign": "Winter", "journey": "Welcome"}) == "Winter"
    assert campaign_of({"journey": " Welcome ", "journey_key": "k"}) == "Welcome"


def test_a_message_sent_for_no_campaign_names_none() -> None:
    assert campaign_of({}) is None
    assert campaign_of({"campaign": "  ", "journey": 7}) is None
    assert campaign_of(None) is None
