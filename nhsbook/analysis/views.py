"""The data of the analysts' everyday views besides the area profile, as the national
profiles offer them: the overview "tartan rug", compare indicators (scatter with r and R²),
box plots of each indicator's distribution over time, and inequalities (by deprivation
quintile with the slope and relative indices of inequality, and by sex and age).

Compare areas and trends are :func:`nhsbook.analysis.variation.compare_areas` /
:func:`nhsbook.charts.compare_bars` and :meth:`nhsbook.pages.area.AreaPage.trends` /
:func:`nhsbook.charts.trend`; this module only says which areas a page compares
(:func:`compare_codes`).  Every function takes the computed tables (``values``,
``metadata``, ``areas`` of :func:`nhsbook.pipeline.store.load_computed`) and an area code, so the views
work for any book, profile and area type (CCG → localities → practices in the default book,
PCNs → practices in a real-data book).  The charts are in :mod:`nhsbook.charts.views`.

Disclosure control: values the pipeline suppressed (:mod:`nhsbook.analysis.disclosure`: counts 1-4
and the complementary cells that protect them) are withheld before anything here uses them; they are shown as ``Supp.`` (rug) or left out (scatter, box
plots, quintiles) and no count or denominator of a single area is put in a chart's data.
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats as sps

from nhsbook import stats
from nhsbook.analysis import indicators, variation
from nhsbook.core import fmt
from nhsbook.core.escape import markdown as esc
from nhsbook.core.model import SUPPRESSED
from nhsbook.methods.publication import apply as publish

#: Significance labels that count as "worse" / "better" when sorting the rug.
WORSE = ("Worse", "Worst")
BETTER = ("Better", "Best")
#: Indicator methods whose values have confidence limits the SII can use, and the
#: ``value_type`` of :func:`nhsbook.stats.sii` for each.
SII_VALUE_TYPES = {
    "proportion": "proportion",
    "crude_rate": "rate",
    "isr": "rate",
    "dsr": "rate",
    "mean": "default",
    "life_expectancy": "default",
}
QUINTILE_LABELS = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}


# --- which areas a page shows ---------------------------------------------------------


def _row(areas: pd.DataFrame, code: str) -> pd.Series:
    hit = areas.loc[areas["area_code"] == code]
    if hit.empty:
        raise KeyError(f"area {code!r} is not in the area table")
    return hit.iloc[0]


def children(areas: pd.DataFrame, code: str) -> list[str]:
    """Codes of the areas directly below ``code``, in name order."""
    kids = areas[areas["parent_code"].fillna("") == code].sort_values("area_name")
    return kids["area_code"].tolist()


def compare_codes(areas: pd.DataFrame, code: str) -> list[str]:
    """The areas a compare-areas chart shows: the area with its siblings (areas of the same
    type under the same parent) when it has any, otherwise its children (a CCG alone in its
    cluster is shown through its localities)."""
    row = _row(areas, code)
    parent = row["parent_code"] if isinstance(row["parent_code"], str) else ""
    sib = areas[
        (areas["parent_code"].fillna("") == parent) & (areas["area_type"] == row["area_type"])
    ]
    if parent and len(sib) > 1:
        return sib.sort_values("area_name")["area_code"].tolist()
    return children(areas, code)


def peer_practices(areas: pd.DataFrame, code: str) -> tuple[str, list[str], list[str]]:
    """The practices a distribution view (scatter, box plot) uses: all practices of the
    area's comparison group (:func:`nhsbook.analysis.variation.peer_group`: a CCG's own practices;
    for a locality or PCN the practices of its comparator, e.g. the CCG) and, separately,
    the practices of the area itself (highlighted).  Returns (group code, group practices,
    own practices)."""
    target, _ = variation.peer_group(areas, code)
    group = variation.practices_below(areas, target)
    own = variation.practices_below(areas, code)
    return target, group, own


def _published(values: pd.DataFrame, codes: Iterable[str]) -> pd.DataFrame:
    """The areas' persons/all-category rows as published (:func:`nhsbook.analysis.disclosure.apply`:
    suppressed cells' counts, values and limits blanked, significance "Not compared")."""
    rows = values[values["area_code"].isin(list(codes))]
    rows = rows[rows["category_type"].fillna("") == ""]
    return publish(rows)


def latest(rows: pd.DataFrame) -> pd.DataFrame:
    """Each indicator's latest period only (periods sort as text, as Fingertips labels
    them: ``2012``, ``2019/20``, ``2022/23``)."""
    last = rows.groupby("indicator_id")["period"].transform("max")
    return rows[rows["period"] == last]


#: Periods the recent-trend rule needs (the latest five, as Fingertips marks trends).
TREND_POINTS = 5

#: What a recent-trend marker rests on (the ``trend_basis`` column of :func:`trends`).
TREND_BASIS: dict[str, str] = {
    "counts": "χ² test for trend on the counts (99.8%)",
    "limits": "weighted regression on the published 95% limits (99.8%); no counts published",
    "none": "not calculated: values without confidence limits",
    "few": "not calculated: fewer than five periods",
}


