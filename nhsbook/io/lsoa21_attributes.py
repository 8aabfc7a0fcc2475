"""Importers for what the similar-area peers (:mod:`nhsbook.peers`) need to know of each 2021
LSOA beyond its deprivation: its rurality and its local authority district, as published.

* :func:`read_ruc21`: ONS/Defra Rural Urban Classification 2021 of LSOAs (England and Wales;
  ``ruc21_code`` UN1, UF1, RSN1, RSF1, RLN1, RLF1; ``ruc`` Urban or Rural).
* :func:`read_lsoa21_ltla24`: ONS LSOA (2021) → electoral ward (2024) → local authority
  district (2024) best-fit lookup (England and Wales).
(Census 2021 TS007A, residents by five-year age band per LSOA 2021, is read by
:func:`nhsbook.io.current.read_census_ts007a`.)

Every reader checks the header by name and refuses cells that are not numbers, unknown codes
and duplicated keys, naming the file, the line (the file's own line numbers) and the column;
the gate's suites (``expectations/ruc21_lsoa21.json``, ``ons_lsoa21_ltla24.json``) refuse the same files first.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .current import CurrentFormatError, _codes, _read, _unique

RUC21_COLUMNS: tuple[str, ...] = ("lsoa21_code", "ruc21_code", "classification", "ruc")
RUC21_CODES: tuple[str, ...] = ("UN1", "UF1", "RSN1", "RSF1", "RLN1", "RLF1")
LTLA24_COLUMNS: tuple[str, ...] = ("lsoa21_code", "lsoa21_name", "ward24_code", "ward24_name",
                                   "ltla24_code", "ltla24_name")
def read_ruc21(path: str | Path) -> pd.DataFrame:
    """Rural Urban Classification 2021: ``lsoa21_code``, ``ruc21_code``, ``ruc`` (Urban or
    Rural), indexed by file line.  Refused: malformed LSOA codes, an unknown class, an
    ``ruc`` that disagrees with the class's first letter, an LSOA twice."""
    path = Path(path)
    raw = _read(path, RUC21_COLUMNS, "Rural Urban Classification 2021 of LSOAs")
    _codes(raw, "lsoa21_code", r"[EW]01[0-9]{6}", path, "an LSOA 2021 code E01…/W01…")
    for column, known in (("ruc21_code", RUC21_CODES), ("ruc", ("Urban", "Rural"))):
        bad = ~raw[column].isin(known)
        if bad.any():
            raise CurrentFormatError(
                f"{path}: column {column!r}, line(s) {raw.index[bad][:10].tolist()}: expected "
                f"one of {', '.join(known)}, found {raw.loc[bad, column].head(10).tolist()}")
    off = raw["ruc21_code"].str[0].map({"U": "Urban", "R": "Rural"}) != raw["ruc"]
    if off.any():
        raise CurrentFormatError(f"{path}: column 'ruc', line(s) {raw.index[off][:10].tolist()}"
                                 ": must be Urban for U… classes and Rural for R… classes")
    _unique(raw, ["lsoa21_code"], path, "each LSOA must appear once")
    return raw[["lsoa21_code", "ruc21_code", "ruc"]]


def read_lsoa21_ltla24(path: str | Path) -> pd.DataFrame:
    """LSOA (2021) → ward (2024) → district (2024): ``lsoa21_code``, ``ltla24_code``,
    ``ltla24_name``, indexed by file line.  Refused: malformed LSOA or district codes
    (E06/E07/E08/E09, W06), an LSOA twice."""
    path = Path(path)
    raw = _read(path, LTLA24_COLUMNS, "ONS LSOA (2021) to ward (2024) to LAD (2024) lookup")
    _codes(raw, "lsoa21_code", r"[EW]01[0-9]{6}", path, "an LSOA 2021 code E01…/W01…")
    _codes(raw, "ltla24_code", r"(?:E0[6-9]|W06)[0-9]{6}", path,
           "a local authority district code E06/E07/E08/E09/W06…")
    _unique(raw, ["lsoa21_code"], path, "each LSOA must appear once")
    return raw[["lsoa21_code", "ltla24_code", "ltla24_name"]]


