"""Compute once: every indicator, limit, comparison and practice spread for every area.

:func:`compute` takes a book's :class:`~nhsbook.core.model.Tables` and returns one tidy table with a
row per indicator x area (x period, sex, age, category): practices as given, localities and CCGs
rolled up by *summing* counts and denominators (never averaging rates), values and 95%/99.8%
limits from :mod:`nhsbook.stats` by each indicator's method, the comparator's value and the
significance against it, and the worst / 25th / 75th percentile / best of the practices below
each area.  Notebooks only select rows from this table and draw them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhsbook import stats
from nhsbook.core.model import (
    ROLL_UP_TYPES,
    SUPPRESSED,
    VALUE_COLUMNS,
    VALUE_KEY,
    Tables,  # noqa: F401
    ancestor_of_type,
    coerce,
)
from nhsbook.methods.publication import apply as publish
from nhsbook.methods.publication import is_suppressed

#: The grouping keys of a value apart from the area.
VALUE_DIMS: list[str] = [k for k in VALUE_KEY if k != "area_code"]
LIMITS = {0.95: ("lower_95", "upper_95"), 0.998: ("lower_998", "upper_998")}
NOT_AGGREGATABLE = (
    "Not calculated: life expectancy needs age-specific deaths and populations, "
    "which the practice data do not have"
)


def compute(tables: Tables) -> pd.DataFrame:
    """All indicators for all areas in one vectorised pass (see module docstring)."""
    meta = tables.metadata.set_index("indicator_id")
    base = tables.values.copy()
    sizes = tables.areas.set_index("area_code")["list_size"]
    base["weight"] = base["area_code"].map(sizes).astype(float)
    base["weighted_value"] = base["value"] * base["weight"]
    frames = [base]
    for area_type in ROLL_UP_TYPES:
        frames.append(_roll_up(base, tables.areas, area_type))
    kept = [f for f in frames if not f.empty]
    # a book of published figures only (loader ons_local) has no rows to compute
    rows = pd.concat(kept, ignore_index=True) if kept else base
    rows = calculate(rows, meta)
    if not tables.age_counts.empty:
        rows = pd.concat([rows, _standardised(tables, meta)], ignore_index=True)
    rows = _add_published(rows, tables.published)
    rows = _compare(rows, tables, meta)
    rows = spread(rows, tables.areas, meta)
    return rows.sort_values(["indicator_id", "area_type", "area_code"]).reset_index(drop=True)


def _roll_up(base: pd.DataFrame, areas: pd.DataFrame, area_type: str) -> pd.DataFrame:
    """Practice rows summed into their ancestors of ``area_type``."""
    practices = base[base["area_type"] == "practice"]
    anc = ancestor_of_type(areas, area_type)
    mapping = pd.Series(anc.to_numpy(), index=areas["area_code"])
    mapping = mapping[mapping != ""]
    practices = practices[practices["area_code"].isin(mapping.index)]
    if practices.empty:
        return practices.iloc[0:0]
    summed = stats.aggregate(
        practices,
        mapping,
        by=VALUE_DIMS,
        sum_cols=("count", "denominator", "weighted_value", "weight"),
    )
    summed["area_type"] = area_type
    summed["value"] = np.nan
    summed["value_note"] = ""
    return summed


def calculate(rows: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Value and limits for each row from its counts, by the indicator's method."""
    rows = rows.copy()
    method = rows["indicator_id"].map(meta["method"])
    mult = rows["indicator_id"].map(meta["multiplier"]).astype(float)
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        rows[col] = np.nan
    given = rows["area_type"] == "practice"

    for conf, (lo, hi) in LIMITS.items():
        m = method == "proportion"
        if m.any():
            r = stats.proportion_ci(
                rows.loc[m, "count"], rows.loc[m, "denominator"], conf=conf, multiplier=mult[m]
            )
            rows.loc[m, ["value", lo, hi]] = r[["value", "lower", "upper"]].to_numpy()
        m = method == "crude_rate"
        if m.any():
            r = stats.rate_ci(
                rows.loc[m, "count"], rows.loc[m, "denominator"], multiplier=mult[m], conf=conf
            )
            rows.loc[m, ["value", lo, hi]] = r[["value", "lower", "upper"]].to_numpy()
        m = method == "isr"
        if m.any():
            ref = rows.loc[m, "indicator_id"].map(meta["reference_value"]).astype(float)
            r = stats.isratio(
                rows.loc[m, "count"], rows.loc[m, "denominator"], conf=conf, multiplier=1.0
            )
            scaled = r[["value", "lower", "upper"]].to_numpy() * ref.to_numpy()[:, None]
            rows.loc[m, ["value", lo, hi]] = scaled
    m = method == "ratio"
    rows.loc[m, "value"] = rows.loc[m, "count"] / rows.loc[m, "denominator"] * mult[m]
    m = (method == "score") & ~given
    rows.loc[m, "value"] = rows.loc[m, "weighted_value"] / rows.loc[m, "weight"]
    m = (method == "life_expectancy") & ~given
    rows.loc[m, "value_note"] = NOT_AGGREGATABLE
    return rows.drop(columns=["weighted_value", "weight"], errors="ignore")


