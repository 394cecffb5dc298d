"""Messages: delivery and engagement per channel and per template (messaging's own statistics)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from omnikanal.console.frame import Ctx, page_of

router = APIRouter(include_in_schema=False)
MessagesPage = Annotated[Ctx, Depends(page_of("messages"))]

COLUMNS: tuple[str, ...] = ("queued", "sent", "delivered", "opened", "clicked", "failed", "blocked")


@router.get("/console/messages", response_class=HTMLResponse)
def messages(ctx: MessagesPage) -> HTMLResponse:
    stats = ctx.hub.messaging.stats()
    return ctx.page(
        "messages.html", title=ctx.t["nav_messages"], current="messages", stats=stats, columns=COLUMNS
    )
