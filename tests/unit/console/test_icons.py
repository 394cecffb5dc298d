"""Every channel draws an SVG from the icon package; an unknown one draws the "other" icon."""

from __future__ import annotations

from omnikanal.console.icons import CHANNEL_ICON_NAMES, CHANNEL_ICONS


def test_each_channel_has_its_own_svg_hidden_from_screen_readers() -> None:
    drawn = {channel: str(CHANNEL_ICONS.get(channel)) for channel in CHANNEL_ICON_NAMES}
    assert all(svg.startswith("<svg") and 'aria-hidden="true"' in svg for svg in drawn.values())
    assert len(set(drawn.values())) == len(drawn)  # no two channels look alike


def test_an_unknown_or_missing_channel_still_gets_an_icon() -> None:
    other = str(CHANNEL_ICONS.get("carrier-pigeon", "•"))
    assert other.startswith("<svg")
    assert str(CHANNEL_ICONS.get(None)) == other
    assert other not in {str(CHANNEL_ICONS.get(c)) for c in CHANNEL_ICON_NAMES}
