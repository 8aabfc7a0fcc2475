"""Charts of the everyday views (data from :mod:`nhsbook.analysis.views`): the overview "tartan rug",
compare indicators, box plots and inequalities by deprivation quintile.

Compare areas and trends are :func:`nhsbook.charts.compare_bars` and
:func:`nhsbook.charts.trend`.  Sorting and choosing an indicator use Vega-Lite parameters
bound to drop-downs, which the local vega bundle draws with no network.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
from altair.vegalite.v6.schema.core import VariableParameter

from nhsbook.charts.layout import declare, narrow_spec, row_height, wrap_expr
from nhsbook.charts.theme import (
    FONT,
    INK,
    field,
    layered,
    lookup,
    select,
    significance_colours,
    text_on,
    tip,
    unit,
)
from nhsbook.charts.theme import palette as palette_colours

#: Sort orders offered by the rug: drop-down label -> sort-key column of the data.
RUG_ROW_SORTS = {
    "Profile order": "ind_order",
    "Indicator name": "ind_name",
    "Most areas worse first": "ind_worse",
}
RUG_COLUMN_SORTS = {
    "Area name": "col_order",
    "Most indicators worse first": "col_worse",
    "Most indicators better first": "col_better",
}
#: Fills of the rug's non-area cells.
RUG_FIXED_FILLS = {"comparator": "#EDEDED", "period": "#FFFFFF"}
#: Fill of the boxes (the national profiles' box plots are drawn in a neutral blue).
BOX_FILL = "#A6C8E8"
HIGHLIGHT = "#2A6EBB"


def _need(data: pd.DataFrame, columns: set[str], what: str, source: str) -> None:
    missing = sorted(columns - set(data.columns))
    if missing:
        raise ValueError(f"{what} data lacks {missing}: use {source}")


def _chosen(
    data: pd.DataFrame, need: set[str], what: str, source: str, param: str
) -> tuple[pd.DataFrame, list[str], VariableParameter, dict]:
    """The chart's columns, its indicators, a drop-down parameter choosing one and the
    filter to the chosen indicator (every layer's first transform)."""
    _need(data, need, what, source)
    data = data[sorted(need)]
    inds = list(dict.fromkeys(data["indicator"]))
    pick = select(param, inds[0], inds, "Indicator: ", _with_units(data, inds))
    return data, inds, pick, {"filter": f"(datum.indicator === {param})"}


def _with_units(data: pd.DataFrame, inds: list[str]) -> list[str]:
    """Drop-down labels: each indicator with its unit (the charts' value axes name the
    drop-down for the unit)."""
    units = (
        data.drop_duplicates("indicator").set_index("indicator")["unit"]
        if "unit" in data.columns
        else pd.Series(dtype=str)
    )
    return [
        f"{i} ({units[i]})" if i in units and isinstance(units[i], str) and units[i] else str(i)
        for i in inds
    ]


def _tips(*items: tuple[str, str]) -> list[dict]:
    """Tooltips from (``field:type``, title) pairs; numbers to one decimal."""
    return [tip(f, t, ",.1f") if f.endswith(":Q") else tip(f, t) for f, t in items]


def _title(text: str, subtitle: str | list[str], **props: object) -> dict:
    """A chart's title, anchored left in the charts' font."""
    return {"text": text, "subtitle": subtitle, "anchor": "start", "font": FONT, **props}


def _choice(options: list[str], sort_keys: dict[str, str], param: str) -> str:
    """A Vega expression picking the sort-key field named by the drop-down ``param``."""
    expr = f"datum.{sort_keys[options[0]]}"
    for label in reversed(options[1:]):
        expr = f"({param} === {label!r} ? datum.{sort_keys[label]} : {expr})"
    return expr


def rug(
    data: pd.DataFrame, *, palette: str = "standard", title: str = "Overview", cell_width: int = 64
) -> alt.LayerChart:
    """The overview "tartan rug": one row per indicator, one column per area, each cell the
    area's value filled with its significance colour against the comparator (whose values
    are the grey column(s)), the period in the first column.  Two drop-downs sort the rows
    (profile order, name, most areas worse first) and the columns (name, most indicators
    worse or better first).  ``data`` is :func:`nhsbook.analysis.views.rug_data` output.
    """
    need = {
        "indicator",
        "domain",
        "period",
        "unit",
        "column",
        "kind",
        "label",
        "value",
        "significance",
        *RUG_ROW_SORTS.values(),
        *RUG_COLUMN_SORTS.values(),
    }
    _need(data, need, "rug", "nhsbook.analysis.views.rug_data")
    data = data[sorted(need)]
    colours = palette_colours(palette)
    present = tuple(s for s in data["significance"].unique() if s)
    scale = significance_colours(palette, present)
    params = [
        select("sort_rows", list(RUG_ROW_SORTS)[0], list(RUG_ROW_SORTS), "Sort indicators: "),
        select("sort_columns", list(RUG_COLUMN_SORTS)[0], list(RUG_COLUMN_SORTS), "Sort areas: "),
    ]
    keys = [
        {"calculate": _choice(list(RUG_ROW_SORTS), RUG_ROW_SORTS, "sort_rows"), "as": "row_key"},
        {
            "calculate": _choice(list(RUG_COLUMN_SORTS), RUG_COLUMN_SORTS, "sort_columns"),
            "as": "col_key",
        },
        {"calculate": "datum.kind === 'area' ? datum.significance : datum.kind", "as": "fill"},
    ]

    def x_axis(labels: bool) -> dict:
        return field(
            "column:N",
            title=None,
            sort={"field": "col_key", "op": "min"},
            axis={
                "orient": "top",
                "labelAngle": -40,
                "labelLimit": 0,
                "labelFont": FONT,
                "domain": False,
                "ticks": False,
                "labels": labels,
            },
        )

    y = field(
        "indicator:N",
        title=None,
        sort={"field": "row_key", "op": "min"},
        axis={
            "labelLimit": 0,
            "labelExpr": wrap_expr(34),
            "labelFont": FONT,
            "domain": False,
            "ticks": False,
        },
    )
    tooltip = _tips(
        ("indicator:N", "Indicator"),
        ("column:N", "Area"),
        ("label:N", "Value"),
        ("unit:N", "Unit"),
        ("significance:N", "Compared with comparator"),
        ("period:N", "Period"),
        ("domain:N", "Domain"),
    )
    colour = field(
        "fill:N",
        title="Compared with comparator",
        scale={
            "domain": scale["domain"] + list(RUG_FIXED_FILLS),
            "range": scale["range"] + list(RUG_FIXED_FILLS.values()),
        },
        legend={
            "orient": "bottom",
            "values": scale["domain"],
            "labelFont": FONT,
            "titleFont": FONT,
        },
    )

    def cells(labels: bool) -> alt.Chart:
        return unit(
            "rect",
            style={"stroke": "#FFFFFF", "strokeWidth": 1},
            transform=keys,
            x=x_axis(labels),
            y=y,
            tooltip=tooltip,
            color=colour,
        )

    # each label black or white, whichever contrasts more with its cell's fill (WCAG 2)
    dark = [s for s, fill in colours.items() if text_on(fill) == "#FFFFFF"]
    text = unit(
        "text",
        style={"fontSize": 10, "font": FONT},
        transform=keys,
        x=x_axis(True),
        y=y,
        text=field("label:N"),
        tooltip=tooltip,
        color={
            "condition": {"test": {"field": "significance", "oneOf": dark}, "value": "#FFFFFF"},
            "value": "#000000",
        },
    )
    n_rows, n_cols = data["indicator"].nunique(), data["column"].nunique()
    row_px = row_height(data["indicator"].unique(), 34, least=20)
    areas = data.loc[data["kind"] == "area", "column"].nunique()
    comps = ", ".join(data.loc[data["kind"] == "comparator", "column"].unique())
    counts = data.loc[data["kind"] == "area", "significance"].value_counts()
    said = "; ".join(f"{counts[s]} {s.lower()}" for s in scale["domain"] if s in counts)

    def whole(*layers: alt.Chart, subtitle: str | list[str], **layout) -> alt.LayerChart:
        return layered(
            data,
            layers,
            params=params,
            width=cell_width * n_cols,
            height=row_px * n_rows,
            title=_title(title, subtitle),
            description=(
                f"Overview of {n_rows} indicators for {areas} areas against "
                f"{comps or 'their comparator'}: {said}."
            ),
            usermeta=declare("x", **layout),
        )

    # a phone has no room for the values or the areas' names: colours only, areas in the
    # chosen order, each cell's area and value in its tooltip (the wide chart carries it,
    # as :func:`nhsbook.charts.layout.with_narrow` stores it)
    narrow = whole(
        cells(False),
        subtitle=[
            "Each cell coloured by significance against",
            "the comparator at 95%; one column an area;",
            "tap a cell for its area and value.",
        ],
    )
    return whole(
        cells(True),
        text,
        subtitle="Each cell: the value, coloured by significance "
        "against the comparator at 95%; choose the sort orders below.",
        narrow=narrow_spec(narrow),
    )


def scatter(
    data: pd.DataFrame, *, headline: str = "", width: int = 420, height: int = 300
) -> alt.LayerChart:
    """Compare indicators: one point per area (the page's own areas highlighted), the
    least-squares line and the correlation coefficient r and R² of the chosen pair; a
    drop-down chooses the y indicator.  ``data`` is :func:`nhsbook.analysis.views.scatter_data`
    output (r, R² and the line are computed there); ``headline`` ends the chart's text
    description (the page gives :func:`nhsbook.pages.messages.correlation_sentence`, which
    headlines a correlation only when it is statistically supported).

    The page embeds the points with short keys (``i`` indicator id, ``a`` area code, ``k``
    kind, ``o`` own) and looks names and the fit text up once per indicator, so that a
    chart of 50 indicators across 40 practices stays small.
    """
    need = {
        "kind",
        "area_code",
        "area_name",
        "x",
        "y",
        "own",
        "indicator_id",
        "indicator",
        "unit",
        "r",
        "r2",
        "n",
        "p",
        "fit_text",
        "x_indicator",
        "x_unit",
    }
    _need(data, need, "scatter", "nhsbook.analysis.views.scatter_data")
    inds = data.drop_duplicates("indicator_id")[
        ["indicator_id", "indicator", "unit", "fit_text", "r", "r2"]
    ]
    names = data.loc[data["kind"] == "point", ["area_code", "area_name"]].drop_duplicates()
    own = data["own"].astype(bool)
    points = pd.DataFrame(
        {
            "i": data["indicator_id"],
            "k": data["kind"].str[0],
            "a": data["area_code"],
            "x": data["x"],
            "y": data["y"],
            "o": own,
        }
    )
    pick = select(
        "y_choice",
        inds["indicator_id"].iloc[0],
        inds["indicator_id"].tolist(),
        "Indicator (y): ",
        _with_units(inds, inds["indicator"].tolist()),
    )
    x_name = str(data["x_indicator"].iloc[0])
    base = [
        {"filter": "(datum.i === y_choice)"},
        lookup(
            "i",
            inds[["indicator_id", "indicator", "unit", "fit_text"]],
            "indicator_id",
            ["indicator", "unit", "fit_text"],
        ),
        lookup("a", names, "area_code", ["area_name"]),
    ]
    practices, fitted = {"filter": "(datum.k === 'p')"}, {"filter": "(datum.k === 'f')"}
    x = field(
        "x:Q",
        title=f"{x_name} ({data['x_unit'].iloc[0]})",
        scale={"zero": False},
        axis={"titleLimit": 0, "tickCount": 5, "labelOverlap": True},
    )
    y = field(
        "y:Q",
        title="Chosen indicator (unit in the drop-down)",
        scale={"zero": False},
        axis={"tickCount": 5},
    )
    # the legend offers "this area" only when some of its practices are drawn highlighted
    # (a CCG's page compares its own practices: nothing to tell apart, one colour)
    highlighted = bool(own[data["kind"] == "point"].any())
    colour = (
        field(
            "o:N",
            title="Practices",
            scale={"domain": [True, False], "range": [HIGHLIGHT, "#8B8B8B"]},
            legend={
                "orient": "bottom",
                "labelLimit": 320,
                "labelExpr": "datum.value ? 'this area' : 'other practices of the comparison group'",
            },
        )
        if highlighted
        else {"value": "#8B8B8B"}
    )
    dots = unit(
        "circle",
        style={"size": 60, "opacity": 0.85},
        transform=[*base, practices],
        x=x,
        y=y,
        color=colour,
        tooltip=[
            tip("area_name:N", "Practice"),
            tip("x:Q", x_name, ",.1f"),
            tip("indicator:N", "Indicator"),
            tip("y:Q", "Value", ",.1f"),
            tip("unit:N", "Unit"),
        ],
    )
    line = unit(
        "line",
        style={"color": "#C00000", "strokeDash": [6, 3]},
        transform=[*base, fitted],
        x=x,
        y=y,
    )
    label = unit(
        "text",
        style={
            "align": "left",
            "baseline": "top",
            "font": FONT,
            "fontSize": 12,
            "color": INK,
            "dx": 4,
            "dy": 4,
        },
        transform=[
            *base,
            practices,
            {"aggregate": [{"op": "min", "field": "fit_text", "as": "fit_text"}]},
        ],
        x={"value": 0},
        y={"value": 0},
        text=field("fit_text:N"),
    )
    said = f" {headline}" if headline else ""
    return layered(
        points,
        [dots, line, label],
        params=[pick],
        width=width,
        height=height,
        usermeta=declare(
            "x",
            usermeta={
                "csv_columns": {
                    "i": "indicator_id",
                    "k": "kind (p practice, f fit)",
                    "a": "practice_code",
                    "x": x_name,
                    "y": "value",
                    "o": "in_this_area",
                }
            },
        ),
        title=_title(
            "Compare indicators",
            f"Each point a practice; x: {x_name}; dashed line: least squares fit",
        ),
        description=(
            f"Scatter of {len(inds)} indicators against {x_name} across practices, "
            f"with Pearson's r and R².{said}"
        ),
    )


def box_plot(data: pd.DataFrame, *, width: int = 420, height: int = 260) -> alt.LayerChart:
    """Box plots of an indicator's distribution across areas, one box per period (whiskers
    lowest to highest, box 25th to 75th percentile, white tick the median) with the page
    area's value as a diamond; a drop-down chooses the indicator.  ``data`` is
    :func:`nhsbook.analysis.views.box_data` output."""
    need = {
        "indicator",
        "unit",
        "period",
        "practices",
        "lowest",
        "q1",
        "median",
        "q3",
        "highest",
        "area_name",
        "area_value",
    }
    data, inds, pick, chosen = _chosen(
        data, need, "box plot", "nhsbook.analysis.views.box_data", "box_choice"
    )
    x = field("period:O", title="Period", axis={"labelAngle": 0})
    tooltip = _tips(
        ("period:N", "Period"),
        ("practices:N", "Practices with a value"),
        ("lowest:Q", "Lowest"),
        ("q1:Q", "25th percentile"),
        ("median:Q", "Median"),
        ("q3:Q", "75th percentile"),
        ("highest:Q", "Highest"),
        ("area_value:Q", "This area"),
        ("unit:N", "Unit"),
    )
    whisker = unit(
        "rule",
        style={"color": INK},
        transform=[chosen],
        x=x,
        y=field(
            "lowest:Q",
            title="Chosen indicator (unit in the drop-down)",
            scale={"zero": False},
            axis={"tickCount": 5},
        ),
        y2=field("highest"),
        tooltip=tooltip,
    )
    box = unit(
        "bar",
        style={"size": 34, "color": BOX_FILL, "stroke": INK},
        transform=[chosen],
        x=x,
        y=field("q1:Q"),
        y2=field("q3"),
        tooltip=tooltip,
    )
    median = unit(
        "tick",
        style={"color": "#FFFFFF", "size": 34, "thickness": 2},
        transform=[chosen],
        x=x,
        y=field("median:Q"),
        tooltip=tooltip,
    )
    area = unit(
        "point",
        style={"shape": "diamond", "filled": True, "size": 110, "color": "#C00000"},
        transform=[chosen],
        x=x,
        y=field("area_value:Q"),
        tooltip=tooltip,
    )
    periods = data["period"].nunique()
    name = data["area_name"].iloc[0]
    return layered(
        data,
        [whisker, box, median, area],
        params=[pick],
        width=width,
        height=height,
        title=_title(
            "Distribution across practices",
            "Whiskers: lowest to highest practice; box: 25th to 75th percentile; white line: "
            f"median; red diamond: {name}",
        ),
        description=(
            f"Box plots of {len(inds)} indicators across practices over {periods} "
            f"period{'s' if periods != 1 else ''} (choose one), with {name}'s value."
        ),
        usermeta=declare("x"),
    )


def inequality_bars(
    data: pd.DataFrame, *, palette: str = "standard", width: int = 420, height: int = 240
) -> alt.LayerChart:
    """An indicator by deprivation quintile: bars (quintile 1 most deprived on the left)
    coloured by significance against the area's overall value (dashed line), 95% error
    bars, and the slope and relative indices of inequality above; a drop-down chooses the
    indicator.  ``data`` is the first table of :func:`nhsbook.analysis.views.inequality_data`."""
    need = {
        "indicator",
        "unit",
        "quintile",
        "quintile_label",
        "practices",
        "value",
        "lower_95",
        "upper_95",
        "area_value",
        "significance",
        "sii_text",
    }
    data, inds, pick, chosen = _chosen(
        data, need, "inequality", "nhsbook.analysis.views.inequality_data", "inequality_choice"
    )
    x = field(
        "quintile_label:O",
        title="Practice deprivation quintile",
        sort={"field": "quintile", "op": "min"},
        axis={"labelAngle": 0},
    )
    present = tuple(data["significance"].dropna().unique())
    bars = unit(
        "bar",
        style={"size": 46},
        transform=[chosen],
        x=x,
        y=field("value:Q", title="Chosen indicator (unit in the drop-down)", axis={"tickCount": 5}),
        color=field(
            "significance:N",
            title="Compared with the area's value",
            scale=significance_colours(palette, present),
            legend={"orient": "bottom"},
        ),
        tooltip=_tips(
            ("quintile_label:N", "Quintile"),
            ("practices:N", "Practices"),
            ("value:Q", "Value"),
            ("lower_95:Q", "Lower 95% CI"),
            ("upper_95:Q", "Upper 95% CI"),
            ("area_value:Q", "Area value"),
            ("significance:N", "Significance"),
            ("unit:N", "Unit"),
        ),
    )
    errors = unit(
        "rule",
        style={"color": INK},
        transform=[chosen],
        x=x,
        y=field("lower_95:Q"),
        y2=field("upper_95"),
    )
    overall = unit(
        "rule",
        style={"color": "#2A6EBB", "strokeDash": [6, 3], "strokeWidth": 2},
        transform=[chosen],
        y=field("mean(area_value):Q"),
    )
    label = unit(
        "text",
        style={
            "align": "left",
            "baseline": "bottom",
            "font": FONT,
            "fontSize": 12,
            "color": INK,
            "dy": -6,
        },
        transform=[chosen, {"aggregate": [{"op": "min", "field": "sii_text", "as": "sii_text"}]}],
        x={"value": 0},
        y={"value": 0},
        text=field("sii_text:N"),
    )
    return layered(
        data,
        [bars, errors, overall, label],
        params=[pick],
        width=width,
        height=height,
        title=_title(
            "Inequality by deprivation quintile",
            "95% confidence intervals; dashed line: the area's value; SII: slope index of "
            "inequality, least minus most deprived; RII: their ratio",
            offset=24,
        ),
        description=(
            f"Values of {len(inds)} indicators (choose one) by practice deprivation "
            "quintile, coloured by significance against the area's value, with the "
            "slope and relative indices of inequality."
        ),
        usermeta=declare("x"),
    )
