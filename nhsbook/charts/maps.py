"""Choropleth maps: Altair ``mark_geoshape`` on real boundaries.

A map is a tidy table of areas (one row per area: code, name, the value shown, its rank and its
class label) and their shapes.  Classes and ranks are computed before
(:mod:`nhsbook.analysis.deprivation`), shapes made web-ready before (:func:`nhsbook.pipeline.geo.web_shapes`);
these functions only encode them.  Shapes are passed separately and joined by a Vega-Lite
``lookup``, so several maps of the same areas (small multiples) embed the geometry once.
"""

from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd
import shapely

from nhsbook.charts.layout import fit

__all__ = ["SharedShapes", "choropleth", "map_grid", "national_map", "shape_data"]

#: Tooltip spec: (column, title, format or "").
Tip = tuple[str, str, str]


def shape_data(shapes, key: str = "code", props: Sequence[str] = ()) -> alt.Data:
    """Inline GeoJSON features (geometry, the join key and ``props`` only), exterior rings
    clockwise.

    Vega (d3-geo) treats rings spherically: an anticlockwise exterior (RFC 7946) would fill the
    whole globe except the area, so orientation is enforced here whatever the input.
    """
    geoms = shapely.orient_polygons(
        np.asarray(shapes.geometry.values, dtype=object), exterior_cw=True
    )
    extra = shapes[list(props)].astype(str).to_dict("records") if props else [{}] * len(geoms)
    feats = [
        {"type": "Feature", "geometry": shapely.geometry.mapping(g), key: str(c), **p}
        for c, g, p in zip(shapes[key], geoms, extra)
    ]
    return alt.Data(values=feats)


class SharedShapes:
    """Shapes stored once at the top of a chart (Vega-Lite ``datasets``) and looked up by name
    from every map of a :func:`map_grid`: small multiples do not repeat the geometry."""

    def __init__(self, name: str, shapes, key: str = "code", props: Sequence[str] = ("name",)):
        self.name = name
        self.values = shape_data(shapes, key, props).values
        self.data = alt.NamedData(name=name)


def _tooltips(tooltip: Sequence[Tip], data: pd.DataFrame) -> list[alt.Tooltip]:
    out = []
    for field, title, fmt in tooltip:
        kind = (
            "nominal"
            if field.startswith("geo.") or not pd.api.types.is_numeric_dtype(data[field])
            else "quantitative"
        )
        out.append(
            alt.Tooltip(field, type=kind, title=title, format=fmt)
            if fmt
            else alt.Tooltip(field, type=kind, title=title)
        )
    return out


