"""Directly standardised rates with Dobson limits and the European Standard Population
2013 (PHEindicatormethods ``calculate_dsr``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from nhsbook.core.model import AGE_BANDS
from nhsbook.methods._common import (
    ArrayLike,
    _band_codes,
    _check_band_structure,
    _check_conf,
    _group_ids,
    _groupby_list,
    _require_columns,
    _to_array,
)
from nhsbook.methods.rates import _EXACT_BELOW, _count_limits

#: European Standard Population 2013: the 19 five-year bands 0-4 ... 85-89, 90+
#: (Eurostat 2013; as used by Fingertips and PHEindicatormethods ``esp2013``).
ESP2013: pd.Series = pd.Series(
    [
        5000,
        5500,
        5500,
        5500,
        6000,
        6000,
        6500,
        7000,
        7000,
        7000,
        7000,
        6500,
        6000,
        5500,
        5000,
        4000,
        2500,
        1500,
        1000,
    ],
    index=pd.Index(AGE_BANDS, name="age_band"),
    name="esp2013",
    dtype="float64",
)


_NOTE_INVALID_DSR = (
    "Not calculated: a count or denominator is missing, negative, or a "
    "denominator is zero in at least one age band"
)
_NOTE_DSR_SMALL = "Not published: DSRs are not calculated when the total count is below 10"
_NOTE_DSR_MISSING = "{k} missing age-band count{s} counted as 0 (national method)"


def dsr(
    data: pd.DataFrame,
    *,
    count: str = "count",
    pop: str = "denominator",
    age: str = "age_band",
    groupby: list[str] | None = None,
    standard: pd.Series | ArrayLike = ESP2013,
    multiplier: float = 100_000.0,
    conf: float = 0.95,
) -> pd.DataFrame:
    """Directly standardised rate (DSR) with Dobson confidence limits, one row per group.

    Method
        For each group, with xᵢ the count, nᵢ the population and wᵢ the standard population of
        age band i (the bands present in the data, weights from ``standard``)::

            DSR     = Σ(xᵢ wᵢ / nᵢ) / Σwᵢ × multiplier
            var     = Σ(xᵢ (wᵢ / nᵢ)²) / (Σwᵢ)²
            limits  = (DSR/multiplier + √(var / O) × (O_lim − O)) × multiplier

        where O = Σxᵢ is the total count and O_lim its lower/upper Byar's limits (Dobson et al
        1991).  The total count and population are returned as ``count`` and ``denominator``.
    Parameters
        data: long table, one row per group × age band.  count, pop, age: its column names.
        groupby: columns defining the groups (None: the whole table is one group).
        standard: standard population weights, a Series indexed by age band (default
        :data:`ESP2013`); or an array with one weight per distinct age band of ``data[age]``
        in ascending order of the bands' start ages (the first number of each label: "0-4",
        "5-9", ..., "90+").  Either way each row's weight is looked up by its age-band label,
        never by its row position within its group, so two groups listing the same bands in
        different orders get the same weights (PHEindicatormethods carries ``stdpop`` as a
        column of each row, i.e. also per band).
        multiplier: rate per (default 100,000).  conf: confidence level (fraction).
    Reference
        PHEindicatormethods 2.1.0 ``calculate_dsr`` / internal ``dsr_inner`` (R/DSR.R):
        ``wt_rate = na.zero(x) × stdpop / n``, ``total_count = sum(x, na.rm = TRUE)``, DSR
        not published when ``total_count < 10``; Dobson AJ, Kuulasmaa K, Eberle E, Scherer J
        (1991) Stat Med 10:457-462; Fingertips technical guidance, "Directly standardised
        rates"; European Standard Population 2013 (Eurostat).
    Edge cases
        * A **missing count** in a band counts as 0, as the national method does (``na.zero``
          in R/DSR.R); the row's ``value_note`` says how many band counts were missing.
        * Total count < 10: value and limits NaN, ``value_note`` explains (national rule: DSRs
          are not published for fewer than 10 events).
        * Zero counts in a band are fine.  A negative count, or a population that is missing
          or <= 0, in any band: that group's count, denominator, value and limits are NaN with
          a note (PHEindicatormethods stops the whole call instead; nhsbook blanks the group so
          that one bad area does not stop a book).
        * Raises ValueError if a column is missing, an age band is not in ``standard``, a group
          has a band twice, groups do not all have the same set of bands (naming the group and
          its missing bands), or the standard has negative/missing weights.
    Returns
        DataFrame: group columns, ``count, denominator, value, lower, upper, value_note``.
    """
    gb = _groupby_list(groupby)
    _require_columns(data, [count, pop, age] + gb)
    _check_conf(conf)
    mult = float(multiplier)
    if len(data) == 0:
        if not gb:
            raise ValueError("data is empty")
        return pd.DataFrame(
            {c: [] for c in gb + ["count", "denominator", "value", "lower", "upper", "value_note"]}
        )
    gid, keys = _group_ids(data, gb)
    n_groups = len(keys)
    weights = _dsr_weights(data, gid, n_groups, keys, standard, age)
    x = pd.to_numeric(data[count], errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    p = pd.to_numeric(data[pop], errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    missing_x = np.isnan(x)
    x = np.where(missing_x, 0.0, x)  # national rule: a missing band count counts as 0
    n_missing = np.bincount(gid, weights=missing_x, minlength=n_groups).astype(int)
    bad_row = ~np.isfinite(x) | ~np.isfinite(p) | (x < 0) | (p <= 0)
    bad = np.bincount(gid, weights=bad_row, minlength=n_groups) > 0
    xs = np.where(bad_row, 0.0, x)
    ps = np.where(bad_row, 1.0, p)
    ratio = weights / ps
    o_tot = np.bincount(gid, weights=xs, minlength=n_groups)
    n_tot = np.bincount(gid, weights=ps, minlength=n_groups)
    w_tot = np.bincount(gid, weights=weights, minlength=n_groups)
    num = np.bincount(gid, weights=xs * ratio, minlength=n_groups)
    var_num = np.bincount(gid, weights=xs * ratio * ratio, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = num / w_tot
        var = var_num / (w_tot * w_tot)
        lo_o, up_o = _count_limits(o_tot, conf)
        half = np.sqrt(var / o_tot)
        lower = (rate + half * (lo_o - o_tot)) * mult
        upper = (rate + half * (up_o - o_tot)) * mult
    small = o_tot < _EXACT_BELOW
    hide = bad | small
    out = keys.copy()
    out["count"] = np.where(bad, np.nan, o_tot)
    out["denominator"] = np.where(bad, np.nan, n_tot)
    out["value"] = np.where(hide, np.nan, rate * mult)
    out["lower"] = np.where(hide, np.nan, lower)
    out["upper"] = np.where(hide, np.nan, upper)
    note = np.where(bad, _NOTE_INVALID_DSR, np.where(small, _NOTE_DSR_SMALL, "")).astype(object)
    miss_note = np.array(
        [_NOTE_DSR_MISSING.format(k=k, s="" if k == 1 else "s") for k in n_missing], dtype=object
    )
    has_missing = (n_missing > 0) & ~bad
    note = np.where(
        has_missing & (note == ""), miss_note, np.where(has_missing, note + "; " + miss_note, note)
    )
    out["value_note"] = note
    return out


def _bands_by_start_age(col: pd.Series, age: str) -> list:
    """Distinct age bands of ``col`` in ascending order of their start age, the first number
    in the label ("0-4" -> 0, "5-9" -> 5, "90+" -> 90; numeric ages as they are)."""
    bands = list(pd.unique(col.dropna().to_numpy()))
    starts = []
    for b in bands:
        m = re.search(r"\d+(\.\d+)?", str(b))
        if m is None:
            raise ValueError(
                f"age band {b!r} in column {age!r} has no start age to order it by; "
                "pass standard as a Series indexed by age band"
            )
        starts.append(float(m.group()))
    if len(set(starts)) != len(starts):
        raise ValueError(
            f"age bands {bands} in column {age!r} do not have distinct start ages; "
            "pass standard as a Series indexed by age band"
        )
    return [b for _, b in sorted(zip(starts, bands))]


def _dsr_weights(
    data: pd.DataFrame, gid: np.ndarray, n_groups: int, keys: pd.DataFrame, standard: Any, age: str
) -> np.ndarray:
    """Standard-population weight of every row, looked up by the row's age-band label (and
    the band-structure checks)."""
    if isinstance(standard, pd.Series):
        if standard.index.has_duplicates:
            raise ValueError(
                "standard has duplicated age bands: "
                f"{list(standard.index[standard.index.duplicated()])}"
            )
        std = standard
    else:
        # one weight per distinct band, in ascending order of the bands' start ages
        w, _ = _to_array(standard, "standard")
        w = np.atleast_1d(w)
        bands = _bands_by_start_age(data[age], age)
        if len(w) != len(bands):
            raise ValueError(
                f"standard has {len(w)} weights but column {age!r} has {len(bands)} "
                f"distinct age bands {list(bands)}; give one weight per band in "
                "ascending age order, or pass standard as a Series indexed by "
                "age band"
            )
        std = pd.Series(w, index=pd.Index(bands, dtype=object))
    w = pd.to_numeric(std, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            "standard must hold non-negative weights for every age band; got "
            f"{std[~(np.isfinite(w) & (w >= 0))].to_dict()}"
        )
    band_index = pd.Index(std.index, dtype=object)
    bcode = _band_codes(data[age], band_index)
    if (bcode < 0).any():
        unknown = pd.unique(data[age].to_numpy()[bcode < 0])
        raise ValueError(
            f"age band(s) {list(unknown)} in column {age!r} are not in standard "
            f"(which has {list(band_index)})"
        )
    _check_band_structure(gid, bcode, n_groups, band_index, keys, age)
    weights = w[bcode]
    if np.any(np.bincount(gid, weights=weights, minlength=n_groups) <= 0):
        raise ValueError("standard gives a total weight of 0 for the age bands present")
    return weights
