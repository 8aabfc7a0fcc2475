"""The real-data book (books/derbyshire-2021.yml, loader ``opendata``): areas, QOF prevalence
arithmetic, comparisons, populations by the LSOA lookup, and the same book for a second CCG
chosen by its code only."""

from __future__ import annotations

import os
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
from nhsbook.pipeline.store import compute_and_store, is_current, load_computed

CCG = "E38000229"


@pytest.fixture(scope="module")
def book():
    return load_book("derbyshire-2021")


@pytest.fixture(scope="module")
def tables(book):
    return load_computed(book)


@pytest.fixture(scope="module")
def qof_raw(shared):
    prev = pd.read_csv(shared / "data" / "qof" / "qof_2020-21_PREVALENCE_2021_v2_england.csv.gz")
    geo = pd.read_csv(
        shared / "data" / "qof" / "qof_2020-21_MAPPING_NHS_GEOGRAPHIES_2021_england.csv", dtype=str
    )
    return prev, geo


def test_areas_are_the_ccg_its_pcns_and_practices(tables, qof_raw):
    _, geo = qof_raw
    areas = tables["areas"].set_index("area_code")
    mine = geo[geo["CCG_ODS_CODE"] == "15M"]
    assert areas.loc[CCG, "area_name"] == "NHS Derby and Derbyshire CCG"
    pcn = areas[areas["area_type"] == "pcn"]
    practice = areas[areas["area_type"] == "practice"]
    assert sorted(pcn.index) == sorted(mine["PCN_ODS_CODE"].unique()) and len(pcn) == 15
    assert sorted(practice.index) == sorted(mine["PRACTICE_CODE"]) and len(practice) == 112
    names = mine.set_index("PRACTICE_CODE")["PRACTICE_NAME"]
    assert (practice["area_name"] == names.reindex(practice.index)).all()
    assert (
        practice["parent_code"]
        == mine.set_index("PRACTICE_CODE")["PCN_ODS_CODE"].reindex(practice.index)
    ).all()
    # comparators: practice and PCN -> CCG -> England; the STP above the CCG
    assert practice["comparator_code"].eq(CCG).all() and pcn["comparator_code"].eq(CCG).all()
    assert areas.loc[CCG, "comparator_code"] == "E92000001"
    assert areas.loc[CCG, "parent_code"] == "E54000012"
    assert areas.loc["E54000012", "area_type"] == "stp"
    assert not areas["synthetic"].any()


def test_ccg_prevalence_is_sum_of_registers_over_sum_of_lists(tables, qof_raw):
    prev, geo = qof_raw
    v = tables["values"]
    mine = prev[prev["PRACTICE_CODE"].isin(geo.loc[geo["CCG_ODS_CODE"] == "15M", "PRACTICE_CODE"])]
    sums = mine.groupby("GROUP_CODE")[["REGISTER", "PRACTICE_LIST_SIZE"]].sum()
    ccg = v[(v["area_code"] == CCG) & v["indicator_id"].str.startswith("QOF_")]
    ccg = ccg.set_index(ccg["indicator_id"].str[4:])
    assert sorted(ccg.index) == sorted(sums.index) and len(ccg) == 21
    assert (ccg["count"] == sums["REGISTER"].reindex(ccg.index)).all()
    assert (ccg["denominator"] == sums["PRACTICE_LIST_SIZE"].reindex(ccg.index)).all()
    expected = 100 * sums["REGISTER"] / sums["PRACTICE_LIST_SIZE"]
    assert np.allclose(ccg["value"], expected.reindex(ccg.index), rtol=0, atol=1e-9)
    wilson = stats.proportion_ci(ccg["count"], ccg["denominator"], multiplier=100)
    assert np.allclose(ccg["lower_95"], wilson["lower"]) and np.allclose(
        ccg["upper_95"], wilson["upper"]
    )
    # every PCN: the sum over its practices; England: over every practice in the file
    pcn = v[(v["area_type"] == "pcn") & (v["indicator_id"] == "QOF_DM")]
    areas = tables["areas"]
    for code, row in pcn.set_index("area_code").iterrows():
        kids = areas.loc[areas["parent_code"] == code, "area_code"]
        dm = mine[mine["PRACTICE_CODE"].isin(kids) & (mine["GROUP_CODE"] == "DM")]
        assert row["count"] == dm["REGISTER"].sum()
        assert row["denominator"] == dm["PRACTICE_LIST_SIZE"].sum()
    eng = v[(v["area_code"] == "E92000001") & (v["indicator_id"] == "QOF_HYP")].iloc[0]
    hyp = prev[prev["GROUP_CODE"] == "HYP"]
    assert (
        eng["count"] == hyp["REGISTER"].sum()
        and eng["denominator"] == hyp["PRACTICE_LIST_SIZE"].sum()
    )


