"""What a refused action says on a console page, in German and English, by the error's code.

The services' messages are English and written for API clients ("gtin must contain only the
digits 0-9"); staff on a German page read the sentence here instead. A code without a sentence
here (the condition and journey validators' messages, "condition: not JSON", name the path at
fault) keeps the service's message.
"""

from __future__ import annotations

ERROR_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "profile_not_found": "Diesen Kunden gibt es nicht (mehr).",
        "person_not_found": "Diesen Kunden gibt es nicht (mehr).",
        "invalid_identifier": "Diese Angabe ist keine gültige Kennung (E-Mail, Telefonnummer, Kundennummer).",
        "invalid_phone": "Das ist keine gültige Telefonnummer.",
        "invalid_gtin": "Die GTIN ist ungültig: 8, 12, 13 oder 14 Ziffern mit richtiger Prüfziffer.",
        "product_not_found": "Zu diesem Code gibt es kein Produkt im Katalog.",
        "store_required": "Bitte zuerst eine Filiale wählen.",
        "store_not_found": "Diese Filiale gibt es nicht.",
        "location_not_found": "Diesen Standort gibt es nicht.",
        "other_store": "Das gehört zu einer anderen Filiale.",
        "order_not_found": "Diese Bestellung gibt es nicht.",
        "reservation_not_found": "Diese Reservierung gibt es nicht.",
        "reservation_not_active": "Diese Reservierung ist nicht mehr offen.",
        "task_not_found": "Diese Aufgabe gibt es nicht.",
        "task_taken": "Diese Aufgabe hat schon jemand anderes übernommen.",
        "task_done": "Diese Aufgabe ist schon erledigt.",
        "segment_not_found": "Dieses Segment gibt es nicht.",
        "segment_exists": "Ein Segment mit diesem Namen gibt es schon.",
        "merge_not_found": "Diese Zusammenführung gibt es nicht.",
        "request_not_found": "Diesen Antrag gibt es nicht.",
        "request_done": "Dieser Antrag ist schon abgeschlossen.",
        "pair_not_found": "Diesen Vorschlag gibt es nicht.",
        "pair_decided": "Über diesen Vorschlag wurde schon entschieden.",
        "case_closed": "Dieser Fall ist geschlossen.",
        "same_case": "Ein Fall kann nicht mit sich selbst zusammengeführt werden.",
        "forbidden": "Dafür fehlt Ihrer Rolle die Berechtigung.",
        "period_too_long": "Der Zeitraum ist zu lang.",
        "invalid_time": "Das ist kein gültiges Datum.",
    },
    "en": {
        "profile_not_found": "This customer does not exist (any more).",
        "person_not_found": "This customer does not exist (any more).",
        "invalid_identifier": "This is not a valid identifier (email, phone number, customer number).",
        "invalid_phone": "This is not a valid phone number.",
        "invalid_gtin": "The GTIN is not valid: 8, 12, 13 or 14 digits with the right check digit.",
        "product_not_found": "No product in the catalogue has this code.",
        "store_required": "Choose a store first.",
        "store_not_found": "This store does not exist.",
        "location_not_found": "This location does not exist.",
        "other_store": "This belongs to another store.",
        "order_not_found": "This order does not exist.",
        "reservation_not_found": "This reservation does not exist.",
        "reservation_not_active": "This reservation is no longer open.",
        "task_not_found": "This task does not exist.",
        "task_taken": "Someone else has taken this task already.",
        "task_done": "This task is done already.",
        "segment_not_found": "This segment does not exist.",
        "segment_exists": "A segment of this name exists already.",
        "merge_not_found": "This merge does not exist.",
        "request_not_found": "This request does not exist.",
        "request_done": "This request is closed already.",
        "pair_not_found": "This proposal does not exist.",
        "pair_decided": "This proposal has been decided already.",
        "case_closed": "This case is closed.",
        "same_case": "A case cannot be merged into itself.",
        "forbidden": "Your role may not do this.",
        "period_too_long": "The period is too long.",
        "invalid_time": "This is not a valid date.",
    },
}


def error_text(lang: str, code: str, message: str) -> str:
    """The page's sentence for an error code, or the service's own message if there is none."""
    return ERROR_TEXTS.get(lang, ERROR_TEXTS["de"]).get(code, message)
