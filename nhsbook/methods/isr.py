"""Indirect standardisation: expected counts, standardised ratios (SMRs) and rates
(PHEindicatormethods ``calculate_ISRatio`` / ``calculate_ISRate``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhsbook.methods._common import (
    ArrayLike,
    _band_codes,
    _broadcast,
    _check_band_structure,
    _group_ids,
    _groupby_list,
    _require_columns,
    _wrap,
)
from nhsbook.methods.rates import rate_ci


def expected_counts(
    data: pd.DataFrame,
    ref_rates: pd.Series,
    *,
    count: str = "count",
    pop: str = "denominator",
    age: str = "age_band",
    groupby: list[str] | None = None,
) -> pd.DataFrame:
    """Observed and expected counts for indirect standardisation, one row per group.

    Method
        ``expected = Σᵢ nᵢ × Rᵢ`` with nᵢ the local population and Rᵢ the reference
        age-specific rate (events per person, e.g. ``ref_count / ref_pop``) of age band i;
        ``observed = Σᵢ xᵢ``.  Feed the result to :func:`isr` or :func:`isratio`.
    Reference
        PHEindicatormethods 2.1.0 ``calculate_ISRatio`` / ``calculate_ISRate``; Fingertips
        technical guidance, "Indirectly standardised ratios and rates".
    Edge cases
        A band missing from ``ref_rates`` or groups with different band sets raise ValueError
        (an expected count over fewer bands would be silently too small).  A missing or
        negative count/population, or a missing reference rate, makes that group's observed
        and expected NaN.
    Returns
        DataFrame: group columns, ``observed, expected, denominator``.
    """
    gb = _groupby_list(groupby)
    _require_columns(data, [count, pop, age] + gb)
    if not isinstance(ref_rates, pd.Series):
        raise ValueError("ref_rates must be a Series of reference rates indexed by age band")
    gid, keys = _group_ids(data, gb)
    n_groups = len(keys)
    band_index = pd.Index(ref_rates.index, dtype=object)
    bcode = _band_codes(data[age], band_index)
    if (bcode < 0).any():
        unknown = pd.unique(data[age].to_numpy()[bcode < 0])
        raise ValueError(f"age band(s) {list(unknown)} in column {age!r} are not in ref_rates")
    _check_band_structure(gid, bcode, n_groups, band_index, keys, age)
    r = pd.to_numeric(ref_rates, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)[bcode]
    x = pd.to_numeric(data[count]).to_numpy(dtype="float64", na_value=np.nan)
    p = pd.to_numeric(data[pop]).to_numpy(dtype="float64", na_value=np.nan)
    bad_row = ~np.isfinite(x) | ~np.isfinite(p) | ~np.isfinite(r) | (x < 0) | (p < 0) | (r < 0)
    bad = np.bincount(gid, weights=bad_row, minlength=n_groups) > 0
    obs = np.bincount(gid, weights=np.where(bad_row, 0.0, x), minlength=n_groups)
    exp_ = np.bincount(gid, weights=np.where(bad_row, 0.0, p * r), minlength=n_groups)
    den = np.bincount(gid, weights=np.where(bad_row, 0.0, p), minlength=n_groups)
    out = keys.copy()
    out["observed"] = np.where(bad, np.nan, obs)
    out["expected"] = np.where(bad, np.nan, exp_)
    out["denominator"] = np.where(bad, np.nan, den)
    return out


def isratio(
    observed: ArrayLike, expected: ArrayLike, conf: float = 0.95, multiplier: ArrayLike = 100.0
) -> pd.DataFrame:
    """Indirectly standardised ratio (e.g. SMR) with exact/Byar's limits.

    Method
        ``value = O / E × multiplier``; ``lower, upper = O_lower / E, O_upper / E ×
        multiplier`` with O_lower, O_upper the limits of the observed count
        (:func:`byars_limits`: exact χ² below 10, Byar's at 10 and above).
    Parameters
        observed: observed counts O.  expected: expected counts E (see
        :func:`expected_counts`).  multiplier: 100 (default, ratio as a percentage) or 1.
    Reference
        PHEindicatormethods 2.1.0 ``calculate_ISRatio`` (formerly ``phe_smr``); Fingertips
        technical guidance, "Indirectly standardised ratios"; Breslow & Day (1987).
    Edge cases
        O = 0 -> value 0, lower 0.  O < 0, E <= 0 or a missing value -> NaN row.
    Returns
        DataFrame ``value, lower, upper`` indexed like the input.
    """
    # The ratio O/E with limits on O is the crude-rate method with E as the denominator.
    return rate_ci(observed, expected, multiplier=multiplier, conf=conf)


def isr(
    observed: ArrayLike,
    expected: ArrayLike,
    ref_rate: ArrayLike,
    multiplier: ArrayLike = 100_000.0,
    conf: float = 0.95,
) -> pd.DataFrame:
    """Indirectly standardised rate with exact/Byar's limits.

    Method
        ``value = O / E × R × multiplier`` where R is the crude rate of the reference population
        **in events per person** (``Σ ref_count / Σ ref_pop``, not already multiplied);
        ``lower, upper = O_lower / E × R × multiplier, O_upper / E × R × multiplier`` with
        O_lower, O_upper the limits of the observed count (exact below 10, Byar's otherwise).
    Reference
        PHEindicatormethods 2.1.0 ``calculate_ISRate`` (formerly ``phe_isr``); Fingertips
        technical guidance, "Indirectly standardised rates".
    Edge cases
        O = 0 -> value 0, lower 0.  O < 0, E <= 0, R < 0 or a missing value -> NaN row.
    Returns
        DataFrame ``value, lower, upper`` indexed like the input.
    """
    arr, index, scalar = _broadcast(
        observed=observed, expected=expected, ref_rate=ref_rate, multiplier=multiplier
    )
    r = arr["ref_rate"]
    base = isratio(arr["observed"], arr["expected"], conf=conf, multiplier=arr["multiplier"])
    factor = np.where(np.isfinite(r) & (r >= 0), r, np.nan)
    return _wrap(
        index,
        scalar,
        value=base["value"].to_numpy() * factor,
        lower=base["lower"].to_numpy() * factor,
        upper=base["upper"].to_numpy() * factor,
    )
