"""Quantiles (deciles, quintiles, ...) and percentiles as Fingertips calculates them
(PHEindicatormethods ``phe_quantile``; Excel ``PERCENTILE.INC``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nhsbook.methods._common import ArrayLike, _to_array


def quantile_class(
    values: ArrayLike,
    n: int = 10,
    high_is_low_rank: bool | ArrayLike = False,
    groups: ArrayLike | pd.DataFrame | None = None,
) -> pd.Series:
    """Fingertips quantile (decile, quintile, ...) of each value, within optional groups.

    Method
        Values are ranked within their group (ties share the lowest rank, "min"; missing
        values are not ranked), N is the number of non-missing values in the group, nq = n::

            quantile = floor((nq + 1) − ceiling(((N + 1) − rank) / (N / nq)))
            quantile = 1 where that gives 0

        evaluated in that order in double precision, exactly as R/Quantiles.R does (so the
        floating-point result, and hence the class at every boundary, is the national one for
        every N), so rank 1 is in quantile 1.  With ``high_is_low_rank=False`` the lowest value has rank
        1; with True the highest value has rank 1 (PHEindicatormethods ``invert = TRUE``; e.g.
        for a low-is-good indicator so that quantile 1 holds the worst areas).
    Parameters
        values: the values.  n: number of quantiles (10 deciles, 5 quintiles, 4 quartiles).
        high_is_low_rank: one bool, or one per value (must then be constant within a group).
        groups: a key per value (Series/array) or a DataFrame of key columns; None for one
        group.
    Reference
        PHEindicatormethods 2.1.0 ``phe_quantile`` (R/Quantiles.R); Fingertips technical
        guidance, "Quantiles".
    Edge cases
        Missing values -> missing quantile.  A group with fewer non-missing values than n ->
        all missing (as the national method).  ``high_is_low_rank`` varying within a group
        raises ValueError.
    Returns
        Series of nullable integers (``Int64``) aligned to ``values``.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    v, index = _to_array(values, "values")
    v = np.atleast_1d(v)
    idx = index if index is not None else pd.RangeIndex(len(v))
    if groups is None:
        key = pd.Series(np.zeros(len(v), dtype=np.intp), index=idx)
    else:
        gdf = (
            groups if isinstance(groups, pd.DataFrame) else pd.DataFrame({"g": np.asarray(groups)})
        )
        if (
            isinstance(groups, (pd.Series, pd.DataFrame))
            and index is not None
            and len(groups) == len(v)
            and not groups.index.equals(index)
        ):
            raise ValueError("groups and values have different indexes; align them first")
        if len(gdf) != len(v):
            raise ValueError(f"groups has length {len(gdf)} but values has length {len(v)}")
        key = pd.Series(
            gdf.groupby(list(gdf.columns), sort=False, dropna=False).ngroup().to_numpy(), index=idx
        )
    if np.ndim(high_is_low_rank) == 0:
        inv = np.full(len(v), bool(high_is_low_rank))
    else:
        inv_raw = np.asarray(high_is_low_rank)
        if len(inv_raw) != len(v):
            raise ValueError(
                f"high_is_low_rank has length {len(inv_raw)} but values has length {len(v)}"
            )
        inv = inv_raw.astype(bool)
        varying = pd.Series(inv).groupby(key.to_numpy()).nunique() > 1
        if varying.any():
            raise ValueError(
                "high_is_low_rank must be the same for every value of a group; it "
                f"varies in {int(varying.sum())} group(s)"
            )
    adj = pd.Series(np.where(inv, -v, v), index=idx)
    g = adj.groupby(key.to_numpy())
    rank = g.rank(method="min", na_option="keep").to_numpy()
    big_n = g.transform("count").to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        # the national formula's operations in its order, in IEEE double arithmetic as R:
        # ((N + 1) - rank) / (N / nq), not ((N + 1) - rank) * nq / N (they differ by an ulp for
        # some N, which ceiling() turns into a whole quantile)
        q = np.floor((n + 1) - np.ceil(((big_n + 1) - rank) / (big_n / n)))
    q = np.where(q == 0, 1.0, q)
    q = np.where(np.isfinite(v) & (big_n >= n), q, np.nan)
    return pd.Series(q, index=idx, name="quantile").astype("Int64")


def percentile(values: ArrayLike, p: float | Sequence[float]) -> float | pd.Series:
    """Percentile as Fingertips calculates it (Excel ``PERCENTILE.INC``).

    Method
        Sorted non-missing values x₁ ≤ ... ≤ x_N; position h = (N − 1)·p + 1; linear
        interpolation between x_⌊h⌋ and x_⌊h⌋₊₁ (numpy's default "linear" method).
    Reference
        Fingertips technical guidance (spine chart 25th/75th percentiles); Microsoft Excel
        PERCENTILE.INC; Hyndman RJ, Fan Y (1996) Am Stat 50:361-365, definition 7.
    Edge cases
        Missing values are ignored; with 3 or fewer values the result is NaN (Fingertips needs
        more than 3).  p outside [0, 1] raises ValueError.
    Returns
        A float for scalar ``p``; a Series indexed by p for a sequence.
    """
    v, _ = _to_array(values, "values")
    v = np.atleast_1d(v)
    v = v[np.isfinite(v)]
    ps = np.atleast_1d(np.asarray(p, dtype="float64"))
    if np.any(~np.isfinite(ps)) or np.any((ps < 0) | (ps > 1)):
        raise ValueError(f"p must be between 0 and 1 (e.g. 0.25), got {p!r}")
    res = np.quantile(v, ps) if len(v) > 3 else np.full(len(ps), np.nan)
    if np.ndim(p) == 0:
        return float(res[0])
    return pd.Series(res, index=pd.Index(ps, name="p"), name="percentile")
