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
