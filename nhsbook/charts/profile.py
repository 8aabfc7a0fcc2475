"""The public-health spine chart of an area profile (data from :func:`nhsbook.analysis.spine.spine_data`).

Layout as the national profiles draw it, narrowed to what fits a page: indicator (with its
unit, wrapped onto at most two lines), value and comparator value, then the spine; count,
worst and best stay in the profile table under the chart.  On a phone the page draws the
compact spine instead (:func:`compact_spine`: one row per indicator, name above value and
marker on the range).  On the spine the light grey bands run
from the worst to the 25th percentile and from the 75th percentile to the best practice, the
dark grey band from the 25th to the 75th; the comparator is the vertical line in the middle;
the area is a circle filled with its significance colour and marker areas (localities on a
CCG's chart) are open diamonds.  Best is always on the right.
"""

from __future__ import annotations

import hashlib
import json

import altair as alt
import pandas as pd

from nhsbook.charts.layout import declare, narrow_spec, wrap, wrap_expr
from nhsbook.charts.theme import BAND_DARK, BAND_LIGHT, FONT, INK, significance_scale

#: Height (px) of a row of the full spine: two lines of indicator name.
ROW_HEIGHT = 30
#: Height (px) of a row of the compact spine: two lines of name above value and range.
COMPACT_ROW_HEIGHT = 50
#: Average width (px) of a character of 11 px Arial: sizes the indicator column.
CHAR_PX = 5.9

#: Columns of the chart's data: nothing else is embedded in the page.
SPINE_FIELDS = (
    "order",
    "domain_label",
    "indicator",
    "period",
    "unit",
    "role",
    "area_name",
    "count_text",
    "value_text",
    "comparator_text",
    "worst_text",
    "best_text",
    "significance",
    "lower_95",
    "upper_95",
    "x_worst",
    "x_q_left",
    "x_q_right",
    "x_best",
    "x_value",
    "p25",
    "p75",
)

#: Text columns beside the spine (field, title, width px): the indicator's is sized from
#: its names.  Count, worst and best are in the profile table under the chart.
_TABLE = (("value_text", "Value", 58), ("comparator_text", "Comparator", 74))

_NAME = "datum.indicator + (datum.unit ? ' (' + datum.unit + ')' : '')"


def _names(data: pd.DataFrame) -> list[str]:
    """Each indicator's name with its unit, as the chart shows it (:data:`_NAME`)."""
    area = data[data["role"] == "area"]
    return [
        f"{i} ({u})" if isinstance(u, str) and u else str(i)
        for i, u in zip(area["indicator"], area["unit"])
    ]


def _wrap_width(data: pd.DataFrame, least: int) -> int:
    """Characters a line so that every indicator name takes at most two lines."""
    return max([least] + [max(len(line) for line in wrap(n, least, lines=2)) for n in _names(data)])


# The charts are built from Vega-Lite fragments (plain dicts, made afresh for every chart)
# passed to one constructor per chart: Altair's chaining (``+``, ``.encode``, ``.properties``)
# copies and re-validates the whole tree at each step, which made a spine cost half a second.
# ``test_spine_specs_match_the_chained_altair_reference`` keeps the spec equal to the chained
# construction.

_AREA = "(datum.role === 'area')"
_MARKER = "(datum.role === 'marker')"
_PEER = "(datum.role === 'peer')"


def _filter(expr: str) -> dict:
    return {"filter": expr}


def _calc(name: str, expr: str) -> dict:
    return {"calculate": expr, "as": name}


def _mark(kind: str, **props) -> dict:
    """A mark definition (its properties in Altair's alphabetical order)."""
    return {"type": kind, **dict(sorted(props.items()))}


def _title(text: str, anchor: str, **props) -> dict:
    return {"text": text, "anchor": anchor, "font": FONT, **props}


def _nominal(field: str) -> dict:
    return {"field": field, "type": "nominal"}


def _y(order: list) -> dict:
    """The wide spine's row channel: ``order`` ascending, one band per indicator."""
    return {
        "axis": None,
        "field": "order",
        "scale": {"domain": list(order)},
        "sort": "ascending",
        "type": "ordinal",
    }


def _q(field: str, domain: list, **scale) -> dict:
    """A quantitative position channel without axis on a fixed ``domain``."""
    return {
        "axis": None,
        "field": field,
        "scale": {"domain": list(domain), "nice": False, **scale},
        "type": "quantitative",
    }


