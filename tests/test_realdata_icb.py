"""The current-data ICB book (books/derbyshire-icb-2025.yml, loader ``opendata`` in ICB mode):
the July 2026 hierarchy, QOF 2024-25 prevalence recomputed from the raw file, pyramids from
the July 2026 registrations against England, IMD 2025, the smoking trend, and a second ICB
built by changing its code only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from nhsbook import stats
from nhsbook.config.book import load_book
from nhsbook.pipeline.store import compute_and_store, is_current

ICB, SUB_ICB, ENGLAND = "E54000058", "E38000261", "E92000001"
BOOK = "derbyshire-icb-2025"


@pytest.fixture(scope="module")
def book():
    return load_book(BOOK)


@pytest.fixture(scope="module")
def tables(book):
    """Computed afresh (the stored tables are keyed by the inputs, not by the code)."""
    return compute_and_store(book)


def test_areas_are_the_icb_its_sub_icb_pcns_and_practices(tables, practice_map):
    areas = tables["areas"].set_index("area_code")
    mine = practice_map[practice_map["SUB_ICB_LOCATION_CODE"] == "15M"]
    assert len(mine) == 108 and mine["PCN_CODE"].nunique() == 18  # 17 PCNs + U
    assert areas.loc[ICB, "area_type"] == "stp" and areas.loc[ICB, "parent_code"] == "E40000011"
    assert areas.loc["E40000011", "area_type"] == "region"
    assert areas.loc[SUB_ICB, "area_type"] == "ccg" and areas.loc[SUB_ICB, "parent_code"] == ICB
    practice = areas[areas["area_type"] == "practice"]
    pcn = areas[areas["area_type"] == "pcn"]
    assert sorted(practice.index) == sorted(mine["PRACTICE_CODE"])
    assert sorted(pcn.index) == sorted(set(mine["PCN_CODE"]) - {"U"}) and len(pcn) == 17
    unallocated = mine.loc[mine["PCN_CODE"] == "U", "PRACTICE_CODE"]
    assert len(unallocated) == 3
    assert (practice.loc[unallocated, "parent_code"] == SUB_ICB).all()
    assert practice["comparator_code"].eq(SUB_ICB).all()
    assert pcn["comparator_code"].eq(SUB_ICB).all()
    assert areas.loc[[SUB_ICB, ICB, "E40000011"], "comparator_code"].eq(ENGLAND).all()
    assert areas.loc[SUB_ICB, "list_size"] == 1_143_043
    assert not areas["synthetic"].any()


@pytest.mark.parametrize("register", ["DM", "HYP", "DEP"])
def test_icb_prevalence_recomputed_from_the_raw_qof_file(tables, current, practice_map, register):
    """Three registers: Σ register / Σ list over the ICB's practices of the July 2026 map,
    straight from the published CSV (REGISTER written as a float), with Wilson limits."""
    raw = pd.read_csv(current / "qof" / "qof_2024-25_PREVALENCE_2425_england.csv.gz")
    codes = practice_map.loc[practice_map["ICB_CODE"] == "QJ2", "PRACTICE_CODE"]
    rows = raw[
        raw["PRACTICE_CODE"].isin(codes)
        & (raw["GROUP_CODE"] == register)
        & (raw["REGISTER"] <= raw["PRACTICE_LIST_SIZE"])
    ]
    count, denom = rows["REGISTER"].sum(), rows["PRACTICE_LIST_SIZE"].sum()
    v = tables["values"]
    for code in (ICB, SUB_ICB):  # the ICB's sums and the sub-ICB's roll-up agree (one sub-ICB)
        row = v[
            (v["area_code"] == code)
            & (v["indicator_id"] == f"QOF_{register}")
            & (v["period"] == "2024/25")
        ].iloc[0]
        assert row["count"] == count and row["denominator"] == denom
        assert row["value"] == pytest.approx(100 * count / denom, abs=1e-12)
        ci = stats.proportion_ci(pd.Series([count]), pd.Series([denom]), multiplier=100)
        assert row["lower_95"] == pytest.approx(ci["lower"].iloc[0])
        assert row["upper_95"] == pytest.approx(ci["upper"].iloc[0])
        assert row["comparator_code"] == ENGLAND
    eng = v[
        (v["area_code"] == ENGLAND)
        & (v["indicator_id"] == f"QOF_{register}")
        & (v["period"] == "2024/25")
    ].iloc[0]
    every = raw[(raw["GROUP_CODE"] == register) & (raw["REGISTER"] <= raw["PRACTICE_LIST_SIZE"])]
    assert eng["count"] == every["REGISTER"].sum()


def test_recorded_prevalence_is_compared_without_judgement(tables):
    v = tables["values"]
    meta = tables["metadata"].set_index("indicator_id")
    qof = v[v["indicator_id"].str.startswith("QOF_")]
    assert qof["indicator_id"].nunique() == 21
    assert (meta.loc[qof["indicator_id"].unique(), "polarity"] == "no_judgement").all()
    assert (meta.loc[qof["indicator_id"].unique(), "period"] == "2024/25").all()
    labels = set(qof.loc[qof["area_type"].isin(["practice", "pcn", "ccg", "stp"]), "significance"])
    assert labels <= {"Higher", "Similar", "Lower", "Not compared"} and "Higher" in labels
    practice = qof[qof["area_type"] == "practice"]
    assert practice["comparator_code"].eq(SUB_ICB).all()


def test_pyramids_are_registrations_against_england(tables, current):
    from nhsbook.pages.area import AreaPage

    reg = pd.read_csv(
        current / "population" / "gp-reg-pat-prac-quin-age_jul2026.zip", dtype={"ONS_CODE": str}
    )
    totals = reg[(reg["SEX"] == "ALL") & (reg["AGE_GROUP_5"] == "ALL")]
    pop = tables["population"]
    got = pop.groupby("area_code")["population"].sum()
    assert got[ENGLAND] == 63_436_508
    assert got[SUB_ICB] == 1_143_043 and got[ICB] == 1_143_043
    c81001 = totals.loc[
        (totals["ORG_TYPE"] == "GP") & (totals["ORG_CODE"] == "C81001"), "NUMBER_OF_PATIENTS"
    ].iloc[0]
    assert got["C81001"] == c81001
    assert set(pop["age_band"]) >= {"90+"} and len(pop[pop["area_code"] == ENGLAND]) == 38
    # Parkfields Surgery has 1 registered patient in July 2026 (6,643 on QOF 2024-25): no
    # pyramid (counts 1-4 are suppressed), and the page says why
    assert "Y05733" not in got.index
    assert "Fewer than 5 patients" in AreaPage.load("Y05733", BOOK).missing_population()
    for code in ("C81001", "U05048", SUB_ICB, ICB):
        data = AreaPage.load(code, BOOK).pyramid_data()
        ref = data[data["role"] == "comparator"]
        assert ref["name"].iloc[0] == "England (registered patients, July 2026)"
        assert ref["population"].sum() == 63_436_508


def test_imd2025_practice_scores_and_weighted_means(tables, current):
    raw = pd.read_csv(current / "imd" / "fingertips_94240_imd2025_score_gp_practice.csv")
    v = tables["values"]
    imd = v[v["indicator_id"] == "94240"]
    pr = imd[imd["area_type"] == "practice"].set_index("area_code")["value"]
    assert len(pr) == 108
    assert np.allclose(pr, raw.set_index("PRACTICE_CODE")["IMD_SCORE"].reindex(pr.index))
    sizes = tables["areas"].set_index("area_code")["list_size"].reindex(pr.index)
    sub = imd.loc[imd["area_code"] == SUB_ICB, "value"].iloc[0]
    assert sub == pytest.approx((pr * sizes).sum() / sizes.sum())


def test_smoking_is_a_real_two_period_trend(tables, shared):
    """91547 at practice, PCN, sub-ICB and ICB level for 2022/23 and 2023/24, the 2023/24 GP
    rows (published with an empty Indicator ID) included."""
    from nhsbook.pages.area import AreaPage

    v = tables["values"]
    s = v[v["indicator_id"] == "91547"]
    for kind in ("practice", "pcn", "ccg", "stp", "england"):
        assert set(s.loc[s["area_type"] == kind, "period"]) == {"2022/23", "2023/24"}, kind
    raw = pd.read_csv(
        shared / "data" / "gp" / "fingertips_91547_smoking_qof_prevalence_all_area_types.csv.gz",
        dtype={"Indicator ID": str},
        keep_default_na=False,
    )
    gp = raw[(raw["Area Type"] == "GPs") & (raw["Area Code"] == "C81001")].set_index("Time period")
    mine = s[s["area_code"] == "C81001"].set_index("period")
    assert mine.loc["2023/24", "count"] == float(gp.loc["2023/24", "Count"])
    assert gp.loc["2023/24", "Indicator ID"] == ""
    assert mine.loc["2022/23", "value"] == pytest.approx(float(gp.loc["2022/23", "Value"]))
    practices = s[(s["area_type"] == "practice") & (s["period"] == "2023/24")]
    sub = s[(s["area_code"] == SUB_ICB) & (s["period"] == "2023/24")].iloc[0]
    assert sub["count"] == practices["count"].sum()
    page = AreaPage.load(SUB_ICB, BOOK)
    trends = page.trends()
    # smoking, and the 21 QOF registers bridged from 2020/21 (tests/test_peers.py)
    assert set(trends["indicator_id"]) == {"91547"} | {
        f"QOF_{g}"
        for g in (
            "AF",
            "AST",
            "CAN",
            "CHD",
            "CKD",
            "COPD",
            "DEM",
            "DEP",
            "DM",
            "EP",
            "HF",
            "HYP",
            "LD",
            "MH",
            "NDH",
            "OB",
            "OST",
            "PAD",
            "PC",
            "RA",
            "STIA",
        )
    }
    assert (trends["indicator_id"] == "91547").sum() == 2
    # the profile and the spine show the latest period only, once
    profile = page.profile("behaviours")
    assert profile["period"].tolist() == ["2023/24"] and profile["value"].iloc[0] == sub["value"]
    spine = page.spine_chart("behaviours")
    assert spine is not None
    # funnels: one point per practice, the latest period, around the sub-ICB's 2023/24 value
    points, target = page.practice_points()
    smoke = points[points["indicator_id"] == "91547"]
    assert target == SUB_ICB and len(smoke) == smoke["area_code"].nunique() == 108
    assert (smoke["target"] == sub["value"]).all()
    mine = s[(s["area_type"] == "practice") & (s["period"] == "2023/24")].set_index("area_code")
    got = smoke.set_index("area_code")["count"]
    assert (got == mine["count"].reindex(got.index)).all()


def test_every_area_has_its_pages_and_pages_state_the_vintage(book, tables):
    from nhsbook.build.book import plan_pages
    from nhsbook.pages.area import AreaPage

    pages = plan_pages(book, tables["areas"])
    by_type: dict[str, set[str]] = {}
    for p in pages:
        by_type.setdefault(p.area_type, set()).add(p.area_code)
    areas = tables["areas"]
    for kind in ("stp", "ccg", "pcn", "practice"):
        assert by_type[kind] == set(areas.loc[areas["area_type"] == kind, "area_code"])
    nbs = {(p.area_type, p.notebook) for p in pages}
    assert {
        ("practice", "population"),
        ("stp", "deprivation_2025"),
        ("ccg", "deprivation_2025"),
        ("pcn", "practice_variation"),
    } <= nbs
    # the header is markdown with every punctuation character of data escaped (nhsbook.core.escape)
    header = AreaPage.load("C81001", BOOK).header_markdown()
    header = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", header)
    for words in ("QOF 2024-25", "July 2026", "Indices of Deprivation 2025", "GP practice"):
        assert words in header


def test_lsoa21_deprivation_of_the_sub_icb(book, tables, current):
    from nhsbook.pipeline import lsoa21

    lsoas = lsoa21.area_lsoas(SUB_ICB, book, tables["areas"])
    assert len(lsoas) == 651  # Glossop's LSOAs included since July 2022
    table, classes = lsoa21.imd_table(lsoas, book)
    raw = pd.read_csv(current / "imd" / "imd2025_england_lsoa21.csv.gz").set_index("lsoa21_code")
    assert (
        table.set_index("lsoa21_code")["imd_decile"] == raw.loc[table["lsoa21_code"], "IMD_decile"]
    ).all()
    assert lsoa21.has_boundaries(table)
    assert classes.labels[0] == "1 most deprived (ranks 1–3,375)"
    profile = lsoa21.decile_profile(table)
    assert profile["LSOAs"].sum() == 651
    # population-weighted by Census 2021 usual residents (TS007A): 1,056,118 in 15M
    assert profile["Residents (Census 2021)"].sum() == 1_056_118
    assert profile["% of residents"].sum() == pytest.approx(100)
    w = lsoa21.weighted_summary(table)
    assert w["score"] == pytest.approx((table["imd_score"] * table["population"]).sum() / 1_056_118)
    assert 0 < w["pct_d1"] < w["pct_d12"] < 100
    glossop = table[table["area_name"].str.startswith("High Peak")]
    assert len(glossop) == 59
    with pytest.raises(KeyError, match="sub-ICB locations and ICBs"):
        lsoa21.area_lsoas("C81001", book, tables["areas"])


def _second_book(tmp_path: Path, code: str, name: str, pages: str | None = None) -> Path:
    path = tmp_path / f"{name}.yml"
    text = (Path(__file__).resolve().parents[1] / "books" / f"{BOOK}.yml").read_text()
    text = text.replace(f"name: {BOOK}", f"name: {name}")
    text = text.replace(f"data: books/{BOOK}.yml", f"data: {path}")
    text = text.replace("icb_code: QJ2", f"icb_code: {code}")
    if pages is not None:
        text = text[: text.index("\npages:")] + "\n" + pages
    path.write_text(text, encoding="utf-8")
    return path


def test_a_second_icb_builds_by_code(tmp_path, root):
    """NHS Shropshire, Telford and Wrekin ICB by its ODS code alone: the gate passes, the
    tables are computed and its profile and deprivation pages run (no 2021 LSOA boundaries
    for Shropshire in the mirror: the page says so and gives the tables)."""
    from nhsbook.build.book import validate_inputs

    name = "test-realdata-icb-qoc"
    path = _second_book(
        tmp_path,
        "QOC",
        name,
        pages="""pages:
  - part: ICB
    area_types: [stp]
    notebooks: [jsna_profile, deprivation_2025, national_maps]
