"""Channel icons: SVGs of the Heroicons set, from the ``heroicons`` package, inlined in the page.

Emoji rendered as empty boxes on a standard Linux desktop without a colour emoji font; an inline
SVG draws the same everywhere, needs no request and takes the text colour. The icon is decoration
(``aria-hidden``): the element around it carries the channel's name for screen readers, and the
pages write the name beside it.
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup

# Heroicons' names (the "mini" style, drawn for 20 px and below).
CHANNEL_ICON_NAMES: dict[str, str] = {
    "web": "globe-europe-africa",
    "app": "device-phone-mobile",
    "store": "building-storefront",
    "pos": "receipt-percent",
    "hotline": "phone",
    "email": "envelope",
    "chat": "chat-bubble-left-right",
    "social": "users",
    "sms": "chat-bubble-bottom-center-text",
    "whatsapp": "chat-bubble-oval-left-ellipsis",
    "push": "bell",
    "erp": "server-stack",
}
OTHER = "ellipsis-horizontal-circle"


@cache
def _svg(name: str) -> Markup:
    from heroicons.jinja import heroicon_mini

    svg = heroicon_mini(name, size=16, **{"aria-hidden": "true", "focusable": "false"})
    # the package's own SVG file for one of our fixed names: no user input reaches it
    return Markup(svg)  # noqa: S704


class ChannelIcons:
    """What templates call as ``icons.get(channel, default)``: the channel's SVG, any channel."""

    def get(self, channel: str | None, default: str = "") -> Markup:
        del default  # every channel has an icon (an unknown one the "other" icon)
        return _svg(CHANNEL_ICON_NAMES.get(channel or "", OTHER))


CHANNEL_ICONS = ChannelIcons()
