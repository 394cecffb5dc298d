"""What the customer view calls identifier types, in German and English (merged into the
console's texts); an unknown type shows as recorded."""

from __future__ import annotations

CUSTOMER_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "idtype_email": "E-Mail",
        "idtype_phone": "Telefon",
        "idtype_user_id": "Kundennummer",
        "idtype_anonymous_id": "Geräte- oder Browserkennung",
        "idtype_loyalty_card": "Kundenkarte",
        "idtype_device_id": "Gerät",
        "idtype_push_endpoint": "Push-Abonnement",
        "value": "Wert",
        "event_properties": "Angaben",
    },
    "en": {
        "idtype_email": "Email",
        "idtype_phone": "Phone",
        "idtype_user_id": "Customer number",
        "idtype_anonymous_id": "Device or browser id",
        "idtype_loyalty_card": "Loyalty card",
        "idtype_device_id": "Device",
        "idtype_push_endpoint": "Push subscription",
        "value": "Value",
        "event_properties": "details",
    },
}
