"""Choropleth maps: Altair ``mark_geoshape`` on real boundaries.

A map is a tidy table of areas (one row per area: code, name, the value shown, its rank and its
class label) and their shapes.  Classes and ranks are computed before
(:mod:`nhsbook.analysis.deprivation`), shapes made web-ready before (:func:`nhsbook.pipeline.geo.web_shapes`);
these functions only encode them.  Shapes are passed separately and joined by a Vega-Lite
``lookup``, so several maps of the same areas (small multiples) embed the geometry once.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd
import shapely
from altair.utils.schemapi import debug_mode

from nhsbook.charts.layout import fit

__all__ = ["SharedShapes", "choropleth", "map_grid", "national_map", "shape_data"]

#: Tooltip spec: (column, title, format or "").
Tip = tuple[str, str, str]

# --------------------------------------------------------------------------- shapes as JSON
# A page draws the same shapes several times (the LSOAs of two maps, the practices of every
# indicator map) and the build draws many pages per process: each set of shapes is made
# GeoJSON once (:func:`_features_text`, keyed by the shapes' content) and embedded as
# :class:`_Rows`, which Altair neither copies nor walks coordinate by coordinate.

#: Sets of shapes kept as GeoJSON text (least recently used dropped first).
FEATURES_CACHE = 64
_features: OrderedDict[str, str] = OrderedDict()


def _features_key(shapes, key: str, props: Sequence[str]) -> str:
    h = hashlib.sha1()
    h.update(json.dumps([key, list(props)]).encode())
    h.update(json.dumps(shapes[key].astype(str).tolist()).encode())
    for p in props:
        h.update(json.dumps(shapes[p].astype(str).tolist()).encode())
    for wkb in shapely.to_wkb(np.asarray(shapes.geometry.values, dtype=object)):
        wkb = wkb or b""  # no geometry
        h.update(len(wkb).to_bytes(8, "little"))
        h.update(wkb)
    return h.hexdigest()


def _features_text(shapes, key: str = "code", props: Sequence[str] = ()) -> str:
    """The GeoJSON features of :func:`shape_data` as JSON text, made once per set of shapes
    (by content: codes, ``props`` and geometry) and process."""
    k = _features_key(shapes, key, props)
    text = _features.get(k)
    if text is None:
        geoms = shapely.orient_polygons(
            np.asarray(shapes.geometry.values, dtype=object), exterior_cw=True
        )
        extra = shapes[list(props)].astype(str).to_dict("records") if props else [{}] * len(geoms)
        feats = [
            {"type": "Feature", "geometry": shapely.geometry.mapping(g), key: str(c), **p}
            for c, g, p in zip(shapes[key], geoms, extra)
        ]
        text = json.dumps(feats)
        _features[k] = text
        while len(_features) > FEATURES_CACHE:
            _features.popitem(last=False)
    else:
        _features.move_to_end(k)
    return text


class _Rows(alt.InlineDataset):
    """Rows (GeoJSON features) embedded in a spec as they are.

    Altair deep-copies a chart's data each time a chart is layered, concatenated or
    copied, and walks every coordinate when it writes the spec; these rows are JSON text
    instead, shared by every copy (immutable) and parsed afresh by each :meth:`to_dict`, so
    every spec gets rows of its own (plain lists and dicts, as Altair would write them)."""

    _class_is_valid_at_instantiation = False

    def __init__(self, text: str):
        super().__init__(text)

    def to_dict(self, validate=True, *, ignore=None, context=None):
        return json.loads(self._args[0])

    def __deepcopy__(self, memo=None):
        return self


def _inline(values) -> alt.Data:
    """``alt.Data(values=values)``, not checked against the schema as it is made (the rows
    would be walked and checked once per map; the specs are checked by the tests)."""
    with debug_mode(False):
        return alt.Data(values=values)


def _encoding(**channels) -> alt.FacetedEncoding:
    """A layer's encoding, its channels written as Vega-Lite (plain dicts: no shorthand to
    parse, no channel objects to copy)."""
    with debug_mode(False):
        return alt.FacetedEncoding(**channels)


def shape_data(shapes, key: str = "code", props: Sequence[str] = ()) -> alt.Data:
    """Inline GeoJSON features (geometry, the join key and ``props`` only), exterior rings
    clockwise.

    Vega (d3-geo) treats rings spherically: an anticlockwise exterior (RFC 7946) would fill the
    whole globe except the area, so orientation is enforced here whatever the input.
    """
    return _inline(json.loads(_features_text(shapes, key, props)))


def _shape_rows(shapes, key: str = "code", props: Sequence[str] = ()) -> alt.Data:
    """:func:`shape_data` as :class:`_Rows` (the spec is the same)."""
    return _inline(_Rows(_features_text(shapes, key, props)))


class SharedShapes:
    """Shapes stored once at the top of a chart (Vega-Lite ``datasets``) and looked up by name
    from every map of a :func:`map_grid`: small multiples do not repeat the geometry."""

    def __init__(self, name: str, shapes, key: str = "code", props: Sequence[str] = ("name",)):
        self.name = name
        self.rows = _Rows(_features_text(shapes, key, props))
        self.data = alt.NamedData(name=name)

    @property
    def values(self) -> list[dict]:
        """The GeoJSON features (a fresh list each time)."""
        return self.rows.to_dict()


def _tooltips(tooltip: Sequence[Tip], data: pd.DataFrame) -> list[dict]:
    """Vega-Lite tooltip channels (plain dicts, as ``alt.Tooltip`` writes them)."""
    out = []
    for field, title, fmt in tooltip:
        kind = (
            "nominal"
            if field.startswith("geo.") or not pd.api.types.is_numeric_dtype(data[field])
            else "quantitative"
        )
        tip = {"field": field, "format": fmt, "title": title, "type": kind}
        if not fmt:
            del tip["format"]
        out.append(tip)
    return out


def _records(table: pd.DataFrame) -> list[dict]:
    """The rows of ``table`` as JSON records: numbers as floats rounded to 6 places, no NA
    scalars (None), no categoricals, no numpy scalars (as ``DataFrame.to_dict("records")``
    gives them)."""
    columns = []
    for c in table.columns:  # Vega-Lite wants JSON: no numpy NA scalars, no categoricals
        col = table[c]
        if pd.api.types.is_numeric_dtype(col):
            values = col.astype("float64").round(6).to_numpy().tolist()
            columns.append([None if v != v else v for v in values])
        else:
            na = col.isna().to_numpy()
            columns.append(
                [
                    None if gone else v.item() if isinstance(v, np.generic) else v
                    for v, gone in zip(col.astype(object).tolist(), na)
                ]
            )
    names = list(table.columns)
    return [dict(zip(names, row)) for row in zip(*columns)]


def _data_of(shapes, shape_key: str):
    """What a layer reads its shapes from: a :class:`SharedShapes`' name, an ``alt.Data`` as
    given, or a GeoDataFrame's features (:class:`_Rows`)."""
    if isinstance(shapes, SharedShapes):
        return shapes.data
    if isinstance(shapes, alt.Data):
        return shapes
    return _shape_rows(shapes, shape_key)


