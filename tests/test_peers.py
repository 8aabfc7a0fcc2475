"""Similar-area peers (nhsbook.analysis.peers) and the QOF 2020-21 -> 2024-25 bridge of the ICB book:
the peers of 15M are ten distinct sub-ICB locations other than itself, deterministic, each
distance recomputed from the raw variables; the similar-10 value of one register recomputed
from the raw QOF file; the 2020/21 points recomputed from the raw 2020-21 file and labelled
as two points, not a trend (the Census TS007A reader and suite are tested with the other
current formats in test_bad_inputs_current)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhsbook import stats
from nhsbook.analysis import peers
from nhsbook.config import sources
from nhsbook.config.book import load_book
from nhsbook.pipeline.store import load_computed

SUB_ICB, ICB, BOOK = "E38000261", "E54000058", "derbyshire-icb-2025"


@pytest.fixture(scope="module")
def icb_tables():
    return load_computed(load_book(BOOK))


def test_peers_of_15m_are_ten_distinct_other_sub_icb_locations(icb_tables, practice_map):
    p = icb_tables["peers"]
    mine = p[p["area_code"] == SUB_ICB].sort_values("rank")
    assert mine["rank"].tolist() == list(range(1, 11))
    assert mine["family"].eq("sub_icb").all()
    codes = mine["peer_code"].tolist()
    assert len(set(codes)) == 10 and SUB_ICB not in codes
    assert set(codes) <= set(practice_map["ONS_SUB_ICB_LOCATION_CODE"])
    assert mine["distance"].is_monotonic_increasing and (mine["distance"] > 0).all()
    # every sub-ICB location (106), ICB (36 of the July 2026 map) and district has ten
    counts = p.groupby("family")["area_code"].nunique().to_dict()
    assert counts == {"sub_icb": 106, "icb": 36, "county": 153, "district": 296}
    assert p.groupby(["family", "area_code"]).size().eq(10).all()


def test_peers_are_deterministic(icb_tables):
    """Recomputed from the files, the peers are identical (ties broken by code)."""
    paths = {
        n: sources.locate(k)
        for n, k in (
            ("imd2025_lsoa21", "imd2025_lsoa21"),
            ("ruc21_lsoa21", "ruc21_lsoa21_ew"),
            ("census2021_ts007a", "census2021_ts007a_lsoa21"),
            ("ons_lsoa21_sicbl_icb", "lsoa21_sicbl24_icb24_england"),
            ("ons_lsoa21_ltla24", "lsoa21_ward24_ltla24_ew"),
            ("gp_registrations_age", "gp_reg_quinary_age_jul2026"),
            ("gp_practice_map", "gp_reg_practice_map_jul2026"),
        )
    }
    _, again = peers.compute(paths)
    pd.testing.assert_frame_equal(
        again.reset_index(drop=True), icb_tables["peers"].reset_index(drop=True)
    )


def test_each_distance_recomputes_from_the_raw_variables(icb_tables, current, practice_map):
    """The sub-ICB variables from the raw files (IMD 2025 by LSOA weighted by Census 2021
    residents, % rural, registered patients by age), standardised by hand, give each of the
    ten distances."""
    imd = pd.read_csv(current / "imd" / "imd2025_england_lsoa21.csv.gz")
    ruc = pd.read_csv(current / "geography" / "ruc21_lsoa21_ew.csv.gz")
    look = pd.read_csv(current / "geography" / "lsoa21_sicbl24_icb24_england.csv.gz")
    census = pd.read_csv(
        current / "population" / "census2021_TS007A_age_5yr_lsoa21_ew_nomis.csv.gz", skiprows=5
    )
    census = census.dropna(subset=["mnemonic"])
    lsoa = (
        look[["lsoa21_code", "sicbl24_code"]]
        .merge(imd[["lsoa21_code", "IMD_score"]], on="lsoa21_code")
        .merge(ruc[["lsoa21_code", "ruc"]], on="lsoa21_code")
        .merge(
            census[["mnemonic", "Total"]].rename(columns={"mnemonic": "lsoa21_code"}),
            on="lsoa21_code",
        )
    )
    lsoa["sicbl24_code"] = lsoa["sicbl24_code"].replace({"E38000252": "E38000268"})
    g = lsoa.assign(
        sw=lsoa["IMD_score"] * lsoa["Total"], rp=lsoa["Total"] * (lsoa["ruc"] == "Rural")
    ).groupby("sicbl24_code")
    s = g[["sw", "rp", "Total"]].sum()
    reg = pd.read_csv(
        current / "population" / "gp-reg-pat-prac-quin-age_jul2026.zip",
        dtype=str,
        keep_default_na=False,
    )
    reg = reg[
        (reg["ORG_TYPE"] == "SUB_ICB_LOCATION_CODE")
        & reg["SEX"].isin(["MALE", "FEMALE"])
        & (reg["AGE_GROUP_5"] != "ALL")
    ]
    n = reg.assign(n=reg["NUMBER_OF_PATIENTS"].astype(float)).pivot_table(
        index="ONS_CODE", columns="AGE_GROUP_5", values="n", aggfunc="sum"
    )
    n["ALL"] = n.sum(axis=1)
    raw = pd.DataFrame(
        {
            "imd_score": s["sw"] / s["Total"],
            "pct_under_15": 100 * n[["0_4", "5_9", "10_14"]].sum(axis=1) / n["ALL"],
            "pct_65_plus": 100
            * n[["65_69", "70_74", "75_79", "80_84", "85_89", "95+", "90_94"]].sum(axis=1)
            / n["ALL"],
            "pct_rural": 100 * s["rp"] / s["Total"],
            "log_population": np.log10(n["ALL"]),
        }
    ).dropna()
    assert len(raw) == 106
    z = (raw - raw.mean()) / raw.std(ddof=1)
    w = pd.Series(
        {
            "imd_score": 1,
            "pct_under_15": 0.5,
            "pct_65_plus": 0.5,
            "pct_rural": 1,
            "log_population": 1,
        }
    )
    p = icb_tables["peers"]
    mine = p[p["area_code"] == SUB_ICB]
    for code, d in zip(mine["peer_code"], mine["distance"]):
        assert d == pytest.approx(
            float(np.sqrt((w * (z.loc[SUB_ICB] - z.loc[code]) ** 2).sum())), rel=1e-9
        )
    # and they are the ten nearest of all 105 others
    everyone = np.sqrt(((z - z.loc[SUB_ICB]) ** 2 * w).sum(axis=1)).drop(SUB_ICB)
    assert set(everyone.nsmallest(10).index) == set(mine["peer_code"])


def test_similar_10_value_recomputes_from_the_raw_qof_file(icb_tables, current, practice_map):
    """Diabetes (17+): Σ register / Σ list over the practices the July 2026 map puts in the
    ten peers, straight from the published CSV, with Wilson limits; the area's significance
    against it by the 95% rule."""
    raw = pd.read_csv(current / "qof" / "qof_2024-25_PREVALENCE_2425_england.csv.gz")
    p = icb_tables["peers"]
    group = p.loc[p["area_code"] == SUB_ICB, "peer_code"]
    codes = practice_map.loc[practice_map["ONS_SUB_ICB_LOCATION_CODE"].isin(group), "PRACTICE_CODE"]
    rows = raw[
        raw["PRACTICE_CODE"].isin(codes)
        & (raw["GROUP_CODE"] == "DM")
        & (raw["REGISTER"] <= raw["PRACTICE_LIST_SIZE"])
    ]
    count, denom = rows["REGISTER"].sum(), rows["PRACTICE_LIST_SIZE"].sum()
    pv = icb_tables["peer_values"]
    row = pv[
        (pv["area_code"] == SUB_ICB)
        & (pv["indicator_id"] == "QOF_DM")
        & (pv["period"] == "2024/25")
    ].iloc[0]
    assert row["count"] == count and row["denominator"] == denom and row["n_peers"] == 10
    ci = stats.proportion_ci(pd.Series([count]), pd.Series([denom]), multiplier=100)
    assert row["value"] == pytest.approx(100 * count / denom)
    assert row["lower_95"] == pytest.approx(ci["lower"].iloc[0])
    assert row["upper_95"] == pytest.approx(ci["upper"].iloc[0])
    comp = peers.compare_with_peers(icb_tables["values"], pv, icb_tables["metadata"], SUB_ICB)
    dm = comp[comp["indicator_id"] == "QOF_DM"].iloc[0]
    assert dm["period"] == "2024/25" and dm["peer_value"] == row["value"]
    assert dm["peer_significance"] == (
        "Higher"
        if dm["lower_95"] > row["value"]
        else "Lower"
        if dm["upper_95"] < row["value"]
        else "Similar"
    )
    # the ICB has its own (36-ICB) peers and value
    assert ((pv["area_code"] == ICB) & (pv["indicator_id"] == "QOF_DM")).any()


def test_qof_2020_21_points_where_codes_bridge(icb_tables, shared, current, practice_map):
    """A practice's 2020/21 register and list from the raw 2020-21 file; the sub-ICB's
    2020/21 sum over today's 15M practices present in both files (Glossop included); the page
    labels two points as no trend."""
    old = pd.read_csv(shared / "data" / "qof" / "qof_2020-21_PREVALENCE_2021_v2_england.csv.gz")
    new = pd.read_csv(current / "qof" / "qof_2024-25_PREVALENCE_2425_england.csv.gz")
    mine = set(practice_map.loc[practice_map["SUB_ICB_LOCATION_CODE"] == "15M", "PRACTICE_CODE"])
    both = mine & set(old["PRACTICE_CODE"]) & set(new["PRACTICE_CODE"])
    assert 90 <= len(both) <= len(mine)  # (all 108 of July 2026 reported in 2020-21)
    v = icb_tables["values"]
    o = old[
        (old["GROUP_CODE"] == "HYP")
        & old["PRACTICE_CODE"].isin(both)
        & (old["REGISTER"] <= old["PRACTICE_LIST_SIZE"])
    ]
    row = v[
        (v["area_code"] == SUB_ICB) & (v["indicator_id"] == "QOF_HYP") & (v["period"] == "2020/21")
    ].iloc[0]
    assert (
        row["count"] == o["REGISTER"].sum() and row["denominator"] == o["PRACTICE_LIST_SIZE"].sum()
    )
    one = sorted(both)[0]
    prac = v[(v["area_code"] == one) & (v["indicator_id"] == "QOF_HYP")].set_index("period")
    assert set(prac.index) == {"2020/21", "2024/25"}
    assert prac.loc["2020/21", "count"] == o.loc[o["PRACTICE_CODE"] == one, "REGISTER"].iloc[0]
    # a practice of 15M not in the 2020-21 file has the 2024/25 point only
    newer = sorted((mine & set(new["PRACTICE_CODE"])) - set(old["PRACTICE_CODE"]))
    if newer:
        assert set(
            v.loc[(v["area_code"] == newer[0]) & (v["indicator_id"] == "QOF_HYP"), "period"]
        ) == {"2024/25"}
    from nhsbook.pages.area import AreaPage

    page = AreaPage.load(SUB_ICB, BOOK)
    trends = page.trends()
    hyp = trends[trends["indicator_id"] == "QOF_HYP"]
    assert hyp["period"].tolist() == ["2020/21", "2024/25"]
    assert hyp["trend"].iloc[0].startswith("No trend computed: 2 periods (2020/21, 2024/25)")
    # the profile and spine still show the 2024/25 figures
    prof = page.profile("qof")
    assert set(prof["period"]) == {"2024/25"}


def test_the_page_shows_the_peers_with_their_distances(icb_tables):
    from nhsbook.pages.area import AreaPage

    page = AreaPage.load(SUB_ICB, BOOK)
    table = page.peers_table()
    assert table["Code"].iloc[0] == SUB_ICB and len(table) == 11
    assert (
        table["Distance"].iloc[1:].tolist()
        == icb_tables["peers"]
        .loc[icb_tables["peers"]["area_code"] == SUB_ICB, "distance"]
        .round(3)
        .tolist()
    )
    comp = page.peer_comparison()
    assert {"England", "Similar 10", "Compared with similar 10", "Similar 10 lower 95% CI"} <= set(
        comp.columns
    )
    assert "weighted Euclidean" in page.peer_method()
    first = table.iloc[1]
    assert (
        page.peer_list_markdown().count("; ") == 9
        and f"({first['Distance']:.2f})" in page.peer_list_markdown().split("; ")[0]
    )
    spine = page.spine_chart("qof").to_dict()
    assert "triangle-down" in str(spine)
    # a practice has no peers and no peer comparison
    practice = icb_tables["areas"].query("area_type == 'practice'")["area_code"].iloc[0]
    assert not AreaPage.load(practice, BOOK).has_peers()
