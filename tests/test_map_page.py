"""The map pages' facades (nhsbook.pages.maps): what each area's page shows, section by section,
and the population-weighted figures they compute, checked by hand on small tables.  Every test
is named test_maps_… or test_deprivation_… (so that ``-k "maps or deprivation"`` selects them)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from IPython.display import HTML, Markdown

from nhsbook.analysis import deprivation as dep
from nhsbook.pages.area import esc
from nhsbook.pages.maps import Deprivation2025Page, MapPage
from nhsbook.pipeline import geo, lsoa21
from test_maps import mirror  # noqa: F401  (fixture: the mirror for every test here)


def _kinds(outputs: list) -> list[str]:
    """What each output is: markdown, table (:func:`nhsbook.pages.tables.table`), html or chart."""
    out = []
    for o in outputs:
        if isinstance(o, Markdown):
            out.append("markdown")
        elif isinstance(o, HTML):
            out.append("table" if "<table" in o.data else "html")
        elif type(o).__module__.startswith("altair"):
            out.append("chart")
        else:
            out.append(type(o).__name__)
    return out


# ------------------------------------------------------------------ population-weighted means


def test_maps_age_totals_are_population_weighted_means():
    t = pd.DataFrame(
        {
            "population": [1000, 3000],
            "pct_under_15": [20.0, 12.0],
            "pct_65_plus": [10.0, 30.0],
            "pct_75_plus": [5.0, 15.0],
        }
    )
    row = geo.lsoa_age_totals(t).iloc[0].to_dict()
    # (10·1000 + 30·3000) / 4000 = 25; (20·1000 + 12·3000) / 4000 = 14; (5·1000 + 15·3000) / 4000 = 12.5
    assert row == {
        "LSOAs": 2,
        "Residents (mid-2019)": "4,000",
        "% aged 65 and over": "25.0",
        "% aged under 15": "14.0",
        "% aged 75 and over": "12.5",
    }
    # not the unweighted mean of the LSOAs' shares (20.0)
    assert row["% aged 65 and over"] != f"{t['pct_65_plus'].mean():.1f}"


def test_maps_sub_area_scores_are_population_weighted():
    lsoas = pd.DataFrame(
        {
            "g": ["a", "a", "b"],
            "population": [100, 300, 50],
            "imd2015_score": [10.0, 30.0, 7.0],
            "imd2010_score": [float("nan")] * 3,
            "imd2019_decile": [1, 5, 2],
            "lsoa11_code": ["x", "y", "z"],
        }
    )
    s = dep.summarise(lsoas, "g").set_index("g")
    assert s.loc["a", "imd2015_score"] == pytest.approx((10 * 100 + 30 * 300) / 400)  # 25
    assert s.loc["b", "imd2015_score"] == pytest.approx(7.0)
    assert s.loc["a", "pct_most_deprived_20"] == pytest.approx(25.0)  # 100 of 400 in decile 1
    assert s.loc["a", "rank"] == 1 and s.loc["b", "rank"] == 2
    assert "imd2010_score" not in s.columns  # no IMD 2010 for any LSOA: the column goes


def test_deprivation_2025_practice_scores_and_the_area_score():
    areas = pd.DataFrame(
        {
            "area_code": ["S", "P1", "P2", "P3", "O"],
            "area_name": ["Sub-ICB", "Alpha", "Beta", "Gamma", "Other"],
            "area_type": ["ccg", "practice", "practice", "practice", "practice"],
            "parent_code": ["", "S", "S", "S", "X"],
        }
    )
    values = pd.DataFrame(
        {
            "indicator_id": ["94240"] * 4 + ["90000"],
            "area_code": ["P1", "P2", "O", "S", "P3"],
            "value": [12.5, 30.25, 50.0, 20.0, 99.0],
        }
    )
    scores = lsoa21.practice_scores(values, areas, "S")
    assert scores["Code"].tolist() == ["P2", "P1"]  # most deprived first; not O or P3
    assert scores["Practice"].tolist() == ["Beta", "Alpha"]
    assert scores["IMD 2025 score"].tolist() == [30.25, 12.5]
    assert lsoa21.area_score(values, "S") == 20.0
    assert lsoa21.area_score(values, "P3") is None  # no IMD 2025 score of its own


# ------------------------------------------------------------------ MapPage: sections per area


@pytest.fixture(scope="module")
def locality():
    return MapPage.load("ND-DRO", "default")


@pytest.fixture(scope="module")
def dacorum():
    return MapPage.load("E07000096", "default")


def test_maps_page_of_a_locality_shows_its_practices(locality):
    assert locality.name == "Dronfield" and locality.area.kind == "locality"
    assert len(locality.lsoa_table) == 16
    assert list(locality.area.parts) == ["practice"]
    assert _kinds(locality.lsoa_deprivation()) == ["chart", "table", "html"]
    profile = locality.decile_profile()
    assert profile.columns.tolist() == [
        "IMD 2019 national decile",
        "LSOAs",
        "Population (mid-2015)",
        "% of population",
    ]
    assert profile["LSOAs"].sum() == 16
    assert profile["Population (mid-2015)"].sum() == locality.lsoa_table["population"].sum()
    assert _kinds(locality.age_structure()) == ["chart", "table", "html"]
    # the practices: heading, synthetic notice, map, table
    within = locality.areas_within()
    assert _kinds(within) == ["markdown", "markdown", "chart", "table"]
    assert within[0].data == f"### By {esc(geo.PART_LABELS['practice'])}"
    assert within[1].data.startswith("*Synthetic:*")
    shown = locality.part_display("practice")
    assert shown.columns[:3].tolist() == ["Area", "Code", "LSOAs"]
    assert shown["LSOAs"].sum() == 16 and len(shown) == 4
    assert sorted(shown["Rank"]) == [1, 2, 3, 4]
    indicators = locality.profile_indicators()
    assert _kinds(indicators) == ["chart", "markdown"]
    assert indicators[1].data == (
        f"{len(locality.indicator_maps())} indicators mapped by "
        "practice (synthetic practices of the default book)."
    )
    assert _kinds(locality.wider_area()) == ["chart"]
    assert locality.check_line() == "locality 16 LSOAs; 4 practice"


def test_maps_part_scores_are_the_weighted_means_of_their_lsoas(locality):
    table, _ = locality.part_table("practice")
    m = locality.area.membership("practice").merge(
        dep.lsoa_deprivation(locality.lsoa_table["lsoa11_code"]), on="lsoa11_code"
    )
    for _, row in table.iterrows():
        mine = m[m["group_code"] == row["area_code"]]
        by_hand = sum(mine["imd2015_score"] * mine["population"]) / sum(mine["population"])
        assert row["imd2015_score"] == pytest.approx(by_hand)
        assert row["population"] == mine["population"].sum()


def test_a_district_without_indicators_maps_deprivation_only(dacorum):
    assert dacorum.area.kind == "district" and not dacorum.area.in_book
    assert len(dacorum.lsoa_table) == 94
    assert dacorum.indicator_maps() == []  # not of the book's indicator hierarchy
    said = dacorum.profile_indicators()
    assert _kinds(said) == ["markdown"]
    assert "is not part of the book's indicator hierarchy" in said[0].data
    within = dacorum.areas_within()
    assert list(dacorum.area.parts) == ["ward"]
    assert _kinds(within) == ["markdown", "chart", "table"]  # wards are real: no notice
    assert dacorum.check_line() == "district 94 LSOAs; 25 ward"
    assert dacorum.key_messages_box().data.count("<li>") >= 1


def test_maps_sections_with_nothing_to_show_are_left_out(locality, monkeypatch):
    # an area without sub-areas: no "By ..." section, an empty check list
    monkeypatch.setattr(locality.area, "parts", {})
    monkeypatch.setattr(locality, "_parts", {})
    assert locality.areas_within() == []
    assert locality.indicator_maps() == []
    assert locality.check_line() == "locality 16 LSOAs; "
    said = locality.profile_indicators()  # an area of the book: says why not mapped
    assert _kinds(said) == ["markdown"] and "no catchment boundaries" in said[0].data


def test_maps_age_section_without_the_ons_population_says_why(locality, monkeypatch):
    def missing(area, measure="pct_65_plus"):
        raise geo.sources.MissingSource("sape2019_5yr_england is not in the mirror")

    monkeypatch.setattr(geo, "lsoa_age_table", missing)
    monkeypatch.setattr(locality, "_age", None)
    assert locality.age_table() is None
    said = locality.age_structure()
    assert _kinds(said) == ["markdown"]
    assert said[0].data.startswith("The ONS mid-2019 LSOA population is not available")


# ------------------------------------------------------------------ Deprivation2025Page


@pytest.fixture(scope="module")
def sub_icb():
    return Deprivation2025Page.load("E38000261", "derbyshire-icb-2025")


def test_deprivation_2025_page_of_a_sub_icb_location(sub_icb):
    assert len(sub_icb.table) == 651
    assert sub_icb.lsoa_count().data.startswith("**651 LSOAs (2021)** of ")
    assert _kinds(sub_icb.lsoa_deprivation()) == ["chart", "table", "markdown", "html"]
    assert int(sub_icb.decile_profile()["LSOAs"].sum()) == 651
    w = sub_icb.weighted_summary()
    t = sub_icb.table
    assert w["score"] == pytest.approx(
        (t["imd_score"] * t["population"]).sum() / t["population"].sum()
    )
    assert 0 <= w["pct_d1"] <= w["pct_d12"] <= 100
    assert _kinds(sub_icb.by_district()) == ["table"]
    scores = sub_icb.practice_scores()
    assert len(scores) == 108 and scores["IMD 2025 score"].is_monotonic_decreasing
    own = sub_icb.own_score()
    shown = sub_icb.practices()
    if own is None:
        assert _kinds(shown) == ["table"]
    else:
        assert not math.isnan(own) and _kinds(shown) == ["markdown", "table"]
        assert "(list-weighted mean of 108 practices)" in shown[0].data
    assert sub_icb.check_line() == "651 LSOAs; 651 in deciles; 108 practices"
