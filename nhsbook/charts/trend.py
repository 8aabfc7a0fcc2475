"""Trend chart: an indicator's value over time with 95% confidence intervals and the
comparator's value, one panel per indicator."""

from __future__ import annotations

import altair as alt
import pandas as pd

from nhsbook.charts.layout import fit, wrap_expr
from nhsbook.charts.theme import FONT, INK


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
    x = alt.X("period:O", title="Period", axis=alt.Axis(labelOverlap=True))
    tip = [
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("value:Q", title="Value", format=",.1f"),
        alt.Tooltip("lower_95:Q", title="Lower 95% CI", format=",.1f"),
        alt.Tooltip("upper_95:Q", title="Upper 95% CI", format=",.1f"),
        alt.Tooltip("comparator_value:Q", title="Comparator", format=",.1f"),
        alt.Tooltip("trend:N", title="Recent trend"),
    ]
    base = alt.Chart()
    units = "unit" in data.columns
    y_title = "Value (unit: panel title)" if units else "Value"
    if units:  # each panel titled with its indicator and unit
        data = data.assign(
            indicator=[
                f"{i} ({u})" if isinstance(u, str) and u else i
                for i, u in zip(data["indicator"], data["unit"])
            ]
        )
    layer = alt.layer(
        base.mark_rule(color=INK).encode(
            x=x,
            y=alt.Y(
                "lower_95:Q", title=y_title, scale=alt.Scale(zero=False), axis=alt.Axis(tickCount=5)
            ),
            y2="upper_95:Q",
        ),
        base.mark_line(color="#2A6EBB").encode(x=x, y="value:Q"),
        base.mark_point(filled=True, color="#2A6EBB", size=50).encode(
            x=x, y="value:Q", tooltip=tip
        ),
        base.mark_line(color="#C00000", strokeDash=[5, 3]).encode(x=x, y="comparator_value:Q"),
    ).properties(width=width, height=height)
    labels = data.drop_duplicates("indicator")
    described = "; ".join(f"{i}: {t}" for i, t in zip(labels["indicator"], labels["trend"]))
    return fit(
        alt.FacetChart(
            data=data[sorted(need)],
            spec=layer,
            columns=columns,
            title=alt.TitleParams("Trends", anchor="start", font=FONT),
            description=f"Trends with 95% confidence intervals. {described}.",
            facet=alt.Facet(
                "indicator:N",
                title=None,
                header=alt.Header(labelLimit=0, labelExpr=wrap_expr(44), labelFont=FONT),
            ),
        ).resolve_scale(y="independent"),
        "grid",
        columns=columns,
        chrome=80,
        aspect=height / width,
    )
