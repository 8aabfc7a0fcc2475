"""Population charts: the age-sex pyramid against a comparator, and the projection."""

from __future__ import annotations

import altair as alt
import pandas as pd

from nhsbook.charts.layout import declare
from nhsbook.charts.theme import FONT, INK, field, layered, tip, unit
from nhsbook.core.model import AGE_BANDS

SEX_COLOURS = {"Male": "#2A6EBB", "Female": "#B8860B"}


def pyramid(data: pd.DataFrame, *, width: int = 520, height: int = 380) -> alt.LayerChart:
    """Age-sex pyramid, percent of the whole population in each band: the area as bars
    (males left, females right), the comparator as a black outline step.

    ``data`` is :func:`nhsbook.analysis.population.pyramid_data` output.
    """
    need = {"role", "name", "sex", "age_band", "percent", "signed_percent"}
    if not need <= set(data.columns):
        raise ValueError(f"pyramid data lacks {sorted(need - set(data.columns))}")
    data = data[["role", "name", "sex", "age_band", "percent", "signed_percent"]]
    top = float(data["percent"].max()) * 1.1
    x = field(
        "signed_percent:Q",
        title="% of population (males left, females right)",
        scale={"domain": [-top, top]},
        axis={
            "format": ".1f",
            "labelExpr": "format(abs(datum.value), '.1f')",
            "tickCount": 5,
            "labelOverlap": True,
        },
    )
    y = field("age_band:O", sort=list(reversed(AGE_BANDS)), title="Age band")
    tooltip = [
        tip("name:N", "Area"),
        tip("sex:N", "Sex"),
        tip("age_band:N", "Age"),
        tip("percent:Q", "%", ".2f"),
    ]
    bars = unit(
        "bar",
        style={"opacity": 0.85},
        transform=[{"filter": "(datum.role === 'area')"}],
        x=x,
        y=y,
        tooltip=tooltip,
        color=field(
            "sex:N",
            scale={"domain": list(SEX_COLOURS), "range": list(SEX_COLOURS.values())},
            legend={"title": None, "orient": "bottom"},
        ),
    )
    layers = [bars]
    if (data["role"] == "comparator").any():
        name = data.loc[data["role"] == "comparator", "name"].iloc[0]
        comp = unit(
            "tick",
            style={"color": INK, "thickness": 2, "size": 14},
            transform=[{"filter": "(datum.role === 'comparator')"}],
            x=x,
            y=y,
            tooltip=tooltip,
        )
        layers.append(comp)
        subtitle = f"Bars: {data.loc[data['role'] == 'area', 'name'].iloc[0]}; black marks: {name}"
    else:
        subtitle = "No comparator population"
    area = data[data["role"] == "area"]
    older = area.loc[area["age_band"].isin(["75-79", "80-84", "85-89", "90+"]), "percent"].sum()
    return layered(
        data,
        layers,
        width=width,
        height=height,
        description=(
            f"Age-sex pyramid of {area['name'].iloc[0]}: percent of the population in "
            f"each five-year band by sex; {older:.1f}% are aged 75 and over. "
            f"{subtitle}."
        ),
        title={"text": "Age-sex structure", "subtitle": subtitle, "anchor": "start", "font": FONT},
        usermeta=declare("x"),
    )


def projection(data: pd.DataFrame, *, width: int = 520, height: int = 260) -> alt.LayerChart:
    """Projected population indexed to the first year (= 100), all ages and 75+, with the
    population in the tooltip.  ``data`` is :func:`nhsbook.analysis.population.projection_long`."""
    need = ["year", "group", "population", "index"]  # a list: the page's bytes are stable
    if not set(need) <= set(data.columns):
        raise ValueError(f"projection data lacks {sorted(set(need) - set(data.columns))}")
    encoding = {
        "x": field("year:O", title="Year"),
        "y": field(
            "index:Q",
            title="Population index (first year = 100)",
            scale={"zero": False},
            axis={"tickCount": 5},
        ),
        "color": field(
            "group:N",
            title=None,
            legend={"orient": "bottom"},
            scale={"domain": ["All ages", "Aged 75+"], "range": ["#2A6EBB", "#C00000"]},
        ),
        "tooltip": [
            tip("group:N", "Group"),
            tip("year:O", "Year"),
            tip("population:Q", "Population", ","),
            tip("index:Q", "Index", ".1f"),
        ],
    }
    first, last = int(data["year"].min()), int(data["year"].max())
    end = data[data["year"] == last].set_index("group")["index"]
    return layered(
        data[need],
        [unit("line", **encoding), unit("point", style={"filled": True, "size": 60}, **encoding)],
        width=width,
        height=height,
        description=(
            f"Projected population {first}-{last} indexed to {first} = 100: all ages "
            f"reach {end.get('All ages', float('nan')):.1f} and people aged 75 and "
            f"over {end.get('Aged 75+', float('nan')):.1f} by {last}."
        ),
        title={
            "text": "Population projection",
            "subtitle": f"Indexed to {first} = 100",
            "anchor": "start",
            "font": FONT,
        },
        usermeta=declare("x"),
    )
