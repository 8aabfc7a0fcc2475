"""The Fingertips CSV importer, on real exports from the shared mirror and broken copies."""

from __future__ import annotations

import pandas as pd
import pytest

from nhsbook.core.model import VALUE_COLUMNS
from nhsbook.io import fingertips


@pytest.fixture(scope="module")
def imd_path(shared):
    return shared / "data" / "gp" / "fingertips_93553_imd2019_score_gp_england.csv"


def test_reads_a_real_export_with_its_exact_columns(imd_path):
    export = fingertips.read(imd_path)
    assert list(export.values.columns) == list(VALUE_COLUMNS)
    assert len(export.values) == 6547
    assert set(export.values["indicator_id"]) == {"93553"}
    assert export.values["period"].eq("2019").all()
    assert export.benchmark_column == "Compared to percentiles"
    assert export.values["value"].between(0, 100).all()
    assert export.metadata.loc[0, "name"].startswith("Deprivation score (IMD 2019)")
    eng = export.values[export.values["area_code"] == "E92000001"]
    assert len(eng) >= 1 and eng["value"].round(1).eq(21.7).all()


def test_reads_a_gzipped_export_whose_benchmark_column_is_not_used(shared):
    path = shared / "data" / "gp" / "fingertips_91547_smoking_qof_prevalence_all_area_types.csv.gz"
    export = fingertips.read(path)
    assert export.benchmark_column == "Column not used"
    assert {"GPs", "England"} <= set(export.values["area_type"])
    numeric = export.values[["value", "lower_95", "upper_95", "count", "denominator"]]
    assert numeric.dtypes.eq("float64").all()
    ok = export.values.dropna(subset=["value", "lower_95", "upper_95"])
    assert (ok["lower_95"] <= ok["value"]).all() and (ok["value"] <= ok["upper_95"]).all()


