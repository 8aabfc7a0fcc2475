"""What every method family shares: input handling (scalars, lists, arrays or Series to
aligned float arrays), the checks of confidence levels, columns, groups and age bands,
and the two public helpers of a confidence level, :func:`z_value` and :func:`conf_label`.

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Union

import numpy as np
import pandas as pd
from scipy import stats

ArrayLike = Union[float, int, Sequence[float], np.ndarray, pd.Series]


def _to_array(x: Any, name: str) -> tuple[np.ndarray, pd.Index | None]:
    """``x`` as a float array (0-d for scalars) and its index if it is a Series."""
    if isinstance(x, pd.DataFrame):
        raise ValueError(f"{name} must be a scalar, list, array or Series, not a DataFrame")
    index = x.index if isinstance(x, pd.Series) else None
    try:
        if isinstance(x, (pd.Series, pd.Index)):
            arr = pd.to_numeric(pd.Series(x), errors="raise").to_numpy(
                dtype="float64", na_value=np.nan
            )
        else:
            arr = np.asarray(x, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr, index


def _broadcast(**named: Any) -> tuple[dict[str, np.ndarray], pd.Index, bool]:
    """Arrays of equal length for the named arguments, with the common index.

    Series must share one index; arrays and lists must have the same length as each other and
    as any Series; scalars broadcast.  Returns the arrays, the index of the result (the Series'
    index, else a RangeIndex) and whether every input was a scalar.
    """
    arrays: dict[str, np.ndarray] = {}
    index: pd.Index | None = None
    index_from = ""
    length: int | None = None
    length_from = ""
    for name, value in named.items():
        arr, idx = _to_array(value, name)
        arrays[name] = arr
        if idx is not None:
            if index is None:
                index, index_from = idx, name
            elif not idx.equals(index):
                raise ValueError(
                    f"{name} and {index_from} are Series with different indexes; align them first"
                )
        if arr.ndim == 1:
            if length is None:
                length, length_from = len(arr), name
            elif len(arr) != length:
                raise ValueError(
                    f"{name} has length {len(arr)} but {length_from} has length {length}"
                )
    scalar = length is None
    n = 1 if scalar else int(length)
    out = {
        k: np.broadcast_to(np.atleast_1d(v), (n,)).astype("float64", copy=True)
        if v.ndim == 0
        else v
        for k, v in arrays.items()
    }
    if index is None:
        index = pd.RangeIndex(n)
    return out, index, scalar


def _check_conf(conf: float, name: str = "conf") -> float:
    try:
        c = float(conf)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number between 0 and 1, got {conf!r}") from None
    if not 0.0 < c < 1.0:
        raise ValueError(
            f"{name} must be a fraction between 0 and 1 (e.g. 0.95 or 0.998), got {conf!r}"
        )
    return c


def _require_columns(data: pd.DataFrame, columns: Iterable[str], name: str = "data") -> None:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"{name} has no column(s) {missing}; it has {list(data.columns)}")


def _groupby_list(groupby: str | Sequence[str] | None) -> list[str]:
    if groupby is None:
        return []
    if isinstance(groupby, str):
        return [groupby]
    return list(groupby)


def _group_ids(data: pd.DataFrame, groupby: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Group number of each row (0..G-1, sorted by key) and the keys of each group."""
    if not groupby:
        return np.zeros(len(data), dtype=np.intp), pd.DataFrame(index=pd.RangeIndex(1))
    g = data.groupby(groupby, sort=True, dropna=False, observed=True)
    gid = g.ngroup().to_numpy(dtype=np.intp)
    keys = g.size().index.to_frame(index=False)
    keys.columns = groupby
    return gid, keys


def _describe_group(keys: pd.DataFrame, g: int) -> str:
    if keys.shape[1] == 0:
        return "the data"
    row = keys.iloc[g]
    return "group " + ", ".join(f"{k}={row[k]!r}" for k in keys.columns)


def _band_codes(bands: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each row's band in ``index`` (-1 where the band is not in it)."""
    codes, uniques = pd.factorize(bands, use_na_sentinel=True)
    pos = index.get_indexer(pd.Index(uniques, dtype=object))
    out = np.full(len(codes), -1, dtype=np.intp)
    ok = codes >= 0
    out[ok] = pos[codes[ok]]
    return out


def _check_band_structure(
    gid: np.ndarray,
    bcode: np.ndarray,
    n_groups: int,
    band_index: pd.Index,
    keys: pd.DataFrame,
    age: str,
) -> np.ndarray:
    """Raise unless every group has each band at most once and all groups the same bands.

    Returns the boolean mask of the bands used (present in at least one group).
    """
    nb = len(band_index)
    counts = np.bincount(gid * nb + bcode, minlength=n_groups * nb).reshape(n_groups, nb)
    dup = np.argwhere(counts > 1)
    if len(dup):
        g, b = dup[0]
        raise ValueError(
            f"{_describe_group(keys, g)} has age band {band_index[b]!r} in column "
            f"{age!r} more than once ({len(dup)} duplicated group/band pairs)"
        )
    present = counts > 0
    used = present.any(axis=0)
    missing = used[None, :] & ~present
    bad = np.flatnonzero(missing.any(axis=1))
    if len(bad):
        msgs = [
            f"{_describe_group(keys, g)} is missing age band(s) "
            f"{[band_index[b] for b in np.flatnonzero(missing[g])]}"
            for g in bad[:5]
        ]
        more = f" (and {len(bad) - 5} more groups)" if len(bad) > 5 else ""
        raise ValueError(
            "every group must have the same set of age bands: " + "; ".join(msgs) + more
        )
    return used


def z_value(conf: float) -> float:
    """Two-sided standard normal critical value for confidence level ``conf``.

    Method
        ``z = Φ⁻¹(1 − (1 − conf)/2)`` with Φ the standard normal cdf (``scipy.stats.norm``).
    Reference
        PHEindicatormethods 2.1.0 (all ``phe_*`` functions); Fingertips technical guidance,
        "Confidence intervals".
    Edge cases
        ``conf`` must be a fraction strictly between 0 and 1 (0.95, not 95): otherwise
        :class:`ValueError`.  ``z_value(0.95) = 1.959964``, ``z_value(0.998) = 3.090232``.
    """
    c = _check_conf(conf)
    return float(stats.norm.ppf(1.0 - (1.0 - c) / 2.0))


def conf_label(conf: float) -> str:
    """Column suffix for a confidence level, as the data model names limits.

    Method
        ``conf × 100`` written without the decimal point: 0.95 -> "95", 0.998 -> "998",
        0.99 -> "99" (the ``lower_95`` / ``upper_998`` columns of ``nhsbook.core.model``).
    Reference
        Fingertips export columns "Lower CI 95.0 limit", "Lower CI 99.8 limit".
    Edge cases
        ``conf`` outside (0, 1) raises ValueError.
    """
    c = _check_conf(conf)
    return f"{c * 100:.10g}".replace(".", "")


def _wrap(index: pd.Index, scalar: bool, **cols: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(cols, index=index if not scalar else pd.RangeIndex(1))
