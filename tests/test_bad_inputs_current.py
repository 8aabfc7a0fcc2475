"""The bad-input corpus for the current (2024-2026) formats of the ICB book: each suite
(the July 2026 practice map, registrations by age, QOF 2024-25 prevalence, IoD2025 by LSOA 2021,
Fingertips 94240 practice IMD, the LSOA 2021 lookup, NHS payments to general practice 2022-23) refuses a wrong header, text in a number,
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

from nhsbook.config import sources
from nhsbook.io import current, gp_payments, lsoa21_attributes, qof
from nhsbook.validation.gate import validate_datasets

ROWS = 300


@dataclass(frozen=True)
class Case:
    dataset: str  # suite name
    key: str  # registry key of the real file
    suffix: str  # ".csv" or ".zip"
    number: str  # a numeric column
    code: str  # a coded column
    bad_code: str  # a code the suite does not know
    unique: tuple[str, ...]  # the key columns
    reader: object  # the importer

    def __str__(self) -> str:
        return self.dataset


CASES = [
    Case(
        "gp_practice_map",
        "gp_reg_practice_map_jul2026",
        ".zip",
        "",
        "ONS_COMM_REGION_CODE",
        "Y40000011",
        ("PRACTICE_CODE",),
        current.read_practice_map,
    ),
    Case(
        "gp_registrations_age",
        "gp_reg_quinary_age_jul2026",
        ".zip",
        "NUMBER_OF_PATIENTS",
        "AGE_GROUP_5",
        "100_104",
        ("ORG_TYPE", "ORG_CODE", "SEX", "AGE_GROUP_5"),
        current.read_registrations_by_age,
    ),
    Case(
        "qof_prevalence_2425",
        "qof2425_prevalence",
        ".csv",
        "REGISTER",
        "GROUP_CODE",
        "XYZ",
        ("PRACTICE_CODE", "GROUP_CODE"),
        current.read_qof_prevalence_2425,
    ),
    Case(
        "imd2025_lsoa21",
        "imd2025_lsoa21",
        ".csv",
        "IMD_rank",
        "lsoa21_code",
        "W01000001",
        ("lsoa21_code",),
        current.read_imd2025_lsoa,
    ),
    Case(
        "practice_imd2025",
        "fingertips_94240_imd2025_gp",
        ".csv",
        "IMD_SCORE",
        "PRACTICE_CODE",
        "12345",
        ("PRACTICE_CODE",),
        current.read_practice_imd,
    ),
    Case(
        "ons_lsoa21_sicbl_icb",
        "lsoa21_sicbl24_icb24_england",
        ".csv",
        "",
        "sicbl24_code",
        "E39000261",
        ("lsoa21_code",),
        current.read_lsoa21_lookup,
    ),
    # the similar-area peers' LSOA attributes (Census TS007A, Nomis layout: tests/test_peers.py)
    Case(
        "ruc21_lsoa21",
        "ruc21_lsoa21_ew",
        ".csv",
        "",
        "ruc21_code",
        "D1",
        ("lsoa21_code",),
        lsoa21_attributes.read_ruc21,
    ),
    Case(
        "ons_lsoa21_ltla24",
        "lsoa21_ward24_ltla24_ew",
        ".csv",
        "",
        "ltla24_code",
        "E10000007",
        ("lsoa21_code",),
        lsoa21_attributes.read_lsoa21_ltla24,
    ),
    # the SPOT page's spend (nhsbook.analysis.gp_spend): the publisher's 'CCG Code' holds the sub-ICB
    # location's ODS code, so an ONS code there is refused
    Case(
        "gp_payments_2223",
        "nhs_payments_gp_2022_23",
        ".csv",
        "Total NHS Payments to General Practice",
        "CCG Code",
        "E38000261",
        ("Practice Code",),
        gp_payments.read_payments_2223,
    ),
]


def _head(case: Case) -> pd.DataFrame:
    """The file's first rows; for the registrations, every row of its first organisations
    (a slice cut inside an organisation would not add up)."""
    big = case.dataset == "gp_registrations_age"
    frame = pd.read_csv(
        sources.locate(case.key),
        dtype=str,
        keep_default_na=False,
        nrows=ROWS * 10 if big else ROWS,
        encoding="utf-8-sig",
    )
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
    with pytest.raises(ValueError, match="REGISTER"):  # the 2020-21 reading refuses floats
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


# --- Census 2021 TS007A (Nomis preamble) and the sub-ICB boundaries (GeoJSON) ---------------

NOMIS_PREAMBLE = (
    '\n"TS007A - Age by five-year age bands"\n"ONS Crown Copyright Reserved '
    '[from Nomis on 14 April 2023]"\n"Date       :","2021"\n\n'
)


def _census_head() -> pd.DataFrame:
    return pd.read_csv(
        sources.locate("census2021_ts007a_lsoa21"),
        dtype=str,
        skiprows=5,
        nrows=ROWS,
        keep_default_na=False,
    )


def _write_census(frame: pd.DataFrame, folder: Path) -> Path:
    """As Nomis writes it: the five preamble lines, the header on line 6, blank lines at the
    end; data row i on line 7 + i."""
    path = folder / "ts007a.csv"
    path.write_text(NOMIS_PREAMBLE + frame.to_csv(index=False) + "\n\n\n", encoding="utf-8")
    return path


def _features(n: int = 6) -> list[dict]:
    import json

    with open(sources.locate("sicbl_boundaries_apr2023"), encoding="utf-8") as fh:
        return json.load(fh)["features"][:n]


def _write_geojson(features: list[dict], folder: Path) -> Path:
    """One feature a line: feature i starts on line 2 + i."""
    import json

    path = folder / "sicbl.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [\n'
        + ",\n".join(json.dumps(f) for f in features)
        + "\n]}\n",
        encoding="utf-8",
    )
    return path


def test_census_clean_slice_passes_and_reads(tmp_path):
    path = _write_census(_census_head(), tmp_path)
    report = validate_datasets({"census2021_ts007a": path})
    assert report.ok, [f.where() for f in report.failures]
    out = current.read_census_ts007a(path)
    assert len(out) == ROWS and out["population"].gt(0).all()


def _wrong_header(dataset: str, path: Path, column: str, where: str, reader) -> None:
    """The suite names the missing column; the reader names the header's line and it."""
    report = validate_datasets({dataset: path})
    f = next(f for f in report.failures if f.expectation == "expect_table_columns_to_match_set")
    assert f.file.endswith(path.name) and column in " ".join(map(str, f.values)) + f.rule
    with pytest.raises(ValueError, match=rf"{where}.*{column}"):
        reader(path)


