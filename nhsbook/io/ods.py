"""Importers for NHS Digital practice files: the Organisation Data Service (ODS) practice
list ``epraccur`` and "Patients Registered at a GP Practice" totals.

``epraccur.csv`` has **no header row**: 27 columns in the ODS order (:data:`EPRACCUR_COLUMNS`,
from the ODS file specification; the ``Null`` columns are reserved).  Status codes: A active,
C closed, D dormant, P proposed.  Prescribing setting 4 is a GP practice.

``gp-reg-pat-prac-all.csv``: ``PUBLICATION, EXTRACT_DATE, TYPE, CCG_CODE, ONS_CCG_CODE, CODE,
POSTCODE, SEX, AGE, NUMBER_OF_PATIENTS`` (SEX and AGE ``ALL``; CRLF line ends).

Neither file feeds the QOF book's indicators (QOF carries its own names and list sizes); they
are read to list a CCG's practices as ODS and the registration statistics know them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nhsbook.io.qof import read_csv_text, whole_numbers

EPRACCUR_COLUMNS: tuple[str, ...] = (
    "organisation_code",
    "name",
    "national_grouping",
    "high_level_health_geography",
    "address_1",
    "address_2",
    "address_3",
    "address_4",
    "address_5",
    "postcode",
    "open_date",
    "close_date",
    "status_code",
    "organisation_sub_type_code",
    "commissioner",
    "join_provider_date",
    "left_provider_date",
    "telephone",
    "null_1",
    "null_2",
    "null_3",
    "amended_record_indicator",
    "null_4",
    "provider_purchaser",
    "null_5",
    "prescribing_setting",
    "null_6",
)
STATUS: dict[str, str] = {"A": "Active", "C": "Closed", "D": "Dormant", "P": "Proposed"}
REGISTERED_COLUMNS: tuple[str, ...] = (
    "PUBLICATION",
    "EXTRACT_DATE",
    "TYPE",
    "CCG_CODE",
    "ONS_CCG_CODE",
    "CODE",
    "POSTCODE",
    "SEX",
    "AGE",
    "NUMBER_OF_PATIENTS",
)


class OdsFormatError(ValueError):
    """An ODS / NHS Digital practice file is not in the published layout."""


def read_epraccur(path: str | Path) -> pd.DataFrame:
    """``epraccur`` with named columns (:data:`EPRACCUR_COLUMNS`), dates as
    ``datetime64`` (``open_date``, ``close_date``; empty = missing) and ``status`` in words.

    Refused, naming file and line: a row without 27 fields, a file that starts with a header
    (the published file has none), a status other than A/C/D/P, a date not ``YYYYMMDD``.
    """
    path = Path(path)
    raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if raw.shape[1] != len(EPRACCUR_COLUMNS):
        raise OdsFormatError(
            f"{path}: expected {len(EPRACCUR_COLUMNS)} columns (the ODS "
            f"epraccur layout, no header row), found {raw.shape[1]}"
        )
    raw.columns = list(EPRACCUR_COLUMNS)
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="line")
    if raw["organisation_code"].iloc[0].strip().lower().startswith("organisation"):
        raise OdsFormatError(
            f"{path}: line 1 is a header; the published epraccur has none (remove the header line)"
        )
    bad = ~raw["status_code"].isin(STATUS)
    if bad.any():
        raise OdsFormatError(
            f"{path}: line(s) {raw.index[bad][:10].tolist()}, column 13 "
            f"(status code): expected one of {sorted(STATUS)}, found "
            f"{raw.loc[bad, 'status_code'].head(10).tolist()}"
        )
    for col in ("open_date", "close_date"):
        text = raw[col].str.strip()
        wrong = (text != "") & ~text.str.fullmatch(r"[0-9]{8}")
        if wrong.any():
            raise OdsFormatError(
                f"{path}: line(s) {raw.index[wrong][:10].tolist()}, column "
                f"{col}: expected a date YYYYMMDD or an empty cell"
            )
        raw[col] = pd.to_datetime(text.where(text != ""), format="%Y%m%d")
    raw["status"] = raw["status_code"].map(STATUS)
    return raw


def read_registered_patients(path: str | Path) -> pd.DataFrame:
    """Registered patients by practice: ``practice_code``, ``ccg_code`` (ODS),
    ``ccg_ons_code``, ``postcode``, ``patients`` (integer), ``extract_date``.  Refused: a
    count that is not a whole number, or rows broken down by sex or age (this reader takes the
    totals file, where both are ``ALL``)."""
    path = Path(path)
    raw = read_csv_text(path, REGISTERED_COLUMNS, "Patients Registered at a GP Practice file")
    split = (raw["SEX"] != "ALL") | (raw["AGE"] != "ALL")
    if split.any():
        raise OdsFormatError(
            f"{path}: line(s) {raw.index[split][:10].tolist()}, columns SEX "
            "and AGE: expected ALL (the totals file gp-reg-pat-prac-all)"
        )
    try:
        patients = whole_numbers(raw, "NUMBER_OF_PATIENTS", path)
    except ValueError as exc:
        raise OdsFormatError(str(exc)) from exc
    return pd.DataFrame(
        {
            "practice_code": raw["CODE"],
            "ccg_code": raw["CCG_CODE"],
            "ccg_ons_code": raw["ONS_CCG_CODE"],
            "postcode": raw["POSTCODE"],
            "patients": patients,
            "extract_date": raw["EXTRACT_DATE"],
        }
    )
