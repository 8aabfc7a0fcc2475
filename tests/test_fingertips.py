"""The Fingertips CSV importer, on real exports from the shared mirror and broken copies."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from nhsbook.io import fingertips
from nhsbook.model import VALUE_COLUMNS


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
    with pytest.raises(fingertips.FingertipsFormatError, match="column 1: expected "
                                                               "'Indicator ID'"):
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