def test_significance_against_ccg_and_england(tables):
    from nhsbook.pages.area import AreaPage

    v = tables["values"]
    practice = v[(v["area_type"] == "practice") & (v["indicator_id"] == "QOF_HYP")]
    assert practice["comparator_code"].eq(CCG).all()
    ccg_value = v.loc[(v["area_code"] == CCG) & (v["indicator_id"] == "QOF_HYP"), "value"].iloc[0]
    assert np.allclose(practice["comparator_value"], ccg_value)
    low = practice["upper_95"] < ccg_value
    assert (practice.loc[low, "significance"] == "Lower").all() and low.any()
    ccg = v[(v["area_code"] == CCG) & (v["indicator_id"] == "QOF_HYP")].iloc[0]
    assert ccg["comparator_code"] == "E92000001" and ccg["significance"] == "Higher"
    page = AreaPage.load("C81001", "derbyshire-2021")
    both = page.second_comparison()
    assert list(both.columns[-2:]) == ["England", "Compared with England"]
    af = both[both["Indicator"].str.startswith("Atrial fibrillation")].iloc[0]
    eng_af = v.loc[(v["area_code"] == "E92000001") & (v["indicator_id"] == "QOF_AF"), "value"].iloc[
        0
    ]
    assert af["England"] == eng_af
    expected = (
        "Higher"
        if af["Lower 95% CI"] > eng_af
        else "Lower"
        if af["Upper 95% CI"] < eng_af
        else "Similar"
    )
    assert af["Compared with England"] == expected


def test_practice_spread_and_imd_score(tables):
    v = tables["values"]
    areas = tables["areas"].set_index("area_code")
    dm = v[(v["indicator_id"] == "QOF_DM")]
    practices = dm[dm["area_type"] == "practice"]
    ccg = dm[dm["area_code"] == CCG].iloc[0]
    # suppressed practices (counts 1-4 and their complements, nhsbook.analysis.disclosure) left out
    hidden = (
        practices["suppressed"] if "suppressed" in practices else practices["count"].between(1, 4)
    )
    assert ccg["n_practices"] == 112 - hidden.sum()
    assert ccg["p25"] == pytest.approx(np.percentile(practices.loc[~hidden, "value"], 25))
    imd = v[v["indicator_id"] == "93553"]
    pr = imd[imd["area_type"] == "practice"].set_index("area_code")
    weights = areas.loc[pr.index, "list_size"]
    expected = (pr["value"] * weights).sum() / weights.sum()
    assert imd.loc[imd["area_code"] == CCG, "value"].iloc[0] == pytest.approx(expected)


def test_population_by_lookup_not_by_district(tables, shared):
    pop = tables["population"]
    lk = pd.read_csv(shared / "data" / "lookups" / "lsoa11_ccg20_lad20_england.csv.gz")
    sape = pd.read_csv(
        shared / "data" / "population" / "sape_mid2019_lsoa11_single_year_by_sex_derbyshire.csv"
    )
    lsoas = set(lk.loc[lk["CCG20CD"] == CCG, "LSOA11CD"])
    assert len(lsoas) == 621
    total = sape.loc[sape["lsoa_code"].isin(lsoas), "all_ages"].sum()
    assert pop.loc[pop["area_code"] == CCG, "population"].sum() == total
    nine_districts = sape["all_ages"].sum()
    glossop = sape.loc[
        sape["lsoa_code"].isin(set(lk.loc[lk["CCG20CD"] == "E38000182", "LSOA11CD"])), "all_ages"
    ].sum()
    assert total == nine_districts - glossop and glossop > 30_000
    areas = tables["areas"].set_index("area_code")
    assert areas.loc["E07000037", "area_name"] == "High Peak (part: 38 of 59 LSOAs)"
    assert areas.loc["E07000037", "n_lsoas"] == 38
    districts = areas[areas["area_type"] == "district"].index
    assert pop[pop["area_code"].isin(districts)]["population"].sum() == total
    assert set(pop.loc[pop["area_code"] == CCG, "sex"]) == {"Male", "Female"}