def trends(values: pd.DataFrame, metadata: pd.DataFrame, code: str) -> pd.DataFrame:
    """Indicators with several periods for area ``code``: each period's published value
    (suppressed cells left out) with the recent-trend label of
    :func:`nhsbook.stats.recent_trend` (column ``trend``), what the marker rests on
    (``trend_basis``, :data:`TREND_BASIS`: the counts' χ² test, or the published limits for a
    series published without counts such as the ONS local series) and the indicator's name
    (``indicator``); empty when every indicator has a single period."""
    rows = values[(values["area_code"] == code) & values["value"].notna()]
    if "category_type" in rows.columns:
        rows = rows[rows["category_type"].fillna("") == ""]
    rows = publish(rows)
    rows = rows[~rows["suppressed"] & rows["value"].notna()]
    multi = rows.groupby("indicator_id")["period"].transform("nunique") > 1
    rows = rows[multi].sort_values(["indicator_id", "period"])
    if rows.empty:
        return rows.assign(
            indicator=pd.Series(dtype=str),
            unit=pd.Series(dtype=str),
            trend=pd.Series(dtype=str),
            trend_basis=pd.Series(dtype=str),
        )
    meta = metadata.set_index("indicator_id")
    labels, bases = {}, {}
    for ind, sub in rows.groupby("indicator_id"):
        m = meta.loc[ind]
        last = sub.tail(TREND_POINTS)
        if sub["period"].nunique() < TREND_POINTS:
            # too few points for the recent-trend rule: the points are drawn, and the label
            # says so instead of "Cannot be calculated"
            labels[ind] = (
                f"No trend computed: {sub['period'].nunique()} periods "
                f"({', '.join(sorted(sub['period'].unique()))}); the recent "
                f"trend needs {TREND_POINTS}"
            )
            bases[ind] = TREND_BASIS["few"]
            continue
        if m["method"] == "proportion" and sub["count"].notna().any():
            res = stats.recent_trend(
                sub["value"], count=sub["count"], denom=sub["denominator"], polarity=m["polarity"]
            )
            bases[ind] = TREND_BASIS["counts"]
        else:
            # series published with value and limits only (e.g. the ONS local series)
            res = stats.recent_trend(
                sub["value"], lower=sub["lower_95"], upper=sub["upper_95"], polarity=m["polarity"]
            )
            bases[ind] = TREND_BASIS[
                "limits" if last[["lower_95", "upper_95"]].notna().all(axis=None) else "none"
            ]
        labels[ind] = res["label"]
    rows = rows.assign(
        indicator=rows["indicator_id"].map(meta["name"]),
        unit=rows["indicator_id"].map(meta["unit"]),
        trend=rows["indicator_id"].map(labels),
        trend_basis=rows["indicator_id"].map(bases),
    )
    return rows.reset_index(drop=True)


# --- overview (tartan rug) -----------------------------------------------------------


def rug_columns(
    areas: pd.DataFrame, code: str, values: pd.DataFrame | None = None
) -> tuple[list[str], list[str]]:
    """The rug's columns: the areas coloured by significance (the area's children, and the
    area itself when it is compared with the same comparator as they are) and the
    comparator column(s) they are compared with (e.g. a locality page: the CCG, then the
    locality and its practices; a CCG page: the CCG, then its localities).  Given
    ``values``, children without any indicator value are left out (a real-data CCG's
    districts carry populations only)."""
    kids = children(areas, code)
    if values is not None:
        kids = [k for k in kids if k in set(values["area_code"])]
    if not kids:
        raise ValueError(f"area {code!r} has no areas below it for an overview")
    comp = areas.set_index("area_code")["comparator_code"].fillna("")
    comparators = list(dict.fromkeys(comp.get(k, "") for k in kids))
    coloured = ([code] if comp.get(code, "") in comparators else []) + kids
    return coloured, [c for c in comparators if c]


def rug_data(
    values: pd.DataFrame,
    metadata: pd.DataFrame,
    areas: pd.DataFrame,
    code: str,
    profile: str | None = None,
) -> pd.DataFrame:
    """One row per indicator and rug column (for :func:`nhsbook.charts.rug`).

    Columns: ``indicator``, ``domain``, ``period``, ``unit``, ``column`` (area name, or
    "Period"), ``kind`` (``period``, ``comparator`` or ``area``), ``label`` (the cell text:
    value to one decimal, ``Supp.`` or empty), ``value``, ``significance`` (``""`` for the
    period and comparator cells) and sort keys: ``ind_order`` (profile order), ``ind_name``
    (alphabetical rank), ``ind_worse`` (rank by the number of areas worse than the
    comparator, most first), ``col_order`` (fixed columns first, then areas in name order),
    ``col_worse`` and ``col_better`` (rank by the number of indicators worse / better, most
    first; fixed columns always first).  Fixed columns first, then the page's own area,
    then the areas below it in name order.  Each indicator's latest period.
    """
    coloured, comparators = rug_columns(areas, code, values)
    meta = metadata if profile is None else metadata[metadata["profile"] == profile]
    meta = meta.reset_index(drop=True)
    names = areas.set_index("area_code")["area_name"]
    rows = latest(_published(values, coloured + comparators))
    rows = rows[rows["indicator_id"].isin(meta["indicator_id"])]
    rows = rows.drop_duplicates(["indicator_id", "area_code"])
    grid = pd.MultiIndex.from_product(
        [meta["indicator_id"], coloured + comparators], names=["indicator_id", "area_code"]
    ).to_frame(index=False)
    cells = grid.merge(
        rows[["indicator_id", "area_code", "period", "value", "significance", "suppressed"]],
        on=["indicator_id", "area_code"],
        how="left",
    )
    cells["kind"] = np.where(
        cells["area_code"].isin(comparators) & ~cells["area_code"].isin(coloured),
        "comparator",
        "area",
    )
    label = names.reindex(coloured + comparators).fillna(
        pd.Series(coloured + comparators, index=coloured + comparators)
    )
    dup = label.duplicated(keep=False)  # two practices of the same name: add their codes
    label[dup] = label[dup] + " (" + label.index[dup] + ")"
    cells["column"] = cells["area_code"].map(label)
    cells.loc[cells["kind"] == "comparator", "column"] += " (comparator)"
    cells["suppressed"] = cells["suppressed"].astype("boolean").fillna(False).astype(bool)
    cells["label"] = np.where(
        cells["suppressed"],
        SUPPRESSED,
        cells["value"].map(lambda v: "" if pd.isna(v) else f"{v:,.1f}"),
    )
    cells["significance"] = np.where(
        cells["kind"] == "area", cells["significance"].fillna("Not compared"), ""
    )
    period = cells.groupby("indicator_id")["period"].agg(
        lambda p: ", ".join(sorted(set(p.dropna())))
    )
    per = pd.DataFrame(
        {
            "indicator_id": meta["indicator_id"],
            "area_code": "",
            "kind": "period",
            "column": "Period",
            "label": meta["indicator_id"].map(period).fillna(""),
            "significance": "",
        }
    )
    per["period"] = per["label"]
    cells = pd.concat([per, cells], ignore_index=True)
    cells["period"] = cells["indicator_id"].map(period).fillna("")
    m = meta.set_index("indicator_id")
    cells["indicator"] = cells["indicator_id"].map(m["name"])
    cells["domain"] = cells["indicator_id"].map(m["domain"]).fillna("")
    cells["unit"] = cells["indicator_id"].map(m["unit"]).fillna("")
    cells = _rug_sort_keys(cells, meta, [label[c] for c in coloured])
    keep = [
        "indicator",
        "domain",
        "period",
        "unit",
        "column",
        "kind",
        "label",
        "value",
        "significance",
        "ind_order",
        "ind_name",
        "ind_worse",
        "col_order",
        "col_worse",
        "col_better",
    ]
    cells["value"] = cells["value"].round(3)
    return cells[keep].reset_index(drop=True)