def choropleth(
    data: pd.DataFrame,
    shapes,
    *,
    classes,
    title: str = "",
    legend_title: str = "",
    key: str = "area_code",
    class_field: str = "map_class",
    tooltip: Sequence[Tip] = (("area_name", "Area", ""), ("area_code", "Code", "")),
    outline=None,
    width: int = 420,
    height: int = 360,
    shape_key: str = "code",
    stroke: str = "#ffffff",
    outline_stroke: str = "#222222",
    outline_width: float = 1.4,
    legend_orient: str = "bottom",
    legend_columns: int | None = None,
    polarity: str = "",
    places="auto",
) -> alt.LayerChart:
    """A choropleth of ``data`` drawn on ``shapes``.

    Parameters
        data: one row per area: the join ``key`` (default ``area_code``), ``class_field`` (the
            class label of each area, from ``classes.assigned``) and the tooltip columns.  Only
            these columns are embedded.
        shapes: GeoDataFrame of the areas (``shape_key`` column + geometry), web-ready; or an
            ``alt.Data`` from :func:`shape_data` to share between maps.
        classes: :class:`nhsbook.analysis.deprivation.MapClasses`; the legend lists its labels (with their
            limits) in order, with its colours.
        tooltip: (column, title, d3 format) triples: area name, code, value and rank; a column
            ``geo.<prop>`` is read from the shapes (e.g. ``geo.name`` with
            :class:`SharedShapes`, so small multiples do not repeat names).
        outline: optional GeoDataFrame (or ``alt.Data``) of parent areas drawn as dark
            outlines over the fill (e.g. localities over LSOAs).
        polarity: an indicator map's polarity (``high_is_good``, ``low_is_good`` or
            ``no_judgement``), said in the legend's title.
        places: GeoDataFrame (``name`` + geometry) of the places to name on the map, or
            "auto": the outline's parts when it has several (localities over LSOAs), else the
            filled areas when they are few (:data:`MAX_PLACES`: districts, localities); a
            single outline is the area itself, named in the title.  None: no names.
    Returns
        An ``alt.LayerChart`` (fill, outline, place names), Mercator projection fitted to
        the shapes.
    """
    cols = list(
        dict.fromkeys([key, class_field, *[t[0] for t in tooltip if not t[0].startswith("geo.")]])
    )
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(f"choropleth: data has no column(s) {missing}")
    table = data[cols].copy()
    tips = _tooltips(tooltip, table)
    legend_title = _with_polarity(legend_title, polarity)
    for c in table.columns:  # Vega-Lite wants JSON: no numpy NA scalars, no categoricals
        if pd.api.types.is_numeric_dtype(table[c]):
            table[c] = table[c].astype("float64").round(6)
        table[c] = table[c].astype(object).where(table[c].notna(), None)
    geo = (
        shapes.data
        if isinstance(shapes, SharedShapes)
        else shapes
        if isinstance(shapes, alt.Data)
        else shape_data(shapes, shape_key)
    )
    fill = (
        alt.Chart(alt.Data(values=table.to_dict("records")))
        .mark_geoshape(stroke=stroke, strokeWidth=0.4)
        .transform_lookup(lookup=key, from_=alt.LookupData(data=geo, key=shape_key), as_="geo")
        .encode(
            shape="geo:G",
            color=alt.Color(
                f"{class_field}:N",
                scale=alt.Scale(domain=classes.domain, range=classes.range),
                legend=alt.Legend(
                    title=legend_title or None,
                    orient=legend_orient,
                    direction=("vertical" if not legend_columns else alt.Undefined),
                    labelLimit=0,
                    titleLimit=0,
                    symbolType="square",
                    columns=legend_columns or alt.Undefined,
                ),
            ),
            tooltip=tips,
        )
    )
    layers = [fill]
    if outline is not None:
        odata = (
            outline.data
            if isinstance(outline, SharedShapes)
            else outline
            if isinstance(outline, alt.Data)
            else shape_data(outline, shape_key)
        )
        layers.append(
            alt.Chart(odata).mark_geoshape(
                filled=False, stroke=outline_stroke, strokeWidth=outline_width
            )
        )
    if isinstance(places, str) and places == "auto":
        places = _auto_places(shapes, outline)
    if places is not None and len(places):
        layers += place_names(places)
    chart = alt.layer(*layers).project(type="mercator").properties(width=width, height=height)
    chart = chart.properties(title=title) if title else chart
    # the page sizes the map from its column, keeping its shape (nhsbook.charts.layout)
    return fit(chart, "x", aspect=height / width, max=760)


#: Most areas a map names by itself (districts, localities; not LSOAs or practices).
MAX_PLACES = 12
#: Legend words of an indicator's polarity.
POLARITY_WORDS = {
    "high_is_good": "higher is better",
    "low_is_good": "lower is better",
    "no_judgement": "no judgement: higher is neither better nor worse",
}


def _with_polarity(title: str, polarity: str) -> str:
    words = POLARITY_WORDS.get(str(polarity or ""))
    return f"{title} ({words})" if words and title else (words or title)


def _auto_places(shapes, outline):
    """The places a map names when the page does not say (see :func:`choropleth`)."""
    for frame in (outline, shapes):
        if (
            isinstance(frame, pd.DataFrame)
            and "name" in frame.columns
            and hasattr(frame, "geometry")
        ):
            if frame is outline and len(frame) < 2:
                continue
            if 2 <= len(frame) <= MAX_PLACES:
                return frame
    return None


