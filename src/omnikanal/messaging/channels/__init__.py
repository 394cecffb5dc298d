"""Channel adapters: each sends an :class:`~omnikanal.messaging.model.Outgoing` one way.

An adapter answers a :class:`SendResult`, or raises TransientFailure (retry later) or
PermanentFailure (record and stop). ``send_batch`` lets an adapter work on several at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from omnikanal.messaging.model import Outgoing, SendResult, TransientFailure

# How long one batch may take to send. Well under the dispatcher's lease (5 minutes), so a slow
# provider never lets the lease run out while messages of the batch are still being sent (another
# worker would claim and send them a second time); what is left over is retried next round.
SEND_BUDGET_SECONDS = 120.0


class Channel(Protocol):
    name: str

    def send_batch(self, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
        """One result or exception per message, in order."""
        ...

    def close(self) -> None: ...


def one_by_one(send: object, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
    out: list[SendResult | Exception] = []
    deadline = time.monotonic() + SEND_BUDGET_SECONDS
    for item in batch:
        if time.monotonic() > deadline:
            out.append(TransientFailure("not attempted: the batch used up its sending time"))
            continue
        try:
            out.append(send(item))  # type: ignore[operator]
        except Exception as exc:
            out.append(exc)
    return out
