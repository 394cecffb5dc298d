"""A stored event as a touchpoint: its business channel and the marketing dimensions it carries.

Where the marketing source comes from, first found wins:

1. ``context.campaign`` of the Segment spec (``name``, ``source``, ``medium``);
2. the UTM parameters of the page's URL (``context.page.url``, or a page call's ``properties.url``);
3. a campaign code given at a till, a vanity URL or a "how did you hear of us" answer
   (``properties.campaign_code``, ``properties.coupon``, ``properties.heard_about``), looked up in
   the configured campaign codes;
4. the referrer: a search engine is ``<engine>/organic``, a social network ``<network>/social``,
   another site ``<host>/referral``;
5. otherwise ``(direct)/(none)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from omnikanal.analytics.model import DIRECT, NONE

SEARCH = {
    "google": "google",
    "bing": "bing",
    "duckduckgo": "duckduckgo",
    "ecosia": "ecosia",
    "yahoo": "yahoo",
    "qwant": "qwant",
    "startpage": "startpage",
}
SOCIAL = {
    "facebook": "facebook",
    "instagram": "instagram",
    "t.co": "twitter",
    "twitter": "twitter",
    "x.com": "twitter",
    "linkedin": "linkedin",
    "pinterest": "pinterest",
    "tiktok": "tiktok",
    "youtube": "youtube",
    "reddit": "reddit",
}
CODE_FIELDS = ("campaign_code", "coupon", "heard_about")


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _page_url(payload: Mapping[str, Any]) -> str | None:
    url = _dict(_dict(payload.get("context")).get("page")).get("url")
    if url is None and payload.get("type") == "page":
        url = _dict(payload.get("properties")).get("url")
    return url if isinstance(url, str) else None


def _referrer(payload: Mapping[str, Any]) -> str | None:
    ref = _dict(_dict(payload.get("context")).get("page")).get("referrer")
    if ref is None:
        ref = _dict(payload.get("properties")).get("referrer")
    return ref if isinstance(ref, str) and ref else None


def _from_referrer(referrer: str) -> tuple[str, str] | None:
    host = (urlsplit(referrer).hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    for needle, name in SEARCH.items():
        if needle in host.split("."):
            return name, "organic"
    for needle, name in SOCIAL.items():
        if host == needle or needle in host.split("."):
            return name, "social"
    return host[:100], "referral"


def marketing(payload: Mapping[str, Any], codes: Mapping[str, str]) -> tuple[str, str, str | None]:
    """(source, medium, campaign) of one event's payload."""
    campaign = _dict(_dict(payload.get("context")).get("campaign"))
    if campaign.get("source") or campaign.get("name"):
        return (
            _text(campaign.get("source"), 100) or DIRECT,
            _text(campaign.get("medium"), 100) or NONE,
            _text(campaign.get("name"), 200),
        )
    url = _page_url(payload)
    if url:
        query = parse_qs(urlsplit(url).query)
        if query.get("utm_source") or query.get("utm_campaign"):
            first = {k: v[0] for k, v in query.items() if v}
            return (
                _text(first.get("utm_source"), 100) or DIRECT,
                _text(first.get("utm_medium"), 100) or NONE,
                _text(first.get("utm_campaign"), 200),
            )
    properties = _dict(payload.get("properties"))
    for name in CODE_FIELDS:
        code = _text(properties.get(name), 100)
        if code and code.lower() in codes:
            source, _, rest = codes[code.lower()].partition("/")
            medium, _, label = rest.partition("/")
            return source or DIRECT, medium or NONE, label or code
    referrer = _referrer(payload)
    found = _from_referrer(referrer) if referrer else None
    if found:
        return found[0], found[1], None
    return DIRECT, NONE, None


def cents(value: Any) -> int | None:
    """An amount in the currency's units (as commerce's events give it) as whole cents."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def touchpoint(row: Any, codes: Mapping[str, str], ignored: frozenset[str]) -> dict[str, Any] | None:
    """The analytics row of one event (page, screen or track), or None for one that is no
    touchpoint (system events such as ``Segment Entered``)."""
    if row.type not in ("page", "screen", "track") or (row.event and row.event in ignored):
        return None
    payload = row.payload if isinstance(row.payload, Mapping) else {}
    source, medium, campaign = marketing(payload, codes)
    properties = _dict(payload.get("properties"))
    order_id = _text(properties.get("order_id") or properties.get("orderId"), 200)
    value = cents(properties.get("revenue", properties.get("total"))) if order_id else None
    currency = _text(properties.get("currency"), 3) if order_id else None
    return {
        "seq": row.seq,
        "profile_id": row.profile_id,
        "at": row.timestamp,
        "type": row.type,
        "event": _text(row.event, 200) if row.type == "track" else row.type,
        "channel": row.channel,
        "source": source,
        "medium": medium,
        "campaign": campaign,
        "order_id": order_id,
        "value_cents": value,
        "currency": currency.upper() if currency else None,
    }
