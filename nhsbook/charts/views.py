"""Charts of the everyday views (data from :mod:`nhsbook.analysis.views`): the overview "tartan rug",
compare indicators, box plots and inequalities by deprivation quintile.

Compare areas and trends are :func:`nhsbook.charts.compare_bars` and
:func:`nhsbook.charts.trend`.  Sorting and choosing an indicator use Vega-Lite parameters
bound to drop-downs, which the local vega bundle draws with no network.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from nhsbook.charts.layout import fit, row_height, with_narrow, wrap_expr
from nhsbook.charts.theme import FONT, INK, significance_scale, text_on
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
) -> tuple[pd.DataFrame, list[str], alt.Parameter, alt.Chart]:
    """The chart's columns, its indicators, a drop-down parameter choosing one and the base
    chart filtered to the chosen indicator."""
    _need(data, need, what, source)
    data = data[sorted(need)]
    inds = list(dict.fromkeys(data["indicator"]))
    pick = alt.param(
        name=param,
        value=inds[0],
        bind=alt.binding_select(options=inds, labels=_with_units(data, inds), name="Indicator: "),
    )
    return data, inds, pick, alt.Chart(data).transform_filter(alt.datum.indicator == pick)


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


def _tips(*items: tuple[str, str]) -> list[alt.Tooltip]:
    """Tooltips from (``field:type``, title) pairs; numbers to one decimal."""
    return [
        alt.Tooltip(f, title=t, format=",.1f") if f.endswith(":Q") else alt.Tooltip(f, title=t)
        for f, t in items
    ]


def _choice(options: list[str], sort_keys: dict[str, str], param: str) -> str:
    """A Vega expression picking the sort-key field named by the drop-down ``param``."""
    expr = f"datum.{sort_keys[options[0]]}"
    for label in reversed(options[1:]):
        expr = f"({param} === {label!r} ? datum.{sort_keys[label]} : {expr})"
    return expr


def rug(
    data: pd.DataFrame, *, palette: str = "standard", title: str = "Overview", cell_width: int = 64
) -> alt.Chart:
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
    scale = significance_scale(palette, present)
    domain = list(scale.domain) + list(RUG_FIXED_FILLS)
    rng = list(scale.range) + list(RUG_FIXED_FILLS.values())
    rows = alt.param(
        name="sort_rows",
        value=list(RUG_ROW_SORTS)[0],
        bind=alt.binding_select(options=list(RUG_ROW_SORTS), name="Sort indicators: "),
    )
    cols = alt.param(
        name="sort_columns",
        value=list(RUG_COLUMN_SORTS)[0],
        bind=alt.binding_select(options=list(RUG_COLUMN_SORTS), name="Sort areas: "),
    )
    base = alt.Chart(data).transform_calculate(
        row_key=_choice(list(RUG_ROW_SORTS), RUG_ROW_SORTS, "sort_rows"),
        col_key=_choice(list(RUG_COLUMN_SORTS), RUG_COLUMN_SORTS, "sort_columns"),
        fill="datum.kind === 'area' ? datum.significance : datum.kind",
    )

    def x_axis(labels: bool) -> alt.X:
        return alt.X(
            "column:N",
            title=None,
            sort=alt.EncodingSortField("col_key", op="min"),
            axis=alt.Axis(
                orient="top",
                labelAngle=-40,
                labelLimit=0,
                labelFont=FONT,
                domain=False,
                ticks=False,
                labels=labels,
            ),
        )

    x = x_axis(True)
    y = alt.Y(
        "indicator:N",
        title=None,
        sort=alt.EncodingSortField("row_key", op="min"),
        axis=alt.Axis(
            labelLimit=0, labelExpr=wrap_expr(34), labelFont=FONT, domain=False, ticks=False
        ),
    )
    tip = _tips(
        ("indicator:N", "Indicator"),
        ("column:N", "Area"),
        ("label:N", "Value"),
        ("unit:N", "Unit"),
        ("significance:N", "Compared with comparator"),
        ("period:N", "Period"),
        ("domain:N", "Domain"),
    )
    cells = base.mark_rect(stroke="#FFFFFF", strokeWidth=1).encode(
        x=x,
        y=y,
        tooltip=tip,
        color=alt.Color(
            "fill:N",
            title="Compared with comparator",
            scale=alt.Scale(domain=domain, range=rng),
            legend=alt.Legend(
                orient="bottom", values=list(scale.domain), labelFont=FONT, titleFont=FONT
            ),
        ),
    )
    # each label black or white, whichever contrasts more with its cell's fill (WCAG 2)
    dark = [s for s, fill in colours.items() if text_on(fill) == "#FFFFFF"]
    text = base.mark_text(fontSize=10, font=FONT).encode(
        x=x,
        y=y,
        text="label:N",
        tooltip=tip,
        color=alt.condition(
            alt.FieldOneOfPredicate("significance", dark),
            alt.value("#FFFFFF"),
            alt.value("#000000"),
        ),
    )
    n_rows, n_cols = data["indicator"].nunique(), data["column"].nunique()
    row_px = row_height(data["indicator"].unique(), 34, least=20)
    areas = data.loc[data["kind"] == "area", "column"].nunique()
    comps = ", ".join(data.loc[data["kind"] == "comparator", "column"].unique())
    counts = data.loc[data["kind"] == "area", "significance"].value_counts()
    said = "; ".join(f"{counts[s]} {s.lower()}" for s in scale.domain if s in counts)

    def whole(*layers: alt.Chart, subtitle: str) -> alt.LayerChart:
        return fit(
            alt.layer(*layers)
            .add_params(rows, cols)
            .properties(
                width=cell_width * n_cols,
                height=row_px * n_rows,
                title=alt.TitleParams(title, subtitle=subtitle, anchor="start", font=FONT),
                description=(
                    f"Overview of {n_rows} indicators for {areas} areas against "
                    f"{comps or 'their comparator'}: {said}."
                ),
            )
        )

    wide = whole(
        cells,
        text,
        subtitle="Each cell: the value, coloured by significance "
        "against the comparator at 95%; choose the sort orders below.",
    )
    # a phone has no room for the values or the areas' names: colours only, areas in the
    # chosen order, each cell's area and value in its tooltip
    return with_narrow(
        wide,
        whole(
            cells.encode(x=x_axis(False)),
            subtitle=[
                "Each cell coloured by significance against",
                "the comparator at 95%; one column an area;",
                "tap a cell for its area and value.",
            ],
        ),
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
    points = pd.DataFrame(
        {
            "i": data["indicator_id"],
            "k": data["kind"].str[0],
            "a": data["area_code"],
            "x": data["x"],
            "y": data["y"],
            "o": data["own"].astype(bool),
        }
    )
    pick = alt.param(
        name="y_choice",
        value=inds["indicator_id"].iloc[0],
        bind=alt.binding_select(
            options=inds["indicator_id"].tolist(),
            labels=_with_units(inds, inds["indicator"].tolist()),
            name="Indicator (y): ",
        ),
    )
    x_name = str(data["x_indicator"].iloc[0])
    base = (
        alt.Chart(points)
        .transform_filter(alt.datum.i == pick)
        .transform_lookup(
            lookup="i",
            from_=alt.LookupData(
                inds[["indicator_id", "indicator", "unit", "fit_text"]],
                "indicator_id",
                ["indicator", "unit", "fit_text"],
            ),
        )
        .transform_lookup(lookup="a", from_=alt.LookupData(names, "area_code", ["area_name"]))
    )
    x = alt.X(
        "x:Q",
        title=f"{x_name} ({data['x_unit'].iloc[0]})",
        scale=alt.Scale(zero=False),
        axis=alt.Axis(titleLimit=0, tickCount=5, labelOverlap=True),
    )
    y = alt.Y(
        "y:Q",
        title="Chosen indicator (unit in the drop-down)",
        scale=alt.Scale(zero=False),
        axis=alt.Axis(tickCount=5),
    )
    # the legend offers "this area" only when some of its practices are drawn highlighted
    # (a CCG's page compares its own practices: nothing to tell apart, one colour)
    highlighted = bool(data.loc[data["kind"] == "point", "own"].astype(bool).any())
    colour = (
        alt.Color(
            "o:N",
            title="Practices",
            scale=alt.Scale(domain=[True, False], range=[HIGHLIGHT, "#8B8B8B"]),
            legend=alt.Legend(
                orient="bottom",
                labelLimit=320,
                labelExpr=("datum.value ? 'this area' : 'other practices of the comparison group'"),
            ),
        )
        if highlighted
        else alt.value("#8B8B8B")
    )
    dots = (
        base.transform_filter(alt.datum.k == "p")
        .mark_circle(size=60, opacity=0.85)
        .encode(
            x=x,
            y=y,
            color=colour,
            tooltip=[
                alt.Tooltip("area_name:N", title="Practice"),
                alt.Tooltip("x:Q", title=x_name, format=",.1f"),
                alt.Tooltip("indicator:N", title="Indicator"),
                alt.Tooltip("y:Q", title="Value", format=",.1f"),
                alt.Tooltip("unit:N", title="Unit"),
            ],
        )
    )
    line = (
        base.transform_filter(alt.datum.k == "f")
        .mark_line(color="#C00000", strokeDash=[6, 3])
        .encode(x=x, y=y)
    )
    label = (
        base.transform_filter(alt.datum.k == "p")
        .transform_aggregate(fit_text="min(fit_text)")
        .mark_text(align="left", baseline="top", font=FONT, fontSize=12, color=INK, dx=4, dy=4)
        .encode(x=alt.value(0), y=alt.value(0), text="fit_text:N")
    )
    said = f" {headline}" if headline else ""
    return fit(
        alt.layer(dots, line, label)
        .add_params(pick)
        .properties(
            width=width,
            height=height,
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
            title=alt.TitleParams(
                "Compare indicators",
                subtitle=(f"Each point a practice; x: {x_name}; dashed line: least squares fit"),
                anchor="start",
                font=FONT,
            ),
            description=(
                f"Scatter of {len(inds)} indicators against {x_name} across practices, "
                f"with Pearson's r and R².{said}"
            ),
        )
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
    data, inds, pick, base = _chosen(
        data, need, "box plot", "nhsbook.analysis.views.box_data", "box_choice"
    )
    x = alt.X("period:O", title="Period", axis=alt.Axis(labelAngle=0))
    tip = _tips(
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
    whisker = base.mark_rule(color=INK).encode(
        x=x,
        y=alt.Y(
            "lowest:Q",
            title="Chosen indicator (unit in the drop-down)",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(tickCount=5),
        ),
        y2="highest:Q",
        tooltip=tip,
    )
    box = base.mark_bar(size=34, color=BOX_FILL, stroke=INK).encode(
        x=x, y="q1:Q", y2="q3:Q", tooltip=tip
    )
    median = base.mark_tick(color="#FFFFFF", size=34, thickness=2).encode(
        x=x, y="median:Q", tooltip=tip
    )
    area = base.mark_point(shape="diamond", filled=True, size=110, color="#C00000").encode(
        x=x, y="area_value:Q", tooltip=tip
    )
    periods = data["period"].nunique()
    return fit(
        alt.layer(whisker, box, median, area)
        .add_params(pick)
        .properties(
            width=width,
            height=height,
            title=alt.TitleParams(
                "Distribution across practices",
                subtitle=(
                    "Whiskers: lowest to highest practice; box: 25th to 75th percentile; white line: "
                    f"median; red diamond: {data['area_name'].iloc[0]}"
                ),
                anchor="start",
                font=FONT,
            ),
            description=(
                f"Box plots of {len(inds)} indicators across practices over {periods} "
                f"period{'s' if periods != 1 else ''} (choose one), with "
                f"{data['area_name'].iloc[0]}'s value."
            ),
        )
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
    data, inds, pick, base = _chosen(
        data, need, "inequality", "nhsbook.analysis.views.inequality_data", "inequality_choice"
    )
    x = alt.X(
        "quintile_label:O",
        title="Practice deprivation quintile",
        sort=alt.EncodingSortField("quintile", op="min"),
        axis=alt.Axis(labelAngle=0),
    )
    present = tuple(data["significance"].dropna().unique())
    bars = base.mark_bar(size=46).encode(
        x=x,
        y=alt.Y(
            "value:Q", title="Chosen indicator (unit in the drop-down)", axis=alt.Axis(tickCount=5)
        ),
        color=alt.Color(
            "significance:N",
            title="Compared with the area's value",
            scale=significance_scale(palette, present),
            legend=alt.Legend(orient="bottom"),
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
    errors = base.mark_rule(color=INK).encode(x=x, y="lower_95:Q", y2="upper_95:Q")
    overall = base.mark_rule(color="#2A6EBB", strokeDash=[6, 3], strokeWidth=2).encode(
        y="mean(area_value):Q"
    )
    label = (
        base.transform_aggregate(sii_text="min(sii_text)")
        .mark_text(align="left", baseline="bottom", font=FONT, fontSize=12, color=INK, dy=-6)
        .encode(x=alt.value(0), y=alt.value(0), text="sii_text:N")
    )
    return fit(
        alt.layer(bars, errors, overall, label)
        .add_params(pick)
        .properties(
            width=width,
            height=height,
            title=alt.TitleParams(
                "Inequality by deprivation quintile",
                subtitle=(
                    "95% confidence intervals; dashed line: the area's value; SII: slope index of "
                    "inequality, least minus most deprived; RII: their ratio"
                ),
                anchor="start",
                font=FONT,
                offset=24,
            ),
            description=(
                f"Values of {len(inds)} indicators (choose one) by practice deprivation "
                "quintile, coloured by significance against the area's value, with the "
                "slope and relative indices of inequality."
            ),
        )
    )
