"""Consent: the ledger of what each customer allows, and the one question every sender asks."""
