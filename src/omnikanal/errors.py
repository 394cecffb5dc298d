"""Domain errors. The HTTP edge maps each kind to a status and a JSON body with code and message."""

from __future__ import annotations


class OmnikanalError(Exception):
    """Base: a code for machines, a message for people, optionally the field at fault."""

    status = 400

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class InvalidInput(OmnikanalError):
    status = 400


class Unauthorized(OmnikanalError):
    status = 401


class Forbidden(OmnikanalError):
    status = 403


class NotFound(OmnikanalError):
    status = 404


class Conflict(OmnikanalError):
    status = 409


class Unavailable(OmnikanalError):
    """The hub cannot do it right now; the same request may be sent again."""

    status = 503


class PayloadTooLarge(OmnikanalError):
    # Segment answers 400 for oversized bodies; we keep that so clients behave the same.
    status = 400


class TooManyRequests(OmnikanalError):
    """Refused for now by a rate limit (failed logins); the same request may succeed later."""

    status = 429

    def __init__(
        self, code: str, message: str, field: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(code, message, field)
        # whole seconds until the same request may succeed; sent as the Retry-After header
        self.retry_after = retry_after