def place_names(places) -> list[alt.Chart]:
    """Names of ``places`` (GeoDataFrame with ``name``, longitude/latitude geometry) at a
    point inside each, dark on a white halo so they read on any fill."""
    points = places.geometry.representative_point()
    table = pd.DataFrame(
        {
            "name": places["name"].astype(str).values,
            "lon": points.x.round(5).values,
            "lat": points.y.round(5).values,
        }
    )
    base = alt.Chart(table).encode(longitude="lon:Q", latitude="lat:Q", text="name:N")
    halo = base.mark_text(
        fontSize=11,
        font="Arial, Helvetica, sans-serif",
        fontWeight="bold",
        stroke="#FFFFFF",
        strokeWidth=3,
        strokeOpacity=0.85,
        color="#FFFFFF",
    )
    ink = base.mark_text(
        fontSize=11, font="Arial, Helvetica, sans-serif", fontWeight="bold", color="#222222"
    )
    return [halo, ink]


def map_grid(
    charts: Sequence[alt.LayerChart], shapes: Sequence[SharedShapes] = (), columns: int = 2
) -> alt.ConcatChart:
    """Small multiples: maps side by side, each with its own colour scale and legend; the
    :class:`SharedShapes` the maps use are embedded once.  Two maps a row on a wide page,
    one on a phone (:mod:`nhsbook.charts.layout`), each keeping its shape."""
    w, h = (charts[0].width, charts[0].height) if charts else (420, 360)
    aspect = h / w if isinstance(w, (int, float)) and isinstance(h, (int, float)) else 360 / 420
    plain = []
    for c in charts:  # the grid sizes its maps: drop each map's own layout
        meta = dict(c.usermeta) if c.usermeta is not alt.Undefined else {}
        meta.pop("nhsbook", None)
        plain.append(c.properties(usermeta=meta) if meta else c.copy(deep=False))
        if not meta:
            plain[-1].usermeta = alt.Undefined
    columns = min(columns, 2)  # two maps a row at most: each big enough to read
    grid = alt.concat(*plain, columns=columns).resolve_scale(color="independent")
    if shapes:
        grid = grid.properties(datasets={s.name: s.values for s in shapes})
    return fit(grid, "grid", columns=columns, chrome=30, aspect=aspect)


def national_map(
    data: pd.DataFrame,
    shapes,
    *,
    classes,
    outline,
    title: str = "",
    subtitle: str = "",
    legend_title: str = "",
    description: str = "",
    tooltip: Sequence[Tip] = (
        ("geo.name", "Area", ""),
        ("area_code", "Code", ""),
        ("value", "Value", ".1f"),
        ("rank_text", "Rank (1 = highest)", ""),
    ),
    width: int = 340,
    height: int = 400,
) -> alt.LayerChart:
    """England's areas (e.g. the 106 sub-ICB locations) filled by class, with the book's area
    outlined in black on top.

    Parameters
        data: one row per area drawn: ``area_code``, ``map_class`` (from ``classes``) and the
            tooltip columns (value, rank, significance … computed before:
            :func:`nhsbook.pipeline.national.map_table`).
        shapes: the areas' web shapes (``code``, geometry; :func:`nhsbook.pipeline.national.shapes`),
            as a GeoDataFrame or a :class:`SharedShapes` (several maps of one page in a
            :func:`map_grid` then embed the geometry once).
        classes: :class:`nhsbook.analysis.deprivation.MapClasses` (mapclassify quantiles); the legend
            title should state the polarity (e.g. "no judgement").
        outline: GeoDataFrame (``code``, geometry) of the book's area, drawn with no fill,
            stroke #000000, width 2.2.  Empty -> KeyError (nothing could be outlined).
        subtitle, description: the area's rank in words (shown under the title; the
            description is the chart's text equivalent).
    Returns
        ``alt.LayerChart``: the fill layer, then the outline layer.
    """
    if outline is None or len(outline) == 0:
        raise KeyError("national_map: no shape of the area to outline")
    out = choropleth(
        data,
        shapes,
        classes=classes,
        legend_title=legend_title,
        tooltip=tooltip,
        width=width,
        height=height,
        stroke="#ffffff",
        outline=outline,
        outline_stroke="#000000",
        outline_width=2.2,
        legend_orient="bottom",
        legend_columns=3,
    )
    if title:
        out = out.properties(
            title=alt.TitleParams(title, subtitle=subtitle or alt.Undefined, anchor="start")
        )
    return out.properties(description=description) if description else out
