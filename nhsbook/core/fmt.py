"""The one number format of nhsbook: tables, charts, key messages and CSV headers use it.

=====================  ===================================  ==========================
What                   Text                                 d3 (charts)
=====================  ===================================  ==========================
people and counts      whole, with separators: ``69,884``   :data:`D3_COUNT` ``,.0f``
rates, percentages     1 decimal (or the indicator's        :func:`d3` ``,.1f``
                       published precision): ``12.3``,
                       ``12.3%``
£ per head             whole pounds: ``£54``                :data:`D3_POUNDS` ``,.0f``
totals                 £ millions to 1 decimal: ``£1,630.7m``
ledger lines           £ thousands: ``4,430`` under a       :data:`D3_THOUSANDS`
                       "(£'000)" header, ``£4,430k`` in text
SII                    the indicator's precision            :func:`d3`
RII                    2 decimals (a ratio around 1)
=====================  ===================================  ==========================

Every function takes a value (number, ``None`` or NaN) and returns a string; a missing value
is :data:`MISSING` (an en dash) and a value the pipeline suppressed (disclosure control,
:mod:`nhsbook.analysis.disclosure`) is :data:`SUPPRESSED` (``Supp.``) when the caller says so
(``suppressed=True``).  Negative numbers carry an ASCII minus, so that the published text
parses back as the number it shows (:mod:`nhsbook.build.audit` reads it).  Money is held in the
books' tables in thousands of pounds (£'000, :data:`nhsbook.analysis.finance.MONEY_UNIT`), so the
money functions take £'000 unless ``scale`` says otherwise.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from nhsbook.core.model import SUPPRESSED

#: Shown for a missing value (no figure published, or none computed).
MISSING = "–"
#: Decimals of rates, percentages and other indicator values unless the indicator says.
DEFAULT_DECIMALS = 1
#: Decimals of the relative index of inequality (a ratio around 1).
RII_DECIMALS = 2

#: d3 formats (Vega-Lite ``format`` of axes and tooltips) of the same conventions.
D3_COUNT = ",.0f"
D3_POUNDS = ",.0f"
D3_THOUSANDS = ",.0f"
D3_MILLIONS = ",.1f"

#: Units whose values are counts of people or events (whole numbers).
COUNT_UNITS = frozenset({"count", "number", "people", "persons", "patients", "n"})


def _number(value: Any) -> float | None:
    """The value as a float, or None when it is missing (None, NaN, NA, empty text)."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def _blank(value: Any, suppressed: bool) -> str | None:
    if suppressed:
        return SUPPRESSED
    return MISSING if _number(value) is None else None


def _fixed(v: float, decimals: int) -> str:
    text = f"{abs(v):,.{decimals}f}"
    # "-0.0" reads as a negative: a value that rounds to zero has no sign
    return text if v >= 0 or float(text.replace(",", "")) == 0 else f"-{text}"


def number(value: Any, decimals: int = DEFAULT_DECIMALS, suppressed: bool = False) -> str:
    """A number with thousands separators to ``decimals`` places: ``1,234.5``."""
    blank = _blank(value, suppressed)
    return blank if blank is not None else _fixed(_number(value), decimals)


def count(value: Any, suppressed: bool = False) -> str:
    """People and counts: whole, with separators (``69,884``)."""
    return number(value, 0, suppressed)


def rate(value: Any, decimals: int = DEFAULT_DECIMALS, suppressed: bool = False) -> str:
    """A rate, ratio or score to ``decimals`` places (1 unless the indicator says)."""
    return number(value, decimals, suppressed)


def percent(
    value: Any, decimals: int = DEFAULT_DECIMALS, suppressed: bool = False, sign: bool = False
) -> str:
    """A percentage with its sign: ``12.3%`` (``+2.1%`` with ``sign`` for a change)."""
    blank = _blank(value, suppressed)
    if blank is not None:
        return blank
    text = _fixed(_number(value), decimals)
    if sign and not text.startswith("-") and float(text.replace(",", "")) != 0:
        text = "+" + text
    return text + "%"