def _with_subcharts(chart, key: str, subcharts: list):
    """``chart`` (a ``LayerChart`` or ``ConcatChart`` built with no subcharts) holding
    ``subcharts`` under ``key``, combined as Altair's constructor combines them (data that
    every subchart shares moves up to ``chart``) but without its deep copies of every
    subchart.  The subcharts have no params, names or sizes of their own (the maps of this
    module): nothing else of the constructor applies."""
    first = subcharts[0].data if subcharts else alt.Undefined
    if (
        chart.data is alt.Undefined
        and first is not alt.Undefined
        and all(c.data is first for c in subcharts)
    ):
        chart.data = first
        subcharts = [_without_data(c) for c in subcharts]
    chart[key] = list(subcharts)
    return chart


def _without_data(chart):
    copy = _shallow(chart)
    copy.data = alt.Undefined
    return copy


def _shallow(chart):
    """A copy of ``chart`` sharing its parts (never changed in place): Altair's
    ``copy(deep=False)`` builds a layered chart again, copying its layers deeply."""
    kwds = {k: v for k, v in chart._kwds.items() if v is not alt.Undefined}
    if isinstance(chart, alt.LayerChart):
        layers = kwds.pop("layer", [])
        return _with_subcharts(alt.LayerChart(**kwds), "layer", layers)
    return chart.copy(deep=False)


def _plain_subchart(chart) -> bool:
    """A chart :func:`_with_subcharts` may combine: no params, name, or layer props."""

    def plain(c) -> bool:
        return all(
            c._kwds.get(k, alt.Undefined) is alt.Undefined
            for k in ("params", "name", "view", "width", "height")
        )

    if isinstance(chart, alt.LayerChart):
        return chart._kwds.get("params", alt.Undefined) is alt.Undefined and all(
            isinstance(c, alt.Chart) and plain(c) for c in chart.layer
        )
    return False


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
    return _choropleth(
        data,
        shapes,
        classes=classes,
        title=title,
        legend_title=legend_title,
        key=key,
        class_field=class_field,
        tooltip=tooltip,
        outline=outline,
        width=width,
        height=height,
        shape_key=shape_key,
        stroke=stroke,
        outline_stroke=outline_stroke,
        outline_width=outline_width,
        legend_orient=legend_orient,
        legend_columns=legend_columns,
        polarity=polarity,
        places=places,
    )


