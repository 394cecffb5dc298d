"""The demo's newsletter sign-ups confirm their email address as customers do: the worker mails the
hub's confirmation link, and the customer's browser posts the public confirm page (the same consent
service path as a real click, with its proof). Runs beside the rest of the build, in a thread of its
own; a sign-up who will not click (or whose address was mistyped at the till) stays pending."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

import httpx

from omnikanal.demo.http import Step, check
from omnikanal.demo.journeys import Person

PAGE = 500
# How long the build waits, once everything else is sent, for the worker to mail the last links.
WAIT_SECONDS = 180.0
USER_AGENT = "Demo-Mailprogramm/1.0"


class Confirmer:
    def __init__(self, client: httpx.Client, auth: dict[str, str], people: list[Person], step: Step) -> None:
        self._base_url = client.base_url
        self._auth = auth
        self._confirming = {p.email.lower() for p in people if p.confirms_email}
        self._advance = step("Double-Opt-in: Bestätigungslinks geklickt", len(self._confirming))
        self._done_sending = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-double-opt-in", daemon=True)
        self._failure: BaseException | None = None
        self.clicked = 0

    def __enter__(self) -> Confirmer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done_sending.set()
        self._thread.join()
        if self._failure is not None and kind is None:
            raise self._failure

    def all_sent(self) -> None:
        """Every sign-up has been sent: once their links are mailed and clicked, the thread ends."""
        self._done_sending.set()

    def _run(self) -> None:
        try:
            with httpx.Client(base_url=self._base_url, timeout=120) as client:
                self._click_all(client)
        except BaseException as exc:  # reported by __exit__ in the building thread
            self._failure = exc

    def _click_all(self, client: httpx.Client) -> None:
        deadline: float | None = None
        while True:
            done_sending = self._done_sending.is_set()
            waiting = [x for x in self._pending(client) if (x.get("email") or "").lower() in self._confirming]
            for item in [x for x in waiting if x.get("sent_at")]:  # mailed: the customer clicks
                token = item["confirm_url"].rsplit("/", 1)[1]
                if client.post(f"/confirm/{token}", headers={"User-Agent": USER_AGENT}).status_code == 200:
                    self.clicked += 1
                    self._advance(1)
            if done_sending:
                deadline = deadline or time.monotonic() + WAIT_SECONDS
                if all(x.get("sent_at") for x in waiting) or time.monotonic() > deadline:
                    return
            time.sleep(0.5)  # the worker mails the next links

    def _pending(self, client: httpx.Client) -> list[dict[str, Any]]:
        """Every confirmation link not clicked yet, oldest first."""
        found: list[dict[str, Any]] = []
        while True:
            page = check(
                client.get(
                    "/api/consents/confirmations",
                    params={"limit": PAGE, "offset": len(found)},
                    headers=self._auth,
                ),
                "GET /api/consents/confirmations",
            )["items"]
            found += page
            if len(page) < PAGE:
                return found
