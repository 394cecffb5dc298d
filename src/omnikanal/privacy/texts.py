"""What people read on the export page, in German and English."""

from __future__ import annotations

EXPORT: dict[str, dict[str, str]] = {
    "de": {
        "title": "Auskunft über Ihre gespeicherten Daten",
        "intro": "Diese Auskunft enthält alle Daten, die wir über Sie gespeichert haben (Art. 15 DSGVO). "
        "Dieselben Daten liegen maschinenlesbar als JSON bei (Art. 20 DSGVO).",
        "generated": "Erstellt am",
        "profile": "Profil",
        "traits": "Merkmale",
        "identifiers": "Kennungen",
        "consents": "Einwilligungen",
        "timeline": "Kontakte über alle Kanäle",
        "time": "Zeit",
        "channel": "Kanal",
        "source": "Quelle",
        "what": "Was",
        "purpose": "Zweck",
        "status": "Status",
        "requests": "Frühere Anfragen",
        "access": "Zugriffe durch Mitarbeitende",
        "other": "Weitere Daten",
        "merges": "Zusammenführungen",
        "language": "Sprache",
    },
    "en": {
        "title": "The data we hold about you",
        "intro": "This export holds all data we keep about you (Art. 15 GDPR). The same data comes "
        "machine-readable as JSON (Art. 20 GDPR).",
        "generated": "Generated",
        "profile": "Profile",
        "traits": "Traits",
        "identifiers": "Identifiers",
        "consents": "Consents",
        "timeline": "Contacts across all channels",
        "time": "Time",
        "channel": "Channel",
        "source": "Source",
        "what": "What",
        "purpose": "Purpose",
        "status": "Status",
        "requests": "Earlier requests",
        "access": "Access by staff",
        "other": "Further data",
        "merges": "Merges",
        "language": "Language",
    },
}
