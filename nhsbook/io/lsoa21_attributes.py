"""Importers for what the similar-area peers (:mod:`nhsbook.peers`) need to know of each 2021
LSOA beyond its deprivation: its rurality, its local authority district and its residents by
age, as published.

* :func:`read_ruc21`: ONS/Defra Rural Urban Classification 2021 of LSOAs (England and Wales;
  ``ruc21_code`` UN1, UF1, RSN1, RSF1, RLN1, RLF1; ``ruc`` Urban or Rural).
* :func:`read_lsoa21_ltla24`: ONS LSOA (2021) → electoral ward (2024) → local authority
  district (2024) best-fit lookup (England and Wales).
* :func:`read_census_ts007a`: Census 2021 TS007A, usual residents by five-year age band per
  LSOA 2021, in the Nomis bulk layout: five preamble lines (blank, title, copyright, date,
  blank) above the header on line 6 and blank lines at the end (:func:`nomis_preamble`).

Every reader checks the header by name and refuses cells that are not numbers, unknown codes
and duplicated keys, naming the file, the line (the file's own line numbers) and the column;
the gate's suites (``expectations/ruc21_lsoa21.json``, ``ons_lsoa21_ltla24.json``,
``census2021_ts007a.json``) refuse the same files first.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import pandas as pd

from .current import CurrentFormatError, _codes, _read, _unique
from .qof import whole_numbers

RUC21_COLUMNS: tuple[str, ...] = ("lsoa21_code", "ruc21_code", "classification", "ruc")
RUC21_CODES: tuple[str, ...] = ("UN1", "UF1", "RSN1", "RSF1", "RLN1", "RLF1")
LTLA24_COLUMNS: tuple[str, ...] = ("lsoa21_code", "lsoa21_name", "ward24_code", "ward24_name",
                                   "ltla24_code", "ltla24_name")
TS007A_NAME = "2021 super output area - lower layer"
TS007A_CODE = "mnemonic"
#: The 18 published bands of TS007A, youngest first.
TS007A_BANDS: tuple[str, ...] = ("Aged 4 years and under",
                                 *(f"Aged {a} to {a + 4} years" for a in range(5, 85, 5)),
                                 "Aged 85 years and over")
TS007A_COLUMNS: tuple[str, ...] = (TS007A_NAME, TS007A_CODE, "Total", *TS007A_BANDS)

#: The lines Nomis writes above the header of a bulk download (title ``TS007A - Age by
#: five-year age bands``, ``ONS Crown Copyright Reserved [from Nomis on …]``, ``Date :,2021``).
NOMIS_PREAMBLE = re.compile(r"[A-Z]{2}[0-9]{3}[A-Z]? - .+|ONS Crown Copyright Reserved.*|"
                            r"(?:Date|Units|Area type|Area name|Rural Urban)\s*:")


def nomis_preamble(record: list[str]) -> bool:
    """True for a record (CSV fields) that is a Nomis preamble line: one or two fields, the
    first a title ``TS007A - …``, the copyright line or a ``Date :`` line."""
    return len(record) <= 2 and bool(NOMIS_PREAMBLE.fullmatch(record[0].strip()))


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


def _nomis_text(path: Path) -> tuple[str, int]:
    """The file's text from its header line on, and the header's line number."""
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CurrentFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from exc
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        record = next(csv.reader([line]), [])
        if record and not nomis_preamble(record):
            return "".join(lines[i:]), i + 1
    raise CurrentFormatError(f"{path}: no header line (expected {', '.join(TS007A_COLUMNS)})")


def read_census_ts007a(path: str | Path) -> pd.DataFrame:
    """Census 2021 TS007A by LSOA 2021 (Nomis layout): ``lsoa21_code``, ``lsoa21_name``,
    ``total`` and the 18 bands (``TS007A_BANDS``, whole numbers), indexed by file line.

    Refused, naming file, line and column: a missing column, a count that is not a whole
    number, a malformed LSOA code, an LSOA twice, bands that do not add up to ``Total``."""
    path = Path(path)
    text, header_line = _nomis_text(path)
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                      skip_blank_lines=False)
    raw.columns = [str(c).strip() for c in raw.columns]
    raw.index = pd.RangeIndex(header_line + 1, header_line + 1 + len(raw), name="line")
    raw = raw[(raw != "").any(axis=1)]                # the blank lines Nomis writes at the end
    missing = [c for c in TS007A_COLUMNS if c not in raw.columns]
    if missing:
        raise CurrentFormatError(
            f"{path}: line {header_line} (header): missing column(s) {missing}; expected the "
            f"columns of Census 2021 TS007A as Nomis writes them: {', '.join(TS007A_COLUMNS)}")
    raw = raw[list(TS007A_COLUMNS)].apply(lambda s: s.str.strip())
    _codes(raw, TS007A_CODE, r"[EW]01[0-9]{6}", path, "an LSOA 2021 code E01…/W01…")
    out = pd.DataFrame({"lsoa21_code": raw[TS007A_CODE], "lsoa21_name": raw[TS007A_NAME]})
    for column in ("Total", *TS007A_BANDS):
        out[column] = whole_numbers(raw, column, path)
    _unique(raw, [TS007A_CODE], path, "each LSOA must appear once")
    off = out[list(TS007A_BANDS)].sum(axis=1) != out["Total"]
    if off.any():
        raise CurrentFormatError(f"{path}: line(s) {out.index[off][:10].tolist()}, column "
                                 "'Total': must equal the sum of the 18 age bands")
    return out.rename(columns={"Total": "total"})