def test_census_wrong_header(tmp_path):
    path = _write_census(_census_head().rename(columns={"mnemonic": "code"}), tmp_path)
    _wrong_header(
        "census2021_ts007a", path, "mnemonic", r"line 6 \(header\)", current.read_census_ts007a
    )


def test_census_preamble_is_required(tmp_path):
    """Without its preamble the suite reads the first data row as the header: refused."""
    path = tmp_path / "no_preamble.csv"
    path.write_text(_census_head().to_csv(index=False), encoding="utf-8")
    assert not validate_datasets({"census2021_ts007a": path}).ok
    with pytest.raises(ValueError, match="header"):
        current.read_census_ts007a(path)


def test_census_text_in_numbers(tmp_path):
    frame = _census_head()
    frame.loc[7, "Aged 20 to 24 years"] = "12a"
    path = _write_census(frame, tmp_path)
    f = _failure(validate_datasets({"census2021_ts007a": path}), path, "Aged 20 to 24 years")
    assert 7 + 7 in f.lines
    with pytest.raises(ValueError, match=rf"{path.name}.*Aged 20 to 24 years.*14"):
        current.read_census_ts007a(path)


def test_census_unknown_code(tmp_path):
    frame = _census_head()
    frame.loc[11, "mnemonic"] = "E02000001"  # an MSOA, not an LSOA
    path = _write_census(frame, tmp_path)
    f = _failure(validate_datasets({"census2021_ts007a": path}), path, "mnemonic")
    assert 11 + 7 in f.lines and {"mnemonic": "E02000001"} in f.values
    with pytest.raises(ValueError, match=rf"{path.name}.*mnemonic.*18"):
        current.read_census_ts007a(path)


