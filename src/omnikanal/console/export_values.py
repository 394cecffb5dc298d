"""Codes in a readable export that the export's own labels (export_labels.py) leave raw, in German
and English: the message gate's rules and channel choices, commerce notifications, the kinds of
events and the markers of a visit without a campaign."""

from __future__ import annotations

EXPORT_VALUES: dict[str, dict[str, str]] = {
    "de": {
        "track": "Aktion",
        "identify": "Anmeldung",
        "page": "Seite aufgerufen",
        "screen": "App-Ansicht",
        "(none)": "keine",
        "(direct)": "direkt",
        "channel_auto": "Kanalwahl",
        "reachability": "Erreichbarkeit",
        "quiet_hours": "Ruhezeiten",
        "frequency_cap": "Höchstzahl an Nachrichten",
        "channel_cap": "Höchstzahl je Kanal",
        "suppression": "Sperrliste",
        "consent": "Einwilligung",
        "next_best_channel": "bester Kanal nach Wahrscheinlichkeit",
        "fallback_order": "Reihenfolge der Kanäle",
        "most_recent_engagement": "zuletzt genutzter Kanal",
        "order_ready_for_pickup": "Bestellung abholbereit",
        "reservation_ready": "Reservierung liegt bereit",
        "reservation_expiring": "Reservierung läuft bald ab",
        "reservation_expired": "Reservierung abgelaufen",
    },
    "en": {
        "track": "Action",
        "identify": "Sign-in",
        "page": "Page viewed",
        "screen": "App screen",
        "(none)": "none",
        "(direct)": "direct",
        "channel_auto": "Channel choice",
        "reachability": "Reachability",
        "quiet_hours": "Quiet hours",
        "frequency_cap": "Message cap",
        "channel_cap": "Cap per channel",
        "suppression": "Suppression list",
        "consent": "Consent",
        "next_best_channel": "best channel by likelihood",
        "fallback_order": "order of the channels",
        "most_recent_engagement": "channel used last",
        "order_ready_for_pickup": "Order ready for pick-up",
        "reservation_ready": "Reservation is ready",
        "reservation_expiring": "Reservation ends soon",
        "reservation_expired": "Reservation expired",
    },
}
