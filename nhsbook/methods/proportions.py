"""Proportions with Wilson score limits (PHEindicatormethods ``phe_proportion``,
``wilson_lower`` / ``wilson_upper``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nhsbook.methods._common import ArrayLike, _broadcast, _wrap, z_value


def wilson_limits(
    count: ArrayLike, denom: ArrayLike, conf: float = 0.95
) -> tuple[np.ndarray | pd.Series, np.ndarray | pd.Series]:
    """Wilson score limits of a proportion ``count/denom`` (as fractions, not multiplied).

    Method
        Wilson score interval (Wilson 1927; Newcombe 1998)::

            lower, upper = (2x + z² ∓ z·√(z² + 4x(1 − x/n))) / (2(n + z²))

        with x the count, n the denominator and ``z = z_value(conf)``.
    Reference
        PHEindicatormethods 2.1.0 ``wilson_lower`` / ``wilson_upper`` and ``phe_proportion``;
        Fingertips technical guidance, "Proportions"; APHO Technical Briefing 3, appendix 3.
    Edge cases
        x = 0 gives lower 0; x = n gives upper 1.  Non-integer counts are allowed.  x < 0,
        n <= 0, x > n or a missing value give NaN limits.
    Returns
        ``(lower, upper)``: Series aligned to the input if it had an index, else arrays (floats
        for scalar input).
    """
    arr, index, scalar = _broadcast(count=count, denom=denom)
    x, n = arr["count"], arr["denom"]
    z = z_value(conf)
    lo, up = _wilson(x, n, z)
    return _unwrap_pair(lo, up, index, scalar, count, denom)


def _wilson(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    valid = np.isfinite(x) & np.isfinite(n) & (x >= 0) & (n > 0) & (x <= n)
    xs = np.where(valid, x, 0.0)
    ns = np.where(valid, n, 1.0)
    root = z * np.sqrt(z * z + 4.0 * xs * (1.0 - xs / ns))
    denom = 2.0 * (ns + z * z)
    lo = np.clip((2.0 * xs + z * z - root) / denom, 0.0, 1.0)
    up = np.clip((2.0 * xs + z * z + root) / denom, 0.0, 1.0)
    lo = np.where(xs == 0, 0.0, lo)
    up = np.where(xs == ns, 1.0, up)
    return np.where(valid, lo, np.nan), np.where(valid, up, np.nan)


def _unwrap_pair(lo: np.ndarray, up: np.ndarray, index: pd.Index, scalar: bool, *inputs: Any):
    if scalar:
        return float(lo[0]), float(up[0])
    if any(isinstance(i, pd.Series) for i in inputs):
        return pd.Series(lo, index=index, name="lower"), pd.Series(up, index=index, name="upper")
    return lo, up


def proportion_ci(
    count: ArrayLike, denom: ArrayLike, conf: float = 0.95, multiplier: ArrayLike = 100.0
) -> pd.DataFrame:
    """Proportion with Wilson score confidence limits.

    Method
        ``value = x / n × multiplier``; limits are the Wilson score limits (see
        :func:`wilson_limits`) × multiplier::

            lower, upper = (2x + z² ∓ z·√(z² + 4x(1 − x/n))) / (2(n + z²)) × multiplier

    Parameters
        count, denom: numerators x and denominators n (scalars, lists, arrays or Series).
        conf: confidence level as a fraction.
        multiplier: 1 for a proportion of 1, 100 (default) for a percentage; may be a Series
        aligned with the counts (one multiplier per row).
    Reference
        PHEindicatormethods 2.1.0 ``phe_proportion`` (method "Wilson"); Fingertips technical
        guidance, "Proportions"; Wilson EB (1927) JASA 22:209-212.
    Edge cases
        x = 0 -> lower 0; x = n -> upper = multiplier.  A row with x < 0, n <= 0, x > n or any
        missing input has NaN value and limits (PHEindicatormethods raises instead; here the
        row is blanked so that one bad practice does not stop a whole book).
    Returns
        DataFrame with columns ``value, lower, upper`` indexed like the input Series (a
        RangeIndex otherwise; one row for scalar input).
    """
    arr, index, scalar = _broadcast(count=count, denom=denom, multiplier=multiplier)
    x, n, m = arr["count"], arr["denom"], arr["multiplier"]
    z = z_value(conf)
    lo, up = _wilson(x, n, z)
    valid = np.isfinite(lo) & np.isfinite(m)
    value = np.where(valid, x / np.where(n > 0, n, np.nan), np.nan)
    return _wrap(
        index,
        scalar,
        value=value * m,
        lower=np.where(valid, lo * m, np.nan),
        upper=np.where(valid, up * m, np.nan),
    )
