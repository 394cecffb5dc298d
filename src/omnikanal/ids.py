"""Identifiers and secrets."""

from __future__ import annotations

import hashlib
import os
import secrets


def new_id(prefix: str) -> str:
    """A random id (128 bits) with a short prefix naming its kind, e.g. ``prof_3f2a...``.

    Straight from os.urandom: building a uuid.UUID costs more than the insert it names.
    """
    return f"{prefix}_{os.urandom(16).hex()}"


def new_secret(prefix: str) -> str:
    """A high-entropy secret (write key, API token); only its hash is stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    # The secrets are 256 random bits, so a fast unsalted hash is enough to make a leaked table useless
    # and keeps the per-request lookup an index probe.
    return hashlib.sha256(secret.encode()).hexdigest()
