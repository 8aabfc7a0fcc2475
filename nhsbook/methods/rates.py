"""Counts and crude rates: exact Poisson limits below 10 events, Byar's from 10
(PHEindicatormethods ``phe_rate``, ``byars_lower`` / ``byars_upper``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nhsbook.methods._common import ArrayLike, _broadcast, _check_conf, _to_array, _wrap

_EXACT_BELOW = 10.0  # counts below this use exact Poisson limits, Byar's at and above


def _count_limits(
    o: np.ndarray, conf: float, exact_below: float = _EXACT_BELOW
) -> tuple[np.ndarray, np.ndarray]:
    """Lower/upper confidence limits of a Poisson count (exact below ``exact_below``)."""
    c = _check_conf(conf)
    alpha = 1.0 - c
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    lo = np.full(o.shape, np.nan)
    up = np.full(o.shape, np.nan)
    valid = np.isfinite(o) & (o >= 0)
    exact = valid & (o < exact_below)
    if exact.any():
        oe = o[exact]
        with np.errstate(invalid="ignore"):
            lo_e = stats.chi2.ppf(alpha / 2.0, 2.0 * oe) / 2.0
        lo[exact] = np.where(oe == 0, 0.0, lo_e)
        up[exact] = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * oe + 2.0) / 2.0
    byar = valid & ~exact
    if byar.any():
        ob = o[byar]
        with np.errstate(divide="ignore", invalid="ignore"):
            lo_b = ob * (1.0 - 1.0 / (9.0 * ob) - z / (3.0 * np.sqrt(ob))) ** 3
        # Byar's lower limit is undefined (the cubed term is negative) for very small counts
        # at high confidence; report NaN rather than a negative count, 0 for a zero count.
        lo_b = np.where(ob == 0, 0.0, np.where(lo_b >= 0, lo_b, np.nan))
        lo[byar] = lo_b
        o1 = ob + 1.0
        up[byar] = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3
    return lo, up


def byars_limits(
    count: ArrayLike, conf: float = 0.95, exact_below: float = _EXACT_BELOW
) -> tuple[Any, Any]:
    """Confidence limits of a Poisson count: exact below 10, Byar's approximation otherwise.

    Method
        For O < ``exact_below`` (default 10) the exact limits from the χ² distribution::

            lower = χ²((1 − c)/2; 2O) / 2,   upper = χ²(c + (1 − c)/2; 2O + 2) / 2

        otherwise Byar's approximation::

            lower = O (1 − 1/(9O) − z/(3√O))³
            upper = (O + 1)(1 − 1/(9(O + 1)) + z/(3√(O + 1)))³

    Parameters
        count: observed counts O.  conf: confidence level (fraction).  exact_below: counts
        below this use the exact method; pass 0 for Byar's method at every count (as the
        PHEindicatormethods ``byars_lower``/``byars_upper`` helpers).
    Reference
        Breslow NE, Day NE (1987) Statistical methods in cancer research vol II, IARC;
        PHEindicatormethods 2.1.0 ``byars_lower``/``byars_upper`` and ``phe_rate``; Fingertips
        technical guidance, "Rates" (exact method for counts < 10).
    Edge cases
        O = 0 -> lower 0 (upper 3.689 at 95%).  Negative or missing counts -> NaN.  With the
        pure Byar's method (``exact_below=0``) a lower limit that the formula makes negative
        (e.g. O = 1 at 99.8%) is NaN.
    Returns
        ``(lower, upper)`` of the count itself, as Series aligned to a Series input, arrays for
        list/array input, floats for a scalar.  Divide by a denominator for a rate.
    """
    arr, index = _to_array(count, "count")
    scalar = arr.ndim == 0
    lo, up = _count_limits(np.atleast_1d(arr), conf, exact_below)
    if scalar:
        return float(lo[0]), float(up[0])
    if index is not None:
        return pd.Series(lo, index=index, name="lower"), pd.Series(up, index=index, name="upper")
    return lo, up


def rate_ci(
    count: ArrayLike, denom: ArrayLike, multiplier: ArrayLike = 100_000.0, conf: float = 0.95
) -> pd.DataFrame:
    """Crude rate with exact Poisson (count < 10) or Byar's (count >= 10) confidence limits.

    Method
        ``value = O / n × multiplier``; ``lower, upper = O_lower / n × multiplier,
        O_upper / n × multiplier`` where ``O_lower, O_upper`` are the confidence limits of
        the count from :func:`byars_limits` (exact χ² below 10, Byar's otherwise).
    Parameters
        count: observed events O.  denom: person-years at risk n.  multiplier: rate per
        (default 100,000), scalar or a Series aligned with the counts.  conf: fraction.
    Reference
        PHEindicatormethods 2.1.0 ``phe_rate``; Fingertips technical guidance, "Rates"; Breslow
        & Day (1987); Armitage P, Berry G (2002) Statistical methods in medical research.
    Edge cases
        O = 0 -> value 0, lower 0, upper 3.689/n × multiplier (95%).  A count above the
        denominator is allowed (rates are not bounded).  O < 0, n <= 0 or a missing value give
        a NaN row.
    Returns
        DataFrame ``value, lower, upper`` indexed like the input.
    """
    arr, index, scalar = _broadcast(count=count, denom=denom, multiplier=multiplier)
    o, n, m = arr["count"], arr["denom"], arr["multiplier"]
    valid = np.isfinite(o) & np.isfinite(n) & np.isfinite(m) & (o >= 0) & (n > 0)
    os_ = np.where(valid, o, np.nan)
    lo, up = _count_limits(os_, conf)
    scale = np.where(valid, m / np.where(n > 0, n, 1.0), np.nan)
    return _wrap(index, scalar, value=os_ * scale, lower=lo * scale, upper=up * scale)
