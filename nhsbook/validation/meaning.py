"""Gate rules by meaning: what an indicator's unit and method allow, across files.

The dataset suites check each file's cells (types, formats, keys); these rules check what the
numbers *mean*, for every indicator, whichever file holds them (issue 24):

* **Range** (:func:`allowed_range`): a value (and a limit) must be one the measure can take —
  a percentage of a proportion 0–100, any other percentage or rate >= 0, a ratio (%) >= -100
  (e.g. the excess winter deaths index: winter deaths cannot fall below zero), life expectancy
  at age *a* 0–(125 − *a*) years (so at 65: 0–60), the IMD score 0–100.
* **Multiplier** (:func:`unit_multiplier`): the multiplier must be the unit's: ``%``,
  ``ratio (%)`` and ``per 100`` -> 100, ``per 1,000`` -> 1,000, ``per 10,000`` -> 10,000,
  ``per 100,000`` -> 100,000, ``years`` and ``score`` -> 1.  A 1,000 on a ``%`` indicator makes
  every value ten times too large.
* **Comparator scale**: a comparator value (the seed's cluster value) must lie in the unit's
  range and within a factor :data:`SCALE_FACTOR` (5) of the area's own values — the CCG value
  computed from its practices and the practices' median — so a decimal slip (1.62 for 16.2)
  is caught; ratio indicators, whose values can be 0 or negative, get the range rule only.
* **Periods**: every practice of an area is in the same periods as its parent: a practice row
  whose period is not one of the CCG's periods for that indicator (the indicator's published
  period in ``indicators.csv`` and any period at least half of the CCG's practices have), or a
  practice missing one of them, is refused.
* **Published against computed**: where a published value and a computed one both exist (the
  seed's CCG value and the value of the sum of its practices' counts and denominators or, for
  a score, their list-size-weighted mean; the seed's worst and best practice and the practices'
  extremes) they must agree within half a unit of the published value's last decimal.

Each rule is a small derived frame indexed by the line of the file a human must fix, validated
by its own Great Expectations suite (``expectations/meaning_*.json``), like the other
reconciliations of :mod:`nhsbook.validation.gate`; so each failure names file, line, column and the
expected range.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nhsbook.core import model
from nhsbook.core.textfile import LINE, to_number, unreadable

#: The suites these frames are validated with, in order (run by :func:`nhsbook.validation.gate`).
SUITES: tuple[str, ...] = ("meaning_indicators", "meaning_seed_profile", "meaning_practice_values")

#: A comparator more than this factor away from the area's own values is on another scale.
SCALE_FACTOR = 5.0
#: Oldest age a human reaches, for life expectancy ranges (years).
MAX_AGE = 125.0

_PER = re.compile(r"^per\s+([0-9][0-9,]*)$")


def unit_multiplier(unit: str | None) -> float | None:
    """The multiplier a unit implies (None for a unit nhsbook does not know)."""
    text = (unit or "").strip().lower()
    if text in ("%", "ratio (%)", "percent", "percentage"):
        return 100.0
    if text in ("years", "score"):
        return 1.0
    m = _PER.match(text)
    if m:
        return float(m.group(1).replace(",", ""))
    return None


def start_age(age: str | None) -> float:
    """The first age of an age label ("65", "65+ yrs", "15-19 yrs" -> 65, 65, 15; else 0)."""
    m = re.match(r"^\s*(\d+)", age or "")
    return float(m.group(1)) if m else 0.0


def allowed_range(
    unit: str | None, method: str | None, *, age: str | None = None, name: str | None = None
) -> tuple[float, float]:
    """The values (and confidence limits) an indicator can take: ``(low, high)``.

    Rules, by unit and method:

    * ``%`` with method ``proportion`` (count <= denominator): 0–100; ``per N`` proportions
      0–N.
    * any other percentage or rate (crude rate, ISR/DSR, uptake of those invited, which can
      exceed 100%): >= 0.
    * ``ratio (%)`` (method ``ratio``, e.g. excess winter deaths (W − N)/N x 100): >= -100.
    * ``years``: life expectancy at age *a* lies in 0–(125 − *a*) (:data:`MAX_AGE`; the
      oldest recorded human died at 122), so at birth 0–125 and at 65 0–60.
    * ``score``: the Index of Multiple Deprivation score (its name says IMD or Index of
      Multiple Deprivation) 0–100 (an LSOA's score is a weighted sum of domain scores, each
      transformed to an exponential distribution 0–100); other scores >= 0.
    * an unknown unit: unbounded (the multiplier rule refuses the unit itself).
    """
    text = (unit or "").strip().lower()
    method = method or ""
    mult = unit_multiplier(unit)
    if text == "ratio (%)" or method == "ratio":
        return -100.0, math.inf
    if text == "years":
        return 0.0, MAX_AGE - start_age(age)
    if text == "score":
        label = (name or "").lower()
        if (
            "imd" in label
            or "index of multiple deprivation" in label
            or "deprivation score" in label
        ):
            return 0.0, 100.0
        return 0.0, math.inf
    if mult is not None:
        if method in model.BOUNDED_METHODS:
            return 0.0, mult
        return 0.0, math.inf
    return -math.inf, math.inf


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    if frame is None or column not in frame.columns:
        return pd.Series(np.nan, index=getattr(frame, "index", None), dtype="float64")
    return to_number(frame[column])


def _decimals(text: Any) -> int:
    """Decimal places of a number as written ("14.9" -> 1, "7124" -> 0)."""
    s = str(text or "").strip()
    return len(s.split(".", 1)[1]) if "." in s else 0


def _tolerance(text: Any) -> float:
    """Half a unit of the last written decimal (differences are rounded to 6 decimals before
    the comparison, so float noise does not count)."""
    return 0.5 * 10.0 ** -_decimals(text)


def _meta(frames: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame | None:
    ind = frames.get("indicators")
    if ind is None or "indicator_id" not in ind.columns:
        return None
    cols = [
        "indicator_id",
        "name",
        "unit",
        "multiplier",
        "method",
        "period",
        "age",
        "reference_value",
    ]
    meta = ind.reindex(columns=cols).copy()
    meta["_line"] = ind.index
    meta = meta.dropna(subset=["indicator_id"]).drop_duplicates("indicator_id")
    meta["_multiplier"] = _num(meta, "multiplier")
    meta["_reference"] = _num(meta, "reference_value")
    ranges = [
        allowed_range(u, m, age=a, name=n)
        for u, m, a, n in zip(meta["unit"], meta["method"], meta["age"], meta["name"])
    ]
    meta["min_allowed"] = [r[0] for r in ranges]
    meta["max_allowed"] = [r[1] for r in ranges]
    return meta.set_index("indicator_id", drop=False)


def _finite(x: pd.Series) -> pd.Series:
    """±inf (an open bound) as missing, so the pair rules skip it."""
    return x.replace([np.inf, -np.inf], np.nan)


def _practice_frame(
    frames: Mapping[str, pd.DataFrame | None], meta: pd.DataFrame
) -> pd.DataFrame | None:
    """practice_values with its parsed numbers, the practices' CCG and list size, and the
    value each row stands for (published value, or count/denominator x scale)."""
    values, prac, areas = (frames.get(k) for k in ("practice_values", "practices", "areas"))
    need = {"indicator_id", "area_code", "period", "count", "denominator", "value"}
    if values is None or not need <= set(values.columns):
        return None
    pv = values[list(need)].copy()
    pv["_count"], pv["_denominator"] = _num(values, "count"), _num(values, "denominator")
    pv["_value"] = _num(values, "value")
    method = pv["indicator_id"].map(meta["method"])
    scale = np.where(
        method.eq("isr"),
        pv["indicator_id"].map(meta["_reference"]),
        pv["indicator_id"].map(meta["_multiplier"]),
    )
    rate = pv["_count"] / pv["_denominator"].where(pv["_denominator"] != 0) * scale
    counted = method.isin(sorted(model.COUNT_METHODS))
    pv["_computed"] = np.where(counted & pv["_value"].isna(), rate, pv["_value"])
    pv["_ccg"], pv["_list_size"] = "", np.nan
    if (
        prac is not None
        and areas is not None
        and {"area_code", "parent_code"} <= set(prac.columns)
        and {"area_code", "area_type", "parent_code"} <= set(areas.columns)
    ):
        cols = ["area_code", "area_type", "parent_code"]
        allareas = pd.concat(
            [areas[cols], prac[["area_code", "parent_code"]].assign(area_type="practice")[cols]],
            ignore_index=True,
        ).fillna("")
        ccg_of = dict(
            zip(prac["area_code"], model.ancestor_of_type(allareas, "ccg").to_numpy()[len(areas) :])
        )
        size = dict(zip(prac["area_code"], _num(prac, "list_size")))
        pv["_ccg"] = pv["area_code"].map(ccg_of).fillna("")
        pv["_list_size"] = pv["area_code"].map(size)
    return pv


def frames_for(
    frames: Mapping[str, pd.DataFrame | None], params: Mapping[str, Any]
) -> dict[str, tuple[pd.DataFrame | None, str]]:
    """The derived frames the ``meaning_*`` suites validate: name -> (frame, note)."""
    out: dict[str, tuple[pd.DataFrame | None, str]] = {}
    meta = _meta(frames)
    why = unreadable(frames, ("indicators", ("indicator_id", "unit", "multiplier", "method")))
    if why or meta is None:
        for name in SUITES:
            out[name] = (None, why or "not run: indicators could not be read")
        return out

    # 1. the multiplier is the unit's
    ind = frames["indicators"]
    rows = pd.DataFrame(
        {
            "indicator_id": ind["indicator_id"],
            "unit": ind["unit"],
            "multiplier": _num(ind, "multiplier"),
            "unit_multiplier": [unit_multiplier(u) for u in ind["unit"]],
        },
        index=ind.index,
    )
    rows["unit_multiplier"] = rows["unit_multiplier"].astype("float64")
    rows.index.name = LINE
    out["meaning_indicators"] = (rows, "")

    pv = _practice_frame(frames, meta)
    seed = frames.get("seed_profile")

    # 2. the seed's published values: in range, comparator on the area's scale, and within
    #    rounding of what the practices give
    why = unreadable(
        frames,
        (
            "seed_profile",
            ("indicator_id", "ccg_value", "cluster_value", "worst_practice", "best_practice"),
        ),
    )
    if why:
        out["meaning_seed_profile"] = (None, why)
    else:
        ids = seed["indicator_id"]
        frame = pd.DataFrame(
            {
                "indicator_id": ids,
                "unit": ids.map(meta["unit"]),
                "method": ids.map(meta["method"]),
                "ccg_value": _num(seed, "ccg_value"),
                "cluster_value": _num(seed, "cluster_value"),
                "worst_practice": _num(seed, "worst_practice"),
                "best_practice": _num(seed, "best_practice"),
                "min_allowed": ids.map(meta["min_allowed"]).astype("float64"),
                "max_allowed": ids.map(meta["max_allowed"]).astype("float64"),
            },
            index=seed.index,
        )
        computed = pd.Series(np.nan, index=seed.index)
        low = pd.Series(np.nan, index=seed.index)
        high = pd.Series(np.nan, index=seed.index)
        median = pd.Series(np.nan, index=seed.index)
        if pv is not None:
            periods = ids.map(meta["period"])
            for line, ind_id, period in zip(seed.index, ids, periods):
                sub = pv[(pv["indicator_id"] == ind_id) & (pv["period"] == period)]
                if sub.empty or ind_id not in meta.index:
                    continue
                vals = sub["_computed"]
                if vals.notna().any():
                    low[line], high[line] = vals.min(), vals.max()
                    median[line] = vals.median()
                m = meta.at[ind_id, "method"]
                if m in model.COUNT_METHODS:
                    scale = (
                        meta.at[ind_id, "_reference"]
                        if m == "isr"
                        else meta.at[ind_id, "_multiplier"]
                    )
                    d = sub["_denominator"].sum()
                    if sub["_count"].notna().all() and sub["_denominator"].notna().all() and d > 0:
                        computed[line] = sub["_count"].sum() / d * scale
                elif m == "score":
                    w = sub["_list_size"]
                    ok = w.notna() & sub["_value"].notna()
                    if ok.all() and w.sum() > 0:
                        computed[line] = np.average(sub["_value"], weights=w)
        frame["computed_ccg_value"] = computed
        frame["practices_lowest"], frame["practices_highest"] = low, high
        ref_lo = pd.concat([computed, median], axis=1).min(axis=1)
        ref_hi = pd.concat([computed, median], axis=1).max(axis=1)
        scaled = ~frame["method"].eq("ratio") & (ref_lo > 0)
        frame["comparator_min"] = (
            (ref_lo / SCALE_FACTOR).clip(lower=frame["min_allowed"]).where(scaled)
        )
        frame["comparator_max"] = (
            (ref_hi * SCALE_FACTOR).clip(upper=frame["max_allowed"]).where(scaled)
        )
        frame["ccg_difference"] = (frame["ccg_value"] - computed).abs().round(6)
        frame["rounding"] = [_tolerance(t) for t in seed["ccg_value"]]
        pub_lo = frame[["worst_practice", "best_practice"]].min(axis=1)
        pub_hi = frame[["worst_practice", "best_practice"]].max(axis=1)
        tol_wb = pd.Series(
            [
                max(_tolerance(a), _tolerance(b))
                for a, b in zip(seed["worst_practice"], seed["best_practice"])
            ],
            index=seed.index,
        )
        frame["_extremes_difference"] = (
            pd.concat([(pub_lo - low).abs(), (pub_hi - high).abs()], axis=1)
            .max(axis=1, skipna=False)
            .round(6)
        )
        frame["_extremes_rounding"] = tol_wb
        for col in ("min_allowed", "max_allowed", "comparator_min", "comparator_max"):
            frame[col] = _finite(frame[col])
        # shown in the report: 4 decimals are enough to read them
        for col in (
            "computed_ccg_value",
            "practices_lowest",
            "practices_highest",
            "comparator_min",
            "comparator_max",
        ):
            frame[col] = frame[col].round(4)
        frame.index.name = LINE
        out["meaning_seed_profile"] = (frame, "")

    # 3. practice rows: in range, and in their parent's periods
    if pv is None:
        out["meaning_practice_values"] = (None, "not run: practice_values could not be read")
    else:
        ids = pv["indicator_id"]
        frame = pd.DataFrame(
            {
                "indicator_id": ids,
                "area_code": pv["area_code"],
                "period": pv["period"],
                "unit": ids.map(meta["unit"]),
                "count": pv["count"],
                "denominator": pv["denominator"],
                "value": pv["_computed"].round(6),
                "min_allowed": _finite(ids.map(meta["min_allowed"]).astype("float64")),
                "max_allowed": _finite(ids.map(meta["max_allowed"]).astype("float64")),
            },
            index=pv.index,
        )
        parent_periods: dict[tuple[str, str], list[str]] = {}
        n_prac = pv.groupby("_ccg")["area_code"].nunique().to_dict()
        for (ind_id, ccg), g in pv.groupby(["indicator_id", "_ccg"], sort=False):
            have = g.groupby("period")["area_code"].nunique()
            keep = [p for p, n in have.items() if n * 2 >= n_prac.get(ccg, 0)]
            own = meta["period"].get(ind_id)
            parent_periods[(ind_id, ccg)] = sorted(set(keep) | ({own} if own else set()))
        pp = [parent_periods.get((i, c), []) for i, c in zip(ids, pv["_ccg"])]
        frame["parent_periods"] = [", ".join(p) for p in pp]
        frame["_in_parent_periods"] = [p in per for p, per in zip(pv["period"], pp)]
        first = ~pv.duplicated(["indicator_id", "area_code"])
        mine = pv.groupby(["indicator_id", "area_code"])["period"].agg(set).to_dict()
        missing = []
        for f, i, a, per in zip(first, ids, pv["area_code"], pp):
            gone = [p for p in per if p not in mine.get((i, a), set())] if f else []
            missing.append(", ".join(gone) if gone else None)
        frame["missing_periods"] = pd.Series(missing, index=pv.index, dtype=object)
        frame.index.name = LINE
        out["meaning_practice_values"] = (frame, "")
    return out
