"""The bad-input corpus for the current (2024-2026) formats of the ICB book: each suite
(the July 2026 practice map, registrations by age, QOF 2024-25 prevalence, IoD2025 by LSOA 2021,
Fingertips 94240 practice IMD, the LSOA 2021 lookup) refuses a wrong header, text in a number,
an unknown code and a duplicated key, naming the file, the line and the column; the readers
refuse the same files with the same coordinates.

Each case validates a small copy (the first rows of the real file, zipped again where the
publisher ships a zip), never the national file, so the corpus stays cheap.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from nhsbook import sources
from nhsbook.io import current, lsoa21_attributes, qof
from nhsbook.validate import validate_datasets

ROWS = 300


@dataclass(frozen=True)
class Case:
    dataset: str                 # suite name
    key: str                     # registry key of the real file
    suffix: str                  # ".csv" or ".zip"
    number: str                  # a numeric column
    code: str                    # a coded column
    bad_code: str                # a code the suite does not know
    unique: tuple[str, ...]      # the key columns
    reader: object               # the importer

    def __str__(self) -> str:
        return self.dataset


CASES = [
    Case("gp_practice_map", "gp_reg_practice_map_jul2026", ".zip", "", "ONS_COMM_REGION_CODE",
         "Y40000011", ("PRACTICE_CODE",), current.read_practice_map),
    Case("gp_registrations_age", "gp_reg_quinary_age_jul2026", ".zip", "NUMBER_OF_PATIENTS",
         "AGE_GROUP_5", "100_104", ("ORG_TYPE", "ORG_CODE", "SEX", "AGE_GROUP_5"),
         current.read_registrations_by_age),
    Case("qof_prevalence_2425", "qof2425_prevalence", ".csv", "REGISTER", "GROUP_CODE", "XYZ",
         ("PRACTICE_CODE", "GROUP_CODE"), current.read_qof_prevalence_2425),
    Case("imd2025_lsoa21", "imd2025_lsoa21", ".csv", "IMD_rank", "lsoa21_code", "W01000001",
         ("lsoa21_code",), current.read_imd2025_lsoa),
    Case("practice_imd2025", "fingertips_94240_imd2025_gp", ".csv", "IMD_SCORE",
         "PRACTICE_CODE", "12345", ("PRACTICE_CODE",), current.read_practice_imd),
    Case("ons_lsoa21_sicbl_icb", "lsoa21_sicbl24_icb24_england", ".csv", "", "sicbl24_code",
         "E39000261", ("lsoa21_code",), current.read_lsoa21_lookup),
    # the similar-area peers' LSOA attributes (Census TS007A, Nomis layout: tests/test_peers.py)
    Case("ruc21_lsoa21", "ruc21_lsoa21_ew", ".csv", "", "ruc21_code", "D1",
         ("lsoa21_code",), lsoa21_attributes.read_ruc21),
    Case("ons_lsoa21_ltla24", "lsoa21_ward24_ltla24_ew", ".csv", "", "ltla24_code",
         "E10000007", ("lsoa21_code",), lsoa21_attributes.read_lsoa21_ltla24),
]


def _head(case: Case) -> pd.DataFrame:
    """The file's first rows; for the registrations, every row of its first organisations
    (a slice cut inside an organisation would not add up)."""
    big = case.dataset == "gp_registrations_age"
    frame = pd.read_csv(sources.locate(case.key), dtype=str, keep_default_na=False,
                        nrows=ROWS * 10 if big else ROWS, encoding="utf-8-sig")
    if big:
        orgs = list(dict.fromkeys(zip(frame["ORG_TYPE"], frame["ORG_CODE"])))[:4]
        keep = pd.Series(list(zip(frame["ORG_TYPE"], frame["ORG_CODE"]))).isin(orgs)
        frame = frame[keep.to_numpy()].reset_index(drop=True)
    return frame


def _write(frame: pd.DataFrame, case: Case, folder: Path) -> Path:
    csv = folder / f"{case.dataset}.csv"
    frame.to_csv(csv, index=False)
    if case.suffix == ".csv":
        return csv
    out = folder / f"{case.dataset}.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv, arcname=f"{case.dataset}.csv")
    csv.unlink()
    return out


def _failure(report, path: Path, column: str):
    assert not report.ok, "the gate passed a broken input"
    hits = [f for f in report.failures if column in f.columns]
    assert hits, f"no failure on {column}: {[f.where() for f in report.failures]}"
    f = hits[0]
    assert f.file.endswith(path.name) and f.rule and f.hint
    return f


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_clean_slice_passes(case, tmp_path):
    path = _write(_head(case), case, tmp_path)
    report = validate_datasets({case.dataset: path})
    assert report.ok, [f.where() for f in report.failures]
    assert len(case.reader(path)) > 0


@pytest.mark.parametrize("case", CASES, ids=str)
def test_wrong_header(case, tmp_path):
    frame = _head(case).rename(columns={case.code: case.code.lower() + "_x"})
    path = _write(frame, case, tmp_path)
    report = validate_datasets({case.dataset: path})
    assert not report.ok
    f = next(f for f in report.failures if f.expectation == "expect_table_columns_to_match_set")
    assert f.file.endswith(path.name) and case.code in " ".join(map(str, f.values)) + f.rule
    with pytest.raises(ValueError, match=rf"line 1 \(header\).*{case.code}"):
        case.reader(path)


@pytest.mark.parametrize("case", [c for c in CASES if c.number], ids=str)
def test_text_in_numbers(case, tmp_path):
    frame = _head(case)
    frame.loc[7, case.number] = "12a"
    path = _write(frame, case, tmp_path)
    f = _failure(validate_datasets({case.dataset: path}), path, case.number)
    assert 7 + 2 in f.lines
    with pytest.raises(ValueError, match=rf"{path.name}.*{case.number}.*9"):
        case.reader(path)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_unknown_codes(case, tmp_path):
    frame = _head(case)
    frame.loc[11, case.code] = case.bad_code
    path = _write(frame, case, tmp_path)
    f = _failure(validate_datasets({case.dataset: path}), path, case.code)
    assert 11 + 2 in f.lines and {case.code: case.bad_code} in f.values
    with pytest.raises(ValueError, match=rf"{path.name}.*{case.code}.*13"):
        case.reader(path)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_duplicated_keys(case, tmp_path):
    frame = _head(case)
    frame = pd.concat([frame, frame.iloc[[20]]], ignore_index=True)
    path = _write(frame, case, tmp_path)
    report = validate_datasets({case.dataset: path})
    assert not report.ok
    hits = [f for f in report.failures if set(f.columns) & set(case.unique)]
    assert hits, [f.where() for f in report.failures]
    assert {20 + 2, len(frame) + 1} <= set(hits[0].lines)
    with pytest.raises(ValueError, match=rf"{path.name}.*{20 + 2}"):
        case.reader(path)


def test_qof_2024_25_register_must_be_whole(tmp_path):
    """113.0 is the published way of writing 113; 113.5 is not a register."""
    case = CASES[2]
    frame = _head(case)
    assert frame.loc[0, "REGISTER"].endswith(".0")
    frame.loc[4, "REGISTER"] = "113.5"
    path = _write(frame, case, tmp_path)
    f = _failure(validate_datasets({case.dataset: path}), path, "REGISTER")
    assert 6 in f.lines
    with pytest.raises(ValueError, match="'REGISTER', line\\(s\\) \\[6\\]"):
        case.reader(path)
    with pytest.raises(ValueError, match="REGISTER"):   # the 2020-21 reading refuses floats
        qof.read_prevalence(_write(_head(case), case, tmp_path))


def test_registration_totals_must_add_up(tmp_path):
    case = CASES[1]
    frame = _head(case)
    i = frame.index[(frame["SEX"] == "ALL") & (frame["AGE_GROUP_5"] == "ALL")][0]
    frame.loc[i, "NUMBER_OF_PATIENTS"] = str(int(frame.loc[i, "NUMBER_OF_PATIENTS"]) + 1)
    path = _write(frame, case, tmp_path)
    with pytest.raises(ValueError, match=rf"line\(s\) \[{i + 2}.*must equal the sum"):
        case.reader(path)


def test_a_zip_of_two_files_is_refused(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.csv", "x\n1\n")
        zf.writestr("b.csv", "x\n2\n")
    report = validate_datasets({"gp_practice_map": path})
    assert not report.ok and "exactly one CSV" in report.failures[0].hint