def test_every_pcn_and_practice_has_pages(book, tables):
    from nhsbook.build.book import plan_pages

    pages = plan_pages(book, tables["areas"])
    by_type: dict[str, set[str]] = {}
    for p in pages:
        by_type.setdefault(p.area_type, set()).add(p.area_code)
    areas = tables["areas"]
    for kind in ("ccg", "pcn", "practice", "district"):
        assert by_type[kind] == set(areas.loc[areas["area_type"] == kind, "area_code"])
    nbs = {(p.area_type, p.notebook) for p in pages}
    assert {
        ("practice", "jsna_profile"),
        ("pcn", "practice_variation"),
        ("ccg", "population"),
        ("district", "population"),
    } <= nbs


def _second_book(tmp_path: Path, code: str, name: str) -> Path:
    path = tmp_path / f"{name}.yml"
    text = (Path(__file__).resolve().parents[1] / "books" / "derbyshire-2021.yml").read_text()
    text = text.replace("name: derbyshire-2021", f"name: {name}")
    text = text.replace("data: books/derbyshire-2021.yml", f"data: {path}")
    text = text.replace("ccg_code: E38000229", f"ccg_code: {code}")
    path.write_text(text, encoding="utf-8")
    return path


def test_second_ccg_chosen_by_code_builds(tmp_path, root):
    """NHS Herts Valleys CCG by its ODS code alone: tables computed, a profile page runs."""
    name = "test-realdata-06n"
    path = _second_book(tmp_path, "06N", name)
    cfg = load_book(str(path))
    try:
        computed = compute_and_store(cfg)
        areas = computed["areas"].set_index("area_code")
        assert areas.loc["E38000079", "area_type"] == "ccg"
        assert (areas["area_type"] == "practice").sum() == 55
        assert (areas["area_type"] == "pcn").sum() == 17
        assert areas.loc["E38000079", "parent_code"] == "E54000025"
        # Dacorum is the only district whose LSOAs the mirror's population files cover
        assert areas.index[areas["area_type"] == "district"].tolist() == ["E07000096"]
        assert "Derby, Derbyshire, Dacorum" in areas.loc["E38000079", "population_note"]
        v = computed["values"]
        ccg = v[(v["area_code"] == "E38000079") & (v["indicator_id"] == "QOF_DM")].iloc[0]
        assert 0 < ccg["value"] < 100 and ccg["significance"] in ("Higher", "Lower", "Similar")
        out = tmp_path / "nb"
        out.mkdir()
        env = {**os.environ, "NHSBOOK_ROOT": str(root)}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "papermill",
                str(root / "notebooks" / "jsna_profile.ipynb"),
                str(out / "p.ipynb"),
                "-p",
                "area_code",
                "E38000079",
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
        nb = nbformat.read(out / "p.ipynb", as_version=4)
        streams = [
            o.get("text", "")
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
            if o.get("output_type") == "stream"
        ]
        assert any("21 qof indicators; 1 deprivation indicators" in s for s in streams)
        errors = [
            o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
        ]
        assert not errors
        # changing the code alone invalidates the stored tables
        path.write_text(path.read_text().replace("ccg_code: 06N", "ccg_code: 15M"))
        assert not is_current(load_book(str(path)))
    finally:
        shutil.rmtree(cfg.cache_dir, ignore_errors=True)


def test_unknown_ccg_code_is_refused(tmp_path):
    from nhsbook.io.opendata import OpenDataError

    cfg = load_book(str(_second_book(tmp_path, "ZZZ", "test-realdata-zzz")))
    try:
        with pytest.raises(OpenDataError, match="ccg_code 'ZZZ' is not a CCG"):
            compute_and_store(cfg)
    finally:
        shutil.rmtree(cfg.cache_dir, ignore_errors=True)


