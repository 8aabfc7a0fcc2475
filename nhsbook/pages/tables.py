"""The one table helper of the pages (issue 21): every table a page shows is :func:`table`.

A page (a facade of the pages layer or a notebook) gives :func:`table` a DataFrame and the
options of its table, and gets back what the notebook displays: the compact HTML of
:func:`nhsbook.core.escape.table_html`, as an :class:`IPython.display.HTML`.

* **Numbers** in the book's number format (:mod:`nhsbook.core.fmt`): floats to ``digits`` places,
  whole numbers whole, with thousands separators unless ``thousands=False`` (a year column
  ``2011`` wants it off).  A column of its own format by ``formats``, a row by
  ``row_formats`` (by index label): places (``2``), ``"count"`` (whole, with separators),
  ``"money"`` (a ledger figure in £'000, :func:`nhsbook.core.fmt.thousands`), ``"yes"`` (a flag:
  ``yes`` or blank), a format string (``"{:+.2f}"``) or a function of the value.
* **Missing cells** show ``na``: blank unless said (``"Supp."`` where what is missing was
  suppressed by disclosure control, ``"—"``, ...).  Text cells are shown as they are.
* **Colours** by a column's values (``colours``): ``"significance"`` (the spine charts'
  palette, :data:`nhsbook.charts.theme.PALETTES` ``standard``), ``"rag"`` (the finance and
  performance pages' :data:`nhsbook.analysis.finance.RAG_COLOURS`; a rating such as ``ACHIEVED``
  counts as its RAG, :data:`nhsbook.analysis.performance.RATING_RAG`) or any ``{value: "#RRGGBB"}``.
  The text on a fill is black or white, whichever contrasts more with it (WCAG 2; at least
  4.5:1 on every fill of the two palettes, ``tests/test_tables.py``); the words stay in the
  cell, so colour is never the only signal.
* **Names are data**: every text cell and label is shown literally
  (:func:`nhsbook.core.escape.html_table`), and indicator names link to their definitions where
  the page hooks say so (:func:`nhsbook.pages.area.install_page_hooks`).
* **Look**: the index hidden (``index=True`` shows it); ``look="profile"`` (class
  ``nhsbook-profile``: small type, the header row and the second column, the indicator,
  kept in view while the table scrolls inside its own box, ``book/_static/nhsbook.css``),
  ``"finance"`` (class ``nhsbook-finance``) or ``"plain"`` (the site's table: the first
  column kept in view); the first two are focusable (``tabindex="0"``) so that a keyboard
  can scroll them.  ``details`` folds the table under a ``<details>`` summary.

This is the only module of nhsbook that styles a pandas table (``tests/test_tables.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd

from nhsbook.analysis.finance import RAG_COLOURS
from nhsbook.analysis.performance import RATING_RAG
from nhsbook.charts.theme import PALETTES, text_on
from nhsbook.core import escape, fmt

if TYPE_CHECKING:  # annotations only
    from IPython.display import HTML

__all__ = ["table"]

#: A column's (or a row's) format: places, a named format, a format string or a function.
Format = Union[int, str, Callable[[Any], str]]
#: A column's colours: ``"significance"``, ``"rag"`` or ``{value: fill}``.
Colours = Union[str, Mapping[str, str]]

#: The table attributes of each look.
_LOOKS = {
    "profile": 'class="nhsbook-profile" tabindex="0"',
    "finance": 'class="nhsbook-finance" tabindex="0"',
    "plain": "",
}

_NAMED: dict[str, Callable[[Any], str]] = {
    "count": fmt.count,
    "money": fmt.thousands,
    "yes": lambda v: "yes" if v else "",
}


def _missing(v: Any) -> bool:
    return (
        v is None
        or v is pd.NA
        or v is pd.NaT
        or (isinstance(v, (float, np.floating)) and math.isnan(v))
    )


def _places(v: Any, places: int, thousands: bool) -> str:
    text = fmt.number(v, places)
    return text if thousands else text.replace(",", "")


def _number(spec: Format | None, digits: int, thousands: bool) -> Callable[[Any], str]:
    """What a non-missing, non-text value of a column with format ``spec`` shows."""
    if spec is None:

        def default(v: Any) -> str:
            if isinstance(v, (bool, np.bool_)):
                return str(bool(v))
            if isinstance(v, (int, np.integer)):
                return f"{int(v):,}" if thousands else str(int(v))
            return _places(v, digits, thousands)

        return default
    if isinstance(spec, bool) or not isinstance(spec, (int, str)) and not callable(spec):
        raise TypeError(f"a format is places, a name, a format string or a function, not {spec!r}")
    if isinstance(spec, int):
        return lambda v: _places(v, spec, thousands)
    if isinstance(spec, str) and "{" in spec:
        return spec.format
    if isinstance(spec, str):
        if spec not in _NAMED:
            raise ValueError(
                f"unknown format {spec!r}: places, a format string, a function "
                f"or one of {sorted(_NAMED)}"
            )
        return _NAMED[spec]
    return spec


def _cell(spec: Format | None, digits: int, thousands: bool, na: str) -> Callable[[Any], str]:
    """The formatter of a column: text as it is (escaped by :func:`nhsbook.core.escape.
    html_table`), a missing value as ``na``, anything else by :func:`_number`."""
    number = _number(spec, digits, thousands)

    def cell(v: Any) -> str:
        if isinstance(v, str):
            return v
        if _missing(v):
            return na
        return number(v)

    return cell


def _fill_of(colours: Colours) -> Callable[[Any], str | None]:
    if colours == "significance":
        return lambda v: PALETTES["standard"].get(str(v))
    if colours == "rag":
        return lambda v: RAG_COLOURS.get(RATING_RAG.get(str(v), str(v)))
    if isinstance(colours, str):
        raise ValueError(
            f"unknown colours {colours!r}: 'significance', 'rag' or a mapping of value to fill"
        )
    return lambda v: colours.get(str(v))


def _css(colours: Colours) -> Callable[[Any], str]:
    fill_of = _fill_of(colours)

    def css(v: Any) -> str:
        fill = fill_of(v)
        return f"background-color: {fill}; color: {text_on(fill)}" if fill else ""

    return css


def table(
    frame: pd.DataFrame,
    *,
    digits: int = 1,
    thousands: bool = True,
    formats: Mapping[Hashable, Format] | None = None,
    row_formats: Mapping[Hashable, Format] | None = None,
    na: str = "",
    colours: Mapping[Hashable, Colours] | None = None,
    look: str = "profile",
    index: bool = False,
    details: str | None = None,
) -> "HTML":
    """``frame`` as the HTML table a page shows (how: the module's documentation).

    ``digits``: places of the floats without a format of their own; ``thousands``:
    separators in numbers; ``formats`` / ``row_formats``: a column's / a row's format
    (places, ``"count"``, ``"money"``, ``"yes"``, a format string or a function; a row's
    wins); ``na``: what a missing cell shows; ``colours``: a column's cell colours
    (``"significance"``, ``"rag"`` or ``{value: fill}``); ``look``: ``"profile"``,
    ``"finance"`` or ``"plain"``; ``index``: show the index; ``details``: the summary the
    table is folded under."""
    from IPython.display import HTML  # lazy: keeps IPython off this module's import (pages)

    if look not in _LOOKS:
        raise ValueError(f"unknown look {look!r}: one of {sorted(_LOOKS)}")
    formats, colours, row_formats = (
        dict(formats or {}),
        dict(colours or {}),
        dict(row_formats or {}),
    )
    unknown = [c for c in [*formats, *colours] if c not in frame.columns]
    unknown += [r for r in row_formats if r not in frame.index]
    if unknown:
        raise KeyError(f"no column or row {unknown[0]!r} in the table")
    if not index:  # hidden: a repeated label (rows of a concatenation) cannot trouble it
        frame = frame.reset_index(drop=True)
    styler = frame.style
    if not index:
        styler = styler.hide(axis="index")
    for j, col in enumerate(frame.columns):
        styler = styler.format(
            _cell(formats.get(col), digits, thousands, na), subset=frame.columns[[j]]
        )
    for label, spec in row_formats.items():
        styler = styler.format(
            _cell(spec, digits, thousands, na),
            subset=(frame.index[frame.index == label], slice(None)),
        )
    for col, scheme in colours.items():
        styler = styler.map(_css(scheme), subset=[col])
    if _LOOKS[look]:
        styler = styler.set_table_attributes(_LOOKS[look])
    html = escape.table_html(styler)  # text cells and labels literal (nhsbook.core.escape)
    if details is not None:
        html = f"<details><summary>{escape.html(details)}</summary>{html}</details>"
    return HTML(html)
