"""Practice variation: funnel plots, compare-areas bars and outlier lists.

Commissioning-for-value packs ask which practices differ from the CCG by more than chance.
The funnel plot answers it for every count-based indicator at once: each practice's value
against its denominator, with control limits around the CCG value (the practices'
comparator) at 95% and 99.8% from :func:`nhsbook.stats.funnel_limits`; a practice outside
the 99.8% limits is an *outlier* (Spiegelhalter 2005, "Funnel plots for comparing
institutional performance", Stat Med 24:1185-1202; PHE, *Technical guide: funnel plots*).

Indicator methods map to funnel kinds: proportions (``kind="proportion"``, Wilson-consistent
limits), crude rates (``kind="rate"``) and indirectly standardised ratios (``kind="ratio"``,
denominator = expected count, multiplier = the reference value so that limits come out in the
indicator's units).  Scores, means, life expectancy and published-only values have no funnel.

Disclosure control: suppressed practices (counts 1-4 and the complementary cells that stop
them being worked out from the totals, :mod:`nhsbook.analysis.disclosure`) are left out of every plot
and list; the page says how many were left out.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from nhsbook import stats
from nhsbook.core.model import ancestor_of_type
from nhsbook.methods.publication import is_suppressed

#: Indicator method -> funnel kind of :func:`nhsbook.stats.funnel_limits`.
FUNNEL_KINDS = {"proportion": "proportion", "crude_rate": "rate", "isr": "ratio"}
OUTLIER_LABELS = {"High (0.001)": "above 99.8% limit", "Low (0.001)": "below 99.8% limit"}
LIMIT_POINTS = 24


def practices_below(areas: pd.DataFrame, code: str) -> list[str]:
    """Practices below an area, or the practice itself."""
    row = areas.loc[areas["area_code"] == code]
    if row.empty:
        raise KeyError(f"area {code!r} is not in the area table")
    if row["area_type"].iloc[0] == "practice":
        return [code]
    area_type = row["area_type"].iloc[0]
    anc = ancestor_of_type(areas, area_type)
    mask = areas["area_type"].eq("practice") & anc.eq(code)
    return areas.loc[mask, "area_code"].tolist()


def peer_group(areas: pd.DataFrame, code: str) -> tuple[str, list[str]]:
    """The target area and the practices a page compares: the area's own practices against
    its value's comparator (a CCG's practices against the CCG, a locality's practices against
    the CCG), and for a practice all practices of its CCG."""
    row = areas.loc[areas["area_code"] == code].iloc[0]
    if row["area_type"] == "practice":
        target = str(row["comparator_code"])
        return target, practices_below(areas, target)
    target = code if row["area_type"] in ("ccg", "stp") else str(row["comparator_code"])
    return target, practices_below(areas, code)


def practice_points(
    values: pd.DataFrame,
    metadata: pd.DataFrame,
    areas: pd.DataFrame,
    practices: Iterable[str],
    target: str,
) -> pd.DataFrame:
    """One row per practice and funnel indicator: value, count, denominator, 95% limits, the
    target value, the funnel position (:func:`nhsbook.stats.funnel_significance`) and
    whether the practice is an outlier (outside 99.8%) and better or worse for it.

    Suppressed practices (the pipeline's flag, :mod:`nhsbook.analysis.disclosure`: counts 1-4 and
    their complementary cells) are dropped; ``n_suppressed`` on each row counts them for the
    indicator.
    """
    meta = metadata.set_index("indicator_id")
    funnel_ids = meta.index[meta["method"].isin(FUNNEL_KINDS)]
    practices = list(practices)
    # the latest period of each indicator only (a trend indicator has several; periods sort
    # as text: 2012, 2019/20, …), for the practices and the target alike
    if "period" in values.columns:
        last = values.groupby("indicator_id")["period"].transform("max")
        values = values[values["period"] == last]
    rows = values[values["area_code"].isin(practices) & values["indicator_id"].isin(funnel_ids)]
    targets = values.loc[values["area_code"] == target].drop_duplicates("indicator_id")
    rows = rows.merge(
        targets[["indicator_id", "value"]].rename(columns={"value": "target"}),
        on="indicator_id",
        how="left",
    )
    small = is_suppressed(rows)
    n_sup = small.groupby(rows["indicator_id"]).sum()
    rows = rows[~small]
    rows = rows[rows["value"].notna() & rows["denominator"].gt(0) & rows["target"].notna()].copy()
    names = areas.set_index("area_code")["area_name"]
    # the practice's group: its locality, or in books without localities its PCN
    group = ancestor_of_type(areas, "locality")
    group = group.where(group != "", ancestor_of_type(areas, "pcn"))
    locality = dict(zip(areas["area_code"], group))
    rows["area_name"] = rows["area_code"].map(names)
    rows["locality"] = rows["area_code"].map(locality).map(names).fillna("")
    rows["indicator"] = rows["indicator_id"].map(meta["name"])
    rows["unit"] = rows["indicator_id"].map(meta["unit"])
    rows["polarity"] = rows["indicator_id"].map(meta["polarity"])
    rows["n_suppressed"] = rows["indicator_id"].map(n_sup).fillna(0).astype(int)
    if rows.empty:
        return rows.assign(funnel=pd.Series(dtype=str), outlier=pd.Series(dtype=str))
    # each indicator's points against its funnel, in place (the rows keep their order: the
    # sort below is stable, so the points come out as if grouped by indicator first)
    count, denominator = rows["count"].to_numpy(), rows["denominator"].to_numpy()
    target = rows["target"].to_numpy()
    funnel = np.empty(len(rows), dtype=object)
    for ind, at in rows.groupby("indicator_id", sort=False).indices.items():
        kind, mult = _kind(meta.loc[ind])
        funnel[at] = stats.funnel_significance(
            count[at], denominator[at], target[at[0]], kind=kind, multiplier=mult
        ).to_numpy()
    out = rows.reset_index(drop=True)
    out["funnel"] = funnel
    out["outlier"] = out["funnel"].map(OUTLIER_LABELS).fillna("")
    high = out["funnel"].str.startswith("High")
    out["direction"] = np.select(
        [
            out["outlier"].eq(""),
            out["polarity"].eq("no_judgement"),
            high == out["polarity"].eq("high_is_good"),
        ],
        ["", np.where(high, "higher", "lower"), "better"],
        "worse",
    )
    order = {i: n for n, i in enumerate(metadata["indicator_id"])}
    out = out.sort_values(
        ["indicator_id", "denominator"],
        key=lambda s: s.map(order) if s.name == "indicator_id" else s,
    )
    return out[
        [
            "indicator_id",
            "indicator",
            "unit",
            "polarity",
            "area_code",
            "area_name",
            "locality",
            "count",
            "denominator",
            "value",
            "lower_95",
            "upper_95",
            "target",
            "funnel",
            "outlier",
            "direction",
            "n_suppressed",
        ]
    ].reset_index(drop=True)


def _kind(meta_row: pd.Series) -> tuple[str, float]:
    """Funnel kind and multiplier of an indicator (ISR: multiplier = reference value)."""
    kind = FUNNEL_KINDS[meta_row["method"]]
    if kind == "ratio":
        return kind, float(meta_row["reference_value"])
    return kind, float(meta_row["multiplier"])


def funnel_limits(
    points: pd.DataFrame, metadata: pd.DataFrame, n: int = LIMIT_POINTS
) -> pd.DataFrame:
    """Control-limit curves for each indicator of ``points``: ``n`` denominators spaced
    geometrically from half the smallest to 1.2 × the largest practice denominator, with the
    95% and 99.8% limits around the target."""
    meta = metadata.set_index("indicator_id")
    parts = []
    for ind, sub in points.groupby("indicator_id", sort=False):
        kind, mult = _kind(meta.loc[ind])
        lo, hi = sub["denominator"].min() * 0.5, sub["denominator"].max() * 1.2
        grid = np.geomspace(max(lo, 1e-6), hi, n)
        lim = stats.funnel_limits(
            grid, sub["target"].iloc[0], conf=(0.95, 0.998), kind=kind, multiplier=mult
        )
        lim.insert(0, "indicator", sub["indicator"].iloc[0])
        lim.insert(0, "indicator_id", ind)
        lim["target"] = sub["target"].iloc[0]
        parts.append(lim)
    if not parts:
        return pd.DataFrame(
            columns=[
                "indicator_id",
                "indicator",
                "denominator",
                "lower_95",
                "upper_95",
                "lower_998",
                "upper_998",
                "target",
            ]
        )
    return pd.concat(parts, ignore_index=True)


#: Short field names of :func:`funnel_frame`: the frame is embedded in the page once per
#: point, so every byte of a key counts (a CCG page has thousands of points).
FUNNEL_FIELDS = {
    "indicator_id": "i",
    "kind": "k",
    "area_code": "a",
    "count_text": "c",
    "denominator": "d",
    "value": "v",
    "funnel": "f",
    "lower_95": "l95",
    "upper_95": "u95",
    "lower_998": "l998",
    "upper_998": "u998",
}


def funnel_frame(points: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Points and limit curves in one long frame for :func:`nhsbook.charts.funnel`
    (``k`` = "p" practice or "l" limit), keyed by indicator id and practice code only (the
    chart looks names up once) with the short field names of :data:`FUNNEL_FIELDS`."""
    p = points.assign(kind="p")
    p["count_text"] = p["count"].map(lambda v: f"{v:,.0f}")
    keep_p = ["indicator_id", "kind", "area_code", "count_text", "denominator", "value", "funnel"]
    keep_l = [
        "indicator_id",
        "kind",
        "denominator",
        "lower_95",
        "upper_95",
        "lower_998",
        "upper_998",
    ]
    out = pd.concat([p[keep_p], limits.assign(kind="l")[keep_l]], ignore_index=True)
    num = out.select_dtypes("number").columns
    out[num] = out[num].apply(lambda c: c.map(lambda v: float(f"{v:.4g}")))
    return out.rename(columns=FUNNEL_FIELDS)


