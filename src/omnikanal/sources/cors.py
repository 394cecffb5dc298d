"""Browser origins of a source: how they are written and compared. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from omnikanal.errors import InvalidInput

MAX_ORIGINS = 50
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case without a default port, as a browser sends it.

    Raises InvalidInput naming the value when it is not an origin (a path, a query, no scheme).
    """
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _bad(value) from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        raise _bad(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _bad(value)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def normalise_origins(values: Iterable[str]) -> tuple[str, ...]:
    """The origins normalised, without duplicates, in the order given."""
    seen: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str):
            raise InvalidInput("invalid_origin", "allowed_origins must be strings", "allowed_origins")
        seen[normalise_origin(value)] = None
    if len(seen) > MAX_ORIGINS:
        raise InvalidInput(
            "too_many_origins", f"allowed_origins has more than {MAX_ORIGINS} origins", "allowed_origins"
        )
    return tuple(seen)


def _bad(value: str) -> InvalidInput:
    return InvalidInput(
        "invalid_origin",
        f"allowed_origins: {value[:100]!r} is not an origin like https://shop.example.de "
        "(scheme, host and port only)",
        "allowed_origins",
    )
