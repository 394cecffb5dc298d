"""What the customer view says about recommendations, in German and English (merged into the
console's texts)."""

from __future__ import annotations

RECOMMEND_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "rec_title": "Empfehlungen",
        "rec_product": "Produkt",
        "rec_reason": "Grund",
        "rec_score": "Wert",
        "rec_basis_model": "Persönlich: aus dem Verlauf des Kunden gelernt.",
        "rec_basis_little_history": "Nicht persönlich: zu wenig Verlauf, beliebte Produkte.",
        "rec_basis_no_consent": "Nicht persönlich: keine Einwilligung in Personalisierung, Beliebtes.",
        "rec_basis_no_data": "Noch keine Empfehlungen: kein Modell trainiert oder keine Daten.",
        "rec_reason_personal": "passt zum Verlauf",
        "rec_reason_popular_in_store": "beliebt in der Filiale",
        "rec_reason_popular_in_category": "beliebt in der Kategorie",
        "rec_reason_popular_this_season": "beliebt in dieser Jahreszeit",
        "rec_reason_popular": "beliebt",
    },
    "en": {
        "rec_title": "Recommendations",
        "rec_product": "Product",
        "rec_reason": "Reason",
        "rec_score": "Score",
        "rec_basis_model": "Personal: learnt from the customer's history.",
        "rec_basis_little_history": "Not personal: too little history, popular products.",
        "rec_basis_no_consent": "Not personal: no personalisation consent, popular products.",
        "rec_basis_no_data": "No recommendations yet: no model trained, or no data.",
        "rec_reason_personal": "fits their history",
        "rec_reason_popular_in_store": "popular in the store",
        "rec_reason_popular_in_category": "popular in the category",
        "rec_reason_popular_this_season": "popular this season",
        "rec_reason_popular": "popular",
    },
}