def _unit(data, mark: dict, encoding: dict, transform: list, **props) -> alt.Chart:
    """One view; ``encoding`` given as Vega-Lite channel definitions."""
    return alt.Chart(
        data=data, mark=mark, encoding=alt.FacetedEncoding(**encoding), transform=transform, **props
    )


def _text_column(
    named: alt.NamedData, order: list, field: str, title: str, width: int
) -> alt.Chart:
    """One column of the table beside the spine (area rows only)."""
    return _unit(
        named,
        _mark("text", align="left", baseline="middle", font=FONT, fontSize=11, color=INK),
        {"text": _nominal(field), "x": {"value": 0}, "y": _y(order)},
        [_filter(_AREA)],
        width=width,
        height=ROW_HEIGHT * len(order),
        title=_title(title, "start", fontSize=11),
    )


def _name_column(named: alt.NamedData, order: list, chars: int) -> alt.Chart:
    """The indicator (with its unit), wrapped onto at most two lines, never cut."""
    return _unit(
        named,
        _mark(
            "text",
            align="left",
            baseline="middle",
            font=FONT,
            fontSize=11,
            lineHeight=12,
            color=INK,
        ),
        {"text": _nominal("name_lines"), "x": {"value": 0}, "y": _y(order)},
        [_filter(_AREA), _calc("name_lines", wrap_expr(chars, _NAME))],
        width=int(chars * CHAR_PX) + 6,
        height=ROW_HEIGHT * len(order),
        title=_title("Indicator", "start", fontSize=11),
    )


#: The spine's tooltip: (field, title, number format or "").
_TIPS = (
    ("indicator:N", "Indicator", ""),
    ("area_name:N", "Area", ""),
    ("period:N", "Period", ""),
    ("value_text:N", "Value", ""),
    ("unit:N", "Unit", ""),
    ("lower_95:Q", "Lower 95% CI", ",.1f"),
    ("upper_95:Q", "Upper 95% CI", ",.1f"),
    ("count_text:N", "Count", ""),
    ("comparator_text:N", "Comparator", ""),
    ("worst_text:N", "Worst", ""),
    ("best_text:N", "Best", ""),
    ("p25:Q", "25th percentile", ",.1f"),
    ("p75:Q", "75th percentile", ",.1f"),
    ("significance:N", "Significance", ""),
)

_TYPES = {"N": "nominal", "Q": "quantitative"}


def _named(data: pd.DataFrame) -> tuple[alt.NamedData, dict[str, list]]:
    """``data`` as one Vega-Lite dataset named by its content, for every layer of a spine to
    look up (``alt.NamedData``) and the chart to carry once (``datasets``): Altair would
    otherwise convert and hash the same table for each of the chart's twenty layers.  The
    wide spine and its compact alternative share the name, so a page embeds the data once."""
    text = data.to_json(orient="records", double_precision=15)
    name = "spine-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return alt.NamedData(name=name), {name: json.loads(text)}


def _tooltip() -> list[dict]:
    out = []
    for shorthand, title, fmt in _TIPS:
        field, kind = shorthand.split(":")
        tip = {"field": field, "format": fmt} if fmt else {"field": field}
        out.append({**tip, "title": title, "type": _TYPES[kind]})
    return out


def _colour(data: pd.DataFrame, palette: str) -> dict:
    present = tuple(data["significance"].dropna().unique())
    return {
        "field": "significance",
        "legend": {
            "columns": 3,
            "direction": "horizontal",
            "orient": "bottom",
            "title": "Compared with comparator",
        },
        "scale": significance_scale(palette, present).to_dict(validate=False),
        "type": "nominal",
    }