def _standardised(tables: Tables, meta: pd.DataFrame) -> pd.DataFrame:
    """Directly standardised rates from age-specific counts, rolled up the hierarchy."""
    ages = tables.age_counts.copy()
    types = tables.areas.set_index("area_code")["area_type"]
    ages["area_type"] = ages["area_code"].map(types)
    frames = [ages]
    for area_type in ROLL_UP_TYPES:
        anc = ancestor_of_type(tables.areas, area_type)
        mapping = pd.Series(anc.to_numpy(), index=tables.areas["area_code"])
        mapping = mapping[mapping != ""]
        sub = ages[ages["area_code"].isin(mapping.index) & (ages["area_type"] == "practice")]
        if not sub.empty:
            s = stats.aggregate(sub, mapping, by=["indicator_id", "period", "age_band"])
            s["area_type"] = area_type
            frames.append(s)
    ages = pd.concat(frames, ignore_index=True)
    out = []
    for ind, group in ages.groupby("indicator_id"):
        mult = float(meta.loc[ind, "multiplier"])
        res = None
        for conf, (lo, hi) in LIMITS.items():
            r = stats.dsr(
                group,
                groupby=["indicator_id", "area_code", "area_type", "period"],
                multiplier=mult,
                conf=conf,
            )
            r = r.rename(columns={"lower": lo, "upper": hi})
            res = (
                r
                if res is None
                else res.merge(
                    r[["indicator_id", "area_code", "period", lo, hi]],
                    on=["indicator_id", "area_code", "period"],
                )
            )
        res["sex"] = meta.loc[ind, "sex"]
        res["age"] = meta.loc[ind, "age"]
        out.append(res)
    return coerce(pd.concat(out, ignore_index=True), VALUE_COLUMNS)


