"""Aggregation (child areas rolled up to their parents by summing counts and
denominators) and the primary disclosure-control rule (counts 1-4 suppressed).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from nhsbook.methods._common import _require_columns

#: The value note written by :func:`suppress` (for the default threshold of 5).
SUPPRESSION_NOTE = "Supp.: count between 1 and 4 suppressed (disclosure control)"


def aggregate(
    df: pd.DataFrame,
    mapping: Mapping[str, str] | pd.Series,
    *,
    by: Sequence[str] = (),
    sum_cols: Sequence[str] = ("count", "denominator"),
    area_col: str = "area_code",
) -> pd.DataFrame:
    """Roll child areas up to their parents by summing counts and denominators.

    Method
        Each row's ``area_col`` is replaced by its parent from ``mapping`` and ``sum_cols``
        (counts, denominators, age-specific counts, ...) are summed within
        ``[area_col] + by``.  Values of the parent are then recalculated from the sums with
        the indicator's method -- rates and proportions are never averaged.
    Parameters
        df: child rows.  mapping: child code -> parent code (dict or Series indexed by child).
        by: other key columns (period, sex, age band, ...).  sum_cols: columns to add up.
        area_col: the area code column.
    Reference
        Fingertips technical guidance (aggregating counts and denominators to larger areas);
        PHEindicatormethods computes every statistic from summed counts.
    Edge cases
        A missing value in a summed column of any child makes that parent's sum missing (never
        a silent undercount).  Children absent from ``mapping`` (or mapped to a missing
        parent) raise ValueError naming them, as do missing columns or non-numeric sum
        columns.  Other columns are dropped.  The result is sorted by key, so the order of the
        input rows does not matter.
    Returns
        DataFrame: ``area_col``, ``by`` columns, ``sum_cols``.
    """
    by = list(by)
    sum_cols = list(sum_cols)
    _require_columns(df, [area_col] + by + sum_cols, "df")
    if area_col in by:
        raise ValueError(f"by must not include area_col {area_col!r}")
    m = pd.Series(mapping) if not isinstance(mapping, pd.Series) else mapping
    if m.index.has_duplicates:
        dups = list(pd.unique(m.index[m.index.duplicated()]))[:10]
        raise ValueError(f"mapping has children listed more than once: {dups}")
    parent = df[area_col].map(m)
    unmapped = parent.isna()
    if unmapped.any():
        missing = list(pd.unique(df.loc[unmapped, area_col]))
        more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
        raise ValueError(
            f"{len(missing)} area(s) in {area_col!r} have no parent in mapping: "
            f"{missing[:10]}{more}"
        )
    values = {}
    for c in sum_cols:
        if pd.api.types.is_bool_dtype(df[c]) or not pd.api.types.is_numeric_dtype(df[c]):
            raise ValueError(f"sum column {c!r} must be numeric, it is {df[c].dtype}")
        values[c] = df[c].astype("float64")
    work = pd.DataFrame({area_col: parent.to_numpy()}, index=df.index)
    for c in by:
        work[c] = df[c]
    for c in sum_cols:
        work[c] = values[c]
        work["__na_" + c] = values[c].isna()
    g = work.groupby([area_col] + by, sort=True, dropna=False, observed=True)
    sums = g[sum_cols].sum()
    nas = g[["__na_" + c for c in sum_cols]].any()
    for c in sum_cols:
        sums[c] = sums[c].where(~nas["__na_" + c].to_numpy())
    return sums.reset_index()


def suppress(
    df: pd.DataFrame,
    threshold: int = 5,
    *,
    count: str = "count",
    derived: Sequence[str] = ("value", "lower_95", "upper_95", "lower_998", "upper_998"),
    note: str = "value_note",
) -> pd.DataFrame:
    """Disclosure control: blank small counts and everything derived from them.

    Method
        Rows with ``0 < count < threshold`` (1-4 for the default threshold 5) have the count and
        every ``derived`` column set to missing, ``suppressed = True`` and the value note
        "Supp.: count between 1 and 4 suppressed (disclosure control)" appended (after "; " if
        the row already has a note).  Counts of 0 and missing counts are not suppressed.
    Parameters
        df: table with a count column.  threshold: smallest count that is published.  count:
        the count column.  derived: columns computed from the count (those absent from ``df``
        are skipped).  note: the value-note column (created if absent).
    Reference
        NHS Digital / ONS disclosure control guidance for small numbers (counts 1-4);
        Fingertips value note "Value suppressed for disclosure control reasons".
    Edge cases
        Returns a copy; the input is not modified.  A missing ``count`` column raises
        ValueError.
    Returns
        Copy of ``df`` with the columns blanked, ``suppressed`` (bool) and ``note`` updated.
    """
    _require_columns(df, [count], "df")
    out = df.copy()
    c = pd.to_numeric(out[count], errors="coerce").astype("float64")
    mask = ((c > 0) & (c < threshold)).fillna(False).to_numpy(dtype=bool)
    text = (
        SUPPRESSION_NOTE
        if threshold == 5
        else f"Supp.: count between 1 and {threshold - 1:g} suppressed (disclosure control)"
    )
    out[count] = c.where(~mask)
    for col in derived:
        if col in out.columns and col != count:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64").where(~mask)
    if note in out.columns:
        old = out[note].astype(object).where(out[note].notna(), "").astype(str)
    else:
        old = pd.Series("", index=out.index, dtype=object)
    new = np.where(
        mask, np.where(old.to_numpy() == "", text, old.to_numpy() + "; " + text), old.to_numpy()
    )
    out[note] = pd.Series(new, index=out.index, dtype=object)
    out["suppressed"] = mask
    return out