def test_reordered_columns_are_refused(imd_path, tmp_path):
    """A reordered export has been edited by hand (see also tests/test_bad_inputs.py)."""
    raw = pd.read_csv(imd_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    cols = list(raw.columns)
    shuffled = tmp_path / "reordered.csv"
    raw[cols[::-1]].to_csv(shuffled, index=False)
    with pytest.raises(fingertips.FingertipsFormatError, match="column 1: expected 'Indicator ID'"):
        fingertips.read(shuffled)


def test_missing_column_names_file_and_column(imd_path, tmp_path):
    raw = pd.read_csv(imd_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    broken = tmp_path / "no_count.csv"
    raw.drop(columns=["Count"]).to_csv(broken, index=False)
    with pytest.raises(fingertips.FingertipsFormatError) as err:
        fingertips.read(broken)
    assert str(broken) in str(err.value) and "'Count'" in str(err.value)


def test_non_numeric_value_names_file_line_and_column(imd_path, tmp_path):
    raw = pd.read_csv(imd_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.loc[4, "Value"] = "twelve"
    broken = tmp_path / "bad_value.csv"
    raw.to_csv(broken, index=False)
    with pytest.raises(fingertips.FingertipsFormatError) as err:
        fingertips.read(broken)
    message = str(err.value)
    assert "'Value'" in message and "[6]" in message and "twelve" in message


def test_empty_and_non_utf8_files_are_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(fingertips.FingertipsFormatError, match="empty"):
        fingertips.read(empty)
    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes(",".join(fingertips.REQUIRED).encode() + b"\n\xa3\n")
    with pytest.raises(fingertips.FingertipsFormatError, match="UTF-8"):
        fingertips.read(cp1252)


# --- blank keys, locale numbers, what is kept (issue 24) --------------------------------------


@pytest.fixture(scope="module")
def smoking_raw(shared):
    path = shared / "data" / "gp" / "fingertips_91547_smoking_qof_prevalence_all_area_types.csv.gz"
    return path, pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_91547_blank_ids_sex_and_age_are_filled_by_fingertips_rules(smoking_raw):
    """The 6,267 GP rows of 2023/24 have no Indicator ID, Sex or Age: they carry 91547's
    Indicator Name and GP rows of 91547 are all Persons 15+ yrs, so they are filled, not read
    as a second indicator '' that splits the latest year off."""
    path, raw = smoking_raw
    export = fingertips.read(path)
    v = export.values
    assert len(v) == 17627 and set(v["indicator_id"]) == {"91547"}
    latest = v[v["period"] == "2023/24"]
    assert len(latest) == 6267 and latest["area_type"].eq("GPs").all()
    assert latest[["sex", "age"]].drop_duplicates().values.tolist() == [["Persons", "15+ yrs"]]
    assert len(export.metadata) == 1
    filled = export.filled
    assert filled.groupby("column").size().to_dict() == {
        "Age": 6267,
        "Indicator ID": 6267,
        "Sex": 6267,
    }
    blank_lines = set(raw.index[raw["Indicator ID"] == ""] + 2)
    assert set(filled["line"]) == blank_lines


def test_time_period_range_and_category_rows_are_kept(smoking_raw):
    path, _ = smoking_raw
    export = fingertips.read(path)
    assert export.details["time_period_range"].value_counts().to_dict() == {"1y": 11360, "": 6267}
    cats = export.values[export.values["category_type"] != ""]
    assert len(cats) == 100 and cats["category"].str.contains("decile").all()
    assert export.details["line"].iloc[0] == 2


def _write(raw: pd.DataFrame, path):
    raw.to_csv(path, index=False)
    return path


def test_a_blank_id_with_an_unknown_name_is_refused_naming_line_and_column(smoking_raw, tmp_path):
    _, raw = smoking_raw
    raw = raw.copy()
    i = raw.index[raw["Indicator ID"] == ""][0]
    raw.loc[i, "Indicator Name"] = "Something else"
    path = _write(raw, tmp_path / "renamed.csv")
    with pytest.raises(fingertips.FingertipsFormatError) as err:
        fingertips.read(path)
    msg = str(err.value)
    assert str(path) in msg and f"[{i + 2}]" in msg and "'Indicator ID'" in msg
    assert "Something else" in msg


def test_a_blank_sex_with_two_possible_values_is_refused(imd_path, tmp_path):
    raw = pd.read_csv(imd_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    gps = raw.index[raw["Area Type"] == raw.loc[5, "Area Type"]]
    raw.loc[gps[-1], "Sex"] = "Male"  # now GP rows of 93553 have two (Sex, Age) pairs
    raw.loc[5, "Sex"] = ""
    assert 5 in gps
    path = _write(raw, tmp_path / "two_sexes.csv")
    with pytest.raises(fingertips.FingertipsFormatError, match=r"line\(s\) \[7\], column 'Sex'"):
        fingertips.read(path)


@pytest.mark.parametrize("column", ["Area Code", "Time period"])
def test_a_blank_area_or_period_is_refused(imd_path, tmp_path, column):
    raw = pd.read_csv(imd_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.loc[9, column] = ""
    path = _write(raw, tmp_path / "blank.csv")
    with pytest.raises(fingertips.FingertipsFormatError) as err:
        fingertips.read(path)
    assert (
        str(path) in str(err.value) and "[11]" in str(err.value) and repr(column) in str(err.value)
    )


@pytest.mark.parametrize("text", ["0,5", "1.234,5", "1 234,5", "1'234.5", "21,7", "0,500"])
def test_numbers_in_a_locale_format_are_refused_never_reparsed(imd_path, tmp_path, text):
    raw = pd.read_csv(imd_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.loc[3, "Value"] = text
    path = _write(raw, tmp_path / "locale.csv")
    with pytest.raises(fingertips.FingertipsFormatError) as err:
        fingertips.read(path)
    msg = str(err.value)
    assert "'Value'" in msg and "[5]" in msg and text in msg


def test_english_thousands_separators_still_read(imd_path, tmp_path):
    raw = pd.read_csv(imd_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.loc[3, "Denominator"] = "12,345.5"
    export = fingertips.read(_write(raw, tmp_path / "thousands.csv"))
    assert export.values.loc[3, "denominator"] == 12345.5
