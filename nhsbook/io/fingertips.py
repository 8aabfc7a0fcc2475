"""Importer for Fingertips CSV exports (OHID public health profiles) into the data model.

A Fingertips export has these columns, by name (``Time period range`` only in recent exports;
the 23rd column's name depends on the benchmark chosen — ``Compared to percentiles``,
``Compared to <parent> value or percentiles``, ``Column not used`` or, in old files,
``Compared to subnational parent value or percentiles``; old files say ``Target data`` for
``Compared to goal``)::

    Indicator ID, Indicator Name, Parent Code, Parent Name, Area Code, Area Name, Area Type,
    Sex, Age, Category Type, Category, Time period, Value, Lower CI 95.0 limit,
    Upper CI 95.0 limit, Lower CI 99.8 limit, Upper CI 99.8 limit, Count, Denominator,
    Value note, Recent Trend, Compared to England value or percentiles, <benchmark column>,
    Time period Sortable, New data, Compared to goal

Columns must come in the export's order (a reordered file has been edited by hand and is
refused, naming the first column out of place); a missing column is an error naming the file
and the column.  Numbers that do not parse are
errors naming the file, line and column — never silently missing.

Numbers are written as Fingertips writes them: ``-12.5``, ``1e-3`` and, at most, English
thousands separators (``1,234.5``).  A number in another locale's format (a decimal comma
``0,5``, ``1.234,5``, ``1 234,5``, ``1'234.5``) is refused naming file, line and column, never
reparsed (``0,5`` is not 5).

Blank keys
    ``Area Code`` and ``Time period`` are never blank in an export: a blank one is an error
    naming file, line and column.  Current exports leave ``Indicator ID``, ``Sex`` and ``Age``
    blank on some rows (export 91547: the 6,267 GP rows of 2023/24, which also lack parent,
    limits, comparisons and ``Time period Sortable``).  They are filled only where Fingertips'
    own data model determines them, and refused otherwise (:func:`fill_blank_keys`):

    * ``Indicator ID``: an indicator has one name in Fingertips, so a blank ID is the ID of the
      rows in the same file with the same ``Indicator Name`` — when exactly one ID has it;
    * ``Sex`` and ``Age``: an indicator's values for one area type are for the one sex and age
      of its definition (91547 GP rows: Persons, 15+ yrs), so a blank is filled when the rows
      of that indicator and ``Area Type`` (outside inequality ``Category`` rows) have exactly
      one (Sex, Age) pair in the file.

    Filled cells are listed in :attr:`FingertipsExport.filled` (line, column, value, rule).

Kept as published
    ``Category Type``/``Category`` rows (inequality breakdowns) are values like any other, and
    ``Time period range``, ``Time period Sortable``, ``Indicator Name``, ``Recent Trend`` and the
    England comparison are kept per row in :attr:`FingertipsExport.details`, aligned with
    ``values`` and carrying each row's file ``line``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nhsbook.core.model import AREA_COLUMNS, METADATA_COLUMNS, VALUE_COLUMNS, coerce

REQUIRED: tuple[str, ...] = (
    "Indicator ID",
    "Indicator Name",
    "Parent Code",
    "Parent Name",
    "Area Code",
    "Area Name",
    "Area Type",
    "Sex",
    "Age",
    "Category Type",
    "Category",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Value note",
    "Recent Trend",
    "Compared to England value or percentiles",
    "Time period Sortable",
    "New data",
)
GOAL_COLUMNS: tuple[str, ...] = ("Compared to goal", "Target data")
BENCHMARK_PATTERN = re.compile(r"^(Compared to (.+ )?(value or )?percentiles|Column not used)$")
NUMERIC: dict[str, str] = {
    "Value": "value",
    "Lower CI 95.0 limit": "lower_95",
    "Upper CI 95.0 limit": "upper_95",
    "Lower CI 99.8 limit": "lower_998",
    "Upper CI 99.8 limit": "upper_998",
    "Count": "count",
    "Denominator": "denominator",
}
TEXT: dict[str, str] = {
    "Indicator ID": "indicator_id",
    "Area Code": "area_code",
    "Area Type": "area_type",
    "Time period": "period",
    "Sex": "sex",
    "Age": "age",
    "Category Type": "category_type",
    "Category": "category",
    "Value note": "value_note",
}


#: Key columns that must never be blank in an export.
KEY_COLUMNS: tuple[str, ...] = ("Indicator ID", "Area Code", "Time period", "Sex", "Age")
#: A number as Fingertips writes it: optional sign, digits (English thousands separators
#: allowed, the first group not starting with 0), optional decimals and exponent.
NUMBER = re.compile(
    r"^-?(?:(?:[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:[eE][-+]?[0-9]+)?$"
)
#: Details kept per row besides the model's value columns (export column -> name).
DETAILS: dict[str, str] = {
    "Indicator Name": "indicator_name",
    "Time period range": "time_period_range",
    "Time period Sortable": "time_period_sortable",
    "Recent Trend": "recent_trend",
    "Compared to England value or percentiles": "england_comparison",
}


class FingertipsFormatError(ValueError):
    """The file is not a Fingertips export as published; the message says where and why."""


@dataclass(frozen=True)
class FingertipsExport:
    """A Fingertips export mapped onto the model: values, metadata and areas."""

    values: pd.DataFrame
    metadata: pd.DataFrame
    areas: pd.DataFrame
    benchmark_column: str
    england_comparison: pd.Series
    #: per row of ``values`` (same index): file ``line``, ``indicator_name``,
    #: ``time_period_range``, ``time_period_sortable``, ``recent_trend``, ``england_comparison``
    details: pd.DataFrame | None = None
    #: cells :func:`fill_blank_keys` filled: ``line, column, value, rule``
    filled: pd.DataFrame | None = None


def check_header(columns: list[str], path: Path) -> str:
    """Check the export's columns by name; returns the name of its benchmark column."""
    missing = [c for c in REQUIRED if c not in columns]
    if not any(c in columns for c in GOAL_COLUMNS):
        missing.append("Compared to goal")
    if missing:
        raise FingertipsFormatError(
            f"{path}: line 1 (header): missing Fingertips column(s) {missing}. "
            f"Expected the columns of a Fingertips CSV export: {', '.join(REQUIRED)}, "
            "a benchmark column, Compared to goal. Export the data again from Fingertips "
            "without editing the header."
        )
    order = [c for c in columns if c in REQUIRED]
    if order != [c for c in REQUIRED if c in order]:
        first = next(i for i, (a, b) in enumerate(zip(order, REQUIRED)) if a != b)
        raise FingertipsFormatError(
            f"{path}: line 1 (header), column {first + 1}: expected {REQUIRED[first]!r} "
            f"but found {order[first]!r}: the columns are not in the order of a Fingertips "
            "export, so the file has been edited by hand. Export it again from Fingertips, "
            "or restore the column order: " + ", ".join(REQUIRED) + "."
        )
    bench = [
        c
        for c in columns
        if c not in REQUIRED
        and BENCHMARK_PATTERN.match(c)
        and c != "Compared to England value or percentiles"
    ]
    return bench[0] if bench else ""


