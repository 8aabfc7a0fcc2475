"""The bad-input corpus: each broken input gives one clear message naming the file, the row,
the column, the rule and the fix, and produces no number.

Each case copies the embedded default, breaks one file in one way and runs the validation gate
(`nhsbook.validation.gate.validate_book`); Fingertips cases run the importer.  Breakages covered
elsewhere: negative counts, numerator above denominator, text in numbers, unknown area codes,
duplicated keys, unreconciled totals (tests/test_validate.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from nhsbook.io import fingertips
from nhsbook.validation.gate import validate_book

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default"
PV = "synthetic/practice_values.csv"
PRACTICES = "synthetic/practices.csv"


@pytest.fixture
def data(tmp_path) -> Path:
    out = tmp_path / "data"
    shutil.copytree(DEFAULT, out, ignore=shutil.ignore_patterns("geography"))
    return out


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _edit(data: Path, rel: str, fn) -> int:
    """Apply ``fn(frame) -> row index`` to a file; returns the changed row's file line."""
    path = data / rel
    frame = _read(path)
    row = fn(frame)
    frame.to_csv(path, index=False)
    return int(row) + 2


def _failure(report, file: str, column: str | None = None):
    assert not report.ok, "the gate passed a broken input"
    hits = [
        f for f in report.failures if f.file == file and (column is None or column in f.columns)
    ]
    assert hits, f"no failure for {file} {column}: {[f.where() for f in report.failures]}"
    f = hits[0]
    assert f.rule and f.hint, "a failure must say the rule and the fix"
    return f


def test_inf_and_nan_are_not_numbers(data):
    def breaks(df):
        i = df.index[(df["indicator_id"] == "A04") & (df["area_code"] == "SYN02")][0]
        df.loc[i, "count"] = "inf"
        j = df.index[(df["indicator_id"] == "A05") & (df["area_code"] == "SYN02")][0]
        df.loc[j, "denominator"] = "NaN"
        return i

    line = _edit(data, PV, breaks)
    report = validate_book(data)
    f = _failure(report, PV, "count")
    assert line in f.lines
    _failure(report, PV, "denominator")


@pytest.mark.parametrize("marker", ["*", "Supp.", "x", "-"])
def test_suppression_markers_in_counts_are_refused(data, marker):
    line = _edit(data, PV, lambda df: _set(df, "A06", "SYN04", "count", marker))
    f = _failure(validate_book(data), PV, "count")
    assert line in f.lines


def _set(df: pd.DataFrame, ind: str, code: str, col: str, value: str) -> int:
    i = df.index[(df["indicator_id"] == ind) & (df["area_code"] == code)][0]
    df.loc[i, col] = value
    return i


def test_orphaned_practice_is_refused(data):
    def breaks(df):
        i = df.index[df["area_code"] == "SYN09"][0]
        df.loc[i, "parent_code"] = "ND-XXX"
        return i

    line = _edit(data, PRACTICES, breaks)
    f = _failure(validate_book(data), PRACTICES, "parent_code")
    assert line in f.lines


def test_practice_codes_that_lost_leading_zeros(data):
    """An ODS-style code re-saved by a spreadsheet as a number (e.g. 01 -> 1) no longer
    matches any practice."""
    line = _edit(data, PV, lambda df: _set(df, "A07", "SYN11", "area_code", "11"))
    f = _failure(validate_book(data), PV, "area_code")
    assert line in f.lines


def test_windows_1252_pound_sign(data):
    path = data / "areas.csv"
    text = path.read_text(encoding="utf-8").replace(
        "ONS GSS code for England", "ONS GSS code for England (£)"
    )
    path.write_bytes(text.encode("cp1252"))
    f = _failure(validate_book(data), "areas.csv")
    assert f.lines == [2] and "UTF-8" in f.rule + f.hint


def test_malformed_csv_quoting(data):
    path = data / "population_structure.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",", ',"', 1)  # an opening quote never closed
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    f = _failure(validate_book(data), "population_structure.csv")
    assert f.lines and f.lines[0] == 3


def test_wrong_header(data):
    path = data / PRACTICES
    df = _read(path).rename(columns={"list_size": "listsize"})
    df.to_csv(path, index=False)
    report = validate_book(data)
    f = _failure(report, PRACTICES)
    assert "list_size" in f.where() + f.rule + f.hint


def test_empty_file(data):
    (data / "population_growth.csv").write_text("", encoding="utf-8")
    f = _failure(validate_book(data), "population_growth.csv")
    assert "empty" in f.hint


def test_a_huge_file_is_refused_before_reading(data, monkeypatch):
    """A file over the size limit (1 GiB in real life; the limit is lowered here) is refused
    by its size, without being read."""
    from nhsbook.core import textfile

    monkeypatch.setattr(textfile, "MAX_FILE_BYTES", 1000)
    f = _failure(validate_book(data), PV)
    assert "size" in f.rule and "MAX_FILE_BYTES" in f.hint or "split" in f.hint


def test_fingertips_export_with_reordered_columns(tmp_path):
    src = ROOT.parent / "shared" / "data" / "gp" / "fingertips_93553_imd2019_score_gp_england.csv"
    df = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=50)
    cols = list(df.columns)
    cols[12], cols[13] = cols[13], cols[12]  # Value <-> Lower CI 95.0 limit
    path = tmp_path / "reordered.csv"
    df[cols].to_csv(path, index=False)
    with pytest.raises(fingertips.FingertipsFormatError) as err:
        fingertips.read(path)
    text = str(err.value)
    assert "reordered.csv" in text and "Value" in text and "order" in text