def test_census_duplicated_key_and_total(tmp_path):
    frame = _census_head()
    dup = pd.concat([frame, frame.iloc[[20]]], ignore_index=True)
    path = _write_census(dup, tmp_path)
    report = validate_datasets({"census2021_ts007a": path})
    hits = [f for f in report.failures if "mnemonic" in f.columns]
    assert hits and {20 + 7, len(dup) + 6} <= set(hits[0].lines)
    with pytest.raises(ValueError, match=rf"{path.name}.*{20 + 7}"):
        current.read_census_ts007a(path)
    frame.loc[3, "Total"] = str(int(frame.loc[3, "Total"]) + 1)
    with pytest.raises(ValueError, match=r"'Total', line\(s\) \[10\].*sum of the 18"):
        current.read_census_ts007a(_write_census(frame, tmp_path))


def test_sicbl_clean_slice_passes_and_reads(tmp_path):
    path = _write_geojson(_features(), tmp_path)
    report = validate_datasets({"sicbl_boundaries": path})
    assert report.ok, [f.where() for f in report.failures]
    assert len(current.read_sicbl_boundaries(path)) == 6


def test_sicbl_wrong_header(tmp_path):
    feats = _features()
    for f in feats:
        f["properties"]["SICB_CODE"] = f["properties"].pop("SICBL23CD")
    path = _write_geojson(feats, tmp_path)
    _wrong_header(
        "sicbl_boundaries",
        path,
        "SICBL23CD",
        r"line 1 \(header: properties\)",
        current.read_sicbl_boundaries,
    )


def test_sicbl_text_in_geometry(tmp_path):
    """The GeoJSON's "number" is its geometry: a feature with text instead of a polygon."""
    feats = _features()
    feats[3]["geometry"] = {"type": "Point", "coordinates": [0, 51]}
    path = _write_geojson(feats, tmp_path)
    f = _failure(validate_datasets({"sicbl_boundaries": path}), path, "geometry_type")
    assert f.lines == [2 + 3]
    with pytest.raises(ValueError, match=rf"{path.name}: column 'geometry_type', line\(s\) \[5\]"):
        current.read_sicbl_boundaries(path)


def test_sicbl_unknown_code(tmp_path):
    feats = _features()
    feats[4]["properties"]["SICBL23CD"] = "E39000261"
    path = _write_geojson(feats, tmp_path)
    f = _failure(validate_datasets({"sicbl_boundaries": path}), path, "SICBL23CD")
    assert f.lines == [6] and {"SICBL23CD": "E39000261"} in f.values
    with pytest.raises(ValueError, match=rf"{path.name}: column 'SICBL23CD', line\(s\) \[6\]"):
        current.read_sicbl_boundaries(path)


def test_sicbl_duplicated_key(tmp_path):
    feats = _features()
    path = _write_geojson(feats + [feats[1]], tmp_path)
    report = validate_datasets({"sicbl_boundaries": path})
    hits = [f for f in report.failures if "SICBL23CD" in f.columns]
    assert hits and {3, 8} <= set(hits[0].lines)
    with pytest.raises(ValueError, match=rf"{path.name}: line\(s\) \[3, 8\]"):
        current.read_sicbl_boundaries(path)


def test_geojson_lines_in_a_pretty_printed_file(tmp_path):
    """Features are named by the line on which they start, however the file is laid out."""
    import json

    from nhsbook.validation.gate import geojson_table

    text = json.dumps({"type": "FeatureCollection", "features": _features(3)}, indent=2)
    frame = geojson_table(text)
    lines = text.splitlines()
    for line in frame.index:
        assert lines[line - 1].strip().startswith("{")
        assert '"type": "Feature"' in lines[line]
    with pytest.raises(ValueError, match="features"):
        geojson_table('{"type": "Topology"}')
