"""Identifiers and secrets."""

from __future__ import annotations

import hashlib
import secrets
import uuid


def new_id(prefix: str) -> str:
    """A random id with a short prefix naming its kind, e.g. ``prof_3f2a...``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def new_secret(prefix: str) -> str:
    """A high-entropy secret (write key, API token); only its hash is stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    # The secrets are 256 random bits, so a fast unsalted hash is enough to make a leaked table useless
    # and keeps the per-request lookup an index probe.
    return hashlib.sha256(secret.encode()).hexdigest()