def test_map_footprint_is_the_lookup_not_the_districts(tables):
    """The CCG's map covers the LSOAs the ONS lookup gives it (Glossop's 21 LSOAs of High
    Peak are Tameside and Glossop's), with residents by age from the England-wide ONS file
    adding up to the CCG population built from the single-year files."""
    from nhsbook.pipeline import geo

    area = geo.resolve(CCG, "derbyshire-2021")
    assert len(area.lsoas) == 621 and area.has_lsoa_boundaries
    assert list(area.parts) == ["district"]
    high_peak = geo.resolve("E07000037", "derbyshire-2021")
    assert high_peak.kind == "district" and len(high_peak.lsoas) == 38
    whole, _ = geo.district_lsoas("E07000037")
    glossop = set(whole["lsoa11_code"]) - set(high_peak.lsoas["lsoa11_code"])
    assert len(glossop) == 21 and not glossop & set(area.lsoas["lsoa11_code"])
    assert (whole.set_index("lsoa11_code").loc[sorted(glossop), "ccg20_code"] == "E38000182").all()
    ages, classes = geo.lsoa_age_table(area)
    pop = tables["population"]
    assert ages["population"].sum() == pop.loc[pop["area_code"] == CCG, "population"].sum()
    assert len(classes.labels) == 5
    codes, scope = geo.wider_view(area)
    assert "East Midlands" in scope and set(area.lad13_codes) <= set(codes)


def _scratch_root(tmp_path: Path, root: Path) -> Path:
    """A project root whose book/ is a scratch copy, so a test build leaves the real one."""
    scratch = tmp_path / "root"
    scratch.mkdir()
    for name in ("_config.yml", "notebooks", "expectations"):
        (scratch / name).symlink_to(root / name)
    for name in ("books", "data"):  # copied: a book's paths must resolve inside its project
        shutil.copytree(root / name, scratch / name)
    shutil.copytree(
        root / "book", scratch / "book", ignore=shutil.ignore_patterns("_build", "areas", "_extra")
    )
    return scratch


def test_a_second_ccg_builds_a_whole_book_by_code(tmp_path, root, shared):
    """`nhsbook build` for NHS Bassetlaw CCG, named by its ODS code only: every PCN and
    practice gets its pages, the site is published, and the map page says that its LSOA
    boundaries are not in the mirror while the rest of the book builds."""
    scratch = _scratch_root(tmp_path, root)
    path = tmp_path / "bassetlaw.yml"
    path.write_text(
        f"""name: test-realdata-02q
title: NHS Bassetlaw CCG
loader: opendata
data: {path}
synthetic: false
opendata:
  ccg_code: 02Q
pages:
  - part: CCG and primary care networks
    area_types: [ccg, pcn]
    notebooks: [jsna_profile]
  - part: Practices
    area_types: [practice]
    notebooks: [jsna_profile]
  - part: Population and maps
    area_types: [ccg]
    notebooks: [population, maps]
""",
        encoding="utf-8",
    )
    env = {**os.environ, "NHSBOOK_ROOT": str(scratch), "NHSBOOK_MIRROR": str(shared / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "nhsbook", "build", "--book", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    areas = scratch / "book" / "areas"
    built = {p.parent.name for p in areas.glob("*/jsna_profile.ipynb")}
    assert len(built) == 1 + 3 + 9 and "E38000008" in built
    site = scratch / "book" / "_build" / "html"
    assert (site / "areas" / "E38000008" / "jsna_profile.html").is_file()
    maps = nbformat.read(areas / "E38000008" / "maps.ipynb", as_version=4)
    text = " ".join(
        str(o.get("data", {}).get("text/markdown", ""))
        for c in maps.cells
        for o in c.get("outputs", [])
    )
    assert "LSOA boundaries for NHS Bassetlaw CCG are not in the data" in text
    population = nbformat.read(areas / "E38000008" / "population.ipynb", as_version=4)
    assert "No population for this area" in " ".join(
        str(o.get("data", {}).get("text/markdown", ""))
        for c in population.cells
        for o in c.get("outputs", [])
    )