def spine(
    data: pd.DataFrame, *, palette: str = "standard", title: str | None = None, width: int = 360
) -> alt.HConcatChart:
    """A spine chart: indicator (with its unit, wrapped onto at most two lines), value and
    comparator, then the spine, one row per indicator; count, worst and best are in the
    profile table (and the tooltip).  On a narrow column the page draws :func:`compact_spine`
    instead (:mod:`nhsbook.charts.layout`); on a wide one the spine takes the width the text
    columns leave.

    ``data`` is :func:`nhsbook.analysis.spine.spine_data` output.  Colour encodes significance against
    the comparator with ``palette`` ("standard" national colours or "colourblind"); the
    tooltip carries value, 95% limits, count (``Supp.`` below 5), period, comparator, worst,
    best, the practices' 25th-75th percentiles and significance.
    """
    missing = [c for c in SPINE_FIELDS if c not in data.columns]
    if missing:
        raise ValueError(
            f"spine data lacks columns {missing}: use nhsbook.analysis.spine.spine_data"
        )
    data = data[list(SPINE_FIELDS)].copy()
    order = sorted(data["order"].unique().tolist())
    data["row"] = data["order"].map({o: i for i, o in enumerate(order)})
    height = ROW_HEIGHT * len(order)
    named, datasets = _named(data)
    x = [0, 1]

    def layer(role: str, mark: dict, **encoding) -> alt.Chart:
        return _unit(named, mark, {**encoding, "y": _y(order)}, [_filter(role)])

    bands = [
        layer(
            _AREA,
            _mark("bar", color=colour, height=ROW_HEIGHT - 14),
            x=_q(a, x),
            x2={"field": b},
        )
        for a, b, colour in (
            ("x_worst", "x_q_left", BAND_LIGHT),
            ("x_q_left", "x_q_right", BAND_DARK),
            ("x_q_right", "x_best", BAND_LIGHT),
        )
    ]
    centre = alt.Chart(
        data=pd.DataFrame({"x": [0.5]}),
        mark=_mark("rule", color=INK, strokeWidth=1.5),
        encoding=alt.FacetedEncoding(x=_q("x", x)),
    )
    markers = layer(
        _MARKER,
        _mark(
            "point",
            shape="diamond",
            size=70,
            filled=True,
            fill="#FFFFFF",
            stroke=INK,
            strokeWidth=1.2,
            opacity=1,
        ),
        tooltip=_tooltip(),
        x=_q("x_value", x),
    )
    # the similar-10 peer group (role "peer", when the data hold it): a black triangle; only
    # where the data hold a similar 10 (an empty mark group would be an unlabelled
    # graphics-symbol to screen readers)
    peers = (
        [
            layer(
                _PEER,
                _mark(
                    "point",
                    shape="triangle-down",
                    size=60,
                    filled=True,
                    fill=INK,
                    stroke=INK,
                    opacity=1,
                ),
                tooltip=_tooltip(),
                x=_q("x_value", x),
            )
        ]
        if (data["role"] == "peer").any()
        else []
    )
    dot = layer(
        _AREA,
        _mark(
            "point", shape="circle", size=110, filled=True, stroke=INK, strokeWidth=0.8, opacity=1
        ),
        color=_colour(data, palette),
        tooltip=_tooltip(),
        x=_q("x_value", x),
    )
    spine_layer = alt.LayerChart(
        layer=[*bands, centre, markers, *peers, dot],
        height=height,
        title=_title("Worst ← range of practices → Best", "middle", fontSize=11),
        width=width,
    )
    chars = _wrap_width(data, 34)
    columns = [_name_column(named, order, chars)] + [
        _text_column(named, order, f, t, w) for f, t, w in _TABLE
    ]
    area_rows = data.loc[data["role"] == "area"]
    counts = area_rows["significance"].value_counts()
    summary = ", ".join(f"{counts[s]} {s.lower()}" for s in counts.index)
    ranges = (
        bool(area_rows["show_range"].fillna(False).any()) if "show_range" in area_rows else True
    )
    peer_rows = data.loc[data["role"] == "peer"]
    description = (
        f"Spine chart of {len(area_rows)} indicators for {area_rows['area_name'].iloc[0]} "
        f"against the comparator ({summary}); "
        + (
            "grey bars show the range of practices, best on the right"
            if ranges
            else "best on the right"
        )
        + (
            "; the black triangle is its similar 10 (the mean or pooled value of the ten "
            "most similar areas)"
            if len(peer_rows)
            else ""
        )
        + "."
    )
    narrow = narrow_spec(_compact(data, named, datasets, palette, title), description)
    props = {"title": _title(title, "start")} if title else {}
    return alt.HConcatChart(
        hconcat=[*columns, spine_layer],
        spacing=6,
        resolve={"scale": {"color": "independent", "y": "shared"}},
        datasets=datasets,
        config={"view": {"stroke": None}, "concat": {"spacing": 6}},
        description=description,
        **props,
        usermeta=declare("hconcat", flex=len(columns), spacing=6, min=140, chrome=8, narrow=narrow),
    )