def _rug_sort_keys(
    cells: pd.DataFrame, meta: pd.DataFrame, area_columns: list[str]
) -> pd.DataFrame:
    """The rug's sort keys (see :func:`rug_data`); ties keep profile or name order."""
    cells = cells.copy()
    order = {i: n for n, i in enumerate(meta["indicator_id"])}
    cells["ind_order"] = cells["indicator_id"].map(order)
    alpha = meta["name"].str.lower().rank(method="first").astype(int)
    cells["ind_name"] = cells["indicator_id"].map(dict(zip(meta["indicator_id"], alpha)))
    worse = cells["significance"].isin(WORSE).groupby(cells["indicator_id"]).sum()
    worse = (
        worse.to_frame("n")
        .assign(o=worse.index.map(order))
        .sort_values(["n", "o"], ascending=[False, True])
    )
    cells["ind_worse"] = cells["indicator_id"].map(dict(zip(worse.index, range(len(worse)))))
    fixed = cells.loc[cells["kind"] != "area", "column"].drop_duplicates().tolist()
    fixed = {c: i for i, c in enumerate(sorted(fixed, key=lambda c: c != "Period"))}
    by_name = {c: len(fixed) + i for i, c in enumerate(area_columns)}
    cells["col_order"] = cells["column"].map({**fixed, **by_name})
    areas_only = cells[cells["kind"] == "area"]
    for key, labels in (("col_worse", WORSE), ("col_better", BETTER)):
        n = areas_only["significance"].isin(labels).groupby(areas_only["column"]).sum()
        ranked = (
            n.to_frame("n")
            .assign(o=n.index.map(by_name))
            .sort_values(["n", "o"], ascending=[False, True])
        )
        cells[key] = cells["column"].map(
            {**fixed, **{c: len(fixed) + i for i, c in enumerate(ranked.index)}}
        )
    return cells


# --- compare indicators --------------------------------------------------------------


def deprivation_indicator(metadata: pd.DataFrame) -> str | None:
    """The book's area deprivation indicator: the first whose name mentions deprivation
    (e.g. ``C20`` "Index of Multiple Deprivation (IMD) 2010" in the default book, Fingertips
    93553 "Deprivation score (IMD 2019)"); None when the book has none."""
    hit = metadata[
        metadata["name"].str.contains(r"deprivation|\bIMD\b", case=False, regex=True, na=False)
    ]
    return str(hit["indicator_id"].iloc[0]) if not hit.empty else None


def correlation(x: pd.Series, y: pd.Series) -> dict[str, float]:
    """Pearson correlation of two indicators across areas, with the least-squares line.

    Method
        ``r = Σ(x − x̄)(y − ȳ) / √(Σ(x − x̄)² Σ(y − ȳ)²)``; ``R² = r²`` is the share of the
        variance of y explained by the straight line ``y = a + b·x`` with
        ``b = r·s_y/s_x`` and ``a = ȳ − b·x̄`` (ordinary least squares); ``p`` tests r = 0
        (t = r√(n − 2)/√(1 − r²) on n − 2 df).  Computed with ``scipy.stats.linregress``.
    Reference
        Fingertips "Compare indicators" view (Pearson r and R² of the two indicators across
        areas); Altman DG, *Practical Statistics for Medical Research*, 1991, ch. 11.
    Edge cases
        Pairs with a missing value are dropped; fewer than 3 pairs, or no variation in x or
        y, give NaN for every figure (``n`` still counts the pairs).
    Returns
        dict with ``n``, ``r``, ``r2``, ``slope``, ``intercept``, ``p``.
    """
    ok = x.notna() & y.notna()
    xv, yv = x[ok].to_numpy(float), y[ok].to_numpy(float)
    out = {
        "n": int(ok.sum()),
        "r": np.nan,
        "r2": np.nan,
        "slope": np.nan,
        "intercept": np.nan,
        "p": np.nan,
    }
    if len(xv) < 3 or np.ptp(xv) == 0 or np.ptp(yv) == 0:
        return out
    fit = sps.linregress(xv, yv)
    out.update(
        r=float(fit.rvalue),
        r2=float(fit.rvalue**2),
        slope=float(fit.slope),
        intercept=float(fit.intercept),
        p=float(fit.pvalue),
    )
    return out


