"""Indicator values from published exports (a Fingertips book, ``loader: fingertips``):
the export's own figures for the areas it publishes, and for the book's areas it does not
(PCNs, the sub-ICB location, …) the sums of their practices' counts, with Wilson or Byar
limits, the comparison with the comparator and the practices' spread computed by nhsbook's
methods as for any book.  The reading of the exports is :mod:`nhsbook.io.fingertips_book`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhsbook import stats
from nhsbook.analysis.indicators import spread
from nhsbook.core.model import VALUE_COLUMNS, Tables, coerce
from nhsbook.io.fingertips_book import COMPUTED_NOTE, LIMITS_NOTE
from nhsbook.io.opendata_icb import ENGLAND

LIMITS = {0.95: ("lower_95", "upper_95"), 0.998: ("lower_998", "upper_998")}
DIMS = ["indicator_id", "period", "sex", "age", "category_type", "category"]


def compute(tables: Tables) -> pd.DataFrame:
    """Every indicator for every area of the book (module docstring): the export's figures,
    roll-ups where it has none, limits where it gives none, comparisons with the comparator
    (``significance``, ``significance_998``) and with England (``england_value``,
    ``england_significance``, ``england_significance_998``)."""
    meta = tables.metadata.set_index("indicator_id")
    areas = tables.areas
    rows = tables.values
    tmap = tables.published
    gp = rows[(rows["fingertips_type"] == "GPs") & (rows["category_type"] == "")]
    gp = gp[gp["count"].notna() & gp["denominator"].gt(0)]
    types = dict(zip(areas["area_code"], areas["area_type"]))
    book = rows[rows["area_code"].isin(types)].copy()
    book["area_type"] = book["area_code"].map(types)
    frames = [book]
    have = set(
        zip(
            book["indicator_id"],
            book["area_code"],
            book["period"],
            book["sex"],
            book["age"],
            book["category_type"],
            book["category"],
        )
    )
    # roll-ups: each area of the tree without a published row gets its practices' sums
    level = {"pcn": "pcn", "ccg": "ccg", "stp": "stp", "region": "region"}
    for area_type, column in level.items():
        codes = areas.loc[areas["area_type"] == area_type, "area_code"]
        if codes.empty:
            continue
        where = tmap.set_index("practice")[column]
        placed = gp.assign(parent=gp["area_code"].map(where))
        placed = placed[placed["parent"].isin(set(codes))]
        frames.append(_sums(placed, "parent", area_type, have))
    frames.append(_sums(gp.assign(parent=ENGLAND[0]), "parent", "england", have))
    out = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    out = _limits(out, meta)
    out["area_name"] = out["area_code"].map(dict(zip(areas["area_code"], areas["area_name"])))
    out = _compare(out, areas, meta)
    out = coerce_extra(out)
    out = spread(out, areas, meta)
    return out.sort_values(["indicator_id", "area_type", "area_code", "period"]).reset_index(
        drop=True
    )


def _sums(placed: pd.DataFrame, by: str, area_type: str, have: set) -> pd.DataFrame:
    if placed.empty:
        return placed.iloc[0:0]
    s = placed.groupby([by] + DIMS, as_index=False)[["count", "denominator"]].sum()
    s = s.rename(columns={by: "area_code"})
    known = pd.Series(
        [
            k in have
            for k in zip(
                s["indicator_id"],
                s["area_code"],
                s["period"],
                s["sex"],
                s["age"],
                s["category_type"],
                s["category"],
            )
        ],
        index=s.index,
        dtype=bool,
    )
    s = s[~known]
    return s.assign(
        area_type=area_type,
        value=np.nan,
        value_note=COMPUTED_NOTE,
        recent_trend_published="",
        england_comparison="",
        published_comparison="",
        time_period_range="",
        file="",
        line=0,
    )


def _limits(rows: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Value (where missing) and limits (where missing) from count and denominator."""
    rows = rows.copy()
    method = rows["indicator_id"].map(meta["method"])
    mult = rows["indicator_id"].map(meta["multiplier"]).astype(float)
    need = (
        rows["count"].notna()
        & rows["denominator"].gt(0)
        & (rows["value"].isna() | rows["lower_95"].isna() | rows["lower_998"].isna())
    )
    for conf, (lo, hi) in LIMITS.items():
        for name, fn in (("proportion", stats.proportion_ci), ("crude_rate", stats.rate_ci)):
            m = need & (method == name) & rows[lo].isna()
            if not m.any():
                continue
            r = fn(rows.loc[m, "count"], rows.loc[m, "denominator"], conf=conf, multiplier=mult[m])
            blank = rows.loc[m, "value"].isna().to_numpy()
            rows.loc[m, "value"] = np.where(
                blank, r["value"].to_numpy(), rows.loc[m, "value"].to_numpy()
            )
            rows.loc[m, lo] = r["lower"].to_numpy()
            rows.loc[m, hi] = r["upper"].to_numpy()
            noted = m & rows["value_note"].fillna("").eq("")
            rows.loc[noted, "value_note"] = LIMITS_NOTE
    return rows


def _compare(rows: pd.DataFrame, areas: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Significance against the comparator and England, at 95% and 99.8%."""
    comparators = areas.set_index("area_code")["comparator_code"]
    rows["comparator_code"] = rows["area_code"].map(comparators).fillna("")
    keys = ["indicator_id", "period", "sex", "age", "category_type", "category"]
    look = rows[keys + ["area_code", "value"]].drop_duplicates(keys + ["area_code"])
    rows = rows.merge(
        look.rename(columns={"area_code": "comparator_code", "value": "comparator_value"}),
        on=keys + ["comparator_code"],
        how="left",
    )
    eng = look[look["area_code"] == ENGLAND[0]].drop(columns="area_code")
    # a category row is compared with England's overall value (Fingertips' inequality view)
    eng_plain = eng[eng["category_type"] == ""].drop(columns=["category_type", "category"])
    rows = rows.merge(
        eng_plain.rename(columns={"value": "england_value"}),
        on=["indicator_id", "period", "sex", "age"],
        how="left",
    )
    polarity = rows["indicator_id"].map(meta["polarity"])
    for suffix, conf in (("", 0.95), ("_998", 0.998)):
        lo, hi = LIMITS[conf]
        rows["significance" + suffix] = stats.compare(
            rows["value"],
            rows[lo],
            rows[hi],
            rows["comparator_value"],
            polarity,
            conf=conf,
            area_code=rows["area_code"],
            comparator_code=rows["comparator_code"],
        )
        # England's category rows are compared with England overall, not "with itself"
        code = rows["area_code"].where(rows["category_type"].eq(""), "category")
        rows["england_significance" + suffix] = stats.compare(
            rows["value"],
            rows[lo],
            rows[hi],
            rows["england_value"],
            polarity,
            conf=conf,
            area_code=code,
            comparator_code=ENGLAND[0],
        )
    return rows


#: Columns of the computed values beyond the model's (see :func:`compute`).
EXTRA_COLUMNS = {
    "comparator_code": "str",
    "comparator_value": "float",
    "significance": "str",
    "significance_998": "str",
    "england_value": "float",
    "england_significance": "str",
    "england_significance_998": "str",
    "recent_trend_published": "str",
    "published_comparison": "str",
    "time_period_range": "str",
}


def coerce_extra(rows: pd.DataFrame) -> pd.DataFrame:
    """The model's value columns and :data:`EXTRA_COLUMNS`, with their types."""
    return coerce(rows, {**VALUE_COLUMNS, **EXTRA_COLUMNS})


# --- what pages show -----------------------------------------------------------------------