def funnel_labels(points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lookup tables of a funnel chart: practices (code, name, locality) and indicators
    (id, name, order, target, and unit and polarity when the points have them)."""
    practices = points[["area_code", "area_name", "locality"]].drop_duplicates("area_code")
    cols = ["indicator_id", "indicator", "target"] + [
        c for c in ("unit", "polarity") if c in points.columns
    ]
    inds = points[cols].drop_duplicates("indicator_id")
    inds = inds.assign(order=np.arange(len(inds)), target=inds["target"].round(3))
    return practices.reset_index(drop=True), inds.reset_index(drop=True)


def outliers(points: pd.DataFrame) -> pd.DataFrame:
    """Practices outside the 99.8% limits, by locality then indicator."""
    o = points[points["outlier"] != ""]
    table = o[
        [
            "locality",
            "area_name",
            "area_code",
            "indicator",
            "value",
            "target",
            "outlier",
            "direction",
        ]
    ].rename(
        columns={
            "locality": "Locality",
            "area_name": "Practice",
            "area_code": "Practice code",
            "indicator": "Indicator",
            "value": "Value",
            "target": "CCG value",
            "outlier": "Position",
            "direction": "Better or worse",
        }
    )
    return table.sort_values(["Locality", "Practice", "Indicator"]).reset_index(drop=True)


def compare_areas(
    values: pd.DataFrame,
    metadata: pd.DataFrame,
    areas: pd.DataFrame,
    codes: Iterable[str],
    highlight: str = "",
) -> pd.DataFrame:
    """Rows for the compare-areas bar chart: each area's latest value with its 95% limits
    and significance against its comparator, for every indicator with limits; suppressed
    values (counts 1-4) are left out."""
    meta = metadata.set_index("indicator_id")
    codes = list(codes)
    rows = values[values["area_code"].isin(codes) & values["value"].notna()]
    # the latest period of each indicator (periods sort as text: 2012, 2019/20, …)
    rows = rows[rows["period"] == rows.groupby("indicator_id")["period"].transform("max")]
    rows = rows[~is_suppressed(rows) & rows["lower_95"].notna()].copy()
    rows["indicator"] = rows["indicator_id"].map(meta["name"])
    rows["unit"] = rows["indicator_id"].map(meta["unit"])
    rows["area_name"] = rows["area_code"].map(areas.set_index("area_code")["area_name"])
    rows["highlight"] = rows["area_code"].eq(highlight)
    out = rows[
        [
            "indicator_id",
            "indicator",
            "unit",
            "area_code",
            "area_name",
            "value",
            "lower_95",
            "upper_95",
            "comparator_value",
            "significance",
            "highlight",
        ]
    ]
    num = ["value", "lower_95", "upper_95", "comparator_value"]
    out = out.assign(**{c: out[c].round(2) for c in num})
    return out.reset_index(drop=True)


def outlier_counts(out: pd.DataFrame, by: Iterable[str] = ("Locality", "Practice")) -> pd.DataFrame:
    """How many outliers (:func:`outliers`) each practice has, better and worse: one row per
    group of ``by`` (default locality and practice), one column per value of ``Better or
    worse``."""
    return out.groupby([*by, "Better or worse"]).size().unstack(fill_value=0).reset_index()
