"""The public-health spine chart of an area profile (data from :func:`nhsbook.spine.spine_data`).

Layout as the national profiles draw it: a table of indicator, period, count, value,
comparator value and worst, then the spine, then best.  On the spine the light grey bands run
from the worst to the 25th percentile and from the 75th percentile to the best practice, the
dark grey band from the 25th to the 75th; the comparator is the vertical line in the middle;
the area is a circle filled with its significance colour and marker areas (localities on a
CCG's chart) are open diamonds.  Best is always on the right.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from .theme import BAND_DARK, BAND_LIGHT, FONT, INK, significance_scale

ROW_HEIGHT = 20

#: Columns of the chart's data: nothing else is embedded in the page.
SPINE_FIELDS = (
    "order", "domain_label", "indicator", "period", "unit", "role", "area_name", "count_text",
    "value_text", "comparator_text", "worst_text", "best_text", "significance", "lower_95",
    "upper_95", "x_worst", "x_q_left", "x_q_right", "x_best", "x_value", "p25", "p75")

_TABLE = (("domain_label", "Domain", 150), ("indicator", "Indicator", 270), ("period", "Period", 55),
          ("count_text", "Count", 55), ("value_text", "Value", 55),
          ("comparator_text", "Comparator", 75), ("worst_text", "Worst", 50))


def _y(data: pd.DataFrame) -> alt.Y:
    return alt.Y("order:O", axis=None, sort="ascending",
                 scale=alt.Scale(domain=sorted(data["order"].unique().tolist())))


def _text_column(base: alt.Chart, data: pd.DataFrame, field: str, title: str,
                 width: int) -> alt.Chart:
    """One column of the table beside the spine (area rows only)."""
    return base.transform_filter(alt.datum.role == "area").mark_text(
        align="left", baseline="middle", font=FONT, fontSize=11, limit=width - 4,
        color=INK).encode(y=_y(data), text=f"{field}:N", x=alt.value(0)).properties(
        width=width, height=ROW_HEIGHT * data["order"].nunique(),
        title=alt.TitleParams(title, anchor="start", fontSize=11, font=FONT))


def spine(data: pd.DataFrame, *, palette: str = "standard", title: str | None = None,
          width: int = 260) -> alt.HConcatChart:
    """A spine chart: the table columns, the spine and the best column, one row per indicator.

    ``data`` is :func:`nhsbook.spine.spine_data` output.  Colour encodes significance against
    the comparator with ``palette`` ("standard" national colours or "colourblind"); the
    tooltip carries value, 95% limits, count (``Supp.`` below 5), period, comparator, the
    practices' 25th-75th percentiles and significance.
    """
    missing = [c for c in SPINE_FIELDS if c not in data.columns]
    if missing:
        raise ValueError(f"spine data lacks columns {missing}: use nhsbook.spine.spine_data")
    data = data[list(SPINE_FIELDS)].copy()
    height = ROW_HEIGHT * data["order"].nunique()
    base = alt.Chart(data)
    y = _y(data)
    x = alt.Scale(domain=[0, 1], nice=False)
    area = base.transform_filter(alt.datum.role == "area")
    bands = [
        area.mark_bar(color=BAND_LIGHT, height=ROW_HEIGHT - 6).encode(
            x=alt.X("x_worst:Q", scale=x, axis=None), x2="x_q_left:Q", y=y),
        area.mark_bar(color=BAND_DARK, height=ROW_HEIGHT - 6).encode(
            x=alt.X("x_q_left:Q", scale=x, axis=None), x2="x_q_right:Q", y=y),
        area.mark_bar(color=BAND_LIGHT, height=ROW_HEIGHT - 6).encode(
            x=alt.X("x_q_right:Q", scale=x, axis=None), x2="x_best:Q", y=y),
    ]
    centre = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(color=INK, strokeWidth=1.5).encode(
        x=alt.X("x:Q", scale=x, axis=None))
    tooltip = [
        alt.Tooltip("indicator:N", title="Indicator"),
        alt.Tooltip("area_name:N", title="Area"),
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("value_text:N", title="Value"),
        alt.Tooltip("lower_95:Q", title="Lower 95% CI", format=",.1f"),
        alt.Tooltip("upper_95:Q", title="Upper 95% CI", format=",.1f"),
        alt.Tooltip("count_text:N", title="Count"),
        alt.Tooltip("comparator_text:N", title="Comparator"),
        alt.Tooltip("p25:Q", title="25th percentile", format=",.1f"),
        alt.Tooltip("p75:Q", title="75th percentile", format=",.1f"),
        alt.Tooltip("significance:N", title="Significance"),
    ]
    present = tuple(data["significance"].dropna().unique())
    colour = alt.Color("significance:N", scale=significance_scale(palette, present),
                       legend=alt.Legend(title="Compared with comparator", orient="bottom",
                                         direction="horizontal"))
    markers = base.transform_filter(alt.datum.role == "marker").mark_point(
        shape="diamond", size=70, filled=True, fill="#FFFFFF", stroke=INK, strokeWidth=1.2,
        opacity=1).encode(x=alt.X("x_value:Q", scale=x, axis=None), y=y, tooltip=tooltip)
    # the similar-10 peer group (role "peer", when the data hold it): a black triangle
    peer = base.transform_filter(alt.datum.role == "peer").mark_point(
        shape="triangle-down", size=60, filled=True, fill=INK, stroke=INK, opacity=1).encode(
        x=alt.X("x_value:Q", scale=x, axis=None), y=y, tooltip=tooltip)
    dot = area.mark_point(shape="circle", size=110, filled=True, stroke=INK, strokeWidth=0.8,
                          opacity=1).encode(
        x=alt.X("x_value:Q", scale=x, axis=None), y=y, color=colour, tooltip=tooltip)
    spine_layer = alt.layer(*bands, centre, markers, peer, dot).properties(
        width=width, height=height,
        title=alt.TitleParams("Worst ← range of practices → Best", anchor="middle",
                              fontSize=11, font=FONT))
    columns = [_text_column(base, data, f, t, w) for f, t, w in _TABLE]
    best = _text_column(base, data, "best_text", "Best", 50)
    chart = alt.hconcat(*columns, spine_layer, best, spacing=4).resolve_scale(
        y="shared", color="independent")
    chart = chart.configure_view(stroke=None).configure_concat(spacing=4)
    area = data.loc[data["role"] == "area"]
    counts = area["significance"].value_counts()
    summary = ", ".join(f"{counts[s]} {s.lower()}" for s in counts.index)
    chart = chart.properties(description=(
        f"Spine chart of {len(area)} indicators for {area['area_name'].iloc[0]} against the "
        f"comparator ({summary}); grey bars show the range of practices, best on the right."))
    if title:
        chart = chart.properties(title=alt.TitleParams(title, anchor="start", font=FONT))
    return chart
