"""Means with Student's t limits (PHEindicatormethods ``phe_mean``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from nhsbook.methods._common import (
    ArrayLike,
    _check_conf,
    _groupby_list,
    _require_columns,
    _to_array,
)


def mean_ci(
    values: ArrayLike | pd.DataFrame,
    conf: float = 0.95,
    *,
    x: str = "x",
    groupby: list[str] | None = None,
) -> pd.DataFrame:
    """Mean with Student's t confidence limits (optionally per group).

    Method
        Over the n **non-missing** observations: ``value = Σx / n``; ``s`` the sample standard
        deviation (n − 1 divisor); ``lower, upper = value ∓ t(1 − (1 − c)/2; n − 1) × s / √n``
        (``scipy.stats.t``).
    Parameters
        values: the observations (list/array/Series), or a DataFrame with the observations in
        column ``x`` and optional ``groupby`` columns.  conf: confidence level.
    Reference
        PHEindicatormethods 2.1.0 ``phe_mean`` (R/Means.R: ``value_sum / value_count``,
        ``qt(p, value_count − 1)``); Fingertips technical guidance, "Means"; Armitage & Berry
        (2002).
    Edge cases
        * Missing observations are left out of the calculation and **not counted in n**; the
          ``missing`` column gives how many were left out and ``value_note`` says so
          ("2 missing values excluded").  (``phe_mean`` has no missing-value rule: R's
          ``sum`` and ``sd`` return NA and ``length`` counts the missing values.)
        * n = 1: value given, limits NaN (no variance).  No non-missing observation: NaN.
    Returns
        DataFrame ``n, missing, sd, value, lower, upper, value_note`` (one row; or one per group
        after the group columns).
    """
    c = _check_conf(conf)
    gb = _groupby_list(groupby)
    if isinstance(values, pd.DataFrame):
        _require_columns(values, [x] + gb, "values")
        df = values[gb + [x]].copy()
        df[x] = pd.to_numeric(df[x], errors="raise").astype("float64")
    else:
        if gb:
            raise ValueError("groupby needs values to be a DataFrame")
        arr, _ = _to_array(values, "values")
        df = pd.DataFrame({x: np.atleast_1d(arr)})
    if gb:
        g = df.groupby(gb, sort=True, dropna=False, observed=True)[x]
        agg = pd.DataFrame(
            {"n": g.count(), "missing": g.size() - g.count(), "sum": g.sum(), "sd": g.std(ddof=1)}
        ).reset_index()
    else:
        s = df[x]
        agg = pd.DataFrame(
            {
                "n": [int(s.count())],
                "missing": [int(s.isna().sum())],
                "sum": [s.sum()],
                "sd": [s.std(ddof=1)],
            }
        )
    n = agg["n"].to_numpy(dtype="float64")
    ok = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(ok, agg["sum"].to_numpy(dtype="float64") / n, np.nan)
        sd = np.where(n > 1, agg["sd"].to_numpy(dtype="float64"), np.nan)
        tcrit = stats.t.ppf(1 - (1 - c) / 2, np.where(n > 1, n - 1, np.nan))
        half = tcrit * sd / np.sqrt(n)
    miss = agg["missing"].to_numpy(dtype=int)
    out = agg[gb].copy() if gb else pd.DataFrame(index=pd.RangeIndex(1))
    out["n"] = agg["n"].to_numpy(dtype=int)
    out["missing"] = miss
    out["sd"] = sd
    out["value"] = mean
    out["lower"] = mean - half
    out["upper"] = mean + half
    out["value_note"] = [
        f"{k} missing value{'' if k == 1 else 's'} excluded" if k else "" for k in miss
    ]
    return out
