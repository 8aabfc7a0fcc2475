"""The importers of real open-data files (QOF, ONS, IMD, ODS) on the mirror's files as
published, and on broken copies; and the Great Expectations gate over the real-data book."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from nhsbook.core.model import AGE_BANDS
from nhsbook.io import ods, ons, opendata, qof
from nhsbook.validation import gate


@pytest.fixture(scope="module")
def data(shared):
    return shared / "data"


@pytest.fixture(scope="module")
def prevalence(data):
    return qof.read_prevalence(data / "qof" / "qof_2020-21_PREVALENCE_2021_v2_england.csv.gz")


@pytest.fixture(scope="module")
def geographies(data):
    return qof.read_geographies(
        data / "qof" / "qof_2020-21_MAPPING_NHS_GEOGRAPHIES_2021_england.csv"
    )


def _rewrite(src, dst, edit):
    """A copy of a (possibly gzipped) CSV with ``edit`` applied to its lines."""
    opener = gzip.open if str(src).endswith(".gz") else open
    with opener(src, "rt", encoding="utf-8-sig", newline="") as fh:
        lines = fh.read().splitlines()
    dst.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return dst


# --- QOF ------------------------------------------------------------------------------------


def test_qof_prevalence_as_published(prevalence):
    assert list(prevalence.columns) == [
        "practice_code",
        "group_code",
        "register",
        "list_type",
        "list_size",
        "exceeds_list",
    ]
    assert len(prevalence) == 137_991
    assert prevalence["practice_code"].nunique() == 6_571
    assert prevalence["group_code"].nunique() == 21
    assert prevalence[["register", "list_size"]].dtypes.eq("int64").all()
    assert set(prevalence.loc[prevalence["group_code"] == "DM", "list_type"]) == {"17OV"}
    # the one published register larger than its list: a specialist LD practice
    over = prevalence[prevalence["exceeds_list"]]
    assert over[["practice_code", "group_code", "register", "list_size"]].values.tolist() == [
        ["Y05750", "LD", 137, 132]
    ]
    assert over.index.tolist() == [137_711]  # file line, header = line 1


def test_qof_prevalence_refuses_broken_copies(data, tmp_path):
    src = data / "qof" / "qof_2020-21_PREVALENCE_2021_v2_england.csv.gz"
    head = lambda lines: lines[:50]  # noqa: E731
    no_column = _rewrite(
        src, tmp_path / "a.csv", lambda ls: [ls[0].replace(",REGISTER,", ",REG,")] + head(ls)[1:]
    )
    with pytest.raises(qof.QofFormatError, match=r"missing column\(s\) \['REGISTER'\]"):
        qof.read_prevalence(no_column)
    text = _rewrite(
        src,
        tmp_path / "b.csv",
        lambda ls: head(ls)[:5] + ["A81001,ZZ,twelve,TOTAL,4098"] + head(ls)[5:],
    )
    with pytest.raises(qof.QofFormatError, match=r"'REGISTER', line\(s\) \[6\].*twelve"):
        qof.read_prevalence(text)
    dup = _rewrite(src, tmp_path / "c.csv", lambda ls: head(ls) + [ls[1]])
    with pytest.raises(qof.QofFormatError, match=r"line\(s\) \[2, 51\].*one row per"):
        qof.read_prevalence(dup)


def test_qof_geographies_and_groups(geographies, data):
    ccg = geographies[geographies["CCG_ODS_CODE"] == "15M"]
    assert len(ccg) == 112 and ccg["PCN_ODS_CODE"].nunique() == 15
    assert set(ccg["CCG_ONS_CODE"]) == {"E38000229"}
    assert set(ccg["STP_NAME"]) == {"Joined Up Care Derbyshire"}
    groups = qof.read_indicator_groups(data / "qof" / "qof_2020-21_MAPPING_INDICATORS_2021_v2.csv")
    g = groups.set_index("group_code")
    assert g.loc["AF", "description"] == "Atrial fibrillation"
    assert g.loc["OB", "domain"] == "Public Health" and g.loc["OST", "list_type"] == "50OV"


def test_register_totals_are_sums_never_averages(prevalence):
    totals = qof.register_totals(prevalence).set_index("group_code")
    hyp = prevalence[prevalence["group_code"] == "HYP"]
    assert totals.loc["HYP", "register"] == hyp["register"].sum() == 8_457_600
    assert totals.loc["HYP", "list_size"] == hyp["list_size"].sum() == 60_716_244


# --- ONS / IMD ------------------------------------------------------------------------------


def test_lsoa_lookup_puts_glossop_in_tameside_and_glossop(data):
    lk = ons.read_lsoa_ccg_lookup(data / "lookups" / "lsoa11_ccg20_lad20_england.csv.gz")
    assert len(lk) == 32_844 and lk["lsoa_code"].is_unique
    high_peak = lk[lk["lad_code"] == "E07000037"].groupby("ccg_code").size().to_dict()
    assert high_peak == {"E38000182": 21, "E38000229": 38}
    assert (lk.loc[lk["ccg_code"] == "E38000229", "ccg_ods_code"] == "15M").all()


def test_sape_single_year_in_five_year_bands(data, tmp_path):
    path = data / "population" / "sape_mid2019_lsoa11_single_year_by_sex_derbyshire.csv"
    long = ons.read_sape_single_year(path)
    assert set(long["age_band"]) == set(AGE_BANDS) and set(long["sex"]) == {"Male", "Female"}
    by_la = long.groupby("la_code")["population"].sum()
    assert by_la["E07000032"] == 128_147 and by_la["E06000015"] == 257_302
    raw = pd.read_csv(path)
    assert long["population"].sum() == raw["all_ages"].sum()
    first = raw.iloc[0]
    under5 = first[[f"age_{a}" for a in range(5)]].sum()
    got = long[
        (long["lsoa_code"] == first["lsoa_code"])
        & (long["sex"] == "Female")
        & (long["age_band"] == "0-4")
    ]["population"]
    assert got.tolist() == [under5]
    broken = _rewrite(
        path, tmp_path / "s.csv", lambda ls: [ls[0], ls[1].replace(",f,1112,", ",f,1113,")]
    )
    with pytest.raises(ons.OnsFormatError, match=r"line\(s\) \[2\], column 'all_ages'"):
        ons.read_sape_single_year(broken)


def test_sape_5yr_and_imd_file1_with_bom_and_thousands(data, tmp_path):
    five = ons.read_sape_5yr(data / "population" / "sape_mid2019_lsoa11_persons_5yr_england.csv.gz")
    assert len(five) == 32_844 and list(five.columns[-19:]) == list(AGE_BANDS)
    shares = ons.population_shares(five)
    assert shares["pct_65_plus"].between(0, 100).all()
    path = data / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
    with gzip.open(path, "rb") as fh:
        assert fh.read(3) == b"\xef\xbb\xbf"  # the published BOM
    imd = ons.read_imd2019_ranks(path).set_index("lsoa_code")
    assert imd.loc["E01000001", "imd_rank"] == 29_199  # written "29,199"
    # ranks 1-32,844 with the published ties (26 ranks shared by two LSOAs)
    assert imd["imd_rank"].between(1, 32_844).all() and imd["imd_rank"].nunique() == 32_818
    assert imd.loc["E01000186", "imd_rank"] == imd.loc["E01000827", "imd_rank"] == 30_326
    assert imd["imd_decile"].between(1, 10).all()
    broken = _rewrite(
        path, tmp_path / "i.csv", lambda ls: ls[:3] + [ls[3].rsplit(",", 1)[0] + ",11"]
    )
    with pytest.raises(ons.OnsFormatError, match=r"line\(s\) \[4\].*decile 1-10"):
        ons.read_imd2019_ranks(broken)


# --- ODS ------------------------------------------------------------------------------------


def test_epraccur_without_header(data, tmp_path):
    path = data / "gp" / "epraccur_nov2021_england_wales.csv.gz"
    e = ods.read_epraccur(path)
    assert len(e) == 14_963
    # GP practices (prescribing setting 4) of the CCG that are open: QOF's 112
    mine = e[
        (e["commissioner"] == "15M") & (e["prescribing_setting"] == "4") & (e["status"] == "Active")
    ]
    assert len(mine) == 112
    assert e.loc[e["organisation_code"] == "A81003", "close_date"].iloc[0] == pd.Timestamp(
        "2017-10-31"
    )
    header = _rewrite(
        path,
        tmp_path / "e.csv",
        lambda ls: [",".join(f'"{c}"' for c in ["Organisation Code"] + ["x"] * 26)] + ls[:3],
    )
    with pytest.raises(ods.OdsFormatError, match="line 1 is a header"):
        ods.read_epraccur(header)


def test_registered_patients_totals(data):
    r = ods.read_registered_patients(data / "gp" / "gp-reg-pat-prac-all_jan2021_england.csv")
    assert len(r) == 6_658
    assert (r["ccg_code"] == "15M").sum() == 112
    assert r.loc[r["ccg_code"] == "15M", "ccg_ons_code"].eq("E38000229").all()


# --- the gate -------------------------------------------------------------------------------


def test_gate_passes_every_input_of_the_real_data_book():
    from nhsbook.build.book import validate_inputs
    from nhsbook.config.book import load_book

    cfg = load_book("derbyshire-2021")
    report = validate_inputs(cfg)
    assert report.ok, report.to_text()
    names = [d.name for d in report.datasets]
    assert names == list(opendata.DATASETS) + [opendata.SELECTION]
    assert all(d.expectations > 5 and d.passed == d.expectations for d in report.datasets)


def test_gate_names_line_and_column_of_a_broken_qof_file(data, tmp_path):
    src = data / "qof" / "qof_2020-21_PREVALENCE_2021_v2_england.csv.gz"
    bad = _rewrite(
        src,
        tmp_path / "p.csv",
        lambda ls: ls[:2000] + ["C81001,AF,1.5e2,TOTAL,4098", "C81001,AF,12,TOTAL,4098"],
    )
    report = gate.validate_datasets({"qof_prevalence": bad})
    assert not report.ok
    regex = [
        f
        for f in report.failures
        if f.columns == ("REGISTER",) and f.expectation == "expect_column_values_to_match_regex"
    ]
    assert regex and regex[0].lines == [2001]
    dup = [f for f in report.failures if f.expectation == "expect_compound_columns_to_be_unique"]
    assert dup and set(dup[0].lines) >= {2001, 2002}


def test_selection_suite_refuses_a_malformed_ccg_code(tmp_path):
    path = tmp_path / "sel.csv"
    path.write_text("key,value\nccg_code,Derbyshire!\n", encoding="utf-8")
    report = gate.validate_datasets({opendata.SELECTION: path})
    assert not report.ok
    assert report.failures[0].columns == ("value",) and report.failures[0].lines == [2]
