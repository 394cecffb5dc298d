"""The console's colours are readable: every text/background pair of the stylesheet reaches the WCAG
AA contrast ratio for normal text (4.5:1), and the stylesheet uses only the palette's colours."""

from __future__ import annotations

import re

import pytest

from omnikanal.console.assets import _css
from omnikanal.console.palette import PALETTE, TEXT_PAIRS, contrast


@pytest.mark.parametrize(("foreground", "background"), TEXT_PAIRS)
def test_text_pairs_reach_wcag_aa(foreground: str, background: str) -> None:
    ratio = contrast(PALETTE[foreground], PALETTE[background])
    assert ratio >= 4.5, f"{foreground} on {background}: {ratio:.2f}:1"


def test_the_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_the_stylesheet_uses_only_palette_colours() -> None:
    used = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", _css().decode())}
    assert used <= {c.lower() for c in PALETTE.values()}, used - set(PALETTE.values())


def test_the_focus_outline_stands_out_from_the_background() -> None:
    # WCAG 2.2 non-text contrast: 3:1 for the focus indicator.
    assert contrast(PALETTE["focus"], PALETTE["background"]) >= 3.0
