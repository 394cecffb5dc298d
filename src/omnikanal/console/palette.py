"""The console's colours, in one place: the stylesheet is rendered from them and a test checks that
every foreground/background pair used reaches the WCAG AA contrast for normal text (4.5:1)."""

from __future__ import annotations

PALETTE: dict[str, str] = {
    "text": "#1b1f24",
    "muted": "#4f5a66",
    "background": "#ffffff",
    "surface": "#f3f5f7",
    "border": "#c5ccd3",
    "accent": "#0b5a8a",  # links, primary buttons
    "accent_text": "#ffffff",
    "nav": "#102a43",
    "nav_text": "#ffffff",
    "danger": "#a4161a",
    "danger_text": "#ffffff",
    "ok": "#1b6e35",
    "warn": "#7a4b00",
    "focus": "#c25e00",
}

# (foreground, background) pairs that appear in the stylesheet.
TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    ("text", "background"),
    ("text", "surface"),
    ("muted", "background"),
    ("muted", "surface"),
    ("accent", "background"),
    ("accent", "surface"),
    ("accent_text", "accent"),
    ("nav_text", "nav"),
    ("danger", "background"),
    ("danger_text", "danger"),
    ("ok", "background"),
    ("warn", "background"),
)


def luminance(colour: str) -> float:
    """Relative luminance of an sRGB colour ``#rrggbb`` (WCAG 2.x)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
