"""Choropleths: what the Vega-Lite spec embeds, and the maps notebook run per area."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nhsbook.analysis import deprivation as dep
from nhsbook.charts import SharedShapes, choropleth, map_grid
from nhsbook.pipeline import geo

CCG = "E38000115"


@pytest.fixture(scope="module", autouse=True)
def mirror(shared):
    mp = pytest.MonkeyPatch()
    mp.setenv("NHSBOOK_MIRROR", str(shared / "data"))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def ccg(default_book):
    return geo.resolve(CCG, default_book)


def _signed_area(ring: list) -> float:
    xy = np.asarray(ring)
    return 0.5 * float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))


def _features(spec: dict) -> list[dict]:
    out = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Feature":
                out.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return out


def test_lsoa_decile_map_spec(ccg):
    table, classes = geo.lsoa_map_table(ccg)
    chart = choropleth(
        table,
        ccg.lsoa_shapes(),
        classes=classes,
        outline=ccg.part_shapes("locality"),
        legend_title="decile",
        tooltip=[
            ("area_name", "LSOA", ""),
            ("area_code", "Code", ""),
            ("imd2019_decile", "Decile", ""),
            ("imd2019_rank", "Rank", ","),
        ],
    )
    spec = chart.to_dict()
    fill, line, halo, names = spec["layer"]
    assert fill["mark"]["type"] == "geoshape" and line["mark"]["filled"] is False
    # the localities are named on the map (a halo under dark text)
    assert halo["mark"]["type"] == names["mark"]["type"] == "text"
    named = names["data"].get("values") or spec["datasets"][names["data"]["name"]]
    assert sorted(v["name"] for v in named) == sorted(ccg.part_shapes("locality")["name"])
    assert fill["transform"][0]["lookup"] == "area_code"
    colour = fill["encoding"]["color"]
    assert colour["scale"]["domain"] == list(classes.labels)  # legend lists the class limits
    assert colour["scale"]["range"] == list(dep.DECILE_COLOURS)
    assert [t["field"] for t in fill["encoding"]["tooltip"]] == [
        "area_name",
        "area_code",
        "imd2019_decile",
        "imd2019_rank",
    ]
    rows = fill["data"]["values"]
    assert len(rows) == 175
    assert set(rows[0]) == {
        "area_code",
        "map_class",
        "area_name",
        "imd2019_decile",
        "imd2019_rank",
    }  # nothing else embedded
    for r in rows:  # every LSOA's class is its published national decile
        assert r["map_class"].startswith(f"{int(r['imd2019_decile'])} ")
    feats = _features(spec)
    assert len(feats) == 175 + 5
    for f in feats:  # clockwise exteriors: negative signed area in lon/lat
        polys = (
            f["geometry"]["coordinates"]
            if f["geometry"]["type"] == "MultiPolygon"
            else [f["geometry"]["coordinates"]]
        )
        for poly in polys:
            assert _signed_area(poly[0]) < 0
    size = len(json.dumps(spec, separators=(",", ":")))
    assert size < 350_000, f"LSOA map spec is {size:,} bytes"


def test_anticlockwise_input_is_oriented_for_vega():
    square = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])  # anticlockwise (RFC 7946)
    shapes = gpd.GeoDataFrame({"code": ["A"]}, geometry=[square], crs=geo.WGS84)
    data = pd.DataFrame({"area_code": ["A"], "area_name": ["a"], "map_class": ["x"]})
    classes = dep.MapClasses(("x",), ("#000000",), data["map_class"])
    spec = choropleth(data, shapes, classes=classes).to_dict()
    ring = _features(spec)[0]["geometry"]["coordinates"][0]
    assert _signed_area(ring) < 0


def test_indicator_maps_share_geometry_and_never_show_small_counts(ccg, computed):
    maps = geo.indicator_map_tables(ccg, computed)
    assert len(maps) == computed["metadata"]["indicator_id"].nunique()
    practice = computed["values"][computed["values"]["area_type"] == "practice"]
    small = practice[(practice["count"] > 0) & (practice["count"] < 5)]
    assert not small.empty  # the default book has small counts to hide
    by_id = {m["indicator_id"]: t for m, t, _ in maps}
    for _, row in small.iterrows():
        t = by_id[row["indicator_id"]].set_index("area_code")
        assert pd.isna(t.loc[row["area_code"], "value"])
        assert t.loc[row["area_code"], "map_class"] == geo.SUPPRESSED_CLASS
    for _, t, _ in maps:
        assert not any("count" in c or "denominator" in c for c in t.columns)
    shapes = SharedShapes("practices", ccg.part_shapes("practice"))
    charts = [
        choropleth(
            t.drop(columns="area_name"),
            shapes,
            classes=c,
            tooltip=[
                ("geo.name", "Practice", ""),
                ("area_code", "Code", ""),
                ("value", "Value", ",.1f"),
                ("rank", "Rank", ""),
            ],
        )
        for _, t, c in maps[:6]
    ]
    spec = map_grid(charts, [shapes]).to_dict()
    assert list(spec["datasets"]) == ["practices"]
    assert len(_features(spec)) == 38  # the catchments are embedded once for all maps
    text = json.dumps(spec)
    assert '"count"' not in text and "denominator" not in text


def _run_notebook(tmp_path: Path, area_code: str, root: Path, shared: Path) -> dict:
    """Run notebooks/maps.ipynb with papermill in a scratch root (so book/ is not touched)."""
    scratch = tmp_path / "root"
    (scratch / "book").mkdir(parents=True)
    for name in ("_config.yml", "notebooks", "build", "nhsbook"):
        (scratch / name).symlink_to(root / name)
    for name in ("books", "data"):  # copied: a book's paths must resolve inside its project
        shutil.copytree(root / name, scratch / name)
    out = tmp_path / f"{area_code}.ipynb"
    env = {**os.environ, "NHSBOOK_ROOT": str(scratch), "NHSBOOK_MIRROR": str(shared / "data")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(root / "notebooks" / "maps.ipynb"),
            str(out),
            "-p",
            "area_code",
            area_code,
            "-p",
            "book",
            "default",
            "-k",
            "python3",
            "--cwd",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    nb = json.loads(out.read_text(encoding="utf-8"))
    nb["_csv"] = scratch / "book" / "_extra" / "data" / area_code / "deprivation_lsoa.csv"
    return nb


def _html_outputs(nb: dict) -> list[str]:
    return [
        "".join(o["data"]["text/html"])
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]


@pytest.mark.parametrize(
    "area_code, lsoas, maps, limit",
    [
        ("ND-DRO", 16, 5, 450_000),  # a locality of the book
        ("E07000096", 94, 4, 700_000),  # Dacorum: a district outside Derbyshire, by code only
    ],
)
def test_maps_notebook_builds_a_small_page(tmp_path, root, shared, area_code, lsoas, maps, limit):
    nb = _run_notebook(tmp_path, area_code, root, shared)
    html = _html_outputs(nb)
    charts = [h for h in html if "vega-lite" in h]
    assert len(charts) == maps
    size = sum(len(h) for h in html)
    assert size < limit, f"{area_code}: {size:,} bytes of HTML output"
    csv = pd.read_csv(nb["_csv"])
    assert len(csv) == lsoas and csv["imd2019_decile"].between(1, 10).all()
    # age structure by LSOA (ONS mid-2019, persons in five-year bands)
    ages = pd.read_csv(nb["_csv"].with_name("age_structure_lsoa.csv"))
    assert sorted(ages["lsoa11_code"]) == sorted(csv["lsoa11_code"])
    assert ages["population"].gt(500).all()
    assert ages[["pct_under_15", "pct_65_plus", "pct_75_plus"]].stack().between(0, 100).all()
    assert (ages["pct_75_plus"] <= ages["pct_65_plus"]).all()
    check = [c for c in nb["cells"] if "NBVAL_CHECK_OUTPUT" in "".join(c["source"])][0]
    assert f"{lsoas} LSOAs" in "".join(check["outputs"][0]["text"])


# ------------------------------------------------------------------ speed-ups: same specs


def _reference_choropleth(data, shapes, *, classes, title="", legend_title="", tooltip, outline):
    """The choropleth as Altair's chained API writes it (nhsbook before issue 26's speed-up):
    the spec the fast path must reproduce exactly."""
    import altair as alt

    from nhsbook.charts.layout import fit
    from nhsbook.charts.maps import _auto_places, place_names

    def feats(gdf):
        geoms = shapely.orient_polygons(
            np.asarray(gdf.geometry.values, dtype=object), exterior_cw=True
        )
        return alt.Data(
            values=[
                {"type": "Feature", "geometry": shapely.geometry.mapping(g), "code": str(c)}
                for c, g in zip(gdf["code"], geoms)
            ]
        )

    cols = list(dict.fromkeys(["area_code", "map_class", *[t[0] for t in tooltip]]))
    table = data[cols].copy()
    tips = []
    for field, tip_title, fmt in tooltip:
        kind = "quantitative" if pd.api.types.is_numeric_dtype(table[field]) else "nominal"
        extra = {"format": fmt} if fmt else {}
        tips.append(alt.Tooltip(field, type=kind, title=tip_title, **extra))
    for c in table.columns:
        if pd.api.types.is_numeric_dtype(table[c]):
            table[c] = table[c].astype("float64").round(6)
        table[c] = table[c].astype(object).where(table[c].notna(), None)
    fill = (
        alt.Chart(alt.Data(values=table.to_dict("records")))
        .mark_geoshape(stroke="#ffffff", strokeWidth=0.4)
        .transform_lookup(
            lookup="area_code", from_=alt.LookupData(data=feats(shapes), key="code"), as_="geo"
        )
        .encode(
            shape="geo:G",
            color=alt.Color(
                "map_class:N",
                scale=alt.Scale(domain=classes.domain, range=classes.range),
                legend=alt.Legend(
                    title=legend_title or None,
                    orient="bottom",
                    direction="vertical",
                    labelLimit=0,
                    titleLimit=0,
                    symbolType="square",
                ),
            ),
            tooltip=tips,
        )
    )
    line = alt.Chart(feats(outline)).mark_geoshape(filled=False, stroke="#222222", strokeWidth=1.4)
    layers = [fill, line, *place_names(_auto_places(shapes, outline))]
    chart = alt.layer(*layers).project(type="mercator").properties(width=420, height=360)
    chart = chart.properties(title=title) if title else chart
    return fit(chart, "x", aspect=360 / 420, max=760)


def _spec(chart) -> dict:
    return chart.to_dict(validate=False, context={"pre_transform": False})


def test_fast_choropleth_writes_the_spec_altairs_api_writes(ccg):
    table, classes = geo.lsoa_map_table(ccg)
    tips = [("area_name", "LSOA", ""), ("imd2019_rank", "Rank", ","), ("imd2015_score", "S", ".1f")]
    args = dict(classes=classes, title="t", legend_title="decile", tooltip=tips)
    outline = ccg.part_shapes("locality")
    fast = choropleth(table, ccg.lsoa_shapes(), outline=outline, **args)
    slow = _reference_choropleth(table, ccg.lsoa_shapes(), outline=outline, **args)
    # equal as Python objects and as the JSON the page embeds (key order included)
    assert _spec(fast) == _spec(slow)
    assert json.dumps(_spec(fast)) == json.dumps(_spec(slow))
    fast.to_dict()  # valid Vega-Lite
    # a spec is the chart's own: changing one never changes the next
    first = _spec(fast)
    first["layer"][0]["transform"][0]["from"]["data"]["values"][0]["geometry"]["coordinates"] = []
    first["layer"][1]["data"]["values"].clear()
    assert _spec(fast) == _spec(slow)


def test_shapes_of_the_same_codes_keep_their_own_geometry():
    # the shapes' GeoJSON is kept per process, keyed by content: never another set's
    from nhsbook.charts.maps import shape_data

    for size in (1.0, 2.0, 3.0):
        square = shapely.Polygon([(0, 0), (0, size), (size, size), (size, 0)])
        gdf = gpd.GeoDataFrame({"code": ["A"]}, geometry=[square], crs=geo.WGS84)
        ring = shape_data(gdf).values[0]["geometry"]["coordinates"][0]
        assert max(x for x, _ in ring) == size


def _page_specs(code: str) -> list:
    from nhsbook.pages.maps import MapPage

    page = MapPage.load(code, "default")
    out = []
    for section in ("lsoa_deprivation", "age_structure", "areas_within", "profile_indicators"):
        out += [_spec(o) for o in getattr(page, section)() if hasattr(o, "to_dict")]
    out += [_spec(o) for o in page.wider_area()]
    return out


def _forget_shapes():
    from nhsbook.charts import maps as chart_maps

    chart_maps._features.clear()
    for memo in (geo._dissolved_of, geo._web_shapes_of):
        memo.cache_clear()


def test_map_pages_drawn_in_one_process_in_any_order_are_drawn_alone(default_book):
    # the CCG and one of its localities share LSOAs, shapes and tolerances: what one page
    # keeps for the next must never change the next page's charts
    codes = (CCG, "ND-DRO")
    alone = {}
    for code in codes:
        _forget_shapes()
        alone[code] = _page_specs(code)
    for order in (codes, codes[::-1]):
        _forget_shapes()
        for code in order:
            assert _page_specs(code) == alone[code], f"{code} after {order}"
    assert _page_specs(codes[0]) == alone[codes[0]]  # drawn again, warm