def _choropleth(
    data: pd.DataFrame,
    shapes,
    *,
    classes,
    title,
    legend_title,
    key: str,
    class_field: str,
    tooltip: Sequence[Tip],
    outline,
    width: int,
    height: int,
    shape_key: str,
    stroke: str,
    outline_stroke: str,
    outline_width: float,
    legend_orient: str,
    legend_columns: int | None,
    polarity: str,
    places,
    props: dict | None = None,
) -> alt.LayerChart:
    """:func:`choropleth`, with more properties of the whole chart (``props``: a title with
    a subtitle, a description).  The layers are built once, their encodings written as
    Vega-Lite (no shorthand to parse, no schema objects to copy) and the layered chart is
    made with all its properties at once."""
    cols = list(
        dict.fromkeys([key, class_field, *[t[0] for t in tooltip if not t[0].startswith("geo.")]])
    )
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(f"choropleth: data has no column(s) {missing}")
    table = data[cols]
    tips = _tooltips(tooltip, table)
    legend_title = _with_polarity(legend_title, polarity)
    legend = {
        "columns": legend_columns or alt.Undefined,
        "direction": "vertical" if not legend_columns else alt.Undefined,
        "labelLimit": 0,
        "orient": legend_orient,
        "symbolType": "square",
        "title": legend_title or None,
        "titleLimit": 0,
    }
    fill = alt.Chart(
        data=_inline(_records(table)),
        mark={"type": "geoshape", "stroke": stroke, "strokeWidth": 0.4},
        encoding=_encoding(
            color={
                "field": class_field,
                "legend": {k: v for k, v in legend.items() if v is not alt.Undefined},
                "scale": {"domain": classes.domain, "range": classes.range},
                "type": "nominal",
            },
            shape={"field": "geo", "type": "geojson"},
            tooltip=tips,
        ),
        transform=[
            {
                "lookup": key,
                "as": "geo",
                "from": {"data": _data_of(shapes, shape_key), "key": shape_key},
            }
        ],
    )
    layers = [fill]
    if outline is not None:
        layers.append(
            alt.Chart(
                data=_data_of(outline, shape_key),
                mark={
                    "type": "geoshape",
                    "filled": False,
                    "stroke": outline_stroke,
                    "strokeWidth": outline_width,
                },
            )
        )
    if isinstance(places, str) and places == "auto":
        places = _auto_places(shapes, outline)
    if places is not None and len(places):
        layers += place_names(places)
    top = {"projection": {"type": "mercator"}, "width": width, "height": height}
    if title:
        top["title"] = title
    top.update(props or {})
    # the page sizes the map from its column, keeping its shape (nhsbook.charts.layout)
    chart = fit(alt.LayerChart(**top), "x", aspect=height / width, max=760)
    return _with_subcharts(chart, "layer", layers)


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
    channels = {
        "latitude": {"field": "lat", "type": "quantitative"},
        "longitude": {"field": "lon", "type": "quantitative"},
        "text": {"field": "name", "type": "nominal"},
    }
    halo = alt.Chart(
        data=table,
        mark={
            "type": "text",
            "color": "#FFFFFF",
            "font": "Arial, Helvetica, sans-serif",
            "fontSize": 11,
            "fontWeight": "bold",
            "stroke": "#FFFFFF",
            "strokeOpacity": 0.85,
            "strokeWidth": 3,
        },
        encoding=_encoding(**channels),
    )
    ink = alt.Chart(
        data=table,
        mark={
            "type": "text",
            "color": "#222222",
            "font": "Arial, Helvetica, sans-serif",
            "fontSize": 11,
            "fontWeight": "bold",
        },
        encoding=_encoding(**channels),
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
    columns = min(columns, 2)  # two maps a row at most: each big enough to read
    if not all(_plain_subchart(c) for c in charts):  # not maps of this module: Altair's way
        return _map_grid_altair(charts, shapes, columns, aspect)
    plain = []
    for c in charts:  # the grid sizes its maps: drop each map's own layout
        meta = dict(c.usermeta) if c.usermeta is not alt.Undefined else {}
        meta.pop("nhsbook", None)
        copy = _shallow(c)
        copy.usermeta = meta or alt.Undefined
        plain.append(copy)
    top: dict = {"columns": columns, "resolve": {"scale": {"color": "independent"}}}
    if shapes:
        top["datasets"] = {s.name: s.rows for s in shapes}
    grid = fit(alt.ConcatChart(**top), "grid", columns=columns, chrome=30, aspect=aspect)
    return _with_subcharts(grid, "concat", plain)


def _map_grid_altair(charts, shapes, columns: int, aspect: float) -> alt.ConcatChart:
    plain = []
    for c in charts:
        meta = dict(c.usermeta) if c.usermeta is not alt.Undefined else {}
        meta.pop("nhsbook", None)
        plain.append(c.properties(usermeta=meta) if meta else c.copy(deep=False))
        if not meta:
            plain[-1].usermeta = alt.Undefined
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
    props: dict = {}
    if title:
        props["title"] = alt.TitleParams(title, subtitle=subtitle or alt.Undefined, anchor="start")
    if description:
        props["description"] = description
    return _choropleth(
        data,
        shapes,
        classes=classes,
        title="",
        legend_title=legend_title,
        key="area_code",
        class_field="map_class",
        tooltip=tooltip,
        width=width,
        height=height,
        shape_key="code",
        stroke="#ffffff",
        outline=outline,
        outline_stroke="#000000",
        outline_width=2.2,
        legend_orient="bottom",
        legend_columns=3,
        polarity="",
        places="auto",
        props=props,
    )
