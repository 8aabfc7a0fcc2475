"""Comparison with a comparator, as Fingertips labels it (Similar, Better, Worse, Best,
Worst, Higher, Lower, Not compared), and z-scores against a peer group (SPOT).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nhsbook.methods._common import ArrayLike, _broadcast, _check_conf, _to_array

_POLARITY_LABELS = ("high_is_good", "low_is_good", "no_judgement")


def compare(
    value: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    comparator: ArrayLike,
    polarity: str | pd.Series | Sequence[str],
    conf: float = 0.95,
    lower_998: ArrayLike | None = None,
    upper_998: ArrayLike | None = None,
    *,
    area_code: Any = None,
    comparator_code: Any = None,
) -> pd.Series:
    """Significance of each value against its comparator, as Fingertips labels it.

    Method
        One level (default): the comparator inside ``[lower, upper]`` (inclusive) ->
        "Similar"; the whole interval above the comparator -> "Better" when high is good,
        "Worse" when low is good, "Higher" for no judgement; below -> "Worse"/"Better"/
        "Lower".  Two levels (``lower_998``/``upper_998`` given, ``lower``/``upper`` the 95%
        limits): inside 95% "Similar"; outside 95% but inside 99.8% "Better"/"Worse";
        outside 99.8% "Best"/"Worst" (no judgement stays "Higher"/"Lower").
    Parameters
        value, lower, upper: the area's value and limits (at confidence ``conf``).
        comparator: the comparator's value (e.g. England).  polarity: "high_is_good",
        "low_is_good" or "no_judgement", one for all rows or a Series/list aligned with them.
        conf: the confidence level of ``lower``/``upper`` (recorded for validation only).
        area_code, comparator_code: optional codes of each row's area and of its comparator
        (scalars or aligned with the values); a row whose area *is* its comparator gets
        "Not compared".
    Reference
        Fingertips technical guidance, "Comparing values with a benchmark"; Fingertips
        profiles' significance legend (the benchmark's own row, e.g. England against England,
        is "Not compared").
    Edge cases
        Any of value, lower, upper or comparator missing (or the 99.8% limits missing when
        given), or lower > upper -> "Not compared".  The comparator compared with itself
        (``area_code == comparator_code``) -> "Not compared", never "Similar".  Unknown or
        missing polarity labels raise ValueError.
    Returns
        Series of labels aligned to the input index.
    """
    _check_conf(conf)
    named: dict[str, Any] = {
        "value": value,
        "lower": lower,
        "upper": upper,
        "comparator": comparator,
    }
    two_level = lower_998 is not None or upper_998 is not None
    if two_level:
        if lower_998 is None or upper_998 is None:
            raise ValueError("give both lower_998 and upper_998 for a two-level comparison")
        named.update(lower_998=lower_998, upper_998=upper_998)
    if isinstance(polarity, str):
        pol_arr = None
    else:
        if isinstance(polarity, pd.Series):
            pol_arr = polarity.to_numpy(dtype=object)
            # a dummy numeric twin so that _broadcast checks the index and length
            named["polarity"] = pd.Series(np.zeros(len(polarity)), index=polarity.index)
        else:
            pol_arr = np.asarray(list(polarity), dtype=object)
            named["polarity"] = np.zeros(len(pol_arr))
    arr, index, scalar = _broadcast(**named)
    n = len(index)
    if pol_arr is None:
        pol_arr = np.full(n, polarity, dtype=object)
    bad = ~pd.Series(pol_arr).isin(_POLARITY_LABELS).to_numpy()
    if bad.any():
        raise ValueError(
            f"polarity must be one of {list(_POLARITY_LABELS)}; got "
            f"{sorted({repr(p) for p in pol_arr[bad]})}"
        )
    v, lo, up, comp = arr["value"], arr["lower"], arr["upper"], arr["comparator"]
    ok = np.isfinite(v) & np.isfinite(lo) & np.isfinite(up) & np.isfinite(comp) & (lo <= up)
    if (area_code is None) != (comparator_code is None):
        raise ValueError("give both area_code and comparator_code, or neither")
    if area_code is not None:
        codes = {}
        for name, c in (("area_code", area_code), ("comparator_code", comparator_code)):
            c_arr = (
                np.full(n, c, dtype=object)
                if np.ndim(c) == 0
                else np.asarray(pd.Series(c).to_numpy(dtype=object))
            )
            if len(c_arr) != n:
                raise ValueError(f"{name} has length {len(c_arr)} but value has length {n}")
            codes[name] = c_arr
        same = (
            pd.Series(codes["area_code"]).astype(str).to_numpy()
            == pd.Series(codes["comparator_code"]).astype(str).to_numpy()
        )
        ok &= ~(same & pd.notna(codes["area_code"]))
    higher = lo > comp
    lower_ = up < comp
    if two_level:
        lo9, up9 = arr["lower_998"], arr["upper_998"]
        ok &= np.isfinite(lo9) & np.isfinite(up9) & (lo9 <= up9)
        higher9 = lo9 > comp
        lower9 = up9 < comp
    else:
        higher9 = lower9 = np.zeros(n, dtype=bool)
    high_good = pol_arr == "high_is_good"
    low_good = pol_arr == "low_is_good"
    good = (higher & high_good) | (lower_ & low_good)
    bad_dir = (lower_ & high_good) | (higher & low_good)
    extreme = (higher & higher9) | (lower_ & lower9)
    label = np.select(
        [
            ~ok,
            ~(higher | lower_),
            ~(high_good | low_good) & higher,
            ~(high_good | low_good) & lower_,
            good & extreme,
            bad_dir & extreme,
            good,
            bad_dir,
        ],
        ["Not compared", "Similar", "Higher", "Lower", "Best", "Worst", "Better", "Worse"],
        default="Not compared",
    )
    out = pd.Series(label, index=index, name="significance", dtype=object)
    return out


def zscore(values: ArrayLike, peers: ArrayLike | None = None) -> pd.Series:
    """Standardised score of each value against a peer group.

    Method
        ``z = (x − mean(peers)) / sd(peers)`` with the sample standard deviation (n − 1
        divisor).  ``peers`` defaults to ``values`` themselves.
    Reference
        SPOT (Spend and Outcome Tool) methodology, PHE/NHS England: spend and outcome z-scores
        against the comparator group.
    Edge cases
        Missing peers are ignored; fewer than 2 peers or a zero standard deviation -> NaN for
        every value; a missing value -> NaN for that value.
    Returns
        Series aligned to ``values`` (RangeIndex for lists/arrays).
    """
    v, index = _to_array(values, "values")
    v = np.atleast_1d(v)
    p = v if peers is None else np.atleast_1d(_to_array(peers, "peers")[0])
    p = p[np.isfinite(p)]
    if len(p) >= 2:
        mu, sd = float(np.mean(p)), float(np.std(p, ddof=1))
    else:
        mu, sd = np.nan, np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (v - mu) / sd if sd > 0 else np.full(len(v), np.nan)
    return pd.Series(z, index=index if index is not None else pd.RangeIndex(len(v)), name="zscore")
