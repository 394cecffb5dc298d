"""What the store page's actions say, in German and English (merged into the console's texts)."""

from __future__ import annotations

STORE_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "actions": "Aktionen",
        "customer": "Kunde",
        "hand_over": "Übergeben",
        "cancel_reservation": "Reservierung stornieren",
        "outcome": "Ergebnis",
        "store_done_handed_over": "Die Bestellung wurde übergeben.",
        "store_done_cancelled": "Die Reservierung wurde storniert, der Bestand ist wieder frei.",
        "store_done_task_taken": "Die Aufgabe ist jetzt Ihre.",
        "store_done_task_done": "Die Aufgabe ist abgeschlossen.",
        "store_done_stale": "Das hat sich inzwischen geändert: die Liste zeigt den aktuellen Stand.",
        "order_status_placed": "Eingegangen",
        "order_status_confirmed": "Bestätigt",
        "order_status_ready_for_pickup": "Abholbereit",
        "task_status_open": "Offen",
        "task_status_claimed": "In Arbeit",
        "task_status_done": "Erledigt",
    },
    "en": {
        "actions": "Actions",
        "customer": "Customer",
        "hand_over": "Hand over",
        "cancel_reservation": "Cancel reservation",
        "outcome": "Outcome",
        "store_done_handed_over": "The order was handed over.",
        "store_done_cancelled": "The reservation was cancelled; its stock is free again.",
        "store_done_task_taken": "The task is yours now.",
        "store_done_task_done": "The task is done.",
        "store_done_stale": "That changed meanwhile: the list shows the current state.",
        "order_status_placed": "Received",
        "order_status_confirmed": "Confirmed",
        "order_status_ready_for_pickup": "Ready for pick-up",
        "task_status_open": "Open",
        "task_status_claimed": "In progress",
        "task_status_done": "Done",
    },
}
