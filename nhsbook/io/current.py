"""Importers for the current (2024-2026) open data of an ICB book, as published.

* :func:`read_practice_map`: NHS England "Patients Registered at a GP Practice" mapping file
  (``gp-reg-pat-prac-map.csv``, July 2026, read from the publisher's zip): practice → PCN →
  sub-ICB location → ICB → commissioning region, ODS and ONS codes.  PCN code ``U`` is
  "Unallocated" (a practice in no PCN).
* :func:`read_registrations_by_age`: the same publication's registered patients by sex and
  five-year band (``gp-reg-pat-prac-quin-age.csv``) for every practice, PCN, sub-ICB location,
  ICB and region, returned long in the model's 19 bands (``90_94`` + ``95+`` = ``90+``).
* :func:`read_practice_imd`: Fingertips 94240 "Deprivation score (IMD 2025)" of GP practices as
  saved by a fingertipsR pull (``PRACTICE_CODE, PRACTICE_NAME, IMD_YEAR, IMD_SCORE``).
* :func:`read_imd2025_lsoa`: IoD2025 LSOA 2021 scores, ranks and deciles (rank 1 = most
  deprived of 33,755).
* :func:`read_lsoa21_lookup`: ONS LSOA (2021) → sub-ICB location → ICB (April 2024).
* :func:`read_census_ts007a`: Census 2021 TS007A usual residents by LSOA 2021 (Nomis layout,
  five preamble lines), the weights of population-weighted IMD 2025 figures.
* :func:`read_sicbl_boundaries`: ONS sub-ICB locations (April 2023) BSC GeoJSON, the national
  maps' shapes.

* :func:`read_qof_prevalence_2425`: QOF 2024-25 prevalence, by
  :func:`nhsbook.io.qof.read_prevalence` with ``register_as_float=True`` (its ``REGISTER`` is
  written ``113.0``), its registers and list types checked against the 21 known.

Every reader checks the header by name and refuses cells that are not numbers, unknown codes
and duplicated keys, naming the file, the line (header = line 1) and the column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.core.model import AGE_BANDS
from nhsbook.core.textfile import read_table
from nhsbook.io.qof import (
    LIST_TYPE_AGES,
    QofFormatError,
    read_csv_text,
    read_prevalence,
    whole_numbers,
)

MAP_COLUMNS: tuple[str, ...] = (
    "PRACTICE_CODE",
    "PRACTICE_NAME",
    "PCN_CODE",
    "PCN_NAME",
    "ONS_SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME",
    "ONS_ICB_CODE",
    "ICB_CODE",
    "ICB_NAME",
    "ONS_COMM_REGION_CODE",
    "COMM_REGION_CODE",
    "COMM_REGION_NAME",
)
AGE_COLUMNS: tuple[str, ...] = (
    "ORG_TYPE",
    "ORG_CODE",
    "ONS_CODE",
    "SEX",
    "AGE_GROUP_5",
    "NUMBER_OF_PATIENTS",
)
PRACTICE_IMD_COLUMNS: tuple[str, ...] = ("PRACTICE_CODE", "PRACTICE_NAME", "IMD_YEAR", "IMD_SCORE")
IMD2025_COLUMNS: tuple[str, ...] = ("lsoa21_code", "IMD_score", "IMD_rank", "IMD_decile")
LOOKUP21_COLUMNS: tuple[str, ...] = (
    "lsoa21_code",
    "lsoa21_name",
    "sicbl24_code",
    "sicbl24_code_nhs",
    "sicbl24_name",
    "icb24_code",
    "icb24_code_nhs",
    "icb24_name",
)
#: ORG_TYPE of the registrations file -> the level it is.
ORG_TYPES: dict[str, str] = {
    "GP": "practice",
    "PCN": "pcn",
    "SUB_ICB_LOCATION_CODE": "sub_icb",
    "ICB": "icb",
    "Comm Region": "region",
}
#: AGE_GROUP_5 of the registrations file -> model band.
AGE_GROUPS: dict[str, str] = {
    **{f"{5 * i}_{5 * i + 4}": AGE_BANDS[i] for i in range(18)},
    "90_94": "90+",
    "95+": "90+",
}
SEXES = {"MALE": "Male", "FEMALE": "Female"}
IMD2025_LSOAS = 33755
UNALLOCATED_PCN = "U"


class CurrentFormatError(QofFormatError):
    """A current open-data file is not in the published layout (says where and why)."""


def _read(path: Path, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    try:
        return read_csv_text(path, columns, what)
    except QofFormatError as exc:
        raise CurrentFormatError(str(exc)) from exc


def _unique(raw: pd.DataFrame, columns: list[str], path: Path, what: str) -> None:
    dup = raw.duplicated(columns, keep=False)
    if dup.any():
        cols = " and ".join(repr(c) for c in columns)
        raise CurrentFormatError(
            f"{path}: line(s) {raw.index[dup][:10].tolist()}, column(s) {cols}: {what}"
        )


def _codes(raw: pd.DataFrame, column: str, pattern: str, path: Path, expected: str) -> None:
    ok = raw[column].str.fullmatch(pattern)
    if not ok.all():
        raise CurrentFormatError(
            f"{path}: column {column!r}, line(s) {raw.index[~ok][:10].tolist()}: expected "
            f"{expected}, found {raw.loc[~ok, column].head(10).tolist()}"
        )


def _numbers(raw: pd.DataFrame, column: str, path: Path) -> pd.Series:
    text = raw[column].str.replace(",", "", regex=False)
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna() | ~np.isfinite(num)
    if bad.any():
        raise CurrentFormatError(
            f"{path}: column {column!r}, line(s) {raw.index[bad][:10].tolist()}: expected a "
            f"number, found {raw.loc[bad, column].head(10).tolist()}"
        )
    return num.astype(float)


def read_practice_map(path: str | Path) -> pd.DataFrame:
    """The July 2026 practice → PCN → sub-ICB → ICB → region map, as published (text), indexed
    by file line.  Refused: missing columns, empty or malformed practice / sub-ICB / ICB codes
    (ONS codes must be E38…, E54…, E40…), a practice listed twice."""
    path = Path(path)
    raw = _read(path, MAP_COLUMNS, "NHS England GP practice mapping file")
    _codes(raw, "PRACTICE_CODE", r"[A-Z][0-9A-Z][0-9]{4}", path, "an ODS practice code")
    _codes(
        raw, "ONS_SUB_ICB_LOCATION_CODE", r"E38[0-9]{6}", path, "an ONS sub-ICB location code E38…"
    )
    _codes(raw, "ONS_ICB_CODE", r"E54[0-9]{6}", path, "an ONS ICB code E54…")
    _codes(raw, "ONS_COMM_REGION_CODE", r"E40[0-9]{6}", path, "an ONS NHS region code E40…")
    _codes(raw, "PCN_CODE", r"U|U[0-9]{5}", path, "a PCN code U##### or U (unallocated)")
    _unique(raw, ["PRACTICE_CODE"], path, "each practice must appear once")
    return raw


def read_registrations_by_age(path: str | Path) -> pd.DataFrame:
    """Registered patients by sex and five-year band, long: ``level`` (practice, pcn, sub_icb,
    icb, region), ``org_code`` (ODS), ``ons_code``, ``sex`` (Male/Female), ``age_band`` (the
    model's bands), ``population``.  ``ALL`` sexes and ages are checked, not returned: each
    organisation's ``ALL``/``ALL`` total must equal the sum of its male and female bands.

    Refused: unknown ``ORG_TYPE``, ``SEX`` or ``AGE_GROUP_5``, counts that are not whole
    numbers, a duplicated organisation × sex × band, totals that do not add up."""
    path = Path(path)
    raw = _read(path, AGE_COLUMNS, "NHS England registered patients by five-year age band")
    for column, known in (
        ("ORG_TYPE", ORG_TYPES),
        ("SEX", (*SEXES, "ALL")),
        ("AGE_GROUP_5", (*AGE_GROUPS, "ALL")),
    ):
        bad = ~raw[column].isin(list(known))
        if bad.any():
            raise CurrentFormatError(
                f"{path}: column {column!r}, line(s) {raw.index[bad][:10].tolist()}: expected "
                f"one of {', '.join(known)}, found {raw.loc[bad, column].head(10).tolist()}"
            )
    n = whole_numbers(raw, "NUMBER_OF_PATIENTS", path)
    _unique(
        raw,
        ["ORG_TYPE", "ORG_CODE", "SEX", "AGE_GROUP_5"],
        path,
        "one row per organisation, sex and age group expected",
    )
    df = raw.assign(n=n)
    total = df[(df["SEX"] == "ALL") & (df["AGE_GROUP_5"] == "ALL")]
    bands = df[df["SEX"].isin(list(SEXES)) & (df["AGE_GROUP_5"] != "ALL")]
    sums = bands.groupby(["ORG_TYPE", "ORG_CODE"])["n"].sum()
    got = total.set_index(["ORG_TYPE", "ORG_CODE"])["n"]
    off = got.index[got.to_numpy() != sums.reindex(got.index).fillna(0).to_numpy()]
    if len(off):
        lines = total.index[total.set_index(["ORG_TYPE", "ORG_CODE"]).index.isin(off)]
        raise CurrentFormatError(
            f"{path}: line(s) {lines[:10].tolist()}, column 'NUMBER_OF_PATIENTS': the ALL/ALL "
            "total must equal the sum of the male and female five-year bands"
        )
    out = pd.DataFrame(
        {
            "level": bands["ORG_TYPE"].map(ORG_TYPES),
            "org_code": bands["ORG_CODE"],
            "ons_code": bands["ONS_CODE"],
            "sex": bands["SEX"].map(SEXES),
            "age_band": bands["AGE_GROUP_5"].map(AGE_GROUPS),
            "population": bands["n"],
        }
    )
    out = out.groupby(
        ["level", "org_code", "ons_code", "sex", "age_band"], as_index=False, sort=False
    )["population"].sum()
    out["population"] = out["population"].astype(float)
    return out


def registered_totals(path: str | Path) -> pd.Series:
    """Each practice's whole registered list (``GP``, ``ALL``, ``ALL``) by practice code."""
    raw = _read(Path(path), AGE_COLUMNS, "NHS England registered patients by age band")
    total = raw[(raw["ORG_TYPE"] == "GP") & (raw["SEX"] == "ALL") & (raw["AGE_GROUP_5"] == "ALL")]
    return pd.Series(
        whole_numbers(total, "NUMBER_OF_PATIENTS", Path(path)).astype(float).to_numpy(),
        index=total["ORG_CODE"].to_numpy(),
    )


#: The 21 QOF registers of 2024-25 (the same groups as 2020-21).
QOF_REGISTERS: tuple[str, ...] = (
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


def read_qof_prevalence_2425(path: str | Path) -> pd.DataFrame:
    """QOF 2024-25 prevalence (:func:`nhsbook.io.qof.read_prevalence`, registers written as
    whole floats); refused besides: a ``GROUP_CODE`` that is not one of the 21 registers or a
    ``PATIENT_LIST_TYPE`` that is not a known age group, naming file, lines and column."""
    path = Path(path)
    out = read_prevalence(path, register_as_float=True)
    for column, field, known in (
        ("GROUP_CODE", "group_code", QOF_REGISTERS),
        ("PATIENT_LIST_TYPE", "list_type", tuple(LIST_TYPE_AGES)),
    ):
        bad = ~out[field].isin(known)
        if bad.any():
            raise CurrentFormatError(
                f"{path}: column {column!r}, line(s) {out.index[bad][:10].tolist()}: expected "
                f"one of {', '.join(known)}, found {out.loc[bad, field].head(10).tolist()}"
            )
    return out


def read_practice_imd(path: str | Path) -> pd.DataFrame:
    """Fingertips 94240: ``practice_code``, ``practice_name``, ``year``, ``score`` (IMD 2025,
    0-100).  Refused: a score that is not a number or outside 0-100, a practice twice."""
    path = Path(path)
    raw = _read(path, PRACTICE_IMD_COLUMNS, "Fingertips 94240 practice IMD 2025 scores")
    _codes(raw, "PRACTICE_CODE", r"[A-Z][0-9A-Z][0-9]{4}", path, "an ODS practice code")
    _codes(raw, "IMD_YEAR", r"20[0-9]{2}", path, "a year")
    score = _numbers(raw, "IMD_SCORE", path)
    bad = ~score.between(0, 100)
    if bad.any():
        raise CurrentFormatError(
            f"{path}: column 'IMD_SCORE', line(s) "
            f"{raw.index[bad][:10].tolist()}: an IMD score is 0-100"
        )
    _unique(raw, ["PRACTICE_CODE"], path, "each practice must appear once")
    return pd.DataFrame(
        {
            "practice_code": raw["PRACTICE_CODE"],
            "practice_name": raw["PRACTICE_NAME"],
            "year": raw["IMD_YEAR"],
            "score": score,
        }
    ).reset_index(drop=True)


def read_imd2025_lsoa(path: str | Path) -> pd.DataFrame:
    """IoD2025 by LSOA 2021: ``lsoa21_code``, ``imd_score``, ``imd_rank`` (1 = most deprived
    of 33,755), ``imd_decile`` (1 = most deprived 10%).  Refused: malformed codes, ranks or
    deciles out of range, an LSOA twice."""
    path = Path(path)
    raw = _read(path, IMD2025_COLUMNS, "English Indices of Deprivation 2025 (LSOA 2021)")
    _codes(raw, "lsoa21_code", r"E01[0-9]{6}", path, "an English LSOA code E01…")
    score = _numbers(raw, "IMD_score", path)
    rank = whole_numbers(raw, "IMD_rank", path)
    decile = whole_numbers(raw, "IMD_decile", path)
    bad = ~rank.between(1, IMD2025_LSOAS) | ~decile.between(1, 10)
    if bad.any():
        raise CurrentFormatError(
            f"{path}: line(s) {raw.index[bad][:10].tolist()}, columns "
            f"'IMD_rank' and 'IMD_decile': the rank must be "
            f"1-{IMD2025_LSOAS:,} and the decile 1-10"
        )
    _unique(raw, ["lsoa21_code"], path, "each LSOA must appear once")
    return pd.DataFrame(
        {
            "lsoa21_code": raw["lsoa21_code"],
            "imd_score": score,
            "imd_rank": rank,
            "imd_decile": decile,
        }
    ).reset_index(drop=True)


def read_lsoa21_lookup(path: str | Path) -> pd.DataFrame:
    """LSOA (2021) → sub-ICB location → ICB (April 2024), one row per LSOA, with the
    published codes (``sicbl24_code`` E38…, ``sicbl24_code_nhs`` 15M, ``icb24_code`` E54…)."""
    path = Path(path)
    raw = _read(path, LOOKUP21_COLUMNS, "ONS LSOA (2021) to sub-ICB location to ICB lookup")
    _codes(raw, "lsoa21_code", r"E01[0-9]{6}", path, "an English LSOA code E01…")
    _codes(raw, "sicbl24_code", r"E38[0-9]{6}", path, "an ONS sub-ICB location code E38…")
    _codes(raw, "icb24_code", r"E54[0-9]{6}", path, "an ONS ICB code E54…")
    _unique(raw, ["lsoa21_code"], path, "each LSOA must appear once")
    return raw.reset_index(drop=True)


# --------------------------------------------------------------------- census and boundaries

#: Census 2021 TS007A (Nomis download): lines before the header (blank, title, copyright,
#: date, blank) and the columns read.
NOMIS_PREAMBLE = 5
TS007A_BANDS: tuple[str, ...] = (
    "Aged 4 years and under",
    "Aged 5 to 9 years",
    "Aged 10 to 14 years",
    "Aged 15 to 19 years",
    "Aged 20 to 24 years",
    "Aged 25 to 29 years",
    "Aged 30 to 34 years",
    "Aged 35 to 39 years",
    "Aged 40 to 44 years",
    "Aged 45 to 49 years",
    "Aged 50 to 54 years",
    "Aged 55 to 59 years",
    "Aged 60 to 64 years",
    "Aged 65 to 69 years",
    "Aged 70 to 74 years",
    "Aged 75 to 79 years",
    "Aged 80 to 84 years",
    "Aged 85 years and over",
)
TS007A_COLUMNS: tuple[str, ...] = (
    "2021 super output area - lower layer",
    "mnemonic",
    "Total",
    *TS007A_BANDS,
)
SICBL_COLUMNS: tuple[str, ...] = ("SICBL23CD", "SICBL23NM")


def _text_table(path: Path, columns: tuple[str, ...], what: str, **layout) -> pd.DataFrame:
    """A file read as text cells by :func:`nhsbook.core.textfile.read_table` (true file lines as
    the index, preamble skipped, or GeoJSON features as rows), its header checked by name."""
    frame, header, problems = read_table(path, **layout)
    if frame is None:
        raise CurrentFormatError(f"{path}: {problems[0].rule} ({problems[0].hint})")
    missing = [c for c in columns if c not in header]
    if missing:
        where = (
            f"line {layout.get('preamble', 0) + 1} (header)"
            if layout.get("layout", "csv") == "csv"
            else "line 1 (header: properties)"
        )
        raise CurrentFormatError(
            f"{path}: {where}: missing column(s) {missing}; expected the "
            f"columns of the {what} as published: {', '.join(columns)}"
        )
    return frame[list(columns) + [c for c in header if c == "geometry_type"]].apply(
        lambda s: s.fillna("").str.strip()
    )


def read_census_ts007a(path: str | Path) -> pd.DataFrame:
    """Census 2021 TS007A "Age by five-year age bands" by LSOA 2021 as Nomis publishes it
    (5 preamble lines, the header on line 6, blank lines at the end): ``lsoa21_code``,
    ``lsoa21_name``, ``population`` (usual residents, ``Total``) and the 18 bands
    (:data:`TS007A_BANDS`, youngest first), English and Welsh LSOAs.

    Refused, naming file, line and column: a header without the published columns, a code
    that is not an LSOA (E01/W01 + 6 digits), counts that are not whole numbers, a ``Total``
    that is not the sum of its 18 bands, an LSOA twice."""
    path = Path(path)
    raw = _text_table(
        path, TS007A_COLUMNS, "Census 2021 TS007A Nomis download", preamble=NOMIS_PREAMBLE
    )
    _codes(raw, "mnemonic", r"[EW]01[0-9]{6}", path, "an LSOA 2021 code E01… or W01…")
    total = whole_numbers(raw, "Total", path)
    bands = sum(whole_numbers(raw, b, path) for b in TS007A_BANDS)
    off = total != bands
    if off.any():
        raise CurrentFormatError(
            f"{path}: column 'Total', line(s) {raw.index[off][:10].tolist()}"
            ": the total must equal the sum of the 18 five-year bands"
        )
    _unique(raw, ["mnemonic"], path, "each LSOA must appear once")
    out = pd.DataFrame(
        {
            "lsoa21_code": raw["mnemonic"],
            "lsoa21_name": raw["2021 super output area - lower layer"],
            "population": total.astype(float),
        }
    )
    for band in TS007A_BANDS:  # residents by band (the peers' ages)
        out[band] = whole_numbers(raw, band, path)
    return out.reset_index(drop=True)


def read_sicbl_boundaries(path: str | Path):
    """ONS NHS sub-ICB locations (April 2023) BSC GeoJSON as ``code, name, geometry`` (WGS84,
    :func:`nhsbook.io.boundaries.read_boundaries`), after checking its features' properties (a feature
    is named by the file line on which it starts): ``SICBL23CD`` an ONS sub-ICB code E38…,
    once each; ``SICBL23NM`` present; a polygon geometry."""
    # lazy: keeps geopandas,shapely off this module's import
    from nhsbook.io.boundaries import read_boundaries

    path = Path(path)
    raw = _text_table(
        path, SICBL_COLUMNS, "ONS sub-ICB locations (April 2023) boundaries", layout="geojson"
    )
    _codes(raw, "SICBL23CD", r"E38[0-9]{6}", path, "an ONS sub-ICB location code E38…")
    _codes(raw, "geometry_type", r"(Multi)?Polygon", path, "a Polygon or MultiPolygon")
    _unique(raw, ["SICBL23CD"], path, "each sub-ICB location must appear once")
    return read_boundaries(path, "SICBL23CD", "SICBL23NM")
