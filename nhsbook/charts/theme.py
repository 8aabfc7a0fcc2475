"""Shared look of the charts: significance palettes, grey bands, number formats.

The standard palette is the national spine-chart palette (``../shared/docs/conventions.md``,
"Spine chart"); the colour-blind-safe alternative uses the Okabe-Ito colours (Okabe & Ito,
*Color Universal Design*, 2008), distinguishable under the common colour-vision deficiencies.

The builders at the end (:func:`field`, :func:`tip`, :func:`unit`, :func:`layered`,
:func:`select`, :func:`lookup`) let a chart function write its spec in one constructor call,
its parts as the Vega-Lite dicts Altair would write for them (issue 26): chaining
``.mark_*()``, ``.encode()``, ``.properties()`` and ``+`` copies and validates the whole chart
at every step, and shorthand strings (``"value:Q"``) are parsed through the schema, which took
most of a page's chart time.
The spec is the same; a chart is still validated whole when displayed by Altair's default
renderer (``make test``).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
from altair.utils.schemapi import debug_mode
from altair.vegalite.v6.schema.core import VariableParameter

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
    return alt.Scale(**significance_colours(name, labels))


def significance_colours(
    name: str = "standard", labels: tuple[str, ...] | None = None
) -> dict[str, list[str]]:
    """:func:`significance_scale` as its Vega-Lite dict (``domain`` and ``range``)."""
    colours = palette(name)
    domain = [s for s in SIGNIFICANCE_ORDER if s in colours and (labels is None or s in labels)]
    return {"domain": domain, "range": [colours[s] for s in domain]}


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


# --- building a chart in one constructor call -----------------------------------------

#: Vega-Lite field types by their shorthand letter.
TYPES = {"Q": "quantitative", "N": "nominal", "O": "ordinal", "T": "temporal"}


def field(shorthand: str, **props: object) -> dict:
    """A channel's field definition, as Altair writes ``alt.X(shorthand, **props)``:
    ``shorthand`` is ``name:T`` (T one of :data:`TYPES`), ``op(name):T`` for an aggregate or
    a bare ``name`` (``x2``/``y2``, which take no type)."""
    name, _, kind = shorthand.rpartition(":")
    if not name:
        name, kind = shorthand, ""
    out: dict = {}
    if name.endswith(")") and "(" in name:
        out["aggregate"], name = name[:-1].split("(", 1)
    out["field"] = name
    if kind:
        out["type"] = TYPES[kind]
    out.update(props)
    return out


def tip(shorthand: str, title: str, number: str | None = None) -> dict:
    """A tooltip field: ``shorthand`` (see :func:`field`) with its title and number format."""
    return (
        field(shorthand, title=title)
        if number is None
        else field(shorthand, title=title, format=number)
    )


def unit(
    mark: str,
    *,
    style: dict | None = None,
    transform: Sequence[dict] = (),
    data=alt.Undefined,
    **encoding,
) -> alt.Chart:
    """A layer of a layered chart: the ``mark`` (type and ``style``), its ``encoding`` channels
    (Vega-Lite dicts, e.g. :func:`field`) and ``transform``; usually no ``data``:
    :func:`layered` gives the data once, to every layer."""
    return alt.Chart(
        data=data,
        mark={"type": mark, **(style or {})},
        encoding=alt.FacetedEncoding(**encoding),
        transform=list(transform) if transform else alt.Undefined,
    )


def layered(data, layers: Sequence[alt.Chart], *, params: Sequence = (), **props) -> alt.LayerChart:
    """The layers of :func:`unit` over ``data``, with their ``params`` and top-level ``props``
    (width, title, usermeta …), built in one constructor call."""
    return alt.LayerChart(
        data=data, layer=list(layers), params=list(params) if params else alt.Undefined, **props
    )


def select(name: str, value: object, options: list, label: str, labels: list | None = None):
    """A parameter bound to a drop-down of ``options`` (shown as ``labels``), named ``label``
    on the page, as ``alt.param(name=…, value=…, bind=alt.binding_select(…))`` writes it."""
    bind = {"input": "select", "options": options, "name": label}
    if labels is not None:
        bind["labels"] = labels
    with debug_mode(False):  # checked with the whole chart, when it is displayed
        return VariableParameter(name=name, value=value, bind=bind)


def lookup(key: str, data, on: str, fields: list[str]) -> dict:
    """A lookup transform: ``fields`` of ``data`` (a frame, embedded as a dataset of the
    chart) joined on ``data[on] == datum[key]``."""
    with debug_mode(False):  # checking it here would convert the frame once more
        return {"lookup": key, "from": alt.LookupData(data, on, fields)}
