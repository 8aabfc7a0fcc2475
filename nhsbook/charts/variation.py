"""Practice-variation charts: funnel plots and the compare-areas bar chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

from nhsbook.charts.layout import declare, row_height, wrap_expr
from nhsbook.charts.theme import (
    FONT,
    INK,
    field,
    layered,
    lookup,
    select,
    significance_colours,
    tip,
    unit,
)

#: Funnel positions as the legend names them, with their colours: beyond the 99.8% limits
#: better or worse by the indicator's polarity, higher or lower (blues) for indicators with
#: no judgement (``../shared/docs/conventions.md``); the 95% limits are drawn but not
#: coloured.
FUNNEL_POSITIONS = {
    "above the 99.8% limit: worse": "#C00000",
    "below the 99.8% limit: worse": "#C00000",
    "above the 99.8% limit: better": "#4D9A1F",
    "below the 99.8% limit: better": "#4D9A1F",
    "above the 99.8% limit (higher)": "#7FA6F5",
    "below the 99.8% limit (lower)": "#3333B3",
    "within the 99.8% limits": "#8B8B8B",
}


def funnel_position(flag: object, polarity: object) -> str:
    """The legend's words for a practice's funnel flag (``High (0.001)`` …, from
    :func:`nhsbook.stats.funnel_significance`) on an indicator of ``polarity``."""
    flag = str(flag or "")
    if flag not in ("High (0.001)", "Low (0.001)"):
        return "within the 99.8% limits"
    high = flag.startswith("High")
    where = "above the 99.8% limit" if high else "below the 99.8% limit"
    if polarity == "low_is_good":
        return f"{where}: {'worse' if high else 'better'}"
    if polarity == "high_is_good":
        return f"{where}: {'better' if high else 'worse'}"
    return f"{where} ({'higher' if high else 'lower'})"


def funnel(
    data: pd.DataFrame,
    practices: pd.DataFrame,
    indicators: pd.DataFrame,
    *,
    highlight: str = "",
    columns: int = 2,
    width: int = 300,
    height: int = 200,
) -> alt.FacetChart:
    """Funnel plots, one panel per indicator (titled with its unit): practices as points
    (value against denominator, coloured by their position against the 99.8% limits: better
    or worse by the indicator's polarity, higher or lower in blues when it has none), the
    target (CCG value) as a line and the 95% (dashed) and 99.8% (solid) control limits.
    Two panels a row on a wide page, one on a phone (:mod:`nhsbook.charts.layout`).

    ``data`` is :func:`nhsbook.analysis.variation.funnel_frame` output and ``practices``/``indicators``
    the lookups of :func:`nhsbook.analysis.variation.funnel_labels`; ``highlight`` is a practice code
    drawn larger with a black outline (a practice's own page).
    """
    need = {"i", "k", "a", "c", "d", "v", "f", "l95", "u95", "l998", "u998"}
    if not need <= set(data.columns):
        raise ValueError(
            f"funnel data lacks {sorted(need - set(data.columns))}: use "
            "nhsbook.analysis.variation.funnel_frame"
        )
    pts = data[data["k"] == "p"]
    outside = int(pts["f"].isin(["High (0.001)", "Low (0.001)"]).sum())
    polarity = (
        dict(zip(indicators["indicator_id"], indicators["polarity"]))
        if "polarity" in indicators.columns
        else {}
    )
    data = data.assign(
        f=[
            funnel_position(f, polarity.get(i)) if k == "p" else None
            for f, i, k in zip(data["f"], data["i"], data["k"])
        ]
    )
    indicators = indicators.assign(
        panel=[
            f"{n} ({u})" if isinstance(u, str) and u else str(n)
            for n, u in zip(
                indicators["indicator"],
                indicators["unit"] if "unit" in indicators.columns else [""] * len(indicators),
            )
        ]
    )
    present = [p for p in FUNNEL_POSITIONS if p in set(data["f"].dropna())]
    lookups = [
        lookup("i", indicators, "indicator_id", ["indicator", "panel", "order", "target"]),
        lookup("a", practices, "area_code", ["area_name", "locality"]),
    ]
    x = field(
        "d:Q",
        title="Denominator (expected count for ratios)",
        scale={"zero": False, "nice": False},
        axis={"tickCount": 4, "labelOverlap": True, "format": "~s"},
    )
    y_title = "Value (unit: panel title)"
    limits = [{"filter": "(datum.k === 'l')"}]
    lines = [
        unit(
            "line",
            style={"color": INK, "strokeWidth": 1, "strokeDash": dash},
            transform=limits,
            x=x,
            y=field(
                f"{col}:Q",
                title=y_title,
                scale={"zero": False},
                axis={"tickCount": 5, "labelOverlap": True},
            ),
        )
        for col, dash in (("l95", [4, 3]), ("u95", [4, 3]), ("l998", []), ("u998", []))
    ]
    target = unit(
        "line",
        style={"color": "#2A6EBB", "strokeWidth": 1.5},
        transform=limits,
        x=x,
        y=field("target:Q"),
    )
    pts_layer = unit(
        "point",
        style={"filled": True, "opacity": 0.9},
        transform=[
            {"filter": "(datum.k === 'p')"},
            {"calculate": f"datum.a === {highlight!r}", "as": "highlight"},
        ],
        x=x,
        y=field("v:Q", title=y_title),
        color=field(
            "f:N",
            title="Against the CCG value",
            scale={"domain": present, "range": [FUNNEL_POSITIONS[p] for p in present]},
            legend={"orient": "bottom", "columns": 1, "labelLimit": 0},
        ),
        size={"condition": {"test": "datum.highlight", "value": 160}, "value": 40},
        stroke={"condition": {"test": "datum.highlight", "value": "#000000"}, "value": None},
        tooltip=[
            tip("area_name:N", "Practice"),
            tip("locality:N", "Locality"),
            tip("v:Q", "Value", ",.1f"),
            tip("c:N", "Count"),
            tip("d:Q", "Denominator", ",.0f"),
            tip("target:Q", "CCG value", ",.1f"),
            tip("f:N", "Position"),
        ],
    )
    return alt.FacetChart(
        data=data,
        transform=lookups,
        spec=alt.LayerChart(layer=[*lines, target, pts_layer], width=width, height=height),
        columns=columns,
        title={
            "text": "Funnel plots: practices against the CCG value",
            "anchor": "start",
            "font": FONT,
            "subtitle": "solid lines: 99.8% limits; dashed: 95%; blue line: the CCG value",
        },
        description=(
            f"Funnel plots of {len(indicators)} indicators for "
            f"{pts['a'].nunique()} practices: {outside} practice values lie outside "
            "the 99.8% control limits around the CCG value."
        ),
        usermeta=declare(
            "grid",
            usermeta={
                "csv_columns": {
                    "i": "indicator_id",
                    "k": "kind (p practice, l limit)",
                    "a": "practice_code",
                    "c": "count",
                    "d": "denominator",
                    "v": "value",
                    "f": "funnel_position",
                    "l95": "lower_95",
                    "u95": "upper_95",
                    "l998": "lower_998",
                    "u998": "upper_998",
                }
            },
            columns=columns,
            chrome=80,
            aspect=height / width,
        ),
        facet=field(
            "panel:N",
            title=None,
            sort={"field": "order"},
            header={
                "labelLimit": 0,
                "labelFontSize": 11,
                "labelFont": FONT,
                "labelExpr": wrap_expr(44),
            },
        ),
        resolve={"scale": {"x": "independent", "y": "independent"}},
    )


def compare_bars(
    data: pd.DataFrame, *, palette: str = "standard", width: int = 420
) -> alt.LayerChart:
    """Compare-areas bar chart with a drop-down to choose the indicator: one bar per area
    coloured by significance against its comparator, 95% confidence intervals as error bars
    and the comparator value as a vertical line.  ``data`` is
    :func:`nhsbook.analysis.variation.compare_areas` output."""
    need = {
        "indicator",
        "area_name",
        "value",
        "lower_95",
        "upper_95",
        "comparator_value",
        "significance",
        "highlight",
    }
    if not need <= set(data.columns):
        raise ValueError(f"compare data lacks {sorted(need - set(data.columns))}")
    indicators = list(dict.fromkeys(data["indicator"]))
    units = (
        data.drop_duplicates("indicator").set_index("indicator")["unit"]
        if "unit" in data.columns
        else pd.Series(dtype=str)
    )
    pick = select(
        "indicator_choice",
        indicators[0],
        indicators,
        "Indicator: ",
        [f"{i} ({units[i]})" if i in units and units[i] else i for i in indicators],
    )
    chosen = [{"filter": "(datum.indicator === indicator_choice)"}]
    n = max(data.groupby("indicator").size().max(), 1)
    y = field(
        "area_name:N",
        title=None,
        sort="-x",
        axis={"labelLimit": 0, "labelExpr": wrap_expr(30), "labelFont": FONT},
    )
    present = tuple(data["significance"].dropna().unique())
    bars = unit(
        "bar",
        transform=chosen,
        x=field(
            "value:Q",
            title="Value, in the unit of the chosen indicator",
            axis={"tickCount": 5, "labelOverlap": True},
        ),
        y=y,
        color=field(
            "significance:N",
            title="Compared with comparator",
            scale=significance_colours(palette, present),
            legend={"orient": "bottom"},
        ),
        stroke={"condition": {"test": "datum.highlight", "value": "#000000"}, "value": None},
        tooltip=[
            tip("area_name:N", "Area"),
            tip("value:Q", "Value", ",.1f"),
            tip("lower_95:Q", "Lower 95% CI", ",.1f"),
            tip("upper_95:Q", "Upper 95% CI", ",.1f"),
            tip("comparator_value:Q", "Comparator", ",.1f"),
            tip("significance:N", "Significance"),
        ],
    )
    errors = unit(
        "rule",
        style={"color": INK},
        transform=chosen,
        x=field("lower_95:Q"),
        x2=field("upper_95"),
        y=y,
    )
    comp = unit(
        "rule",
        style={"color": "#2A6EBB", "strokeWidth": 2, "strokeDash": [6, 3]},
        transform=chosen,
        x=field("mean(comparator_value):Q"),
    )
    return layered(
        data,
        [bars, errors, comp],
        params=[pick],
        width=width,
        height=max(row_height(data["area_name"], 30) * n, 120),
        description=(
            f"Compare areas: {data['area_name'].nunique()} areas on "
            f"{len(indicators)} indicators (choose one), bars coloured by "
            "significance against the comparator, with 95% confidence intervals."
        ),
        title={
            "text": "Compare areas",
            "subtitle": "95% confidence intervals; dashed line: comparator value",
            "anchor": "start",
            "font": FONT,
        },
        usermeta=declare("x"),
    )
