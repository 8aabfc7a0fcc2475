"""National maps of the ICB book (nhsbook.pipeline.national): every indicator for every sub-ICB location
and ICB of the July 2026 map, recomputed here from the raw published files with plain pandas;
the map of the book's area has its outline layer and states its rank and polarity."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from nhsbook.config import sources
from nhsbook.config.book import load_book
from nhsbook.pipeline import national

BOOK = "derbyshire-icb-2025"
SUB, ICB = "E38000261", "E54000058"


@pytest.fixture(scope="module")
def cfg():
    return load_book(BOOK)


@pytest.fixture(scope="module")
def nat(cfg):
    return national.table(cfg)


@pytest.fixture(scope="module")
def practice_map():
    return pd.read_csv(sources.locate("gp_reg_practice_map_jul2026"), dtype=str)


@pytest.fixture(scope="module")
def page():
    from nhsbook.pages.area import AreaPage

    return AreaPage.load(SUB, BOOK)


def test_every_sub_icb_location_and_icb_of_the_map(nat, practice_map):
    subs = set(practice_map["ONS_SUB_ICB_LOCATION_CODE"])
    icbs = set(practice_map["ONS_ICB_CODE"])
    assert len(subs) == 106 and len(icbs) == 36
    indicators = set(nat["indicator_id"])
    assert len(indicators) == 25 and {"QOF_DM", "91547", "94240", national.POPW_SCORE} <= indicators
    for ind in indicators:
        rows = nat[nat["indicator_id"] == ind]
        assert set(rows.loc[rows["level"] == "sub_icb", "area_code"]) == subs, ind
        assert set(rows.loc[rows["level"] == "icb", "area_code"]) == icbs, ind
        missing = rows[rows["value"].isna()]
        # only the LSOA-based figures miss an area: the sub-ICB location created in April
        # 2026, which the April 2024 LSOA lookup does not have; the page says why
        if ind in (national.POPW_SCORE, national.POPW_D1):
            assert missing["area_code"].tolist() == ["E38000268"]
            assert "April 2026" in missing["note"].iloc[0]
        else:
            assert missing.empty, (ind, missing["area_code"].tolist())
        ranked = rows[rows["value"].notna()]
        assert (ranked["note"] == "").all() and ranked["rank"].min() == 1


def _raw_qof(practice_map: pd.DataFrame) -> pd.DataFrame:
    raw = pd.read_csv(sources.locate("qof2425_prevalence"), dtype={"PRACTICE_CODE": str})
    raw = raw[raw["REGISTER"] <= raw["PRACTICE_LIST_SIZE"]]
    return raw.merge(
        practice_map[["PRACTICE_CODE", "ONS_SUB_ICB_LOCATION_CODE", "ONS_ICB_CODE"]],
        on="PRACTICE_CODE",
        how="left",
    )


@pytest.mark.parametrize("register", ["DM", "HYP", "DEP"])
def test_rank_and_value_match_the_raw_qof_file(nat, practice_map, register):
    raw = _raw_qof(practice_map)
    reg = raw[raw["GROUP_CODE"] == register]
    eng = reg["REGISTER"].sum() / reg["PRACTICE_LIST_SIZE"].sum() * 100
    for level, column, code, n in (
        ("sub_icb", "ONS_SUB_ICB_LOCATION_CODE", SUB, 106),
        ("icb", "ONS_ICB_CODE", ICB, 36),
    ):
        g = reg.dropna(subset=[column]).groupby(column)[["REGISTER", "PRACTICE_LIST_SIZE"]].sum()
        prev = (100 * g["REGISTER"] / g["PRACTICE_LIST_SIZE"]).sort_values(ascending=False)
        assert len(prev) == n
        want_rank = list(prev.index).index(code) + 1
        row = nat[
            (nat["indicator_id"] == f"QOF_{register}")
            & (nat["level"] == level)
            & (nat["area_code"] == code)
        ].iloc[0]
        assert row["value"] == pytest.approx(prev[code], rel=1e-12)
        assert int(row["rank"]) == want_rank and int(row["n_ranked"]) == n
        assert row["england"] == pytest.approx(eng, rel=1e-12)
        # Wilson 95% limits (z = 1.959964) and the no-judgement comparison with England
        x, m, z = g.loc[code, "REGISTER"], g.loc[code, "PRACTICE_LIST_SIZE"], 1.959963984540054
        root = z * math.sqrt(z * z + 4 * x * (1 - x / m))
        lo, up = (
            (2 * x + z * z - root) / (2 * (m + z * z)) * 100,
            (2 * x + z * z + root) / (2 * (m + z * z)) * 100,
        )
        assert (row["lower"], row["upper"]) == (pytest.approx(lo), pytest.approx(up))
        want = "Higher" if lo > eng else "Lower" if up < eng else "Similar"
        assert row["significance"] == want


def test_population_weighted_imd_from_the_raw_files(nat):
    imd = pd.read_csv(sources.locate("imd2025_lsoa21"))
    look = pd.read_csv(sources.locate("lsoa21_sicbl24_icb24_england"))
    census = pd.read_csv(sources.locate("census2021_ts007a_lsoa21"), skiprows=5).dropna(
        subset=["mnemonic"]
    )
    t = (
        look[look["sicbl24_code"] == SUB]
        .merge(imd, on="lsoa21_code")
        .merge(census, left_on="lsoa21_code", right_on="mnemonic")
    )
    assert len(t) == 651
    score = (t["IMD_score"] * t["Total"]).sum() / t["Total"].sum()
    d1 = 100 * t.loc[t["IMD_decile"] == 1, "Total"].sum() / t["Total"].sum()
    got = nat[(nat["area_code"] == SUB)].set_index("indicator_id")["value"]
    assert got[national.POPW_SCORE] == pytest.approx(score, rel=1e-12)
    assert got[national.POPW_D1] == pytest.approx(d1, rel=1e-12)
    # NHS Derby and Derbyshire ICB is one sub-ICB location: the same figures; and MHCLG's
    # File 13 (mid-2022 denominators) gives this ICB an average score of 21.553
    icb = nat[(nat["area_code"] == ICB)].set_index("indicator_id")["value"]
    assert icb[national.POPW_SCORE] == pytest.approx(score) and abs(score - 21.553) < 0.05


def test_shapes_of_both_levels(cfg, nat):
    sub = national.shapes(cfg, "sub_icb")
    assert len(sub) == 106 and SUB in set(sub["code"])
    icb = national.shapes(cfg, "icb", nat)
    icbs = set(nat.loc[nat["level"] == "icb", "area_code"])
    # the 36 July 2026 ICBs dissolved from their sub-ICB locations, and the split Frimley
    assert set(icb["code"]) == icbs | set(national.SPLIT_2026)
    assert icb.geometry.is_valid.all() and not icb.geometry.is_empty.any()


def test_map_table_classes_every_drawn_area(cfg, nat):
    geo = national.shapes(cfg, "sub_icb")
    draw, classes, undrawn = national.map_table(nat, "QOF_DM", "sub_icb", set(geo["code"]))
    assert len(draw) == 106 and set(draw["area_code"]) == set(geo["code"])
    assert undrawn["area_code"].tolist() == ["E38000268"]  # a value, no boundary
    assert len(classes.labels) == 5 and classes.method == "5 quantiles"
    grey = draw[draw["map_class"] == "No July 2026 value"]
    assert grey["area_code"].tolist() == ["E38000252"]


def test_national_map_spec_outlines_the_area_and_states_polarity(cfg, nat):
    from nhsbook.charts import national_map

    geo = national.shapes(cfg, "sub_icb")
    draw, classes, _ = national.map_table(nat, "QOF_HYP", "sub_icb", set(geo["code"]))
    chart = national_map(
        draw,
        geo,
        classes=classes,
        outline=geo[geo["code"] == SUB],
        title="Hypertension",
        legend_title=["%: quintiles of 106", "no judgement"],
    )
    spec = chart.to_dict()
    fill, outline = spec["layer"]
    assert outline["mark"]["filled"] is False and outline["mark"]["stroke"] == "#000000"
    feats = (
        outline["data"]["values"]
        if "values" in outline["data"]
        else spec["datasets"][outline["data"]["name"]]
    )
    assert [f["code"] for f in feats] == [SUB]
    legend = fill["encoding"]["color"]["legend"]["title"]
    assert "no judgement" in " ".join(legend)
    assert fill["encoding"]["color"]["scale"]["domain"][:5] == list(classes.labels)
    with pytest.raises(KeyError):
        national_map(draw, geo, classes=classes, outline=geo[geo["code"] == "nope"])


def test_the_page_sections(page):
    from nhsbook.pages.maps import national_sections

    maps = national_sections(page)
    rows = maps["rows"]
    assert len(rows) == 25 and maps["level"] == "sub_icb"
    dm = rows.set_index("indicator_id").loc["QOF_DM"]
    assert dm["Rank (1 = highest)"].endswith(" of 106") and dm["Polarity"] == "no judgement"
    spec = maps["chart"].to_dict()
    # one grid, the geometry embedded once for the 25 maps (the page stays light)
    assert len(spec["concat"]) == 25 and "national_sub_icb" in spec["datasets"]
    assert len(json.dumps(spec)) < 700_000
    for m in spec["concat"]:
        assert m["layer"][1]["mark"]["stroke"] == "#000000"
        sub = " ".join(m["title"]["subtitle"])
        assert "ranked" in sub and "1 = highest" in sub
    assert any("E38000268" in n for n in maps["notes"])
    assert any("E38000252" in n for n in maps["notes"])
    assert all("ranked **" in s for s in maps["sentences"] if "no value" not in s)


def test_the_page_opens_with_key_messages(page):
    """The national maps page's key messages count the comparisons with England of the
    summary table and name the indicators in England's highest and lowest fifths."""
    from nhsbook.pipeline import national

    rows, _, _, plural = national.summary(page)
    messages = page.key_messages("national")
    sig = rows["Compared with England"]
    assert messages[0].startswith("Compared with England (95% limits)")
    assert f"higher on {int((sig == 'Higher').sum())}" in messages[0]
    nat = national.table(page.book)
    own = nat[nat["area_code"] == page.code].set_index("indicator_id")
    n = int(own["n_ranked"].max())
    top = own[own["rank"] <= n / 5]
    if len(top):
        assert any(
            m.startswith(f"Among the highest fifth of England's {n} {plural}") for m in messages
        )
