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

from nhsbook.charts.layout import fit, with_narrow, wrap, wrap_expr
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


def _y(data: pd.DataFrame) -> alt.Y:
    return alt.Y(
        "order:O",
        axis=None,
        sort="ascending",
        scale=alt.Scale(domain=sorted(data["order"].unique().tolist())),
    )


def _text_column(
    base: alt.Chart, data: pd.DataFrame, field: str, title: str, width: int
) -> alt.Chart:
    """One column of the table beside the spine (area rows only)."""
    return (
        base.transform_filter(alt.datum.role == "area")
        .mark_text(align="left", baseline="middle", font=FONT, fontSize=11, color=INK)
        .encode(y=_y(data), text=f"{field}:N", x=alt.value(0))
        .properties(
            width=width,
            height=ROW_HEIGHT * data["order"].nunique(),
            title=alt.TitleParams(title, anchor="start", fontSize=11, font=FONT),
        )
    )


def _name_column(base: alt.Chart, data: pd.DataFrame, chars: int) -> alt.Chart:
    """The indicator (with its unit), wrapped onto at most two lines, never cut."""
    return (
        base.transform_filter(alt.datum.role == "area")
        .transform_calculate(name_lines=wrap_expr(chars, _NAME))
        .mark_text(
            align="left", baseline="middle", font=FONT, fontSize=11, lineHeight=12, color=INK
        )
        .encode(y=_y(data), text="name_lines:N", x=alt.value(0))
        .properties(
            width=int(chars * CHAR_PX) + 6,
            height=ROW_HEIGHT * data["order"].nunique(),
            title=alt.TitleParams("Indicator", anchor="start", fontSize=11, font=FONT),
        )
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


def _named(data: pd.DataFrame) -> tuple[alt.NamedData, dict[str, list]]:
    """``data`` as one Vega-Lite dataset named by its content, for every layer of a spine to
    look up (``alt.NamedData``) and the chart to carry once (``datasets``): Altair would
    otherwise convert and hash the same table for each of the chart's twenty layers.  The
    wide spine and its compact alternative share the name, so a page embeds the data once."""
    text = data.to_json(orient="records", double_precision=15)
    name = "spine-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return alt.NamedData(name=name), {name: json.loads(text)}


def _tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip(f, title=t, format=fmt) if fmt else alt.Tooltip(f, title=t)
        for f, t, fmt in _TIPS
    ]


