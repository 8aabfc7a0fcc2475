"""Importers for ONS and MHCLG open data as published: LSOA lookups, small-area population
estimates (SAPE) and the English Indices of Deprivation 2019.

* :func:`read_lsoa_ccg_lookup`: "LSOA (2011) to CCG to LAD (April 2020) Lookup in England"
  (``FID, LSOA11CD, LSOA11NM, CCG20CD, CCG20CDH, CCG20NM, LAD20CD, LAD20NM``).  The lookup, not
  the district, says which CCG an LSOA belongs to: the 21 Glossop LSOAs of High Peak are in
  NHS Tameside and Glossop CCG, the rest of High Peak in NHS Derby and Derbyshire CCG.
* :func:`read_sape_single_year`: ONS mid-year LSOA estimates by single year of age and sex
  (``lsoa_code, lsoa_name, la_code, la_name, sex`` m/f, ``all_ages, age_0 … age_89,
  age_90plus``), returned long in the 19 five-year bands of the model.
* :func:`read_sape_5yr`: persons in five-year bands (``age_0_4 … age_85_89, age_90plus``).
* :func:`read_imd2019_ranks`: IoD2019 File 1 (BOM; ranks written with a thousands comma,
  ``"29,199"``).

Every reader checks the header by name and refuses cells that are not numbers, naming the file,
line (header = line 1) and column; totals that do not add up (``all_ages`` against the single
years) are refused too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.core.model import AGE_BANDS
from nhsbook.io.qof import read_csv_text, whole_numbers

LOOKUP_COLUMNS: tuple[str, ...] = (
    "LSOA11CD",
    "LSOA11NM",
    "CCG20CD",
    "CCG20CDH",
    "CCG20NM",
    "LAD20CD",
    "LAD20NM",
)
SAPE_ID_COLUMNS: tuple[str, ...] = ("lsoa_code", "lsoa_name", "la_code", "la_name")
SINGLE_YEARS: tuple[str, ...] = tuple(f"age_{a}" for a in range(90)) + ("age_90plus",)
FIVE_YEARS: tuple[str, ...] = tuple(f"age_{5 * i}_{5 * i + 4}" for i in range(18)) + ("age_90plus",)
IMD2019_FILE1_COLUMNS: tuple[str, ...] = (
    "LSOA code (2011)",
    "LSOA name (2011)",
    "Local Authority District code (2019)",
    "Local Authority District name (2019)",
    "Index of Multiple Deprivation (IMD) Rank",
    "Index of Multiple Deprivation (IMD) Decile",
)
SEXES = {"m": "Male", "f": "Female", "male": "Male", "female": "Female"}


class OnsFormatError(ValueError):
    """An ONS/MHCLG file is not in the published layout; the message says where and why."""


def _read(path: Path, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    try:
        return read_csv_text(path, columns, what)
    except ValueError as exc:  # QofFormatError carries the same wording
        raise OnsFormatError(str(exc)) from exc


def _numbers(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> pd.DataFrame:
    try:
        return pd.DataFrame({c: whole_numbers(frame, c, path) for c in columns}, index=frame.index)
    except ValueError as exc:
        raise OnsFormatError(str(exc)) from exc


def read_lsoa_ccg_lookup(path: str | Path) -> pd.DataFrame:
    """LSOA → CCG → LAD (April 2020): ``lsoa_code, lsoa_name, ccg_code`` (ONS E38…),
    ``ccg_ods_code``, ``ccg_name``, ``lad_code``, ``lad_name``; one row per LSOA."""
    path = Path(path)
    raw = _read(path, LOOKUP_COLUMNS, "ONS LSOA (2011) to CCG to LAD (April 2020) lookup")
    dup = raw["LSOA11CD"].duplicated(keep=False)
    if dup.any():
        raise OnsFormatError(
            f"{path}: line(s) {raw.index[dup][:10].tolist()}, column "
            "'LSOA11CD': each LSOA must appear once"
        )
    return pd.DataFrame(
        {
            "lsoa_code": raw["LSOA11CD"],
            "lsoa_name": raw["LSOA11NM"],
            "ccg_code": raw["CCG20CD"],
            "ccg_ods_code": raw["CCG20CDH"],
            "ccg_name": raw["CCG20NM"],
            "lad_code": raw["LAD20CD"],
            "lad_name": raw["LAD20NM"],
        }
    ).reset_index(drop=True)


def band_of_single_year(column: str) -> str:
    """The five-year band (model.AGE_BANDS) of a single-year column ``age_N``/``age_90plus``."""
    if column == "age_90plus":
        return "90+"
    return AGE_BANDS[min(int(column.split("_")[1]) // 5, 18)]


def read_sape_single_year(path: str | Path) -> pd.DataFrame:
    """ONS SAPE by single year of age and sex, long in five-year bands: ``lsoa_code``,
    ``la_code``, ``la_name``, ``sex`` (Male/Female), ``age_band``, ``population``.

    Refused: a sex other than m/f, non-numeric cells, an ``all_ages`` that is not the sum of
    the single years, an LSOA given twice for one sex.
    """
    path = Path(path)
    cols = SAPE_ID_COLUMNS + ("sex", "all_ages") + SINGLE_YEARS
    raw = _read(path, cols, "ONS small-area population estimates (single year of age, sex)")
    sex = raw["sex"].str.lower().map(SEXES)
    if sex.isna().any():
        bad = raw.index[sex.isna()][:10].tolist()
        raise OnsFormatError(
            f"{path}: line(s) {bad}, column 'sex': expected m or f, found "
            f"{raw.loc[sex.isna(), 'sex'].head(10).tolist()}"
        )
    nums = _numbers(raw, ("all_ages",) + SINGLE_YEARS, path)
    off = nums[list(SINGLE_YEARS)].sum(axis=1) != nums["all_ages"]
    if off.any():
        raise OnsFormatError(
            f"{path}: line(s) {raw.index[off][:10].tolist()}, column "
            "'all_ages': must equal the sum of age_0 … age_90plus"
        )
    dup = pd.Series(list(zip(raw["lsoa_code"], sex)), index=raw.index).duplicated(keep=False)
    if dup.any():
        raise OnsFormatError(
            f"{path}: line(s) {raw.index[dup][:10].tolist()}, columns "
            "'lsoa_code' and 'sex': one row per LSOA and sex expected"
        )
    bands = {c: band_of_single_year(c) for c in SINGLE_YEARS}
    by_band = nums[list(SINGLE_YEARS)].T.groupby(bands).sum().T
    wide = pd.concat([raw[["lsoa_code", "la_code", "la_name"]].assign(sex=sex), by_band], axis=1)
    long = wide.melt(
        id_vars=["lsoa_code", "la_code", "la_name", "sex"],
        value_vars=list(AGE_BANDS),
        var_name="age_band",
        value_name="population",
    )
    long["population"] = long["population"].astype(float)
    return long.reset_index(drop=True)


def read_sape_5yr(path: str | Path) -> pd.DataFrame:
    """ONS SAPE persons in five-year bands: ``lsoa_code``, ``lsoa_name``, ``la_code``,
    ``la_name``, ``all_ages`` and one column per band of model.AGE_BANDS (``0-4`` … ``90+``).
    Refused: non-numeric cells or an ``all_ages`` that is not the sum of the bands."""
    path = Path(path)
    raw = _read(
        path,
        SAPE_ID_COLUMNS + ("all_ages",) + FIVE_YEARS,
        "ONS small-area population estimates (persons, five-year bands)",
    )
    nums = _numbers(raw, ("all_ages",) + FIVE_YEARS, path)
    off = nums[list(FIVE_YEARS)].sum(axis=1) != nums["all_ages"]
    if off.any():
        raise OnsFormatError(
            f"{path}: line(s) {raw.index[off][:10].tolist()}, column "
            "'all_ages': must equal the sum of the five-year bands"
        )
    out = raw[list(SAPE_ID_COLUMNS)].copy()
    out["all_ages"] = nums["all_ages"]
    for col, band in zip(FIVE_YEARS, AGE_BANDS):
        out[band] = nums[col]
    return out.reset_index(drop=True)


def read_imd2019_ranks(path: str | Path) -> pd.DataFrame:
    """IoD2019 File 1: ``lsoa_code``, ``lsoa_name``, ``lad_code``, ``lad_name``,
    ``imd_rank`` (1 = most deprived of 32,844; thousands commas read) and ``imd_decile``
    (1 = most deprived 10%).  Refused: a rank outside 1-32,844 or a decile outside 1-10."""
    path = Path(path)
    raw = _read(path, IMD2019_FILE1_COLUMNS, "English Indices of Deprivation 2019, File 1")
    nums = _numbers(raw, IMD2019_FILE1_COLUMNS[4:], path)
    rank, decile = nums.iloc[:, 0], nums.iloc[:, 1]
    bad = ~rank.between(1, 32844) | ~decile.between(1, 10)
    if bad.any():
        raise OnsFormatError(
            f"{path}: line(s) {raw.index[bad][:10].tolist()}: the IMD rank "
            "must be 1-32,844 and the decile 1-10"
        )
    return pd.DataFrame(
        {
            "lsoa_code": raw.iloc[:, 0],
            "lsoa_name": raw.iloc[:, 1],
            "lad_code": raw.iloc[:, 2],
            "lad_name": raw.iloc[:, 3],
            "imd_rank": rank.to_numpy(),
            "imd_decile": decile.to_numpy(),
        }
    ).reset_index(drop=True)


def population_shares(five_year: pd.DataFrame) -> pd.DataFrame:
    """Age structure of each LSOA from :func:`read_sape_5yr`: ``lsoa_code``, ``all_ages`` and
    the percentages aged 0-15 (bands 0-4 … 10-14), 65+ and 75+:
    ``pct = 100 × Σ population in the bands / all ages`` (NaN for an empty LSOA)."""
    total = five_year["all_ages"].astype(float).replace(0, np.nan)
    groups = {
        "pct_under_15": AGE_BANDS[:3],
        "pct_65_plus": AGE_BANDS[13:],
        "pct_75_plus": AGE_BANDS[15:],
    }
    out = five_year[["lsoa_code", "lsoa_name", "la_code", "la_name", "all_ages"]].copy()
    for name, bands in groups.items():
        out[name] = 100 * five_year[list(bands)].sum(axis=1) / total
    return out