def pounds_per_head(value: Any, suppressed: bool = False) -> str:
    """£ per head in whole pounds: ``£54``, ``-£3``."""
    blank = _blank(value, suppressed)
    if blank is not None:
        return blank
    text = _fixed(_number(value), 0)
    return f"-£{text[1:]}" if text.startswith("-") else f"£{text}"


def thousands(value: Any, scale: float = 1_000) -> str:
    """A ledger line in thousands of pounds as a table cell under a "(£'000)" header:
    ``4,430``, ``-1,042``; ``scale`` is the value's unit in pounds (1,000 for £'000)."""
    v = _number(value)
    return MISSING if v is None else _fixed(v * scale / 1_000, 0)


def pounds_k(value: Any, scale: float = 1_000) -> str:
    """A ledger line in text: ``£4,430k`` (``-£1,042k``)."""
    text = thousands(value, scale)
    if text == MISSING:
        return text
    return f"-£{text[1:]}k" if text.startswith("-") else f"£{text}k"


def pounds_m(value: Any, scale: float = 1_000) -> str:
    """A total in millions of pounds to 1 decimal: ``£1,630.7m`` (``-£2.3m``); ``scale`` is
    the value's unit in pounds (1,000 for £'000, 1 for pounds)."""
    v = _number(value)
    if v is None:
        return MISSING
    text = _fixed(v * scale / 1_000_000, 1)
    return f"-£{text[1:]}m" if text.startswith("-") else f"£{text}m"


def precision(meta: Mapping[str, Any] | None) -> int:
    """An indicator's published precision: its metadata's ``decimals`` when given, 0 for
    counts (unit ``count``, ``number``, ...), else :data:`DEFAULT_DECIMALS`."""
    if meta is None:
        return DEFAULT_DECIMALS
    dec = _number(meta.get("decimals")) if hasattr(meta, "get") else None
    if dec is not None:
        return int(dec)
    unit = str(meta.get("unit", "") or "").strip().lower()
    return 0 if unit in COUNT_UNITS else DEFAULT_DECIMALS


def unit_suffix(unit: Any) -> str:
    """How a unit follows a value in text: ``%`` joined, ``years`` / ``per 1,000`` after a
    space, nothing for a score or an empty unit."""
    u = "" if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit)
    u = u.strip()
    if not u or u.lower() in {"score", "ratio"} | COUNT_UNITS:
        return ""
    if u == "%":
        return "%"
    return f" {u}"


def indicator_value(
    value: Any, meta: Mapping[str, Any] | None = None, suppressed: bool = False, unit: bool = True
) -> str:
    """An indicator's value at its precision, followed by its unit (``12.3%``,
    ``81.2 years``, ``512.4 per 100,000``); ``Supp.`` / ``–`` when suppressed / missing."""
    blank = _blank(value, suppressed)
    if blank is not None:
        return blank
    text = number(value, precision(meta))
    return text + unit_suffix(meta.get("unit") if (unit and meta is not None) else "")


def sii(value: Any, meta: Mapping[str, Any] | None = None, suppressed: bool = False) -> str:
    """The slope index of inequality, in the indicator's units at its precision."""
    return number(value, precision(meta), suppressed)


def rii(value: Any, suppressed: bool = False) -> str:
    """The relative index of inequality (a ratio) to :data:`RII_DECIMALS` places."""
    return number(value, RII_DECIMALS, suppressed)


def p_value(p: Any) -> str:
    """A p-value: ``p = 0.029``, ``p < 0.001``."""
    v = _number(p)
    if v is None:
        return f"p {MISSING}"
    return "p < 0.001" if v < 0.001 else f"p = {v:.3f}"


def d3(decimals: int = DEFAULT_DECIMALS) -> str:
    """The d3 format of a value at ``decimals`` places with separators (``,.1f``)."""
    return f",.{int(decimals)}f"


def header(label: str, unit: Any = "") -> str:
    """A table or CSV column header with its unit: ``Budget (£'000)``,
    ``Value (per 100,000)``; the label alone when there is no unit."""
    u = "" if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit)
    return f"{label} ({u.strip()})" if u.strip() else label
