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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..model import AREA_COLUMNS, METADATA_COLUMNS, VALUE_COLUMNS, coerce

REQUIRED: tuple[str, ...] = (
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name",
    "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit",
    "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Time period Sortable", "New data",
)
GOAL_COLUMNS: tuple[str, ...] = ("Compared to goal", "Target data")
BENCHMARK_PATTERN = re.compile(r"^(Compared to (.+ )?(value or )?percentiles|Column not used)$")
NUMERIC: dict[str, str] = {
    "Value": "value", "Lower CI 95.0 limit": "lower_95", "Upper CI 95.0 limit": "upper_95",
    "Lower CI 99.8 limit": "lower_998", "Upper CI 99.8 limit": "upper_998",
    "Count": "count", "Denominator": "denominator",
}
TEXT: dict[str, str] = {
    "Indicator ID": "indicator_id", "Area Code": "area_code", "Area Type": "area_type",
    "Time period": "period", "Sex": "sex", "Age": "age", "Category Type": "category_type",
    "Category": "category", "Value note": "value_note",
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
            "without editing the header.")
    order = [c for c in columns if c in REQUIRED]
    if order != [c for c in REQUIRED if c in order]:
        first = next(i for i, (a, b) in enumerate(zip(order, REQUIRED)) if a != b)
        raise FingertipsFormatError(
            f"{path}: line 1 (header), column {first + 1}: expected {REQUIRED[first]!r} "
            f"but found {order[first]!r}: the columns are not in the order of a Fingertips "
            "export, so the file has been edited by hand. Export it again from Fingertips, "
            "or restore the column order: " + ", ".join(REQUIRED) + ".")
    bench = [c for c in columns if c not in REQUIRED and BENCHMARK_PATTERN.match(c)
             and c != "Compared to England value or percentiles"]
    return bench[0] if bench else ""


def _numbers(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    for column, name in NUMERIC.items():
        text = raw[column].str.strip().str.replace(",", "", regex=False)
        parsed = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = (parsed.isna() & (text != "")) | parsed.abs().eq(float("inf"))
        if bad.any():
            rows = [int(i) + 2 for i in raw.index[bad][:10]]
            examples = raw.loc[bad, column].head(10).tolist()
            raise FingertipsFormatError(
                f"{path}: column {column!r}, line(s) {rows}: expected a finite number or an "
                f"empty cell, found {examples}. Fingertips writes missing values as empty cells and "
                "explains them in 'Value note'.")
        out[name] = parsed
    return out


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
            "are UTF-8: re-save the file as UTF-8") from exc
    bench = check_header(list(raw.columns), path)
    values = pd.concat([raw[list(TEXT)].rename(columns=TEXT), _numbers(raw, path)], axis=1)
    values = coerce(values, VALUE_COLUMNS)
    first = raw.drop_duplicates("Indicator ID")
    metadata = coerce(pd.DataFrame({
        "indicator_id": first["Indicator ID"], "name": first["Indicator Name"],
        "period": first["Time period"], "sex": first["Sex"], "age": first["Age"],
        "source": f"Fingertips export {path.name}",
    }), METADATA_COLUMNS)
    areas = raw.drop_duplicates("Area Code")
    areas = coerce(pd.DataFrame({
        "area_code": areas["Area Code"], "area_name": areas["Area Name"],
        "area_type": areas["Area Type"], "parent_code": areas["Parent Code"],
    }), AREA_COLUMNS)
    return FingertipsExport(values=values, metadata=metadata, areas=areas,
                            benchmark_column=bench,
                            england_comparison=raw["Compared to England value or percentiles"])
