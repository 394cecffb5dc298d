"""What customers read on the consent pages, in German and English."""

from __future__ import annotations

CONFIRM: dict[str, dict[str, str]] = {
    "de": {
        "title": "E-Mail-Newsletter bestätigen",
        "ask": "Bitte bestätigen Sie, dass Sie Werbung per E-Mail von uns erhalten möchten.",
        "button": "Ja, ich möchte E-Mails erhalten",
        "note": "Sie können Ihre Einwilligung jederzeit in den Einstellungen oder über den Abmeldelink "
        "in jeder E-Mail widerrufen.",
        "done": "Vielen Dank! Ihre Einwilligung ist bestätigt.",
        "token_invalid": "Dieser Link ist ungültig.",
        "token_expired": "Dieser Link ist abgelaufen. Bitte melden Sie sich erneut an.",
        "token_used": "Dieser Link wurde bereits verwendet.",
        "language": "Sprache",
    },
    "en": {
        "title": "Confirm the email newsletter",
        "ask": "Please confirm that you want to receive advertising by email from us.",
        "button": "Yes, I want to receive emails",
        "note": "You can withdraw your consent at any time in your preferences or through the unsubscribe "
        "link in every email.",
        "done": "Thank you! Your consent is confirmed.",
        "token_invalid": "This link is not valid.",
        "token_expired": "This link has expired. Please sign up again.",
        "token_used": "This link was already used.",
        "language": "Language",
    },
}

PURPOSE_LABELS: dict[str, dict[str, str]] = {
    "de": {
        "email_marketing": "Angebote und Neuigkeiten per E-Mail",
        "sms_marketing": "Angebote per SMS",
        "phone_marketing": "Anrufe mit Angeboten",
        "push_marketing": "Push-Nachrichten in der App",
        "messenger_marketing": "Nachrichten per Messenger (z. B. WhatsApp)",
        "personalisation": "Persönliche Empfehlungen anhand meiner Einkäufe",
        "analytics": "Auswertung meiner Nutzung zur Verbesserung des Angebots",
    },
    "en": {
        "email_marketing": "Offers and news by email",
        "sms_marketing": "Offers by SMS",
        "phone_marketing": "Calls with offers",
        "push_marketing": "Push notifications in the app",
        "messenger_marketing": "Messages by messenger (e.g. WhatsApp)",
        "personalisation": "Personal recommendations based on my purchases",
        "analytics": "Analysis of my use to improve the service",
    },
}

CHANNEL_LABELS: dict[str, dict[str, str]] = {
    "de": {
        "": "keine Angabe",
        "email": "E-Mail",
        "sms": "SMS",
        "phone": "Telefon",
        "push": "App",
        "whatsapp": "WhatsApp",
    },
    "en": {
        "": "no preference",
        "email": "Email",
        "sms": "SMS",
        "phone": "Phone",
        "push": "App",
        "whatsapp": "WhatsApp",
    },
}

PREFERENCES: dict[str, dict[str, str]] = {
    "de": {
        "title": "Ihre Einstellungen",
        "intro": "Hier legen Sie fest, wie wir Sie kontaktieren dürfen. "
        "Änderungen gelten sofort auf allen Kanälen.",
        "consents": "Einwilligungen",
        "pending": "wartet auf Ihre Bestätigung per E-Mail",
        "channel": "Bevorzugter Kanal",
        "language": "Sprache",
        "save": "Speichern",
        "saved": "Ihre Einstellungen sind gespeichert.",
        "saved_pending": "Bitte bestätigen Sie die E-Mail-Einwilligung über den Link, den wir Ihnen senden.",
        "rights": "Ihre Rechte",
        "rights_intro": "Sie können eine Kopie Ihrer Daten anfordern "
        "oder die Löschung Ihrer Daten verlangen.",
        "export": "Kopie meiner Daten anfordern",
        "erase": "Meine Daten löschen lassen",
        "requested": "Ihre Anfrage ist eingegangen. Wir beantworten sie bis spätestens {due}.",
        "token_invalid": "Dieser Link ist ungültig.",
        "token_expired": "Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen an.",
        "token_used": "Dieser Link wurde bereits verwendet.",
        "invalid": "Die Eingabe ist ungültig: {field}",
    },
    "en": {
        "title": "Your preferences",
        "intro": "Choose how we may contact you. Changes apply at once on every channel.",
        "consents": "Consents",
        "pending": "waiting for your confirmation by email",
        "channel": "Preferred channel",
        "language": "Language",
        "save": "Save",
        "saved": "Your preferences are saved.",
        "saved_pending": "Please confirm the email consent through the link we are sending you.",
        "rights": "Your rights",
        "rights_intro": "You can ask for a copy of your data or for your data to be erased.",
        "export": "Request a copy of my data",
        "erase": "Have my data erased",
        "requested": "We have received your request and will answer it by {due} at the latest.",
        "token_invalid": "This link is not valid.",
        "token_expired": "This link has expired. Please ask for a new one.",
        "token_used": "This link was already used.",
        "invalid": "The input is not valid: {field}",
    },
}
