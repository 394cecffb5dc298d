"""What the hotline page says, in German and English (merged into the console's texts), and the
names of timeline events as staff read them; an event without a name here shows its raw name."""

from __future__ import annotations

from typing import Any

HOTLINE_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "hl_open_customer": "Kunde {name} öffnen",
        "hl_customer_id": "Kundennummer",
        "hl_log_call": "Anruf erfassen",
        "hl_topic": "Thema",
        "hl_outcome": "Ergebnis",
        "hl_outcome_text": "Ergebnis in eigenen Worten (freiwillig)",
        "hl_note": "Notiz (freiwillig)",
        "hl_save_call": "Anruf speichern",
        "hl_to_case": "Diesen Anruf als Fall anlegen",
        "hl_unknown_caller": "Zu dieser Nummer gibt es keinen Kunden.",
        "hl_create_customer": "Kunden anlegen",
        "hl_name": "Name (freiwillig)",
        "hl_task_outcome": "Ergebnis der Aufgabe",
        "hl_done_logged": "Der Anruf steht jetzt im Verlauf.",
        "hl_done_case": "Der Fall ist angelegt, der Anruf ist sein erster Eintrag.",
        "hl_done_created": "Der Kunde ist angelegt.",
        "hl_done_task_taken": "Die Aufgabe ist jetzt Ihre.",
        "hl_done_task_done": "Die Aufgabe ist abgeschlossen und steht im Verlauf des Kunden.",
        "hl_done_stale": "Das hat sich inzwischen geändert: die Liste zeigt den aktuellen Stand.",
        "hl_done_has_case": "Zu diesem Anruf gibt es schon einen Fall.",
        "hl_error_topic_required": "Bitte das Thema des Anrufs angeben.",
        "hl_error_invalid_outcome": "Bitte ein Ergebnis aus der Liste wählen.",
        "hl_error_invalid_phone": "Das ist keine gültige Telefonnummer.",
        "hl_error_outcome_required": "Bitte das Ergebnis der Aufgabe angeben.",
        "hl_outcome_solved": "Gelöst",
        "hl_outcome_information_given": "Auskunft gegeben",
        "hl_outcome_callback_agreed": "Rückruf vereinbart",
        "hl_outcome_forwarded": "Weitergeleitet",
        "hl_outcome_complaint_recorded": "Reklamation aufgenommen",
        "hl_outcome_other": "Sonstiges",
        "hl_channel_web": "Webshop",
        "hl_channel_app": "App",
        "hl_channel_store": "Filiale",
        "hl_channel_pos": "Kasse",
        "hl_channel_hotline": "Hotline",
        "hl_channel_email": "E-Mail",
        "hl_channel_chat": "Chat",
        "hl_channel_social": "Soziale Medien",
        "hl_channel_sms": "SMS",
        "hl_channel_erp": "Warenwirtschaft",
        "hl_channel_other": "Sonstige",
    },
    "en": {
        "hl_open_customer": "Open customer {name}",
        "hl_customer_id": "Customer id",
        "hl_log_call": "Log a call",
        "hl_topic": "Topic",
        "hl_outcome": "Outcome",
        "hl_outcome_text": "Outcome in your own words (optional)",
        "hl_note": "Note (optional)",
        "hl_save_call": "Save call",
        "hl_to_case": "Turn this call into a case",
        "hl_unknown_caller": "No customer has this number.",
        "hl_create_customer": "Create customer",
        "hl_name": "Name (optional)",
        "hl_task_outcome": "Outcome of the task",
        "hl_done_logged": "The call is on the timeline now.",
        "hl_done_case": "The case is open, the call is its first entry.",
        "hl_done_created": "The customer was created.",
        "hl_done_task_taken": "The task is yours now.",
        "hl_done_task_done": "The task is done and on the customer's timeline.",
        "hl_done_stale": "That changed meanwhile: the list shows the current state.",
        "hl_done_has_case": "This call has a case already.",
        "hl_error_topic_required": "Please give the call's topic.",
        "hl_error_invalid_outcome": "Please pick an outcome from the list.",
        "hl_error_invalid_phone": "That is not a valid phone number.",
        "hl_error_outcome_required": "Please give the task's outcome.",
        "hl_outcome_solved": "Solved",
        "hl_outcome_information_given": "Information given",
        "hl_outcome_callback_agreed": "Call-back agreed",
        "hl_outcome_forwarded": "Forwarded",
        "hl_outcome_complaint_recorded": "Complaint recorded",
        "hl_outcome_other": "Other",
        "hl_channel_web": "Web shop",
        "hl_channel_app": "App",
        "hl_channel_store": "Store",
        "hl_channel_pos": "Till",
        "hl_channel_hotline": "Hotline",
        "hl_channel_email": "Email",
        "hl_channel_chat": "Chat",
        "hl_channel_social": "Social media",
        "hl_channel_sms": "SMS",
        "hl_channel_erp": "ERP",
        "hl_channel_other": "Other",
    },
}

