"""Signed, expiring tokens for links sent to customers (double opt-in, preference centre, unsubscribe).

A token carries its purpose (as the signing salt, so a token made for one purpose never opens
another), a small payload and an expiry computed from the hub's clock, so tests control time.
Single use, where a link needs it, is the caller's business: it records the token's ``jti``.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from omnikanal.clock import Clock
from omnikanal.errors import OmnikanalError


class InvalidToken(OmnikanalError):
    """A link token that was forged, expired or already used."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, field="token")


class Signer:
    def __init__(self, secret: bytes, clock: Clock) -> None:
        self._secret = secret
        self._clock = clock

    @property
    def key(self) -> bytes:
        """The secret, for deriving other keys (never sent anywhere)."""
        return self._secret

    def sign(self, purpose: str, payload: dict[str, Any], valid_for: timedelta) -> str:
        """A URL-safe token for ``purpose`` that expires ``valid_for`` from now."""
        expires = self._clock.now() + valid_for
        body = {**payload, "exp": int(expires.timestamp()), "jti": os.urandom(12).hex()}
        return str(URLSafeSerializer(self._secret, salt=purpose).dumps(body))

    def open(self, purpose: str, token: str) -> dict[str, Any]:
        """The payload of a valid token (with ``exp`` and ``jti``), or :class:`InvalidToken`."""
        try:
            body = URLSafeSerializer(self._secret, salt=purpose).loads(token)
        except BadSignature:
            raise InvalidToken("token_invalid", "the link is not valid (damaged or forged)") from None
        if not isinstance(body, dict) or not isinstance(body.get("exp"), int):
            raise InvalidToken("token_invalid", "the link is not valid (damaged or forged)")
        if self._clock.now().timestamp() >= body["exp"]:
            raise InvalidToken("token_expired", "the link has expired")
        return body

    @staticmethod
    def expiry(body: dict[str, Any]) -> datetime:
        return datetime.fromtimestamp(body["exp"], UTC)


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The signing secret: the configured one, else one generated once into the data folder.

    Several processes or machines must share it, so a deployment with more than one node sets
    ``OMNIKANAL_SECRET_KEY``; the file is the zero-setup default for one machine.
    """
    if configured:
        return configured.encode()
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            try:
                os.write(fd, os.urandom(32).hex().encode())
            finally:
                os.close(fd)
    return path.read_bytes().strip()
