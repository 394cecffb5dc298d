"""Journeys: the list, and one journey as a diagram of its steps with how many customers wait at each,
exits by reason and the goal rate of each variant beside the holdout's.

The diagram is an SVG drawn here from the journey's document (steps in document order, top to bottom;
the following step straight below, jumps and branches as labelled paths on the right). Beside it the
same steps are a table, which is what screen readers and keyboard users get.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from omnikanal.auth.model import Permission
from omnikanal.console.frame import Ctx, page_of, refuse_page
from omnikanal.errors import NotFound

router = APIRouter(include_in_schema=False)
JourneysPage = Annotated[Ctx, Depends(page_of("journeys"))]

BOX_W, BOX_H, GAP, LEFT, TOP, LANE = 300, 54, 34, 16, 16, 22
KINDS = ("wait", "wait_for", "branch", "split", "send", "task", "webhook", "update_trait", "exit")


@dataclass(frozen=True, slots=True)
class StepView:
    id: str
    kind: str
    summary: str
    at: int  # customers waiting here
    edges: tuple[tuple[str, str], ...]  # (label, target step id)


def _kind(step: dict[str, Any]) -> str:
    return next((k for k in KINDS if k in step), "?")


def _summary(kind: str, body: Any) -> str:
    body = body if isinstance(body, dict) else {}
    if kind == "wait":
        if "duration" in body:
            return str(body["duration"])
        if "until" in body:
            until = body["until"] or {}
            return f"{until.get('time', '')} {','.join(until.get('weekdays') or [])}".strip()
        if "until_trait" in body:
            rule = body["until_trait"] or {}
            return f"{rule.get('trait')} {rule.get('offset', '')}".strip()
    if kind == "wait_for":
        what = (
            body.get("event", {}).get("name") if isinstance(body.get("event"), dict) else body.get("segment")
        )
        return f"{what} ≤ {body.get('timeout', '')}"
    if kind in ("send", "task", "webhook"):
        parts = [
            body.get("channel") or body.get("queue") or body.get("url") or "",
            body.get("template") or "",
        ]
        return " · ".join(str(p) for p in parts if p)
    if kind == "split":
        return f"holdout {body.get('holdout', 0)} %"
    if kind == "update_trait":
        return ", ".join(str(k) for k in (body.get("traits") or body))[:60]
    if kind == "exit":
        return str(body.get("reason", ""))
    return ""


def steps_of(document: dict[str, Any], at_step: dict[str, int]) -> list[StepView]:
    raw = [s for s in document.get("steps") or [] if isinstance(s, dict)]
    found = []
    for n, step in enumerate(raw):
        kind = _kind(step)
        body = step.get(kind)
        following = raw[n + 1]["id"] if n + 1 < len(raw) else None
        edges: list[tuple[str, str]] = []
        if kind == "branch" and isinstance(body, dict):
            edges += [("then", str(body.get("then"))), ("else", str(body.get("else")))]
        elif kind == "split" and isinstance(body, dict):
            edges += [(str(v.get("name")), str(v.get("next"))) for v in body.get("variants") or []]
        elif kind != "exit":
            target = step.get("next", following)
            if target is not None:
                edges.append(("", str(target)))
            if kind == "wait_for" and isinstance(body, dict) and body.get("on_timeout"):
                edges.append(("timeout", str(body["on_timeout"])))
        found.append(
            StepView(
                str(step.get("id")),
                kind,
                _summary(kind, body),
                at_step.get(str(step.get("id")), 0),
                tuple(edges),
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class Diagram:
    """The geometry of the flow chart; the template draws it (escaping every text)."""

    width: int
    height: int
    boxes: list[tuple[int, StepView]]  # (top, step)
    straight: list[tuple[int, int, int]]  # (x, y1, y2) to the following step
    jumps: list[tuple[str, int, int, str]]  # (path d, label x, label y, label)


def diagram(steps: list[StepView]) -> Diagram:
    index = {s.id: n for n, s in enumerate(steps)}

    def y(n: int) -> int:
        return TOP + n * (BOX_H + GAP)

    straight: list[tuple[int, int, int]] = []
    jumps: list[tuple[str, int, int, str]] = []
    for n, step in enumerate(steps):
        for label, target in step.edges:
            if target not in index:
                continue
            m = index[target]
            if m == n + 1 and not label:
                straight.append((LEFT + BOX_W // 2, y(n) + BOX_H, y(m) - 4))
                continue
            # each jump gets a lane of its own right of the boxes, so paths never overlap
            x = LEFT + BOX_W + (len(jumps) + 1) * LANE
            y1, y2 = y(n) + BOX_H // 2, y(m) + BOX_H // 2 + 8
            jumps.append(
                (f"M{LEFT + BOX_W},{y1} H{x} V{y2} H{LEFT + BOX_W + 4}", LEFT + BOX_W + 6, y1 - 4, label)
            )
    return Diagram(
        width=LEFT + BOX_W + (len(jumps) + 2) * LANE + 60,
        height=TOP * 2 + max(len(steps), 1) * (BOX_H + GAP),
        boxes=[(y(n), step) for n, step in enumerate(steps)],
        straight=straight,
        jumps=jumps,
    )


@router.get("/console/journeys", response_class=HTMLResponse)
def journeys(ctx: JourneysPage) -> HTMLResponse:
    listed = []
    for journey in ctx.hub.journeys.all():
        stats = ctx.hub.journeys.stats(journey["id"])["versions"]
        listed.append(
            {
                **journey,
                "entered": sum(v["entered"] for v in stats),
                "active": sum(v["active"] for v in stats),
            }
        )
    return ctx.page(
        "journeys.html",
        title=ctx.t["nav_journeys"],
        current="journeys",
        journeys=listed,
        may_write=ctx.may(Permission.JOURNEYS_WRITE),
    )


@router.get("/console/journeys/{journey_id}", response_class=HTMLResponse)
def journey(
    ctx: JourneysPage,
    journey_id: str,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    error: Annotated[str | None, Query(max_length=300)] = None,
) -> HTMLResponse:
    try:
        found = ctx.hub.journeys.get(journey_id)
        stats = ctx.hub.journeys.stats(journey_id)["versions"]
    except NotFound:
        return refuse_page(ctx.request, ctx.lang, 404, "not_found")
    chosen = version or found["version"]
    current = next((v for v in stats if v["version"] == chosen), None) or {
        "version": chosen,
        "entered": 0,
        "active": 0,
        "at_step": {},
        "exited": {},
        "variants": {},
        "messages": {},
        "holdout_rate": None,
    }
    steps = steps_of(found.get("document") or {}, current["at_step"])
    return ctx.page(
        "journey.html",
        title=found["name"],
        current="journeys",
        journey=found,
        stats=current,
        versions=[v["version"] for v in found.get("versions", [])],
        chosen=chosen,
        steps=steps,
        diagram=diagram(steps),
        box=(LEFT, BOX_W, BOX_H),
        # the diagram is drawn from the newest document; older versions show their counts in the table
        latest=chosen == found["version"],
        may_write=ctx.may(Permission.JOURNEYS_WRITE),
        error=error,
    )
