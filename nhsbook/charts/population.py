"""Population charts: the age-sex pyramid against a comparator, and the projection."""

from __future__ import annotations

import altair as alt
import pandas as pd

from nhsbook.charts.layout import fit
from nhsbook.charts.theme import FONT, INK
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
    x = alt.X(
        "signed_percent:Q",
        title="% of population (males left, females right)",
        scale=alt.Scale(domain=[-top, top]),
        axis=alt.Axis(
            format=".1f",
            labelExpr="format(abs(datum.value), '.1f')",
            tickCount=5,
            labelOverlap=True,
        ),
    )
    y = alt.Y("age_band:O", sort=list(reversed(AGE_BANDS)), title="Age band")
    tip = [
        alt.Tooltip("name:N", title="Area"),
        alt.Tooltip("sex:N", title="Sex"),
        alt.Tooltip("age_band:N", title="Age"),
        alt.Tooltip("percent:Q", title="%", format=".2f"),
    ]
    base = alt.Chart(data)
    bars = (
        base.transform_filter(alt.datum.role == "area")
        .mark_bar(opacity=0.85)
        .encode(
            x=x,
            y=y,
            tooltip=tip,
            color=alt.Color(
                "sex:N",
                scale=alt.Scale(domain=list(SEX_COLOURS), range=list(SEX_COLOURS.values())),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
        )
    )
    layers = [bars]
    if (data["role"] == "comparator").any():
        name = data.loc[data["role"] == "comparator", "name"].iloc[0]
        comp = (
            base.transform_filter(alt.datum.role == "comparator")
            .mark_tick(color=INK, thickness=2, size=14)
            .encode(x=x, y=y, tooltip=tip)
        )
        layers.append(comp)
        subtitle = f"Bars: {data.loc[data['role'] == 'area', 'name'].iloc[0]}; black marks: {name}"
    else:
        subtitle = "No comparator population"
    area = data[data["role"] == "area"]
    older = area.loc[area["age_band"].isin(["75-79", "80-84", "85-89", "90+"]), "percent"].sum()
    return fit(
        alt.layer(*layers).properties(
            width=width,
            height=height,
            description=(
                f"Age-sex pyramid of {area['name'].iloc[0]}: percent of the population in "
                f"each five-year band by sex; {older:.1f}% are aged 75 and over. "
                f"{subtitle}."
            ),
            title=alt.TitleParams(
                "Age-sex structure", subtitle=subtitle, anchor="start", font=FONT
            ),
        )
    )


def projection(data: pd.DataFrame, *, width: int = 520, height: int = 260) -> alt.LayerChart:
    """Projected population indexed to the first year (= 100), all ages and 75+, with the
    population in the tooltip.  ``data`` is :func:`nhsbook.analysis.population.projection_long`."""
    need = ["year", "group", "population", "index"]  # a list: the page's bytes are stable
    if not set(need) <= set(data.columns):
        raise ValueError(f"projection data lacks {sorted(set(need) - set(data.columns))}")
    base = alt.Chart(data[need]).encode(
        x=alt.X("year:O", title="Year"),
        y=alt.Y(
            "index:Q",
            title="Population index (first year = 100)",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(tickCount=5),
        ),
        color=alt.Color(
            "group:N",
            title=None,
            legend=alt.Legend(orient="bottom"),
            scale=alt.Scale(domain=["All ages", "Aged 75+"], range=["#2A6EBB", "#C00000"]),
        ),
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("year:O", title="Year"),
            alt.Tooltip("population:Q", title="Population", format=","),
            alt.Tooltip("index:Q", title="Index", format=".1f"),
        ],
    )
    first, last = int(data["year"].min()), int(data["year"].max())
    end = data[data["year"] == last].set_index("group")["index"]
    return fit(
        alt.layer(base.mark_line(), base.mark_point(filled=True, size=60)).properties(
            width=width,
            height=height,
            description=(
                f"Projected population {first}-{last} indexed to {first} = 100: all ages "
                f"reach {end.get('All ages', float('nan')):.1f} and people aged 75 and "
                f"over {end.get('Aged 75+', float('nan')):.1f} by {last}."
            ),
            title=alt.TitleParams(
                "Population projection",
                subtitle=f"Indexed to {first} = 100",
                anchor="start",
                font=FONT,
            ),
        )
    )