def compact_spine(
    data: pd.DataFrame, *, palette: str = "standard", title: str | None = None, width: int = 320
) -> alt.LayerChart:
    """The spine for a phone: one row per indicator, its name (with unit) on up to two
    lines, then its value and its marker on the range of practices (comparator the vertical
    line, best on the right).  ``data`` as for :func:`spine` (with its ``row`` index)."""
    if "row" not in data.columns:
        order = sorted(data["order"].unique().tolist())
        data = data.assign(row=data["order"].map({o: i for i, o in enumerate(order)}))
    return _compact(data, *_named(data), palette, title, width)


def _compact(
    data: pd.DataFrame,
    named: alt.NamedData,
    datasets: dict[str, list],
    palette: str,
    title: str | None,
    width: int = 320,
) -> alt.LayerChart:
    """:func:`compact_spine` of ``data`` (with its ``row``) already named (:func:`_named`):
    the wide spine shares its dataset."""
    n = int(data["row"].max()) + 1 if len(data) else 0
    left = -0.32  # the value's place, left of the range
    x = [left, 1]
    y = [n, 0]

    def xq(field: str) -> dict:
        return _q(field, x)

    def yq(field: str) -> dict:
        return _q(field, y, zero=False)

    def area(mark: dict, encoding: dict, *calculate: tuple[str, str], role: str = _AREA):
        return _unit(
            alt.Undefined,
            mark,
            encoding,
            [_filter(role)] + [_calc(name, e) for name, e in calculate],
        )

    chars = _wrap_width(data, 44)
    names = area(
        _mark(
            "text", align="left", baseline="top", font=FONT, fontSize=10.5, lineHeight=12, color=INK
        ),
        {"text": _nominal("name_lines"), "x": {"value": 0}, "y": yq("y_name")},
        ("name_lines", wrap_expr(chars, _NAME)),
        ("y_name", "datum.row + 0.06"),
    )
    top, bottom = "datum.row + 0.62", "datum.row + 0.9"
    bands = [
        area(
            _mark("rect", color=c),
            {"x": xq(a), "x2": {"field": b}, "y": yq("y0"), "y2": {"field": "y1"}},
            ("y0", top),
            ("y1", bottom),
        )
        for a, b, c in (
            ("x_worst", "x_q_left", BAND_LIGHT),
            ("x_q_left", "x_q_right", BAND_DARK),
            ("x_q_right", "x_best", BAND_LIGHT),
        )
    ]
    centre = area(
        _mark("rule", color=INK, strokeWidth=1.5),
        {"x": xq("xc"), "y": yq("y0"), "y2": {"field": "y1"}},
        ("y0", "datum.row + 0.56"),
        ("y1", "datum.row + 0.96"),
        ("xc", "0.5"),
    )
    mid = "datum.row + 0.76"
    value = area(
        _mark(
            "text",
            align="left",
            baseline="middle",
            font=FONT,
            fontSize=11,
            fontWeight="bold",
            color=INK,
        ),
        {"text": _nominal("value_text"), "x": xq("xv"), "y": yq("ym")},
        ("ym", mid),
        ("xv", str(left)),
    )
    markers = area(
        _mark(
            "point",
            shape="diamond",
            size=50,
            filled=True,
            fill="#FFFFFF",
            stroke=INK,
            strokeWidth=1.1,
            opacity=1,
        ),
        {"tooltip": _tooltip(), "x": xq("x_value"), "y": yq("ym")},
        ("ym", mid),
        role=_MARKER,
    )
    dot = area(
        _mark(
            "point", shape="circle", size=90, filled=True, stroke=INK, strokeWidth=0.8, opacity=1
        ),
        {
            "color": _colour(data, palette),
            "tooltip": _tooltip(),
            "x": xq("x_value"),
            "y": yq("ym"),
        },
        ("ym", mid),
    )
    return alt.LayerChart(
        data=named,
        layer=[names, *bands, centre, value, markers, dot],
        config={"view": {"stroke": None}},
        datasets=datasets,
        height=COMPACT_ROW_HEIGHT * n,
        title=_title(
            title or "Spine chart",
            "start",
            fontSize=13,
            subtitle=[
                "Value, then the area (circle) on the range of",
                "practices: worst left, best right; line: comparator",
            ],
            subtitleFontSize=11,
        ),
        usermeta=declare("x"),
        width=width,
    )
