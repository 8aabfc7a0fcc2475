"""Charts that fit their column: how a chart tells the page renderer to size it.

A chart function sizes its chart for a typical desktop column; the page sizes it again from
the width of the column it is drawn in (the renderer of :mod:`nhsbook.pages.renderer` measures the
chart's ``<figure>`` and redraws it when that width changes), so no chart is ever wider than
its column, at 1400 px as on a 390 px phone.  What the renderer may change is declared in the
chart's ``usermeta.nhsbook`` (ignored by Vega-Lite itself):

``fit: "x"``
    a single or layered view: its whole width (axes and legends included, Vega-Lite
    ``autosize: fit-x``) becomes the column's width.
``fit: "grid"``
    small multiples (a facet or a concatenation with ``columns``): ``columns`` (2) panels a
    row on a wide column, one on a narrow one (below :data:`NARROW` px); each panel's
    width is the column's share less ``chrome`` px of axis and legend; maps keep their
    aspect ratio (``aspect``: height / width).
``fit: "hconcat"``
    side-by-side views whose text columns have fixed widths: the view at index ``flex``
    takes the remaining width (the spine chart's spine).
``fit: "vconcat"``
    views one above the other (a chart and its key): each as wide as the column less
    ``chrome`` px, the first ``aspect`` times as high as wide.
``max``
    (any layout) the widest the chart is drawn, px (a map or a square chart need not fill a
    wide column).
``narrow``
    a whole other chart drawn instead when the column is narrower than :data:`NARROW`
    (e.g. the compact spine: one row per indicator).

Labels are never cut with an ellipsis: long names are wrapped onto lines of at most a
given number of characters (:func:`wrap`, :func:`wrap_expr`).
"""

from __future__ import annotations

import textwrap

import altair as alt

#: Column width (px) below which a chart is drawn in its narrow layout (phones).
NARROW = 640
#: The layouts the renderer knows.
KINDS = ("x", "grid", "hconcat", "vconcat")
#: Key of the layout in a chart's ``usermeta``.
KEY = "nhsbook"


def _usermeta(chart: alt.TopLevelMixin) -> dict:
    meta = chart.usermeta if chart.usermeta is not alt.Undefined else {}
    return dict(meta or {})


def declare(kind: str = "x", *, usermeta: dict | None = None, **options) -> dict:
    """The ``usermeta`` declaring a chart's layout (``kind`` and ``options``, see the module),
    other keys of ``usermeta`` (e.g. ``csv_columns``) kept: for a chart function that passes
    every property to one constructor (:func:`fit` declares it on a chart already built)."""
    if kind not in KINDS:
        raise ValueError(f"unknown chart layout {kind!r}: use one of {KINDS}")
    meta = dict(usermeta or {})
    meta[KEY] = {**meta.get(KEY, {}), "fit": kind, **options}
    return meta


def narrow_spec(narrow, description=alt.Undefined) -> dict:
    """``narrow`` (a chart) as the spec :func:`with_narrow` stores, carrying ``description``
    (the wide chart's) unless it has its own; converted without a second schema validation:
    both charts are built by nhsbook's chart functions."""
    datasets = _plain_datasets(narrow._get("datasets"))
    if datasets is None:
        spec = narrow.to_dict(validate=False)
    else:
        # Altair converts a dataset value by value (a dozen type checks each): plain JSON
        # records are copied as they are, with any data Altair consolidates after them
        spec = narrow.to_dict(validate=False, ignore=["datasets"])
        spec["datasets"] = {**datasets, **spec.get("datasets", {})}
    if "description" not in spec and description is not alt.Undefined:
        spec["description"] = description
    return spec


_JSON_VALUES = (str, int, float, bool, type(None))


def _plain_datasets(datasets) -> dict | None:
    """A copy of ``datasets`` (name: list of records) when every value in them is plain JSON
    (as :func:`json.loads` gives), else None."""
    if not isinstance(datasets, dict):
        return None
    out = {}
    for name, rows in datasets.items():
        if type(rows) is not list:
            return None
        copy = []
        for row in rows:
            if type(row) is not dict or not all(type(v) in _JSON_VALUES for v in row.values()):
                return None
            copy.append(dict(row))
        out[name] = copy
    return out


def _with_usermeta(chart, meta: dict):
    """``chart.properties(usermeta=meta)`` without validating ``meta``: the schema's
    ``usermeta`` is any object, and checking that would convert every spec nested in it (a
    narrow chart's) again."""
    out = chart.copy(deep=False)
    out.usermeta = meta
    return out


def fit(chart, kind: str = "x", **options):
    """``chart`` with its layout (``kind`` and ``options``, see the module) declared for the
    renderer; other ``usermeta`` (e.g. ``csv_columns``) is kept."""
    return _with_usermeta(chart, declare(kind, usermeta=_usermeta(chart), **options))


def with_narrow(chart, narrow):
    """``chart`` carrying ``narrow`` (another chart, e.g. the compact spine) for the renderer
    to draw instead on a column narrower than :data:`NARROW`; the narrow chart keeps the
    wide one's description (vega names the SVG by it).  The narrow spec is stored without a
    second schema validation: both are built by nhsbook's chart functions."""
    meta = _usermeta(chart)
    spec = narrow_spec(narrow, getattr(chart, "description", alt.Undefined))
    meta[KEY] = {**meta.get(KEY, {}), "narrow": spec}
    return _with_usermeta(chart, meta)


def wrap(text: object, width: int, lines: int | None = None) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` characters (a word longer
    than ``width`` keeps its own line, whole).  With ``lines``, the width grows until the
    text takes at most that many lines, so nothing is ever cut."""
    words = " ".join(str(text).split())
    if not words:
        return [""]
    while True:
        out = textwrap.wrap(words, width, break_long_words=False, break_on_hyphens=False)
        if lines is None or len(out) <= lines:
            return out
        width += 2


def wrap_expr(width: int, field: str = "datum.label") -> str:
    """A Vega expression wrapping ``field`` onto lines of at most ``width`` characters
    (an array of lines, which Vega draws as a multi-line label): for axis ``labelExpr``."""
    return (
        f"split(trim(replace({field} + ' ', regexp('(.{{1,{width}}})(\\\\s+)', 'g'), "
        f"'$1\\n')), '\\n')"
    )


def row_height(names, chars: int, *, line_px: int = 12, least: int = 18) -> int:
    """Height (px) of a band row whose label is the longest of ``names`` wrapped at
    ``chars`` characters (:func:`wrap_expr`): every line of every label has room."""
    lines = max([len(wrap(n, chars)) for n in names] + [1])
    return max(least, lines * line_px + 6)