def scatter_data(
    values: pd.DataFrame,
    metadata: pd.DataFrame,
    areas: pd.DataFrame,
    code: str,
    x_id: str,
    y_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Compare indicators: ``x_id`` against each of ``y_ids`` (default every other indicator
    with at least 3 practice values) across the practices of the area's comparison group
    (:func:`peer_practices`), latest periods, suppressed values left out.

    One row per y indicator and practice (``kind = "point"``: ``area_code``, ``area_name``,
    ``x``, ``y``,
    ``own`` True for the area's own practices) and two rows per y indicator for the fitted
    line (``kind = "fit"``, at the smallest and largest x), each carrying the y indicator's
    ``r``, ``r2``, ``n``, ``p`` and the text ``fit_text``.  Columns ``x_indicator``,
    ``indicator_id`` and ``indicator`` (the y indicator), ``x_unit``, ``unit``.
    """
    _, group, own = peer_practices(areas, code)
    rows = latest(_published(values, group))
    rows = rows[~rows["suppressed"] & rows["value"].notna()]
    wide = rows.pivot_table(
        index="area_code", columns="indicator_id", values="value", aggfunc="first"
    )
    meta = metadata.set_index("indicator_id")
    if x_id not in wide.columns:
        raise ValueError(f"indicator {x_id!r} has no practice values to compare")
    ids = [
        i
        for i in (y_ids if y_ids is not None else meta.index)
        if i != x_id and i in wide.columns and wide[i].notna().sum() >= 3
    ]
    names = areas.set_index("area_code")["area_name"]
    parts = []
    for i in ids:
        pair = wide[[x_id, i]].dropna()
        fit = correlation(pair[x_id], pair[i])
        pts = pd.DataFrame(
            {
                "kind": "point",
                "area_code": pair.index,
                "area_name": pair.index.map(names),
                "x": pair[x_id].to_numpy(),
                "y": pair[i].to_numpy(),
                "own": pair.index.isin(own) & (len(own) < len(group)),
            }
        )
        xs = np.array([pair[x_id].min(), pair[x_id].max()])
        line = pd.DataFrame(
            {
                "kind": "fit",
                "area_code": "",
                "area_name": "",
                "x": xs,
                "y": fit["intercept"] + fit["slope"] * xs,
                "own": False,
            }
        )
        part = pd.concat([pts, line], ignore_index=True) if np.isfinite(fit["r"]) else pts
        part = part.assign(
            indicator_id=i,
            indicator=meta.loc[i, "name"],
            unit=meta.loc[i, "unit"],
            r=fit["r"],
            r2=fit["r2"],
            n=fit["n"],
            p=fit["p"],
            fit_text=_fit_text(fit),
        )
        parts.append(part)
    if not parts:
        return pd.DataFrame(
            columns=[
                "kind",
                "area_code",
                "area_name",
                "x",
                "y",
                "own",
                "indicator_id",
                "indicator",
                "unit",
                "r",
                "r2",
                "n",
                "p",
                "fit_text",
                "x_indicator",
                "x_unit",
            ]
        )
    out = pd.concat(parts, ignore_index=True)
    out["x_indicator"] = meta.loc[x_id, "name"]
    out["x_unit"] = meta.loc[x_id, "unit"]
    for c in ("x", "y"):
        out[c] = out[c].round(3)
    for c in ("r", "r2"):
        out[c] = out[c].round(3)
    return out


def _fit_text(fit: dict[str, float]) -> str:
    if not np.isfinite(fit["r"]):
        return f"Correlation not calculated ({fit['n']} practices with values)"
    p = "p < 0.001" if fit["p"] < 0.001 else f"p = {fit['p']:.3f}"
    return f"r = {fit['r']:.2f}, R² = {fit['r2']:.2f} ({fit['n']} practices, {p})"


def correlation_table(scatter: pd.DataFrame) -> pd.DataFrame:
    """One row per y indicator of :func:`scatter_data`: r, R², practices and p, strongest
    correlation first."""
    t = scatter.drop_duplicates("indicator")[["indicator", "r", "r2", "n", "p"]]
    t = t.assign(strength=t["r"].abs()).sort_values("strength", ascending=False)
    return (
        t.drop(columns="strength")
        .rename(
            columns={"indicator": "Indicator", "r": "r", "r2": "R²", "n": "Practices", "p": "p"}
        )
        .reset_index(drop=True)
    )


# --- box plots ------------------------------------------------------------------------


def box_data(
    values: pd.DataFrame, metadata: pd.DataFrame, areas: pd.DataFrame, code: str
) -> pd.DataFrame:
    """Distribution of each indicator across the practices of the area's comparison group
    (:func:`peer_practices`), every period: the lowest and highest value, the 25th, 50th and
    75th percentiles (:func:`nhsbook.stats.percentile`, Excel ``PERCENTILE.INC``; missing
    with 3 or fewer practices, as Fingertips) and the area's own value for comparison.
    Suppressed practice values (counts 1-4) are left out.

    Columns: ``indicator``, ``unit``, ``period``, ``practices`` (how many values),
    ``lowest``, ``q1``, ``median``, ``q3``, ``highest``, ``area_name``, ``area_value``.
    """
    _, group, _ = peer_practices(areas, code)
    rows = _published(values, group)
    rows = rows[~rows["suppressed"] & rows["value"].notna()]
    meta = metadata.set_index("indicator_id")
    rows = rows[rows["indicator_id"].isin(meta.index)]
    out = []
    for (ind, period), sub in rows.groupby(["indicator_id", "period"], sort=False):
        q = stats.percentile(sub["value"], [0.25, 0.5, 0.75])
        out.append(
            {
                "indicator_id": ind,
                "period": period,
                "practices": len(sub),
                "lowest": sub["value"].min(),
                "q1": q.iloc[0],
                "median": q.iloc[1],
                "q3": q.iloc[2],
                "highest": sub["value"].max(),
            }
        )
    cols = [
        "indicator",
        "unit",
        "period",
        "practices",
        "lowest",
        "q1",
        "median",
        "q3",
        "highest",
        "area_name",
        "area_value",
    ]
    if not out:
        return pd.DataFrame(columns=cols)
    box = pd.DataFrame(out)
    own = _published(values, [code])
    own = (
        own.loc[~own["suppressed"], ["indicator_id", "period", "value"]]
        .drop_duplicates(["indicator_id", "period"])
        .rename(columns={"value": "area_value"})
    )
    box = box.merge(own, on=["indicator_id", "period"], how="left")
    box["indicator"] = box["indicator_id"].map(meta["name"])
    box["unit"] = box["indicator_id"].map(meta["unit"])
    box["area_name"] = str(_row(areas, code)["area_name"])
    order = {i: n for n, i in enumerate(metadata["indicator_id"])}
    box = box.sort_values(
        ["indicator_id", "period"], key=lambda s: s.map(order) if s.name == "indicator_id" else s
    )
    num = ["lowest", "q1", "median", "q3", "highest", "area_value"]
    box[num] = box[num].round(3)
    return box[cols].reset_index(drop=True)


# --- inequalities ---------------------------------------------------------------------


def practice_quintiles(
    values: pd.DataFrame, areas: pd.DataFrame, group: Iterable[str], deprivation_id: str, n: int = 5
) -> pd.DataFrame:
    """Deprivation quintile (``n`` = 5; 10 for deciles) of each practice of ``group``:
    quantiles of the deprivation score across the group (:func:`nhsbook.stats.quantile_class`
    with the highest score ranked first, so quintile 1 is the most deprived), latest period.

    Columns ``area_code``, ``score``, ``quintile`` (Int64), ``population`` (registered list
    size).  Practices without a score get no quintile; fewer than ``n`` scored practices give
    none at all (as the national method).
    """
    rows = latest(
        values[values["area_code"].isin(list(group)) & (values["indicator_id"] == deprivation_id)]
    )
    rows = rows.drop_duplicates("area_code")
    scores = pd.Series(rows["value"].to_numpy(), index=rows["area_code"].to_numpy())
    q = stats.quantile_class(scores, n=n, high_is_low_rank=True)
    sizes = areas.set_index("area_code")["list_size"]
    return pd.DataFrame(
        {
            "area_code": scores.index,
            "score": scores.to_numpy(),
            "quintile": q.to_numpy(),
            "population": scores.index.map(sizes).astype(float),
        }
    )


def by_quintile(
    values: pd.DataFrame,
    metadata: pd.DataFrame,
    quintiles: pd.DataFrame,
    practices: Iterable[str],
    suppress: bool = True,
) -> pd.DataFrame:
    """Every indicator for the ``practices`` grouped by deprivation quintile: counts and
    denominators summed (scores: population-weighted mean), value and 95% limits by the
    indicator's method exactly as areas are computed (:mod:`nhsbook.analysis.indicators`), then
    suppressed (counts 1-4; ``suppress=False``: not, for the pipeline, which protects the
    quintiles with every other cell in :func:`nhsbook.analysis.disclosure.protect`).  Latest period
    per indicator.

    Columns: ``indicator_id``, ``period``, ``sex``, ``age``, ``quintile``, ``practices``,
    ``population``, ``count``, ``denominator``, ``value``, ``lower_95``, ``upper_95``,
    ``suppressed``, ``value_note``.
    """
    q = quintiles.dropna(subset=["quintile"])
    q = q[q["area_code"].isin(list(practices))]
    rows = latest(
        values[values["area_code"].isin(q["area_code"]) & (values["area_type"] == "practice")]
    )
    rows = rows[rows["category_type"].fillna("") == ""]
    rows = rows.merge(q[["area_code", "quintile", "population"]], on="area_code")
    rows["weight"] = rows["population"]
    rows["weighted_value"] = rows["value"] * rows["population"]
    g = rows.groupby(["indicator_id", "period", "sex", "age", "quintile"], as_index=False)
    summed = g.agg(
        practices=("area_code", "nunique"),
        population=("population", "sum"),
        count=("count", lambda s: s.sum(min_count=len(s))),
        denominator=("denominator", lambda s: s.sum(min_count=len(s))),
        weighted_value=("weighted_value", lambda s: s.sum(min_count=len(s))),
        weight=("weight", "sum"),
    )
    summed["area_type"] = "quintile"
    summed["value"] = np.nan
    summed["value_note"] = ""
    # the same per-method calculation as every area's (private there; see the report)
    calc = indicators.calculate(summed, metadata.set_index("indicator_id"))
    if suppress:
        calc = stats.suppress(calc)
    else:
        calc["suppressed"] = False
    keep = [
        "indicator_id",
        "period",
        "sex",
        "age",
        "quintile",
        "practices",
        "population",
        "count",
        "denominator",
        "value",
        "lower_95",
        "upper_95",
        "suppressed",
        "value_note",
    ]
    calc["quintile"] = calc["quintile"].astype(int)
    return calc[keep].sort_values(["indicator_id", "quintile"]).reset_index(drop=True)


def inequality(
    by_q: pd.DataFrame, metadata: pd.DataFrame, *, reps: int = 100_000, seed: int = 1
) -> pd.DataFrame:
    """Slope and relative index of inequality of each indicator across its quintiles.

    Method
        :func:`nhsbook.stats.sii` on the quintile values weighted by each quintile's
        registered population, quintile 1 the most deprived, so that SII is the fitted
        value in the least deprived minus that in the most deprived (in the indicator's
        units) and RII = (Y₀ + SII)/Y₀ their ratio; 95% limits by simulation (``reps``
        draws, fixed ``seed``).  Proportions are fitted as fractions (logit-scale standard
        errors) and rates on the log scale for the simulation (``value_type``), as
        PHEindicatormethods ``phe_sii`` does.
    Reference
        PHEindicatormethods 2.1.0 ``phe_sii``; Fingertips technical guidance, "Slope index
        of inequality"; Low A, Low A (2004) J Public Health 26:32-39.
    Edge cases
        Indicators without 95% limits (scores, ratios, published values), or with a
        suppressed or missing quintile, get no SII and a ``value_note`` saying why.
    Returns
        One row per indicator: ``indicator_id``, ``sii``, ``sii_lower``, ``sii_upper``,
        ``rii``, ``rii_lower``, ``rii_upper``, ``value_note``.
    """
    meta = metadata.set_index("indicator_id")
    out = []
    cols = ["sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"]
    for ind, sub in by_q.groupby("indicator_id", sort=False):
        method = str(meta.loc[ind, "method"])
        row: dict[str, object] = {"indicator_id": ind, **{c: np.nan for c in cols}}
        vt = SII_VALUE_TYPES.get(method)
        if vt is None:
            row["value_note"] = (
                f"Not calculated: {method.replace('_', ' ')} values have no confidence limits"
            )
        elif sub["suppressed"].any() or sub["value"].isna().any():
            row["value_note"] = "Not calculated: a quintile's value is missing or suppressed"
        elif len(sub) < 2:
            row["value_note"] = "Not calculated: fewer than 2 quintiles"
        else:
            mult = float(meta.loc[ind, "multiplier"]) if vt == "proportion" else 1.0
            data = sub.assign(
                v=sub["value"] / mult, lo=sub["lower_95"] / mult, up=sub["upper_95"] / mult
            )
            res = stats.sii(
                data,
                value="v",
                lower="lo",
                upper="up",
                population="population",
                rank_group="quintile",
                value_type=vt,
                multiplier=mult,
                rii=True,
                reps=reps,
                seed=seed,
            ).iloc[0]
            row.update({c: float(res[c]) for c in cols})
            row["value_note"] = res["value_note"]
        out.append(row)
    return pd.DataFrame(out, columns=["indicator_id", *cols, "value_note"])


def inequality_data(
    values: pd.DataFrame,
    metadata: pd.DataFrame,
    areas: pd.DataFrame,
    code: str,
    deprivation_id: str,
    n: int = 5,
    reps: int = 100_000,
    quintiles: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inequality view of an area: the area's practices in deprivation quintiles defined
    across its comparison group's practices (:func:`peer_practices`: a CCG's own; a
    locality's practices by the CCG-wide quintiles, so that quintile 1 means the same on
    every page of a CCG).  Returns (bars, summary):

    * bars, one row per indicator with limits and quintile: ``indicator``, ``unit``,
      ``quintile``, ``quintile_label``, ``practices``, ``value``, ``lower_95``,
      ``upper_95``, ``area_value`` (the area's overall value), ``significance`` of the
      quintile against the area value (:func:`nhsbook.stats.compare`, 95%) and ``sii_text``;
    * summary, one row per indicator: ``indicator``, ``period``, SII and RII with limits and
      a note.

    ``quintiles``: the book's computed quintile table (``build/<book>/quintiles.parquet``,
    :func:`nhsbook.analysis.disclosure.quintile_table`, protected with every other cell by
    :func:`nhsbook.analysis.disclosure.protect`); the area's rows are selected from it.  Without it
    (or when it has no rows for the area) the quintiles are computed here with the primary
    rule only.
    """
    by_q = None
    if quintiles is not None and n == 5 and "area_code" in quintiles.columns:
        mine = quintiles[quintiles["area_code"] == code]
        if not mine.empty:
            by_q = publish(mine).drop(columns=["area_code"])
    if by_q is None:
        _, group, own = peer_practices(areas, code)
        quint = practice_quintiles(values, areas, group, deprivation_id, n=n)
        by_q = by_quintile(values, metadata, quint, own)
    meta = metadata.set_index("indicator_id")
    by_q = by_q[by_q["indicator_id"] != deprivation_id]
    summary = inequality(by_q, metadata, reps=reps)
    area = latest(_published(values, [code]))
    area = area.drop_duplicates("indicator_id").set_index("indicator_id")
    bars = by_q[~by_q["suppressed"] & by_q["value"].notna() & by_q["lower_95"].notna()].copy()
    bars["area_value"] = bars["indicator_id"].map(area["value"])
    bars["significance"] = stats.compare(
        bars["value"],
        bars["lower_95"],
        bars["upper_95"],
        bars["area_value"],
        bars["indicator_id"].map(meta["polarity"]),
        conf=0.95,
    ).to_numpy()
    labels = {i: n for n, i in enumerate(metadata["indicator_id"])}
    summary["period"] = summary["indicator_id"].map(area["period"])
    summary["text"] = [_sii_text(r, meta.loc[r.indicator_id, "unit"]) for r in summary.itertuples()]
    bars["sii_text"] = bars["indicator_id"].map(summary.set_index("indicator_id")["text"])
    bars["indicator"] = bars["indicator_id"].map(meta["name"])
    bars["unit"] = bars["indicator_id"].map(meta["unit"])
    bars["quintile_label"] = bars["quintile"].map(
        QUINTILE_LABELS if n == 5 else {k: str(k) for k in range(1, n + 1)}
    )
    bars = bars.sort_values(
        ["indicator_id", "quintile"], key=lambda s: s.map(labels) if s.name == "indicator_id" else s
    )
    num = ["value", "lower_95", "upper_95", "area_value"]
    bars[num] = bars[num].round(3)
    bars = bars[
        [
            "indicator",
            "unit",
            "quintile",
            "quintile_label",
            "practices",
            "value",
            "lower_95",
            "upper_95",
            "area_value",
            "significance",
            "sii_text",
        ]
    ]
    summary["indicator"] = summary["indicator_id"].map(meta["name"])
    summary = summary.sort_values("indicator_id", key=lambda s: s.map(labels))
    return bars.reset_index(drop=True), summary.reset_index(drop=True)


def _sii_text(r: object, unit: str) -> str:
    if not np.isfinite(getattr(r, "sii")):
        return str(getattr(r, "value_note"))
    meta = {"unit": unit}
    unit = "percentage points" if unit == "%" else unit
    sii = f"SII {fmt.sii(r.sii, meta)} {unit}"
    if np.isfinite(r.sii_lower):
        sii += f" (95% CI {fmt.sii(r.sii_lower, meta)} to {fmt.sii(r.sii_upper, meta)})"
    rii = f"RII {fmt.rii(r.rii)}"
    if np.isfinite(r.rii_lower):
        rii += f" ({fmt.rii(r.rii_lower)} to {fmt.rii(r.rii_upper)})"
    if not np.isfinite(r.sii_lower):
        rii += " (no limits: a quintile's value is at the edge of its range, e.g. 100%)"
    return f"{sii}; {rii}"


def quintile_members(quintiles: pd.DataFrame, practices: Iterable[str]) -> pd.DataFrame:
    """How many of ``practices`` are in each quintile, their registered population and the
    range of their deprivation scores (for the page's explanation)."""
    q = quintiles[quintiles["area_code"].isin(list(practices))].dropna(subset=["quintile"])
    t = q.groupby("quintile").agg(
        practices=("area_code", "size"),
        population=("population", "sum"),
        lowest_score=("score", "min"),
        highest_score=("score", "max"),
    )
    t.index = t.index.astype(int).map(QUINTILE_LABELS)
    return t.reset_index().rename(
        columns={
            "quintile": "Quintile",
            "practices": "Practices",
            "population": "Registered population",
            "lowest_score": "Lowest score",
            "highest_score": "Highest score",
        }
    )


# --- by sex and age -------------------------------------------------------------------


def _base_name(name: str) -> str:
    """An indicator's name without a trailing sex (" - Male", " (Female)")."""
    return re.sub(
        r"\s*[-–(:,]\s*(male|female|persons|men|women)\)?\s*$", "", name, flags=re.I
    ).strip()


def sex_age_table(values: pd.DataFrame, metadata: pd.DataFrame, code: str) -> pd.DataFrame:
    """The area's indicators that exist for more than one sex or age: the same indicator id
    with several sex/age rows, or indicators whose names differ only by sex (e.g. "Life
    expectancy at 65 - Male" and "- Female"), latest period, suppressed.

    Columns: ``Indicator``, ``Sex``, ``Age``, ``Period``, ``Value``, ``Lower 95% CI``,
    ``Upper 95% CI``, ``Comparator``, ``Significance``; empty when the data have none.
    """
    meta = metadata.copy()
    meta["base"] = meta["name"].map(_base_name)
    rows = latest(_published(values, [code]))
    rows = rows.merge(meta[["indicator_id", "base"]], on="indicator_id")
    per_id = rows.groupby("indicator_id")[["sex", "age"]].transform("nunique").max(axis=1)
    sexes = rows.groupby("base")["sex"].transform("nunique")
    ids = rows.groupby("base")["indicator_id"].transform("nunique")
    pick = rows[(per_id > 1) | ((sexes > 1) & (ids > 1))]
    if pick.empty:
        return pd.DataFrame(
            columns=[
                "Indicator",
                "Sex",
                "Age",
                "Period",
                "Value",
                "Lower 95% CI",
                "Upper 95% CI",
                "Comparator",
                "Significance",
            ]
        )
    pick = pick.sort_values(["base", "sex", "age"])
    out = pd.DataFrame(
        {
            "Indicator": pick["base"],
            "Sex": pick["sex"],
            "Age": pick["age"],
            "Period": pick["period"],
            "Value": [
                SUPPRESSED if sup else ("" if pd.isna(v) else f"{v:,.1f}")
                for sup, v in zip(pick["suppressed"], pick["value"])
            ],
            "Lower 95% CI": pick["lower_95"].round(1),
            "Upper 95% CI": pick["upper_95"].round(1),
            "Comparator": pick["comparator_value"].round(1),
            "Significance": pick["significance"],
        }
    )
    return out.reset_index(drop=True)


def single_sex_indicators(metadata: pd.DataFrame) -> pd.DataFrame:
    """Indicators defined for one sex only (e.g. cervical screening, births to women under
    20): name, sex and age, from the metadata."""
    m = metadata[~metadata["sex"].fillna("Persons").isin(["Persons", ""])]
    return (
        m[["name", "sex", "age"]]
        .rename(columns={"name": "Indicator", "sex": "Sex", "age": "Age"})
        .reset_index(drop=True)
    )


# --- what the thin notebooks call (issue 21) ----------------------------------------------


def trend_summary(trends: pd.DataFrame) -> pd.DataFrame:
    """The Trends section's table: one row per indicator of :func:`trends` (first row of
    each), with its ``Indicator``, ``Recent trend`` and ``Based on`` (the trend's basis)."""
    return trends.drop_duplicates("indicator_id")[["indicator", "trend", "trend_basis"]].rename(
        columns={"indicator": "Indicator", "trend": "Recent trend", "trend_basis": "Based on"}
    )


def rug_caption(areas: pd.DataFrame, code: str, values: pd.DataFrame | None = None) -> str:
    """The sentence above an overview (tartan rug), as MyST markdown with the names escaped:
    how many areas are coloured, their types, and the comparator(s) they are compared with
    (:func:`rug_columns`)."""
    coloured, comparators = rug_columns(areas, code, values)
    named = areas.set_index("area_code")
    types = ", ".join(sorted(set(named.loc[coloured, "area_type"])))
    return (
        f"{len(coloured)} areas ({esc(types)}), "
        f"compared with {esc(', '.join(named.loc[comparators, 'area_name']))}."
    )


#: The inequality summary's columns as published (CSV) and shown, in order.
INDEX_COLUMNS = {
    "indicator": "Indicator",
    "period": "Period",
    "sii": "SII",
    "sii_lower": "SII lower 95% CI",
    "sii_upper": "SII upper 95% CI",
    "rii": "RII",
    "rii_lower": "RII lower 95% CI",
    "rii_upper": "RII upper 95% CI",
    "value_note": "Note",
}


def inequality_indices(
    summary: pd.DataFrame, metadata: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The slope and relative indices of inequality of :func:`inequality_data`'s summary as
    (table, shown): ``table`` the numbers as published in the CSV (:data:`INDEX_COLUMNS`),
    ``shown`` the same as text, the SII and its limits at the indicator's precision
    (:func:`nhsbook.core.fmt.sii`) and the RII and its limits by :func:`nhsbook.core.fmt.rii`."""
    table = summary[list(INDEX_COLUMNS)].rename(columns=INDEX_COLUMNS)
    meta = metadata.set_index("indicator_id")
    shown = table.copy()
    for col in ("SII", "SII lower 95% CI", "SII upper 95% CI"):  # the indicator's precision
        shown[col] = [fmt.sii(v, meta.loc[i]) for v, i in zip(table[col], summary["indicator_id"])]
    for col in ("RII", "RII lower 95% CI", "RII upper 95% CI"):
        shown[col] = table[col].map(fmt.rii)
    return table, shown


def compare_with(
    values: pd.DataFrame, metadata: pd.DataFrame, area_code: str, comparator_code: str
) -> pd.DataFrame:
    """The area's indicators against a second comparator (e.g. a practice against England
    besides its CCG): value, 95% limits, the second comparator's value and the significance
    against it, by the Fingertips rule of :func:`nhsbook.stats.compare` (the comparator's
    value inside the area's 95% interval: Similar; outside: Higher/Lower or Better/Worse by
    polarity).  Counts 1-4 are suppressed first (``Not compared``)."""
    rows = values[values["area_code"] == area_code]
    other = values.loc[
        values["area_code"] == comparator_code, ["indicator_id", "period", "sex", "age", "value"]
    ].rename(columns={"value": "second_value"})
    rows = rows.merge(other, on=["indicator_id", "period", "sex", "age"], how="left")
    meta = metadata.set_index("indicator_id")
    polarity = rows["indicator_id"].map(meta["polarity"])
    rows["second_significance"] = stats.compare(
        rows["value"],
        rows["lower_95"],
        rows["upper_95"],
        rows["second_value"],
        polarity,
        conf=0.95,
        area_code=area_code,
        comparator_code=comparator_code,
    ).to_numpy()
    rows = publish(rows)
    rows.loc[rows["suppressed"], "second_significance"] = "Not compared"
    rows["name"] = rows["indicator_id"].map(meta["name"])
    order = {ind: i for i, ind in enumerate(metadata["indicator_id"])}
    rows = rows.sort_values("indicator_id", key=lambda s: s.map(order))
    return rows[
        [
            "indicator_id",
            "name",
            "period",
            "value",
            "lower_95",
            "upper_95",
            "comparator_value",
            "significance",
            "second_value",
            "second_significance",
            "suppressed",
        ]
    ].reset_index(drop=True)
