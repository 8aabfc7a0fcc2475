"""Practice-variation charts: funnel plots and the compare-areas bar chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

from nhsbook.charts.layout import fit, row_height, wrap_expr
from nhsbook.charts.theme import FONT, INK, significance_scale

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
    lookups = (
        alt.Chart(data)
        .transform_lookup(
            lookup="i",
            from_=alt.LookupData(
                indicators, "indicator_id", ["indicator", "panel", "order", "target"]
            ),
        )
        .transform_lookup(
            lookup="a", from_=alt.LookupData(practices, "area_code", ["area_name", "locality"])
        )
        .transform
    )
    x = alt.X(
        "d:Q",
        title="Denominator (expected count for ratios)",
        scale=alt.Scale(zero=False, nice=False),
        axis=alt.Axis(tickCount=4, labelOverlap=True, format="~s"),
    )
    y_title = "Value (unit: panel title)"
    limits = alt.Chart().transform_filter(alt.datum.k == "l")
    lines = [
        limits.mark_line(color=INK, strokeWidth=1, strokeDash=dash).encode(
            x=x,
            y=alt.Y(
                f"{col}:Q",
                title=y_title,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(tickCount=5, labelOverlap=True),
            ),
        )
        for col, dash in (("l95", [4, 3]), ("u95", [4, 3]), ("l998", []), ("u998", []))
    ]
    target = limits.mark_line(color="#2A6EBB", strokeWidth=1.5).encode(x=x, y="target:Q")
    pts_layer = (
        alt.Chart()
        .transform_filter(alt.datum.k == "p")
        .transform_calculate(highlight=f"datum.a === {highlight!r}")
        .mark_point(filled=True, opacity=0.9)
        .encode(
            x=x,
            y=alt.Y("v:Q", title=y_title),
            color=alt.Color(
                "f:N",
                title="Against the CCG value",
                scale=alt.Scale(domain=present, range=[FUNNEL_POSITIONS[p] for p in present]),
                legend=alt.Legend(orient="bottom", columns=1, labelLimit=0),
            ),
            size=alt.condition(alt.datum.highlight, alt.value(160), alt.value(40)),
            stroke=alt.condition(alt.datum.highlight, alt.value("#000000"), alt.value(None)),
            tooltip=[
                alt.Tooltip("area_name:N", title="Practice"),
                alt.Tooltip("locality:N", title="Locality"),
                alt.Tooltip("v:Q", title="Value", format=",.1f"),
                alt.Tooltip("c:N", title="Count"),
                alt.Tooltip("d:Q", title="Denominator", format=",.0f"),
                alt.Tooltip("target:Q", title="CCG value", format=",.1f"),
                alt.Tooltip("f:N", title="Position"),
            ],
        )
    )
    layer = alt.layer(*lines, target, pts_layer).properties(width=width, height=height)
    chart = alt.FacetChart(
        data=data,
        transform=lookups,
        spec=layer,
        columns=columns,
        title=alt.TitleParams(
            "Funnel plots: practices against the CCG value",
            anchor="start",
            font=FONT,
            subtitle="solid lines: 99.8% limits; dashed: 95%; blue line: the CCG value",
        ),
        description=(
            f"Funnel plots of {len(indicators)} indicators for "
            f"{pts['a'].nunique()} practices: {outside} practice values lie outside "
            "the 99.8% control limits around the CCG value."
        ),
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
        facet=alt.Facet(
            "panel:N",
            title=None,
            sort=alt.SortField("order"),
            header=alt.Header(
                labelLimit=0, labelFontSize=11, labelFont=FONT, labelExpr=wrap_expr(44)
            ),
        ),
    ).resolve_scale(x="independent", y="independent")
    return fit(chart, "grid", columns=columns, chrome=80, aspect=height / width)


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
    pick = alt.param(
        name="indicator_choice",
        value=indicators[0],
        bind=alt.binding_select(
            options=indicators,
            labels=[f"{i} ({units[i]})" if i in units and units[i] else i for i in indicators],
            name="Indicator: ",
        ),
    )
    base = alt.Chart(data).transform_filter(alt.datum.indicator == pick)
    n = max(data.groupby("indicator").size().max(), 1)
    y = alt.Y(
        "area_name:N",
        title=None,
        sort="-x",
        axis=alt.Axis(labelLimit=0, labelExpr=wrap_expr(30), labelFont=FONT),
    )
    present = tuple(data["significance"].dropna().unique())
    bars = base.mark_bar().encode(
        x=alt.X(
            "value:Q",
            title="Value, in the unit of the chosen indicator",
            axis=alt.Axis(tickCount=5, labelOverlap=True),
        ),
        y=y,
        color=alt.Color(
            "significance:N",
            title="Compared with comparator",
            scale=significance_scale(palette, present),
            legend=alt.Legend(orient="bottom"),
        ),
        stroke=alt.condition(alt.datum.highlight, alt.value("#000000"), alt.value(None)),
        tooltip=[
            alt.Tooltip("area_name:N", title="Area"),
            alt.Tooltip("value:Q", title="Value", format=",.1f"),
            alt.Tooltip("lower_95:Q", title="Lower 95% CI", format=",.1f"),
            alt.Tooltip("upper_95:Q", title="Upper 95% CI", format=",.1f"),
            alt.Tooltip("comparator_value:Q", title="Comparator", format=",.1f"),
            alt.Tooltip("significance:N", title="Significance"),
        ],
    )
    errors = base.mark_rule(color=INK).encode(x="lower_95:Q", x2="upper_95:Q", y=y)
    comp = base.mark_rule(color="#2A6EBB", strokeWidth=2, strokeDash=[6, 3]).encode(
        x="mean(comparator_value):Q"
    )
    return fit(
        alt.layer(bars, errors, comp)
        .add_params(pick)
        .properties(
            width=width,
            height=max(row_height(data["area_name"], 30) * n, 120),
            description=(
                f"Compare areas: {data['area_name'].nunique()} areas on "
                f"{len(indicators)} indicators (choose one), bars coloured by "
                "significance against the comparator, with 95% confidence intervals."
            ),
            title=alt.TitleParams(
                "Compare areas",
                subtitle="95% confidence intervals; dashed line: comparator value",
                anchor="start",
                font=FONT,
            ),
        )
    )
