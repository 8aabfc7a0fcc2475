"""The national synthetic England (nhsbook/synth/national.py) and the opendata loader's
national mode (``ccg_code: all``) reading it from a directory of files."""

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

from nhsbook.analysis import indicators
from nhsbook.cli import main
from nhsbook.config.book import load_book
from nhsbook.io import opendata, qof
from nhsbook.synth import national as sn

SMALL = {"practices": 300, "ccgs": 10, "lsoas": 1500, "seed": 11}


@pytest.fixture(scope="module")
def national():
    return sn.generate()


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("national-small")
    sn.write(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def small_book(tmp_path_factory, root):
    folder = tmp_path_factory.mktemp("national-book")
    path = folder / "test-national-small.yml"
    path.write_text(
        "name: test-national-small\ntitle: Small synthetic England\nloader: opendata\n"
        f"data: {path}\nsynthetic: true\nsynthetic_note: Synthetic test data.\n"
        f"opendata:\n  ccg_code: all\n  directory: {folder / 'data'}\n"
        "  synth: {practices: 300, ccgs: 10, lsoas: 1500, seed: 11}\n"
        "pages:\n  - part: CCGs\n    area_types: [ccg]\n    notebooks: [jsna_profile]\n",
        encoding="utf-8",
    )
    cfg = load_book(str(path), root=root)
    yield cfg
    shutil.rmtree(cfg.cache_dir, ignore_errors=True)


# --- the generator -------------------------------------------------------------------------


def test_same_seed_same_files_byte_for_byte_and_another_seed_differs(tmp_path, small_dir):
    again = sn.write(tmp_path / "again", **SMALL)
    for name, path in again.items():
        assert path.read_bytes() == (small_dir / sn.FILES[name]).read_bytes(), name
    other = sn.generate(**{**SMALL, "seed": 12})
    assert not other.prevalence.equals(sn.generate(**SMALL).prevalence)


def test_national_counts_of_areas_at_each_level(national):
    geo = national.geographies
    assert geo["REGION_ONS_CODE"].nunique() == 7
    assert geo["STP_ONS_CODE"].nunique() == 42
    assert geo["CCG_ONS_CODE"].nunique() == 106
    assert geo["PRACTICE_CODE"].nunique() == len(geo) == 6500
    pcns = geo.loc[geo["PCN_ODS_CODE"] != "U", "PCN_ODS_CODE"].nunique()
    assert 1150 <= pcns <= 1350
    # every STP in one region, every CCG in one STP, every PCN in one CCG
    assert (geo.groupby("STP_ONS_CODE")["REGION_ONS_CODE"].nunique() == 1).all()
    assert (geo.groupby("CCG_ONS_CODE")["STP_ONS_CODE"].nunique() == 1).all()
    assert (
        geo[geo["PCN_ODS_CODE"] != "U"].groupby("PCN_ODS_CODE")["CCG_ONS_CODE"].nunique() == 1
    ).all()
    lookup = national.lookup
    assert lookup["LSOA11CD"].nunique() == len(lookup) == 32844
    assert set(lookup["CCG20CD"]) == set(geo["CCG_ONS_CODE"])
    assert (lookup.groupby("LAD20CD")["CCG20CD"].nunique() == 1).all()
    residents = national.sape["all_ages"].sum() / 32844
    assert 1600 <= residents <= 1800


def test_national_list_sizes_are_realistic(national):
    prev = national.prevalence
    lists = prev.loc[prev["PATIENT_LIST_TYPE"] == "TOTAL"].drop_duplicates("PRACTICE_CODE")[
        "PRACTICE_LIST_SIZE"
    ]
    assert lists.min() >= 1000
    assert 7500 <= lists.median() <= 8500
    assert 5 <= (lists > 40000).sum() <= 60
    assert 55e6 <= lists.sum() <= 66e6


def test_registers_within_lists_and_prevalence_near_the_national_rates(national):
    prev = national.prevalence
    assert (prev["REGISTER"] <= prev["PRACTICE_LIST_SIZE"]).all()
    assert (prev["REGISTER"] >= 0).all()
    sums = prev.groupby("GROUP_CODE")[["REGISTER", "PRACTICE_LIST_SIZE"]].sum()
    for group, row in sums.iterrows():
        rate = sn.REGISTERS[group][4]
        assert row["REGISTER"] / row["PRACTICE_LIST_SIZE"] == pytest.approx(rate, rel=0.03), group
    # age groups: a register's list is never larger than the whole list
    wide = prev.pivot(index="PRACTICE_CODE", columns="GROUP_CODE", values="PRACTICE_LIST_SIZE")
    assert (wide.le(wide["AF"], axis=0)).all().all()
    assert (wide["OST"] < wide["CKD"]).all()


def test_prevalence_varies_with_deprivation_as_modelled(national):
    prev = national.prevalence
    copd = prev[prev["GROUP_CODE"] == "COPD"].set_index("PRACTICE_CODE")
    imd = national.fingertips.set_index("Area Code")["Value"].astype(float)
    rate = copd["REGISTER"] / copd["PRACTICE_LIST_SIZE"]
    assert np.corrcoef(rate, imd.reindex(rate.index))[0, 1] > 0.2


def test_files_read_through_the_importers_and_pass_the_gate(small_dir):
    from nhsbook.validation import gate

    paths = {name: small_dir / f for name, f in sn.FILES.items()}
    back = sn.read_back(paths)
    assert len(back["geographies"]) == SMALL["practices"]
    assert back["sape"]["lsoa_code"].nunique() == SMALL["lsoas"]
    report = gate.validate_datasets(paths)
    assert report.ok, report.to_text()
    assert [d.name for d in report.datasets] == list(sn.FILES)


def test_too_few_practices_per_ccg_is_refused():
    with pytest.raises(sn.SynthParameterError, match="3 practices"):
        sn.generate(practices=20, ccgs=10, lsoas=1500)


def test_cli_writes_the_national_files(tmp_path, capsys):
    assert (
        main(
            [
                "synth",
                "--practices",
                "300",
                "--ccgs",
                "10",
                "--lsoas",
                "1500",
                "--seed",
                "11",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == sorted(sn.FILES.values())
    assert "wrote" in capsys.readouterr().out
    assert main(["synth", "--practices", "5", "--ccgs", "10", "--out", str(tmp_path)]) == 2


# --- the opendata loader in national mode ------------------------------------------------


def test_national_mode_generates_its_inputs_and_the_gate_passes_them(small_book):
    from nhsbook.build.book import validate_inputs

    paths = opendata.dataset_paths(small_book)
    assert set(paths) == set(sn.FILES) | {opendata.SELECTION}
    assert sn.is_current(paths["qof_prevalence"].parent, **SMALL)
    report = validate_inputs(small_book)
    assert report.ok, report.to_text()


def test_national_mode_areas_and_comparators(small_book):
    tables = opendata.load(small_book)
    areas = tables.areas.set_index("area_code")
    counts = areas["area_type"].value_counts()
    assert counts["england"] == 1 and counts["ccg"] == 10 and counts["practice"] == 300
    assert counts["stp"] == 10  # at most 42 STPs, one CCG at least in each
    ccgs = areas[areas["area_type"] == "ccg"]
    assert (ccgs["comparator_code"] == "E92000001").all()
    assert ccgs["parent_code"].map(areas["area_type"]).eq("stp").all()
    practices = areas[areas["area_type"] == "practice"]
    assert practices["comparator_code"].map(areas["area_type"]).eq("ccg").all()
    assert areas["synthetic"].all()
    assert ccgs["n_lsoas"].sum() == SMALL["lsoas"]
    pop = tables.population.groupby("area_code")["population"].sum()
    assert set(pop.index) == set(ccgs.index)


def test_national_mode_ccg_and_england_values_sum_their_practices(small_book):
    tables = opendata.load(small_book)
    values = indicators.compute(tables)
    paths = opendata.dataset_paths(small_book)
    prev = qof.read_prevalence(paths["qof_prevalence"])
    geo = qof.read_geographies(paths["qof_geographies"])
    af = prev[prev["group_code"] == "AF"].merge(
        geo, left_on="practice_code", right_on="PRACTICE_CODE"
    )
    ccg = af.groupby("CCG_ONS_CODE")[["register", "list_size"]].sum()
    got = values[values["indicator_id"] == "QOF_AF"].set_index("area_code")
    for code, row in ccg.iterrows():
        assert got.loc[code, "value"] == pytest.approx(100 * row["register"] / row["list_size"])
        assert got.loc[code, "comparator_code"] == "E92000001"
    england = 100 * af["register"].sum() / af["list_size"].sum()
    assert got.loc["E92000001", "value"] == pytest.approx(england)
    assert got.loc[ccg.index, "significance"].isin(["Higher", "Lower", "Similar"]).all()


def test_a_ccg_profile_page_runs_and_says_the_data_are_synthetic(small_book, root, tmp_path):
    from nhsbook.pipeline.store import compute_and_store

    computed = compute_and_store(small_book)
    ccg = computed["areas"].loc[computed["areas"]["area_type"] == "ccg", "area_code"].iloc[0]
    env = {**os.environ, "NHSBOOK_ROOT": str(root)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(root / "notebooks" / "jsna_profile.ipynb"),
            str(tmp_path / "p.ipynb"),
            "-p",
            "area_code",
            ccg,
            "-p",
            "book",
            str(small_book.path),
            "-k",
            "python3",
            "--cwd",
            str(tmp_path),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    nb = nbformat.read(tmp_path / "p.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert any("**Synthetic data.**" in m and "Compared with:** England" in m for m in markdown)
    assert any("21 qof indicators; 1 deprivation indicators" in o.get("text", "") for o in outputs)


def test_files_option_overrides_one_dataset(tmp_path, small_dir, root):
    # a book's paths stay in the project, the mirror or the book file's folder (safepath)
    small_dir = Path(shutil.copytree(small_dir, tmp_path / "data"))
    path = tmp_path / "b.yml"
    other = tmp_path / "other.csv"
    other.write_bytes((small_dir / sn.FILES["qof_prevalence"]).read_bytes())
    path.write_text(
        f"name: test-national-files\ntitle: t\nloader: opendata\ndata: {path}\n"
        f"opendata:\n  ccg_code: ALL\n  directory: {small_dir}\n"
        f"  files: {{qof_prevalence: {other}}}\n",
        encoding="utf-8",
    )
    cfg = load_book(str(path), root=root)
    try:
        paths = opendata.dataset_paths(cfg)
        assert paths["qof_prevalence"] == other
        assert paths["qof_geographies"] == small_dir / sn.FILES["qof_geographies"]
        assert opendata.is_national(cfg)
        bad = tmp_path / "bad.yml"
        bad.write_text(
            path.read_text()
            .replace("qof_prevalence:", "qof_prevalance:")
            .replace(f"data: {path}", f"data: {bad}")
            .replace("test-national-files", "test-national-bad")
        )
        with pytest.raises(opendata.OpenDataError, match="files"):
            opendata.dataset_paths(load_book(str(bad), root=root))
    finally:
        shutil.rmtree(cfg.cache_dir, ignore_errors=True)
        shutil.rmtree(root / "build" / "test-national-bad", ignore_errors=True)


def test_national_synth_book_file_is_synthetic_and_says_so(root):
    cfg = load_book("national-synth", root=root)
    assert cfg.synthetic and "synthetic" in cfg.synthetic_note.lower()
    assert "synthetic" in cfg.notice.lower()
    opts = opendata.options(cfg)
    assert opts["ccg_code"] == "all"
    assert opts["synth"] == {
        "practices": 6500,
        "ccgs": 106,
        "lsoas": 32844,
        "seed": sn.DEFAULT_SEED,
    }
    assert [ps.area_types for ps in cfg.page_sets] == [("ccg",)]
    pd.testing.assert_index_equal(
        pd.Index(sorted(opts)), pd.Index(sorted(["ccg_code", "directory", "files", "synth"]))
    )
