"""Channel adapters: each sends an :class:`~omnikanal.messaging.model.Outgoing` one way.

An adapter answers a :class:`SendResult`, or raises TransientFailure (retry later) or
PermanentFailure (record and stop). ``send_batch`` lets an adapter work on several at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from omnikanal.messaging.model import Outgoing, SendResult


class Channel(Protocol):
    name: str

    def send_batch(self, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
        """One result or exception per message, in order."""
        ...

    def close(self) -> None: ...


def one_by_one(send: object, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
    out: list[SendResult | Exception] = []
    for item in batch:
        try:
            out.append(send(item))  # type: ignore[operator]
        except Exception as exc:
            out.append(exc)
    return out