""",
    )
    cfg = load_book(str(path))
    try:
        report = validate_inputs(cfg)
        assert report.ok, [f.where() for f in report.failures]
        computed = compute_and_store(cfg)
        areas = computed["areas"].set_index("area_code")
        icb = areas.index[areas["area_type"] == "stp"][0]
        assert icb != ICB and areas.loc[icb, "area_name"].startswith("NHS Shropshire")
        assert (areas["area_type"] == "practice").sum() == 50
        v = computed["values"]
        dm = v[(v["area_code"] == icb) & (v["indicator_id"] == "QOF_DM")].iloc[0]
        assert 0 < dm["value"] < 100 and dm["significance"] in ("Higher", "Lower", "Similar")
        out = tmp_path / "nb"
        out.mkdir()
        env = {**os.environ, "NHSBOOK_ROOT": str(root)}
        texts = []
        for nb_name in ("jsna_profile", "deprivation_2025", "national_maps"):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "papermill",
                    str(root / "notebooks" / f"{nb_name}.ipynb"),
                    str(out / f"{nb_name}.ipynb"),
                    "-p",
                    "area_code",
                    icb,
                    "-p",
                    "book",
                    str(path),
                    "-k",
                    "python3",
                    "--cwd",
                    str(out),
                ],
                check=True,
                env=env,
                capture_output=True,
            )
            nb = nbformat.read(out / f"{nb_name}.ipynb", as_version=4)
            assert not [
                o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
            ]
            texts += [
                str(o.get("text", "")) + str(o.get("data", {}).get("text/markdown", ""))
                for c in nb.cells
                for o in c.get("outputs", [])
            ]
        text = " ".join(texts)
        assert "21 qof indicators; 1 deprivation indicators; 1 behaviours indicators" in text
        assert "boundaries for NHS Shropshire" in text and "not in the data" in text
        # the national maps page of another ICB: its ICB among the 36 of July 2026, ranked
        assert "indicators mapped for icb" in text and "of 36** ICBs" in text
        path.write_text(path.read_text().replace("icb_code: QOC", "icb_code: QJ2"))
        assert not is_current(load_book(str(path)))
    finally:
        shutil.rmtree(cfg.cache_dir, ignore_errors=True)


def test_a_sub_icb_location_alone_and_unknown_codes(tmp_path):
    from nhsbook.config import sources
    from nhsbook.io import current, opendata_icb

    m = current.read_practice_map(sources.locate("gp_reg_practice_map_jul2026"))
    mine, icb = opendata_icb.select(m, {"sub_icb_code": "E38000261"})
    assert len(mine) == 108 and icb["ICB_CODE"] == "QJ2"
    mine, _ = opendata_icb.select(m, {"icb_code": "e54000058", "sub_icb_code": "15m"})
    assert len(mine) == 108
    with pytest.raises(opendata_icb.IcbSelectionError, match="icb_code 'ZZZ' is not an ICB"):
        opendata_icb.select(m, {"icb_code": "ZZZ"})
    with pytest.raises(opendata_icb.IcbSelectionError, match="not a sub-ICB location of ICB"):
        opendata_icb.select(m, {"icb_code": "QJ2", "sub_icb_code": "16C"})
    cfg = load_book(str(_second_book(tmp_path, "ZZZ", "test-realdata-icb-zzz")))
    try:
        with pytest.raises(opendata_icb.IcbSelectionError, match="is not an ICB"):
            compute_and_store(cfg)
    finally:
        shutil.rmtree(cfg.cache_dir, ignore_errors=True)
