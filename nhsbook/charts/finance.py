"""Finance and performance charts: waterfalls, variance bars, practice budgets against
forecast, spend trajectories and year-on-year change by tier.

Every money figure is in £'000 with thousands separators (:data:`nhsbook.analysis.finance.MONEY_FORMAT`
on axes and tooltips); the numbers come from :mod:`nhsbook.analysis.finance` and
:mod:`nhsbook.analysis.performance`, never computed here.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from nhsbook.charts.layout import declare, fit, wrap_expr
from nhsbook.charts.theme import FONT, INK, field, layered, tip, unit

MONEY_FORMAT = ",.0f"  # the same as nhsbook.analysis.finance.MONEY_FORMAT
UNIT = "£'000"
#: Bar colours: spending up (overspend / cost) and down (underspend / saving), totals.
UP, DOWN, TOTAL = "#C00000", "#2E7D32", "#5B6770"
CHANGE_COLOURS = {"Improved": "#2E7D32", "Unchanged": "#A0A0A0", "Declined": "#C00000"}


def _need(data: pd.DataFrame, columns: set[str], what: str) -> None:
    missing = columns - set(data.columns)
    if missing:
        raise ValueError(f"{what}: the data need columns {sorted(missing)}")


def waterfall(
    steps: pd.DataFrame,
    *,
    title: str,
    description: str,
    increase_is_good: bool = False,
    width: int = 560,
    height: int = 320,
) -> alt.LayerChart:
    """A waterfall from :func:`nhsbook.analysis.finance.waterfall_frame` rows (``order, step, kind,
    amount, start, end, running``): start and total bars from zero, each delta floating from
    the running total, coloured by direction, labelled with its amount in £'000.  An increase
    is red when it is spending (``increase_is_good`` False: budget to outturn) and green when
    it is money available (True: the plan bridge, where QIPP savings add to the balance)."""
    _need(steps, {"order", "step", "kind", "amount", "start", "end", "running"}, "waterfall")
    data = steps.assign(
        direction=[
            ("Total" if k != "delta" else "Increase" if a >= 0 else "Decrease")
            for k, a in zip(steps["kind"], steps["amount"])
        ],
        label=[
            f"{a:+,.0f}" if k == "delta" else f"{a:,.0f}"
            for k, a in zip(steps["kind"], steps["amount"])
        ],
    )
    order = list(data["step"])
    x = field(
        "step:N",
        sort=order,
        title=None,
        axis={"labelAngle": 0, "labelLimit": 0, "labelExpr": wrap_expr(12)},
    )
    # the axis starts near the smallest level the bridge reaches, not at £0, so that the
    # changes between budget and outturn are visible (the totals' bars are then cut: the
    # axis says where it starts)
    levels = pd.concat([steps["end"], steps.loc[steps["kind"] == "delta", "start"]]).astype(float)
    low, high = float(levels.min()), float(levels.max())
    pad = max((high - low) * 0.35, abs(high) * 0.002, 1.0)
    floor = max(0.0, low - pad) if low >= 0 else low - pad
    bars = unit(
        "bar",
        style={"clip": True},
        x=x,
        y=field(
            "start:Q",
            title=f"{UNIT} (axis starts at {floor:,.0f})",
            scale={"domain": [floor, high + pad * 0.4], "nice": False, "zero": False},
            axis={"format": MONEY_FORMAT, "tickCount": 5},
        ),
        y2=field("end"),
        color=field(
            "direction:N",
            title=None,
            scale={
                "domain": ["Increase", "Decrease", "Total"],
                "range": [DOWN, UP, TOTAL] if increase_is_good else [UP, DOWN, TOTAL],
            },
        ),
        tooltip=[
            tip("step:N", "Step"),
            tip("amount:Q", f"Amount ({UNIT})", MONEY_FORMAT),
            tip("running:Q", f"Running total ({UNIT})", MONEY_FORMAT),
        ],
    )
    labels = unit(
        "text",
        style={"dy": -6, "fontSize": 10, "color": INK},
        transform=[{"calculate": "max(datum.start, datum.end)", "as": "top"}],
        x=x,
        y=field("top:Q"),
        text=field("label:N"),
    )
    return layered(
        data,
        [bars, labels],
        width=width,
        height=height,
        title=title,
        description=description,
        usermeta=declare(
            "x",
            usermeta={
                "csv_columns": {
                    "step": "step",
                    "amount": f"amount ({UNIT})",
                    "running": f"running total ({UNIT})",
                }
            },
        ),
        config={"axis": {"labelFont": FONT, "titleFont": FONT}},
    )


def variance_bars(
    data: pd.DataFrame, *, title: str, description: str, width: int = 460
) -> alt.Chart:
    """Horizontal bars of variance by line (``line, measure, variance``): underspend to the
    right in green, overspend to the left in red; one row of bars per measure (e.g. to date
    and forecast)."""
    _need(data, {"line", "measure", "variance"}, "variance_bars")
    d = data.assign(direction=["Underspend" if v >= 0 else "Overspend" for v in data["variance"]])
    return fit(
        alt.Chart(d)
        .mark_bar()
        .encode(
            y=alt.Y(
                "line:N",
                sort=list(dict.fromkeys(d["line"])),
                title=None,
                axis=alt.Axis(labelLimit=0, labelExpr=wrap_expr(28)),
            ),
            x=alt.X(
                "variance:Q",
                title=f"Variance, budget − spend ({UNIT})",
                axis=alt.Axis(format=MONEY_FORMAT, tickCount=5, labelOverlap=True),
            ),
            yOffset=alt.YOffset("measure:N"),
            color=alt.Color(
                "direction:N",
                title=None,
                scale=alt.Scale(domain=["Underspend", "Overspend"], range=[DOWN, UP]),
                legend=alt.Legend(orient="bottom"),
            ),
            opacity=alt.Opacity(
                "measure:N",
                title="Measure",
                legend=alt.Legend(orient="bottom"),
                scale=alt.Scale(range=[1.0, 0.55]),
            ),
            tooltip=[
                alt.Tooltip("line:N", title="Line"),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("variance:Q", title=f"Variance ({UNIT})", format=MONEY_FORMAT),
                alt.Tooltip("direction:N", title="Direction"),
            ],
        )
        .properties(width=width, title=title, description=description),
        "x",
    )


def practice_budget_forecast(
    data: pd.DataFrame, *, title: str, description: str, width: int = 460
) -> alt.LayerChart:
    """Each practice's annual indicative budget (bar) and forecast outturn (tick), from
    :func:`nhsbook.analysis.finance.practice_summary` (``practice_name, annual_budget,
    forecast_outturn, forecast_variance``), the forecast coloured over / under budget."""
    _need(
        data,
        {"practice_name", "annual_budget", "forecast_outturn", "forecast_variance"},
        "practice_budget_forecast",
    )
    d = data.assign(
        direction=["Under budget" if v >= 0 else "Over budget" for v in data["forecast_variance"]]
    )
    order = list(d.sort_values("annual_budget", ascending=False)["practice_name"])
    tips = [
        tip("practice_name:N", "Practice"),
        tip("annual_budget:Q", f"Budget ({UNIT})", MONEY_FORMAT),
        tip("forecast_outturn:Q", f"Forecast outturn ({UNIT})", MONEY_FORMAT),
        tip("forecast_variance:Q", f"Forecast variance ({UNIT})", MONEY_FORMAT),
    ]
    y = field(
        "practice_name:N",
        sort=order,
        title=None,
        axis={"labelLimit": 0, "labelExpr": wrap_expr(30)},
    )
    bars = unit(
        "bar",
        style={"color": "#C9D6E3"},
        y=y,
        x=field(
            "annual_budget:Q",
            title=f"Budget and forecast outturn ({UNIT})",
            axis={"format": MONEY_FORMAT, "tickCount": 5, "labelOverlap": True},
        ),
        tooltip=tips,
    )
    ticks = unit(
        "tick",
        style={"thickness": 3, "size": 14},
        y=y,
        x=field("forecast_outturn:Q"),
        color=field(
            "direction:N",
            title="Forecast",
            scale={"domain": ["Under budget", "Over budget"], "range": [DOWN, UP]},
        ),
        tooltip=tips,
    )
    return layered(
        d,
        [bars, ticks],
        width=width,
        title=title,
        description=description,
        usermeta=declare("x"),
    )


def spend_trajectory(
    data: pd.DataFrame, *, title: str, description: str, width: int = 460, height: int = 260
) -> alt.LayerChart:
    """Cumulative budget, spend to date, forecast and reported outturn by month
    (:func:`nhsbook.analysis.finance.trajectory`: ``month, series, amount``)."""
    _need(data, {"month", "series", "amount"}, "spend_trajectory")
    x = field(
        "month:Q",
        title="Month of the financial year (April = 1)",
        scale={"domain": [0, 12]},
        axis={"tickCount": 6},
    )
    y = field("amount:Q", title=f"Cumulative {UNIT}", axis={"format": MONEY_FORMAT, "tickCount": 5})
    colour = field("series:N", title=None)
    tips = [
        tip("series:N", "Series"),
        tip("month:Q", "Month"),
        tip("amount:Q", f"Amount ({UNIT})", MONEY_FORMAT),
    ]
    points = data[data["series"].isin(["Spend to date", "Reported forecast outturn"])]
    lines = data[~data.index.isin(points.index)]
    line = unit(
        "line",
        data=lines,
        x=x,
        y=y,
        color=colour,
        strokeDash=field("series:N", legend=None),
        tooltip=tips,
    )
    dots = unit(
        "point",
        style={"filled": True, "size": 80},
        data=points,
        x=x,
        y=y,
        color=colour,
        shape=field("series:N", legend=None),
        tooltip=tips,
    )
    return layered(
        alt.Undefined,
        [line, dots],
        width=width,
        height=height,
        title=title,
        description=description,
        usermeta=declare("x"),
    )


def change_bars(data: pd.DataFrame, *, title: str, description: str, width: int = 360) -> alt.Chart:
    """Stacked bars of indicators improved / unchanged / declined by tier and organisation
    (:func:`nhsbook.analysis.performance.tier_counts_long`: ``tier, org_name, change,
    indicators``)."""
    _need(data, {"tier", "org_name", "change", "indicators"}, "change_bars")
    order = ["Improved", "Unchanged", "Declined"]
    return fit(
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("org_name:N", title=None, axis=alt.Axis(labelLimit=0, labelExpr=wrap_expr(28))),
            x=alt.X("indicators:Q", title="Comparable indicators", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "change:N",
                title="Year on year",
                scale=alt.Scale(domain=order, range=[CHANGE_COLOURS[c] for c in order]),
            ),
            order=alt.Order("change_order:Q"),
            row=alt.Row(
                "tier:N",
                title=None,
                header=alt.Header(
                    labelAngle=0, labelAlign="left", labelLimit=0, labelExpr=wrap_expr(18)
                ),
            ),
            tooltip=[
                alt.Tooltip("tier:N", title="Tier"),
                alt.Tooltip("org_name:N", title="PCT"),
                alt.Tooltip("change:N", title="Change"),
                alt.Tooltip("indicators:Q", title="Indicators"),
            ],
        )
        .transform_calculate(
            change_order="indexof(['Improved', 'Unchanged', 'Declined'], datum.change)"
        )
        .properties(width=width, title=title, description=description),
        "x",
    )