# Event types (identify, page ...) and track event names, as the timeline shows them.
EVENT_NAMES: dict[str, dict[str, str]] = {
    "de": {
        "identify": "Anmeldung",
        "page": "Seite aufgerufen",
        "screen": "App-Ansicht",
        "group": "Firmenzuordnung",
        "alias": "Kennungen verknüpft",
        "Product Viewed": "Produkt angesehen",
        "Product Added": "In den Warenkorb gelegt",
        "Product Removed": "Aus dem Warenkorb entfernt",
        "Product Reserved": "Produkt reserviert",
        "Product Scanned": "Produkt gescannt",
        "Order Completed": "Bestellung aufgegeben",
        "Order Updated": "Bestellung geändert",
        "Order Ready For Pickup": "Bestellung abholbereit",
        "Order Cancelled": "Bestellung storniert",
        "Order Refunded": "Rückgabe erstattet",
        "Reservation Cancelled": "Reservierung storniert",
        "Reservation Expired": "Reservierung abgelaufen",
        "Segment Entered": "Segment beigetreten",
        "Segment Exited": "Segment verlassen",
        "Consent Updated": "Einwilligung geändert",
        "Message Sent": "Nachricht versandt",
        "Message Delivered": "Nachricht zugestellt",
        "Message Opened": "Nachricht geöffnet",
        "Message Clicked": "Link in Nachricht geklickt",
        "Message Bounced": "Nachricht unzustellbar",
        "Message Complained": "Als Spam gemeldet",
        "Message Failed": "Versand fehlgeschlagen",
        "Message Blocked": "Versand gesperrt",
        "Message Deferred": "Versand verschoben",
        "Unsubscribed": "Abgemeldet",
        "Email Opened": "E-Mail geöffnet",
        "Email Link Clicked": "Link in E-Mail geklickt",
        "Call Started": "Anruf begonnen",
        "Call Ended": "Anruf beendet",
        "Call Missed": "Anruf verpasst",
        "Call Completed": "Anruf",
        "Case Opened": "Fall eröffnet",
        "Case Message Received": "Nachricht zum Fall erhalten",
        "Case Replied": "Fall beantwortet",
        "Case Resolved": "Fall gelöst",
        "Case Rated": "Fall bewertet",
        "Task Completed": "Aufgabe erledigt",
    },
    "en": {
        "identify": "Sign-in",
        "page": "Page viewed",
        "screen": "App screen viewed",
        "group": "Company assigned",
        "alias": "Identifiers linked",
        "Product Viewed": "Product viewed",
        "Product Added": "Added to cart",
        "Product Removed": "Removed from cart",
        "Product Reserved": "Product reserved",
        "Product Scanned": "Product scanned",
        "Order Completed": "Order placed",
        "Order Updated": "Order updated",
        "Order Ready For Pickup": "Order ready for pick-up",
        "Order Cancelled": "Order cancelled",
        "Order Refunded": "Return refunded",
        "Reservation Cancelled": "Reservation cancelled",
        "Reservation Expired": "Reservation expired",
        "Segment Entered": "Entered segment",
        "Segment Exited": "Left segment",
        "Consent Updated": "Consent changed",
        "Message Sent": "Message sent",
        "Message Delivered": "Message delivered",
        "Message Opened": "Message opened",
        "Message Clicked": "Link in message clicked",
        "Message Bounced": "Message bounced",
        "Message Complained": "Reported as spam",
        "Message Failed": "Sending failed",
        "Message Blocked": "Sending blocked",
        "Message Deferred": "Sending deferred",
        "Unsubscribed": "Unsubscribed",
        "Email Opened": "Email opened",
        "Email Link Clicked": "Link in email clicked",
        "Call Started": "Call started",
        "Call Ended": "Call ended",
        "Call Missed": "Call missed",
        "Call Completed": "Call",
        "Case Opened": "Case opened",
        "Case Message Received": "Message on case received",
        "Case Replied": "Case answered",
        "Case Resolved": "Case resolved",
        "Case Rated": "Case rated",
        "Task Completed": "Task done",
    },
}


def event_label(lang: str, event: dict[str, Any]) -> str:
    """A timeline event's name for staff: translated where known, else its raw name."""
    raw = str(event.get("event") or event.get("type") or "")
    return EVENT_NAMES.get(lang, EVENT_NAMES["en"]).get(raw, raw)


def event_detail(texts: dict[str, str], event: dict[str, Any]) -> str:
    """What a call or a finished task was about and how it ended, in a line; empty for other events."""
    props = event.get("properties") or {}
    name = event.get("event")
    if name == "Task Completed":
        parts = [props.get("title"), props.get("outcome")]
    elif str(name or "").startswith("Call "):
        outcome = props.get("outcome")
        label = texts.get(f"hl_outcome_{outcome}", outcome) if outcome else None
        parts = [props.get("topic"), label, props.get("outcome_text"), props.get("note")]
    elif name and str(name).startswith("Case "):
        parts = [props.get("ref"), props.get("subject")]
    elif name in ("Segment Entered", "Segment Exited"):
        parts = [props.get("segment_name") or props.get("name")]
    else:
        return ""
    return " · ".join(str(p) for p in parts if p)