def _numbers(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    for column, name in NUMERIC.items():
        text = raw[column].str.strip()
        ok = text.eq("") | text.str.match(NUMBER)
        parsed = pd.to_numeric(
            text.where(ok & (text != "")).str.replace(",", "", regex=False), errors="coerce"
        )
        bad = ~ok | (parsed.isna() & (text != "")) | parsed.abs().eq(float("inf"))
        if bad.any():
            rows = [int(i) + 2 for i in raw.index[bad][:10]]
            examples = raw.loc[bad, column].head(10).tolist()
            comma = any(re.search(r"[0-9][,' \u00a0\u202f][0-9]", str(e)) for e in examples)
            why = (
                " A decimal comma or a locale's digit grouping (0,5; 1.234,5; 1 234,5) is "
                "not read: export the file again from Fingertips, or write the numbers "
                "with a decimal point (0.5)."
                if comma
                else ""
            )
            raise FingertipsFormatError(
                f"{path}: column {column!r}, line(s) {rows}: expected a finite number or an "
                f"empty cell, found {examples}. Fingertips writes missing values as empty cells and "
                "explains them in 'Value note'." + why
            )
        out[name] = parsed
    return out


def fill_blank_keys(raw: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill blank ``Indicator ID``, ``Sex`` and ``Age`` where Fingertips' data model determines
    them (see the module docstring); refuse every other blank key naming file, line, column.

    Returns the filled copy of ``raw`` and the filled cells (``line, column, value, rule``).
    """
    raw = raw.copy()
    filled: list[dict] = []

    def refuse(column: str, mask: pd.Series, why: str) -> None:
        lines = [int(i) + 2 for i in raw.index[mask][:10]]
        more = f" (+{int(mask.sum()) - len(lines)} more)" if mask.sum() > len(lines) else ""
        raise FingertipsFormatError(
            f"{path}: line(s) {lines}{more}, column {column!r}: the key is blank ({why}). "
            "Fingertips exports name every row's indicator, area, period, sex and age: "
            "export the data again, or fill in the cell."
        )

    for column in ("Area Code", "Time period"):
        blank = raw[column].str.strip().eq("")
        if blank.any():
            refuse(column, blank, "it cannot be inferred")
    ids = raw["Indicator ID"].str.strip()
    blank = ids.eq("")
    if blank.any():
        known = (
            raw.loc[~blank]
            .groupby("Indicator Name")["Indicator ID"]
            .agg(lambda s: sorted(set(s.str.strip())))
        )
        for name, rows in raw[blank].groupby("Indicator Name", sort=False):
            options = known.get(name, [])
            if len(options) != 1:
                why = (
                    f"no row of the file has Indicator Name {name!r} with an ID"
                    if not options
                    else f"Indicator Name {name!r} has {len(options)} IDs "
                    f"in the file ({', '.join(options)})"
                )
                refuse("Indicator ID", raw.index.isin(rows.index) & blank, why)
            raw.loc[rows.index, "Indicator ID"] = options[0]
            filled += [
                {
                    "line": int(i) + 2,
                    "column": "Indicator ID",
                    "value": options[0],
                    "rule": f"the ID of Indicator Name {name!r} in this file",
                }
                for i in rows.index
            ]
    for column in ("Sex", "Age"):
        blank = raw[column].str.strip().eq("")
        if not blank.any():
            continue
        plain = (
            ~blank
            & raw["Category Type"].str.strip().eq("")
            & raw["Sex"].str.strip().ne("")
            & raw["Age"].str.strip().ne("")
        )
        pairs = (
            raw[plain]
            .groupby(["Indicator ID", "Area Type"])
            .apply(lambda g: sorted(set(zip(g["Sex"], g["Age"]))), include_groups=False)
        )
        for (ind, kind), rows in raw[blank].groupby(["Indicator ID", "Area Type"], sort=False):
            options = pairs.get((ind, kind), [])
            values = sorted({p[0 if column == "Sex" else 1] for p in options})
            if len(options) != 1:
                why = (
                    f"indicator {ind} has no {kind!r} rows with Sex and Age to take it from"
                    if not options
                    else f"indicator {ind} has {len(options)} (Sex, Age) "
                    f"pairs for area type {kind!r} in the file"
                )
                refuse(column, raw.index.isin(rows.index) & blank, why)
            raw.loc[rows.index, column] = values[0]
            filled += [
                {
                    "line": int(i) + 2,
                    "column": column,
                    "value": values[0],
                    "rule": f"the one {column} of indicator {ind} for area type {kind!r} "
                    "in this file",
                }
                for i in rows.index
            ]
    return raw, pd.DataFrame(filled, columns=["line", "column", "value", "rule"])


def read(path: str | Path) -> FingertipsExport:
    """Read a Fingertips CSV export (optionally gzipped, with or without a BOM)."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as exc:
        raise FingertipsFormatError(f"{path}: the file is empty (no header line)") from exc
    except UnicodeDecodeError as exc:
        raise FingertipsFormatError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); Fingertips exports "
            "are UTF-8: re-save the file as UTF-8"
        ) from exc
    bench = check_header(list(raw.columns), path)
    raw, filled = fill_blank_keys(raw, path)
    values = pd.concat([raw[list(TEXT)].rename(columns=TEXT), _numbers(raw, path)], axis=1)
    values = coerce(values, VALUE_COLUMNS)
    details = pd.DataFrame({"line": raw.index + 2}, index=raw.index)
    for column, name in DETAILS.items():
        details[name] = raw[column] if column in raw.columns else ""
    details.index = values.index
    first = raw.drop_duplicates("Indicator ID")
    metadata = coerce(
        pd.DataFrame(
            {
                "indicator_id": first["Indicator ID"],
                "name": first["Indicator Name"],
                "period": first["Time period"],
                "sex": first["Sex"],
                "age": first["Age"],
                "source": f"Fingertips export {path.name}",
            }
        ),
        METADATA_COLUMNS,
    )
    areas = raw.drop_duplicates("Area Code")
    areas = coerce(
        pd.DataFrame(
            {
                "area_code": areas["Area Code"],
                "area_name": areas["Area Name"],
                "area_type": areas["Area Type"],
                "parent_code": areas["Parent Code"],
            }
        ),
        AREA_COLUMNS,
    )
    return FingertipsExport(
        values=values,
        metadata=metadata,
        areas=areas,
        benchmark_column=bench,
        england_comparison=raw["Compared to England value or percentiles"],
        details=details,
        filled=filled,
    )
