"""Trend chart: an indicator's value over time with 95% confidence intervals and the
comparator's value, one panel per indicator."""

from __future__ import annotations

import altair as alt
import pandas as pd

from nhsbook.charts.layout import declare, wrap_expr
from nhsbook.charts.theme import FONT, INK, field, tip, unit


def trend(
    data: pd.DataFrame, *, width: int = 300, height: int = 170, columns: int = 2
) -> alt.FacetChart:
    """``data``: one row per indicator and period with ``indicator``, ``period``, ``value``,
    ``lower_95``, ``upper_95``, ``comparator_value`` and ``trend`` (the recent-trend label of
    :func:`nhsbook.stats.recent_trend`, shown in the tooltip).  Suppressed rows must already
    be removed."""
    need = {"indicator", "period", "value", "lower_95", "upper_95", "comparator_value", "trend"}
    if not need <= set(data.columns):
        raise ValueError(f"trend data lacks {sorted(need - set(data.columns))}")
    x = field("period:O", title="Period", axis={"labelOverlap": True})
    tooltip = [
        tip("period:N", "Period"),
        tip("value:Q", "Value", ",.1f"),
        tip("lower_95:Q", "Lower 95% CI", ",.1f"),
        tip("upper_95:Q", "Upper 95% CI", ",.1f"),
        tip("comparator_value:Q", "Comparator", ",.1f"),
        tip("trend:N", "Recent trend"),
    ]
    units = "unit" in data.columns
    y_title = "Value (unit: panel title)" if units else "Value"
    if units:  # each panel titled with its indicator and unit
        data = data.assign(
            indicator=[
                f"{i} ({u})" if isinstance(u, str) and u else i
                for i, u in zip(data["indicator"], data["unit"])
            ]
        )
    layer = alt.LayerChart(
        layer=[
            unit(
                "rule",
                style={"color": INK},
                x=x,
                y=field("lower_95:Q", title=y_title, scale={"zero": False}, axis={"tickCount": 5}),
                y2=field("upper_95"),
            ),
            unit("line", style={"color": "#2A6EBB"}, x=x, y=field("value:Q")),
            unit(
                "point",
                style={"filled": True, "color": "#2A6EBB", "size": 50},
                x=x,
                y=field("value:Q"),
                tooltip=tooltip,
            ),
            unit(
                "line",
                style={"color": "#C00000", "strokeDash": [5, 3]},
                x=x,
                y=field("comparator_value:Q"),
            ),
        ],
        width=width,
        height=height,
    )
    labels = data.drop_duplicates("indicator")
    described = "; ".join(f"{i}: {t}" for i, t in zip(labels["indicator"], labels["trend"]))
    return alt.FacetChart(
        data=data[sorted(need)],
        spec=layer,
        columns=columns,
        title={"text": "Trends", "anchor": "start", "font": FONT},
        description=f"Trends with 95% confidence intervals. {described}.",
        facet=field(
            "indicator:N",
            title=None,
            header={"labelLimit": 0, "labelExpr": wrap_expr(44), "labelFont": FONT},
        ),
        resolve={"scale": {"y": "independent"}},
        usermeta=declare("grid", columns=columns, chrome=80, aspect=height / width),
    )