def _add_published(rows: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Published values for areas (or indicators) that the data cannot compute."""
    key = ["indicator_id", "area_code"] + [d for d in VALUE_DIMS if d != "indicator_id"]
    have = rows.set_index(key)["value"]
    pub = published.set_index(key)
    missing = ~pub.index.isin(have.dropna().index)
    fill = pub[missing].reset_index()
    keep = rows.set_index(key).index.isin(fill.set_index(key).index)
    return pd.concat([rows[~keep], fill], ignore_index=True)


def _compare(rows: pd.DataFrame, tables: Tables, meta: pd.DataFrame) -> pd.DataFrame:
    """Comparator value and significance (95%) against it, as the national profiles do."""
    comparators = tables.areas.set_index("area_code")["comparator_code"]
    rows["comparator_code"] = rows["area_code"].map(comparators).fillna("")
    lookup = rows[VALUE_DIMS + ["area_code", "value"]].rename(
        columns={"area_code": "comparator_code", "value": "comparator_value"}
    )
    rows = rows.merge(lookup, on=VALUE_DIMS + ["comparator_code"], how="left")
    polarity = rows["indicator_id"].map(meta["polarity"])
    rows["significance"] = stats.compare(
        rows["value"],
        rows["lower_95"],
        rows["upper_95"],
        rows["comparator_value"],
        polarity,
        conf=0.95,
        area_code=rows["area_code"],
        comparator_code=rows["comparator_code"],
    )
    return rows


#: Columns :func:`spread` adds.
SPREAD_COLUMNS = ("p25", "p75", "n_practices", "worst", "best")


def spread(rows: pd.DataFrame, areas: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Worst, 25th percentile, 75th percentile and best of the practices below each area.

    Suppressed practices are left out (the pipeline's ``suppressed`` flag of
    :func:`nhsbook.analysis.disclosure.protect` when the rows carry it, else counts 1-4), so no
    published extreme is a withheld value.
    """
    practices = rows[(rows["area_type"] == "practice") & rows["value"].notna()]
    practices = practices[~is_suppressed(practices)]
    parents = []
    for area_type in ROLL_UP_TYPES:
        anc = dict(zip(areas["area_code"], ancestor_of_type(areas, area_type)))
        p = practices.assign(parent=practices["area_code"].map(anc))
        parents.append(p[p["parent"].fillna("") != ""])
    long = pd.concat(parents, ignore_index=True)
    grouped = long.groupby(["parent"] + VALUE_DIMS)["value"]
    spread = (
        pd.DataFrame(
            {
                "lowest": grouped.min(),
                "highest": grouped.max(),
                "p25": grouped.quantile(0.25),
                "p75": grouped.quantile(0.75),
                "n_practices": grouped.size(),
            }
        )
        .reset_index()
        .rename(columns={"parent": "area_code"})
    )
    spread.loc[spread["n_practices"] <= 3, ["p25", "p75"]] = np.nan
    rows = rows.merge(spread, on=["area_code"] + VALUE_DIMS, how="left")
    low_good = rows["indicator_id"].map(meta["polarity"]).eq("low_is_good")
    rows["worst"] = np.where(low_good, rows["highest"], rows["lowest"])
    rows["best"] = np.where(low_good, rows["lowest"], rows["highest"])
    return rows.drop(columns=["lowest", "highest"])


# --- selecting for a page ------------------------------------------------------------------

PROFILE_COLUMNS = {
    "domain": "Domain",
    "name": "Indicator",
    "period": "Period",
    "unit": "Unit",
    "count": "Count",
    "value": "Value",
    "lower_95": "Lower 95% CI",
    "upper_95": "Upper 95% CI",
    "comparator_value": "Comparator",
    "significance": "Significance",
    "worst": "Worst practice",
    "p25": "25th percentile",
    "p75": "75th percentile",
    "best": "Best practice",
    "value_note": "Value note",
}


def profile_period(rows: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """One area's rows with one period per indicator: the metadata's period where the rows
    have it, else their latest (periods sort as text, as Fingertips labels them).  Rows of
    single-period indicators are returned unchanged."""
    if rows.empty or not rows.groupby("indicator_id")["period"].nunique().gt(1).any():
        return rows
    want = rows["indicator_id"].map(metadata.set_index("indicator_id")["period"])
    has = (rows["period"] == want).groupby(rows["indicator_id"]).transform("any")
    latest = rows.groupby("indicator_id")["period"].transform("max")
    return rows[(has & (rows["period"] == want)) | (~has & (rows["period"] == latest))]


def profile_table(
    values: pd.DataFrame, metadata: pd.DataFrame, area_code: str, profile: str
) -> pd.DataFrame:
    """One area's profile (adult or child): the rows a profile page shows, suppressed.

    Suppressed cells (the pipeline's flag, :mod:`nhsbook.analysis.disclosure`: counts 1-4 and their
    complementary cells; without the flag, counts 1-4) have count, value and limits
    replaced by missing values with the note in the value note, and their significance is
    "Not compared".  An indicator with several periods (a trend) shows one row: its metadata
    period where the area has it, else the area's latest period.
    """
    rows = values[values["area_code"] == area_code]
    if "category_type" in rows.columns:
        rows = rows[rows["category_type"].fillna("") == ""]
    rows = profile_period(rows, metadata)
    meta = metadata.loc[
        metadata["profile"] == profile,
        ["indicator_id", "domain", "name", "unit", "polarity", "method"],
    ]
    rows = meta.merge(rows, on="indicator_id", how="left")
    rows["area_code"] = area_code
    if "suppressed" in rows.columns:  # indicators without a row for the area
        rows["suppressed"] = rows["suppressed"].astype("boolean").fillna(False).astype(bool)
    return publish(rows).reset_index(drop=True)


def display_table(rows: pd.DataFrame) -> pd.DataFrame:
    """A profile table with readable headers; suppressed figures shown as ``Supp.``."""
    out = rows[list(PROFILE_COLUMNS)].rename(columns=PROFILE_COLUMNS).copy()
    out[["Count", "Value"]] = out[["Count", "Value"]].astype(object)
    sup = rows["suppressed"].to_numpy()
    out.loc[sup, ["Count", "Value"]] = SUPPRESSED
    return out
