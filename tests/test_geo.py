"""Boundaries, the LSOA hierarchy, dissolving and deprivation on the real data of the mirror."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from nhsbook.analysis import deprivation as dep
from nhsbook.config import sources
from nhsbook.pipeline import geo

CCG = "E38000115"
LOCALITIES = {"ND-CHE", "ND-DRO", "ND-HPK", "ND-NDA", "ND-NEA"}


@pytest.fixture(scope="module", autouse=True)
def mirror(shared, monkeypatch_module):
    monkeypatch_module.setenv("NHSBOOK_MIRROR", str(shared / "data"))


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def ccg(default_book):
    return geo.resolve(CCG, default_book)


@pytest.fixture(scope="module")
def ccg_lsoa_boundaries(ccg):
    return geo.boundaries("lsoa", ccg.lsoas["lsoa11_code"])


# --------------------------------------------------------------------------- registry, reading


def test_registry_covers_every_dataset_the_maps_read():
    reg = sources.load_registry()
    used = {lay.key for layers in geo.LAYERS.values() for lay in layers}
    used |= {
        "imd2019_file1",
        "imd2019_file6",
        "imd2015_lsoa11",
        "imd2010_lsoa01",
        "iod2010_denominators_england",
        "lsoa11_ccg20_lad20_england",
        "lsoa11_msoa11_lad17_rgn11_england",
        "lsoa11_ccg16_lad16_derbyshire",
        "lsoa11_ward19_lad19_derbyshire",
        "lsoa01_lsoa11_lad11_derbyshire",
    }
    assert used <= set(reg)
    for key in used:
        assert sources.locate(key).is_file()


def test_missing_dataset_error_names_it_and_both_remedies(tmp_path, monkeypatch):
    monkeypatch.setenv("NHSBOOK_MIRROR", str(tmp_path / "no-mirror"))
    monkeypatch.setenv("NHSBOOK_CACHE", str(tmp_path / "cache"))
    with pytest.raises(sources.MissingSource) as err:
        geo.boundaries("lsoa")
    text = str(err.value)
    assert "lsoa2011_boundaries_derbyshire" in text
    assert "nhsbook fetch" in text and "NHSBOOK_MIRROR" in text


def test_topojson_is_read_repaired_and_matches_the_geojson():
    topo = geo.read_boundaries(
        sources.locate("lad2013_topojson_england"), "LAD13CD", "LAD13NM", layer="lad"
    )
    gj = geo.boundaries("lad13")
    assert len(topo) == 326 and set(topo["code"]) == set(gj["code"])
    assert topo.crs.to_epsg() == 4326
    assert topo.is_valid.all() and (~topo.is_empty).all()
    assert set(topo.geom_type) <= {"Polygon", "MultiPolygon"}
    # the published area of the converted GeoJSON (PROVENANCE.md): 130,457 km²
    assert geo.area_km2(gj).sum() == pytest.approx(130457, rel=0.002)
    assert geo.area_km2(topo).sum() == pytest.approx(130457, rel=0.01)


def test_repair_fixes_a_self_intersecting_ring():
    import geopandas as gpd

    bow = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    fixed = geo.repair(gpd.GeoDataFrame({"code": ["x"]}, geometry=[bow], crs=geo.WGS84))
    assert not bow.is_valid and fixed.is_valid.all()
    assert fixed.geometry.iloc[0].area == pytest.approx(0.5)


def test_lsoa_boundaries_are_valid_and_cover_the_registered_areas():
    lsoa = geo.boundaries("lsoa")
    assert len(lsoa) == 642 + 183
    assert lsoa.is_valid.all()
    assert shapely.coverage_is_valid(np.asarray(lsoa.geometry.values, dtype=object))


def test_uncovered_areas_name_what_the_registry_holds():
    birmingham, _ = geo.district_lsoas("E08000025")
    with pytest.raises(geo.MissingBoundaries, match="Derbyshire focus area"):
        geo.boundaries("lsoa", birmingham["lsoa11_code"])


def test_web_shapes_are_small_valid_rounded_and_clockwise(ccg_lsoa_boundaries):
    raw = ccg_lsoa_boundaries
    web = geo.web_shapes(raw)
    assert web.is_valid.all() and len(web) == len(raw)
    assert (
        shapely.get_num_coordinates(web.geometry.values).sum()
        < 0.75 * shapely.get_num_coordinates(raw.geometry.values).sum()
    )
    coords = shapely.get_coordinates(web.geometry.values)
    assert np.allclose(coords, np.round(coords, 4), atol=1e-12)
    for poly in shapely.get_parts(web.geometry.values):
        assert not poly.exterior.is_ccw  # clockwise exterior (what Vega's d3-geo needs)
        assert all(r.is_ccw for r in poly.interiors)
    assert geo.area_km2(web).sum() == pytest.approx(geo.area_km2(raw).sum(), rel=0.01)
    # a coverage stays a coverage: neighbours share their simplified edges
    assert shapely.coverage_is_valid(np.asarray(web.geometry.values, dtype=object))


# --------------------------------------------------------------------------- hierarchy


def test_localities_partition_the_ccg_lsoas(default_book):
    ccg_lsoas = set(geo.ccg_lsoas(CCG)["lsoa11_code"])
    loc = geo.localities(default_book, CCG)
    assert len(ccg_lsoas) == 175
    assert set(loc["locality_code"]) == LOCALITIES
    assert not loc["lsoa11_code"].duplicated().any()
    assert set(loc["lsoa11_code"]) == ccg_lsoas
    sizes = loc.groupby("locality_code").size().to_dict()
    assert sizes == {"ND-CHE": 69, "ND-DRO": 16, "ND-HPK": 38, "ND-NDA": 27, "ND-NEA": 25}


def test_locality_rules_are_checked(default_book, tmp_path):
    import dataclasses
    import shutil

    folder = tmp_path / "data"
    shutil.copytree(default_book.data, folder)
    rules = pd.read_csv(folder / "geography" / "localities.csv", dtype=str, keep_default_na=False)
    rules[rules["ward19_name"] != "Unstone"].to_csv(
        folder / "geography" / "localities.csv", index=False
    )
    cfg = dataclasses.replace(default_book, data=folder)
    with pytest.raises(ValueError, match="match no rule"):
        geo.localities(cfg, CCG)


def test_dissolve_conserves_area_and_population(ccg, ccg_lsoa_boundaries):
    lsoa = ccg_lsoa_boundaries
    member = ccg.membership("locality")
    loc = geo.dissolve(lsoa, member, group="group_code", name="group_name")
    assert loc.is_valid.all() and set(loc["code"]) == LOCALITIES
    lsoa_area = (
        geo.area_km2(lsoa)
        .groupby(lsoa["code"].map(member.set_index("lsoa11_code")["group_code"]))
        .sum()
    )
    loc_area = geo.area_km2(loc).set_axis(loc["code"])
    pd.testing.assert_series_equal(
        loc_area.sort_index(), lsoa_area.sort_index(), check_names=False, rtol=1e-9
    )
    whole = geo.dissolve(
        lsoa, member.assign(group_code=CCG, group_name="CCG"), group="group_code", name="group_name"
    )
    assert geo.area_km2(whole).sum() == pytest.approx(loc_area.sum(), rel=1e-9)
    # the same on the simplified web shapes the maps draw
    web = ccg.part_shapes("locality")
    assert geo.area_km2(web).sum() == pytest.approx(geo.area_km2(ccg.lsoa_shapes()).sum(), rel=1e-6)
    # population: the localities' sums are the CCG's
    table, _ = geo.part_map_table(ccg, "locality")
    pop = dep.imd2019().set_index("lsoa11_code")["population"]
    assert table["population"].sum() == pop.loc[ccg.lsoas["lsoa11_code"]].sum()
    per_loc = member.assign(p=member["lsoa11_code"].map(pop)).groupby("group_code")["p"].sum()
    assert table.set_index("area_code")["population"].to_dict() == per_loc.to_dict()


def test_dissolve_refuses_overlapping_or_missing_members(ccg_lsoa_boundaries):
    codes = ccg_lsoa_boundaries["code"].tolist()
    twice = pd.DataFrame({"lsoa11_code": codes[:2] + codes[:1], "group_code": ["a", "a", "b"]})
    with pytest.raises(ValueError, match="more than one"):
        geo.dissolve(ccg_lsoa_boundaries, twice)
    ghost = pd.DataFrame({"lsoa11_code": ["E01999999"], "group_code": ["a"]})
    with pytest.raises(ValueError, match="no boundary"):
        geo.dissolve(ccg_lsoa_boundaries, ghost)


def test_synthetic_catchments_are_reproduced_and_partition_each_locality(default_book):
    path = default_book.data / "geography" / geo.CATCHMENTS_FILE
    made = geo.make_practice_catchments(default_book)
    assert made.to_csv(index=False, lineterminator="\n") == path.read_text(encoding="utf-8")
    assert (made["synthetic"] == "yes").all()
    loc = geo.localities(default_book, CCG).set_index("lsoa11_code")["locality_code"]
    assert set(made["lsoa11_code"]) == set(loc.index) and not made["lsoa11_code"].duplicated().any()
    assert (made["locality_code"] == made["lsoa11_code"].map(loc)).all()
    practices = pd.read_csv(default_book.data / "synthetic" / "practices.csv", dtype=str)
    parent = practices.set_index("area_code")["parent_code"]
    assert set(made["practice_code"]) == set(parent.index)  # every practice has a catchment
    assert (made["practice_code"].map(parent) == made["locality_code"]).all()


def test_resolve_areas(default_book):
    loc = geo.resolve("ND-HPK", default_book)
    assert loc.kind == "locality" and len(loc.lsoas) == 38 and "practice" in loc.parts
    assert loc.synthetic_parts == ("practice",)
    for code in ("E07000096",):  # Dacorum: 2013 = 2019 = 2020 code
        d = geo.resolve(code, default_book)
        assert d.kind == "district" and d.name == "Dacorum" and len(d.lsoas) == 94
        assert d.has_lsoa_boundaries and list(d.parts) == ["ward"] and not d.in_book
    bham = geo.resolve("E08000025", default_book)
    assert not bham.has_lsoa_boundaries and list(bham.parts) == ["MSOA"]
    bcp = geo.resolve("E06000058", default_book)  # 2019 merger of three 2013 districts
    assert bcp.lad13_codes == ["E06000028", "E06000029", "E07000048"]
    with pytest.raises(KeyError):
        geo.resolve("E99999999", default_book)


# --------------------------------------------------------------------------- deprivation


def test_national_deciles_reproduce_the_published_deciles():
    imd = dep.imd2019()
    assert len(imd) == 32844
    ours = dep.national_decile(imd["imd2019_rank"], n=len(imd))
    assert (ours.to_numpy() == imd["imd2019_decile"].to_numpy()).all()
    classes = dep.classify_national(imd["imd2019_decile"])
    first = classes.assigned[imd["imd2019_rank"] <= 3284]
    assert (first == classes.labels[0]).all() and "ranks 1–3,284" in classes.labels[0]
    assert classes.assigned[imd["imd2019_rank"] == 3285].iloc[0] == classes.labels[1]
    quint = dep.classify_national(imd["imd2019_decile"], k=5)
    rank_quint = np.ceil(5 * imd["imd2019_rank"] / 32844).astype(int)
    assert (quint.assigned.map(quint.labels.index) + 1 == rank_quint).all()


def test_weighted_mean_and_share():
    t = pd.DataFrame({"g": ["a", "a", "b"], "x": [10.0, 30.0, 5.0], "w": [1, 3, 2], "d": [1, 5, 2]})
    assert dep.weighted_mean(t, "x", "w", "g").to_dict() == {"a": 25.0, "b": 5.0}
    assert dep.share_in_deciles(t, "d", "w", "g").to_dict() == {"a": 25.0, "b": 100.0}


def test_district_summary_covers_england():
    d = dep.district_summary()
    assert len(d) == 326 and d["population"].sum() == dep.imd2019()["population"].sum()
    assert sorted(d["rank"]) == list(range(1, 327))
    assert d.loc[d["imd2015_score"].idxmax(), "rank"] == 1


def test_classes_quantiles_and_fixed_breaks():
    v = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, np.nan])
    q = dep.classify_quantiles(v, k=5)
    assert len(q.labels) == 5 and q.assigned.iloc[-1] == "No value"
    assert q.assigned.iloc[0] == q.labels[0] and q.assigned.iloc[9] == q.labels[-1]
    f = dep.classify_fixed(pd.Series([0.5, 10.0, 25.0]), [8.4, 13.9, 21.4], low=0.0)
    assert f.labels == ("0.0–8.4", "8.4–13.9", "13.9–21.4", "over 21.4")
    assert f.assigned.tolist() == ["0.0–8.4", "8.4–13.9", "over 21.4"]
