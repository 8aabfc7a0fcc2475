"""Shared look of the charts: significance palettes, grey bands, number formats.

The standard palette is the national spine-chart palette (``../shared/docs/conventions.md``,
"Spine chart"); the colour-blind-safe alternative uses the Okabe-Ito colours (Okabe & Ito,
*Color Universal Design*, 2008), distinguishable under the common colour-vision deficiencies.
"""

from __future__ import annotations

import altair as alt

#: Significance labels in legend order.
SIGNIFICANCE_ORDER: tuple[str, ...] = (
    "Best",
    "Better",
    "Similar",
    "Worse",
    "Worst",
    "Higher",
    "Lower",
    "Not compared",
)

PALETTES: dict[str, dict[str, str]] = {
    "standard": {
        "Better": "#92D050",
        "Similar": "#FFC000",
        "Worse": "#C00000",
        "Not compared": "#C9C9C9",
        "Higher": "#BED2FF",
        "Lower": "#5555E6",
        "Best": "#00B092",
        "Worst": "#821733",
    },
    "colourblind": {
        "Better": "#0072B2",
        "Similar": "#F0E442",
        "Worse": "#D55E00",
        "Not compared": "#C9C9C9",
        "Higher": "#56B4E9",
        "Lower": "#000075",
        "Best": "#009E73",
        "Worst": "#CC79A7",
    },
}

#: Spine bands: worst to 25th and 75th to best percentile, and the 25th to 75th.
BAND_LIGHT = "#C9C9C9"
BAND_DARK = "#8B8B8B"
#: Comparator lines, limits and other ink.
INK = "#333333"
FONT = "Arial, Helvetica, sans-serif"


def palette(name: str = "standard") -> dict[str, str]:
    """The significance colours by label; ``name`` is ``standard`` or ``colourblind``."""
    if name not in PALETTES:
        raise ValueError(f"unknown palette {name!r}: use one of {sorted(PALETTES)}")
    return PALETTES[name]


def significance_scale(name: str = "standard", labels: tuple[str, ...] | None = None) -> alt.Scale:
    """An Altair colour scale mapping significance labels to the palette's colours, in legend
    order, limited to ``labels`` when given (the labels a chart shows)."""
    colours = palette(name)
    domain = [s for s in SIGNIFICANCE_ORDER if s in colours and (labels is None or s in labels)]
    return alt.Scale(domain=domain, range=[colours[s] for s in domain])


def luminance(colour: str) -> float:
    """The relative luminance of a ``#RRGGBB`` colour (WCAG 2.1, "relative luminance")."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fill: str, text: str) -> float:
    """The WCAG 2 contrast ratio of ``text`` on ``fill`` (1 to 21; 4.5 is the AA minimum for
    text of a table or a chart's labels)."""
    a, b = sorted((luminance(fill), luminance(text)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_on(fill: str) -> str:
    """Black or white text, whichever contrasts more with ``fill`` (tables and the labels
    drawn on a chart's cells)."""
    return "#000000" if contrast(fill, "#000000") >= contrast(fill, "#FFFFFF") else "#FFFFFF"
