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
