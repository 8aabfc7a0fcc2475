"""Importers for the NHS Digital Quality and Outcomes Framework (QOF) raw-data CSVs, as
published for 2020-21 (and in the same layout since 2019-20).

Three files are read (each validated by its Great Expectations suite before a build uses it):

``PREVALENCE_<yyyy>.csv`` (:func:`read_prevalence`)
    ``PRACTICE_CODE, GROUP_CODE, REGISTER, PATIENT_LIST_TYPE, PRACTICE_LIST_SIZE``: one row per
    practice and disease register; ``REGISTER`` is the number of patients on the register and
    ``PRACTICE_LIST_SIZE`` the practice's list size *for the register's age group*
    (``PATIENT_LIST_TYPE``: ``TOTAL`` all ages, ``06OV`` aged 6 and over, ``16OV``, ``17OV``,
    ``18OV``, ``50OV`` …).  QOF recorded prevalence is ``REGISTER / PRACTICE_LIST_SIZE``.
``MAPPING_NHS_GEOGRAPHIES_<yyyy>.csv`` (:func:`read_geographies`)
    practice → PCN → CCG → STP → region → England, with ODS and ONS codes and names.
``MAPPING_INDICATORS_<yyyy>.csv`` (:func:`read_indicator_groups`)
    indicator → group (register) with its description, domain and list type.

Errors name the file, the line (the header is line 1) and the column, and say what was
expected: a file with a missing column, a register that is not a whole number or a practice
listed twice for one register is refused, never read into a silently wrong prevalence.  A
register larger than its list (a few published rows) is flagged (``exceeds_list``) so that no
prevalence above 100% is ever computed from it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PREVALENCE_COLUMNS: tuple[str, ...] = (
    "PRACTICE_CODE",
    "GROUP_CODE",
    "REGISTER",
    "PATIENT_LIST_TYPE",
    "PRACTICE_LIST_SIZE",
)
GEOGRAPHY_COLUMNS: tuple[str, ...] = (
    "NAT_ONS_CODE",
    "NAT_CODE",
    "COUNTRY",
    "REGION_ODS_CODE",
    "REGION_ONS_CODE",
    "REGION_NAME",
    "STP_ODS_CODE",
    "STP_ONS_CODE",
    "STP_NAME",
    "CCG_ODS_CODE",
    "CCG_ONS_CODE",
    "CCG_NAME",
    "PCN_ODS_CODE",
    "PCN_NAME",
    "PRACTICE_CODE",
    "PRACTICE_NAME",
)
INDICATOR_COLUMNS: tuple[str, ...] = (
    "INDICATOR_CODE",
    "INDICATOR_POINT_VALUE",
    "GROUP_CODE",
    "GROUP_DESCRIPTION",
    "DOMAIN_CODE",
    "DOMAIN_DESCRIPTION",
    "PATIENT_LIST_TYPE",
)

#: QOF patient list types -> the age group they denote (Fingertips' wording).
LIST_TYPE_AGES: dict[str, str] = {
    "TOTAL": "All ages",
    "06OV": "6+ yrs",
    "15OV": "15+ yrs",
    "16OV": "16+ yrs",
    "17OV": "17+ yrs",
    "18OV": "18+ yrs",
    "45OV": "45+ yrs",
    "50OV": "50+ yrs",
}


class QofFormatError(ValueError):
    """A QOF file is not in the published layout; the message says where and why."""


def read_csv_text(path: Path, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    """Read a published CSV as text (BOM and gzip allowed), checking its header by name.

    Returns the columns in ``columns`` (extra columns are ignored) with surrounding spaces
    stripped; the index is the file line number (header = line 1).
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise QofFormatError(
            f"{path}: the file is empty (expected a header line with {', '.join(columns)})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise QofFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise QofFormatError(
            f"{path}: line 1 (header): missing column(s) {missing}; expected the columns of "
            f"the {what} as published: {', '.join(columns)}"
        )
    out = raw[list(columns)].apply(lambda s: s.str.strip())
    out.index = pd.RangeIndex(2, len(out) + 2, name="line")
    return out


def whole_numbers(
    frame: pd.DataFrame, column: str, path: Path, point_zero: bool = False
) -> pd.Series:
    """A text column as non-negative whole numbers (thousands commas allowed; with
    ``point_zero`` also a whole number written as a float, ``113.0``); any other cell raises
    :class:`QofFormatError` naming the file, lines and column."""
    text = frame[column].str.replace(",", "", regex=False)
    if point_zero:
        text = text.str.replace(r"\.0+$", "", regex=True)
    ok = text.str.fullmatch(r"[0-9]+")
    if not ok.all():
        bad = frame.index[~ok][:10].tolist()
        raise QofFormatError(
            f"{path}: column {column!r}, line(s) {bad}: expected a whole number >= 0, found "
            f"{frame.loc[~ok, column].head(10).tolist()}"
        )
    return text.astype("int64")