def _colour(data: pd.DataFrame, palette: str) -> alt.Color:
    present = tuple(data["significance"].dropna().unique())
    return alt.Color(
        "significance:N",
        scale=significance_scale(palette, present),
        legend=alt.Legend(
            title="Compared with comparator", orient="bottom", direction="horizontal", columns=3
        ),
    )


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
    height = ROW_HEIGHT * data["order"].nunique()
    named, datasets = _named(data)
    base = alt.Chart(named)
    y = _y(data)
    x = alt.Scale(domain=[0, 1], nice=False)
    area = base.transform_filter(alt.datum.role == "area")
    bands = [
        area.mark_bar(color=BAND_LIGHT, height=ROW_HEIGHT - 14).encode(
            x=alt.X("x_worst:Q", scale=x, axis=None), x2="x_q_left:Q", y=y
        ),
        area.mark_bar(color=BAND_DARK, height=ROW_HEIGHT - 14).encode(
            x=alt.X("x_q_left:Q", scale=x, axis=None), x2="x_q_right:Q", y=y
        ),
        area.mark_bar(color=BAND_LIGHT, height=ROW_HEIGHT - 14).encode(
            x=alt.X("x_q_right:Q", scale=x, axis=None), x2="x_best:Q", y=y
        ),
    ]
    centre = (
        alt.Chart(pd.DataFrame({"x": [0.5]}))
        .mark_rule(color=INK, strokeWidth=1.5)
        .encode(x=alt.X("x:Q", scale=x, axis=None))
    )
    tooltip = _tooltip()
    markers = (
        base.transform_filter(alt.datum.role == "marker")
        .mark_point(
            shape="diamond",
            size=70,
            filled=True,
            fill="#FFFFFF",
            stroke=INK,
            strokeWidth=1.2,
            opacity=1,
        )
        .encode(x=alt.X("x_value:Q", scale=x, axis=None), y=y, tooltip=tooltip)
    )
    # the similar-10 peer group (role "peer", when the data hold it): a black triangle
    peer = (
        base.transform_filter(alt.datum.role == "peer")
        .mark_point(shape="triangle-down", size=60, filled=True, fill=INK, stroke=INK, opacity=1)
        .encode(x=alt.X("x_value:Q", scale=x, axis=None), y=y, tooltip=tooltip)
    )
    dot = area.mark_point(
        shape="circle", size=110, filled=True, stroke=INK, strokeWidth=0.8, opacity=1
    ).encode(
        x=alt.X("x_value:Q", scale=x, axis=None), y=y, color=_colour(data, palette), tooltip=tooltip
    )
    # the peer layer only where the data hold a similar 10 (an empty mark group would be an
    # unlabelled graphics-symbol to screen readers)
    peers = [peer] if (data["role"] == "peer").any() else []
    spine_layer = alt.layer(*bands, centre, markers, *peers, dot).properties(
        width=width,
        height=height,
        title=alt.TitleParams(
            "Worst ← range of practices → Best", anchor="middle", fontSize=11, font=FONT
        ),
    )
    chars = _wrap_width(data, 34)
    columns = [_name_column(base, data, chars)] + [
        _text_column(base, data, f, t, w) for f, t, w in _TABLE
    ]
    chart = (
        alt.hconcat(*columns, spine_layer, spacing=6)
        .resolve_scale(y="shared", color="independent")
        .properties(datasets=datasets)
    )
    chart = chart.configure_view(stroke=None).configure_concat(spacing=6)
    area_rows = data.loc[data["role"] == "area"]
    counts = area_rows["significance"].value_counts()
    summary = ", ".join(f"{counts[s]} {s.lower()}" for s in counts.index)
    ranges = (
        bool(area_rows["show_range"].fillna(False).any()) if "show_range" in area_rows else True
    )
    peer_rows = data.loc[data["role"] == "peer"]
    chart = chart.properties(
        description=(
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
    )
    if title:
        chart = chart.properties(title=alt.TitleParams(title, anchor="start", font=FONT))
    chart = fit(chart, "hconcat", flex=len(columns), spacing=6, min=140, chrome=8)
    return with_narrow(chart, compact_spine(data, palette=palette, title=title))


def compact_spine(
    data: pd.DataFrame, *, palette: str = "standard", title: str | None = None, width: int = 320
) -> alt.LayerChart:
    """The spine for a phone: one row per indicator, its name (with unit) on up to two
    lines, then its value and its marker on the range of practices (comparator the vertical
    line, best on the right).  ``data`` as for :func:`spine` (with its ``row`` index)."""
    if "row" not in data.columns:
        order = sorted(data["order"].unique().tolist())
        data = data.assign(row=data["order"].map({o: i for i, o in enumerate(order)}))
    n = int(data["row"].max()) + 1 if len(data) else 0
    named, datasets = _named(data)
    base = alt.Chart(named)
    area = base.transform_filter(alt.datum.role == "area")
    left = -0.32  # the value's place, left of the range
    x = alt.Scale(domain=[left, 1], nice=False)
    y = alt.Scale(domain=[n, 0], nice=False, zero=False)

    def at(name: str, expr: str) -> alt.Chart:
        return area.transform_calculate(**{name: expr})

    def xq(field: str) -> alt.X:
        return alt.X(f"{field}:Q", scale=x, axis=None)

    def yq(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", scale=y, axis=None)

    chars = _wrap_width(data, 44)
    names = (
        area.transform_calculate(name_lines=wrap_expr(chars, _NAME), y_name="datum.row + 0.06")
        .mark_text(align="left", baseline="top", font=FONT, fontSize=10.5, lineHeight=12, color=INK)
        .encode(x=alt.value(0), y=yq("y_name"), text="name_lines:N")
    )
    top, bottom = "datum.row + 0.62", "datum.row + 0.9"
    bands = [
        area.transform_calculate(y0=top, y1=bottom)
        .mark_rect(color=c)
        .encode(x=xq(a), x2=f"{b}:Q", y=yq("y0"), y2="y1:Q")
        for a, b, c in (
            ("x_worst", "x_q_left", BAND_LIGHT),
            ("x_q_left", "x_q_right", BAND_DARK),
            ("x_q_right", "x_best", BAND_LIGHT),
        )
    ]
    centre = (
        area.transform_calculate(y0="datum.row + 0.56", y1="datum.row + 0.96", xc="0.5")
        .mark_rule(color=INK, strokeWidth=1.5)
        .encode(x=xq("xc"), y=yq("y0"), y2="y1:Q")
    )
    mid = "datum.row + 0.76"
    value = (
        area.transform_calculate(ym=mid, xv=str(left))
        .mark_text(
            align="left", baseline="middle", font=FONT, fontSize=11, fontWeight="bold", color=INK
        )
        .encode(x=xq("xv"), y=yq("ym"), text="value_text:N")
    )
    markers = (
        base.transform_filter(alt.datum.role == "marker")
        .transform_calculate(ym=mid)
        .mark_point(
            shape="diamond",
            size=50,
            filled=True,
            fill="#FFFFFF",
            stroke=INK,
            strokeWidth=1.1,
            opacity=1,
        )
        .encode(x=xq("x_value"), y=yq("ym"), tooltip=_tooltip())
    )
    dot = (
        at("ym", mid)
        .mark_point(shape="circle", size=90, filled=True, stroke=INK, strokeWidth=0.8, opacity=1)
        .encode(x=xq("x_value"), y=yq("ym"), color=_colour(data, palette), tooltip=_tooltip())
    )
    chart = alt.layer(names, *bands, centre, value, markers, dot).properties(
        datasets=datasets,
        width=width,
        height=COMPACT_ROW_HEIGHT * n,
        title=alt.TitleParams(
            title or "Spine chart",
            anchor="start",
            font=FONT,
            subtitle=[
                "Value, then the area (circle) on the range of",
                "practices: worst left, best right; line: comparator",
            ],
            fontSize=13,
            subtitleFontSize=11,
        ),
    )
    return fit(chart.configure_view(stroke=None), "x")