def read_prevalence(path: str | Path, register_as_float: bool = False) -> pd.DataFrame:
    """The QOF prevalence file: columns ``practice_code``, ``group_code``, ``register``,
    ``list_type``, ``list_size`` (integers) and ``exceeds_list`` (the register is larger than
    the list of its age group, which the published files hold on a handful of rows), indexed
    by file line.

    Refused (naming file, line and column): missing columns, registers or list sizes that are
    not whole numbers, a practice with two rows for one register.  ``register_as_float``
    accepts registers written as whole floats (``113.0``: the QOF 2024-25 file); ``113.5`` is
    still refused.
    """
    path = Path(path)
    raw = read_csv_text(path, PREVALENCE_COLUMNS, "QOF prevalence file")
    out = pd.DataFrame(
        {
            "practice_code": raw["PRACTICE_CODE"],
            "group_code": raw["GROUP_CODE"],
            "register": whole_numbers(raw, "REGISTER", path, point_zero=register_as_float),
            "list_type": raw["PATIENT_LIST_TYPE"],
            "list_size": whole_numbers(raw, "PRACTICE_LIST_SIZE", path),
        },
        index=raw.index,
    )
    # Published files hold a few registers larger than the list of their age group (e.g. a
    # specialist learning-disability practice, 2020-21 line 137,711: LD 137 on a list of 132):
    # kept and flagged, for the loader to leave out of proportions (never a value above 100%).
    out["exceeds_list"] = out["register"] > out["list_size"]
    dup = out.duplicated(["practice_code", "group_code"], keep=False)
    if dup.any():
        bad = out.index[dup][:10].tolist()
        raise QofFormatError(
            f"{path}: line(s) {bad}, columns 'PRACTICE_CODE' and "
            "'GROUP_CODE': one row per practice and register expected"
        )
    return out


def read_geographies(path: str | Path) -> pd.DataFrame:
    """The QOF practice → PCN → CCG → STP → region mapping, as published (text columns,
    upper-case names), indexed by file line; practice codes must be unique."""
    path = Path(path)
    raw = read_csv_text(path, GEOGRAPHY_COLUMNS, "QOF NHS geographies mapping")
    empty = raw[["PRACTICE_CODE", "CCG_ODS_CODE", "CCG_ONS_CODE"]].eq("").any(axis=1)
    if empty.any():
        raise QofFormatError(
            f"{path}: line(s) {raw.index[empty][:10].tolist()}: "
            "PRACTICE_CODE, CCG_ODS_CODE and CCG_ONS_CODE must not be empty"
        )
    dup = raw["PRACTICE_CODE"].duplicated(keep=False)
    if dup.any():
        raise QofFormatError(
            f"{path}: line(s) {raw.index[dup][:10].tolist()}, column "
            "'PRACTICE_CODE': each practice must appear once"
        )
    return raw


def read_indicator_groups(path: str | Path) -> pd.DataFrame:
    """QOF groups (registers) from the indicator mapping: one row per ``group_code`` with
    ``description``, ``domain`` and ``list_type`` (the first indicator's, as published)."""
    path = Path(path)
    raw = read_csv_text(path, INDICATOR_COLUMNS, "QOF indicator mapping")
    groups = raw.drop_duplicates("GROUP_CODE")
    return pd.DataFrame(
        {
            "group_code": groups["GROUP_CODE"],
            "description": groups["GROUP_DESCRIPTION"],
            "domain": groups["DOMAIN_DESCRIPTION"],
            "list_type": groups["PATIENT_LIST_TYPE"],
        }
    ).reset_index(drop=True)


def register_totals(
    prevalence: pd.DataFrame, practice_groups: pd.Series | None = None
) -> pd.DataFrame:
    """Registers and list sizes summed by group (and by ``practice_groups``, a Series
    practice code -> area code, when given): ``area_code`` (when grouped), ``group_code``,
    ``register``, ``list_size``.

    Prevalence of an area is the sum of its practices' registers over the sum of their list
    sizes (never an average of practice prevalences): NHS Digital, *QOF 2020-21 prevalence
    methodology*.
    """
    df = prevalence
    keys = ["group_code"]
    if practice_groups is not None:
        df = df.assign(area_code=df["practice_code"].map(practice_groups))
        df = df[df["area_code"].notna()]
        keys = ["area_code", "group_code"]
    return df.groupby(keys, as_index=False)[["register", "list_size"]].sum()
