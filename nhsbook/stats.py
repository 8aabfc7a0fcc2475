"""Public-health statistics with the national (Fingertips / PHEindicatormethods) methods.

Every function here is vectorised: it accepts scalars, lists, numpy arrays or pandas Series and
returns pandas objects aligned to the input index where the input has one.  The methods and
formulas follow ``docs/conventions.md`` (shared folder), which records the definitions used by
OHID Fingertips and the R package PHEindicatormethods 2.1.0.  The code is written from those
published formulas; none of it is taken from the GPL-3 R package.

Conventions used throughout
---------------------------
* ``conf`` is a fraction (0.95, 0.998); ``z = Φ⁻¹(1 − (1 − conf)/2)``.
* Invalid *row-level* input (negative counts, denominators <= 0, a count above its denominator
  for proportions, missing values) never produces a number: that row's value and limits are NaN
  (and, for the grouped methods, the ``value_note`` says why).  Where the national package has
  its own rule for such input, it is followed instead and stated in the docstring (a missing
  DSR band count counts as 0; a life-expectancy group missing an age band is NA on its own;
  ``mean_ci`` leaves missing values out of n).
* Invalid *structure* (mismatched lengths or indexes, unknown polarity labels, unknown or
  duplicated age bands, DSR groups with different band sets, unknown columns) raises
  :class:`ValueError` naming the argument.
* ``docs/methods.md`` (repository) lists, method by method, where these functions agree with
  PHEindicatormethods and Fingertips and each known difference with its reason.

References
----------
* PHEindicatormethods 2.1.0 (UKHSA, GPL-3): https://github.com/ukhsa-collaboration/PHEindicatormethods
* Fingertips Public Health Technical Guidance:
  https://fingertips.phe.org.uk/static-reports/public-health-technical-guidance/
* APHO Technical Briefing 3: Commonly used public health statistics and their confidence
  intervals (Eayres D, 2008).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np
import pandas as pd
from scipy import special, stats

from .model import AGE_BANDS

__all__ = [
    "ESP2013", "LE_AGE_BANDS", "LE_START_AGES", "LE_MIN_POPULATION", "SUPPRESSION_NOTE",
    "z_value", "conf_label", "wilson_limits", "byars_limits", "proportion_ci", "rate_ci",
    "dsr", "expected_counts", "isr", "isratio", "life_expectancy", "mean_ci", "compare",
    "zscore", "funnel_limits", "funnel_significance", "FUNNEL_METHODS", "quantile_class",
    "percentile", "sii",
    "aggregate", "suppress",
]

ArrayLike = Union[float, int, Sequence[float], np.ndarray, pd.Series]

#: European Standard Population 2013: the 19 five-year bands 0-4 ... 85-89, 90+
#: (Eurostat 2013; as used by Fingertips and PHEindicatormethods ``esp2013``).
ESP2013: pd.Series = pd.Series(
    [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500,
     5000, 4000, 2500, 1500, 1000],
    index=pd.Index(AGE_BANDS, name="age_band"), name="esp2013", dtype="float64")

#: Age bands of the abridged life table (as PHEindicatormethods ``phe_life_expectancy``).
LE_AGE_BANDS: tuple[str, ...] = ("0", "1-4") + AGE_BANDS[1:]
#: Start age of each life-table band.
LE_START_AGES: tuple[int, ...] = (0, 1) + tuple(range(5, 95, 5))

#: The value note written by :func:`suppress` (for the default threshold of 5).
SUPPRESSION_NOTE = "Supp.: count between 1 and 4 suppressed (disclosure control)"

_EXACT_BELOW = 10.0  # counts below this use exact Poisson limits, Byar's at and above
_POLARITY_LABELS = ("high_is_good", "low_is_good", "no_judgement")


# --- input handling ---------------------------------------------------------------------------

def _to_array(x: Any, name: str) -> tuple[np.ndarray, pd.Index | None]:
    """``x`` as a float array (0-d for scalars) and its index if it is a Series."""
    if isinstance(x, pd.DataFrame):
        raise ValueError(f"{name} must be a scalar, list, array or Series, not a DataFrame")
    index = x.index if isinstance(x, pd.Series) else None
    try:
        if isinstance(x, (pd.Series, pd.Index)):
            arr = pd.to_numeric(pd.Series(x), errors="raise").to_numpy(dtype="float64",
                                                                        na_value=np.nan)
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
                raise ValueError(f"{name} and {index_from} are Series with different indexes; "
                                 "align them first")
        if arr.ndim == 1:
            if length is None:
                length, length_from = len(arr), name
            elif len(arr) != length:
                raise ValueError(f"{name} has length {len(arr)} but {length_from} has length "
                                 f"{length}")
    scalar = length is None
    n = 1 if scalar else int(length)
    out = {k: np.broadcast_to(np.atleast_1d(v), (n,)).astype("float64", copy=True)
           if v.ndim == 0 else v for k, v in arrays.items()}
    if index is None:
        index = pd.RangeIndex(n)
    return out, index, scalar


def _check_conf(conf: float, name: str = "conf") -> float:
    try:
        c = float(conf)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number between 0 and 1, got {conf!r}") from None
    if not 0.0 < c < 1.0:
        raise ValueError(f"{name} must be a fraction between 0 and 1 (e.g. 0.95 or 0.998), "
                         f"got {conf!r}")
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


def _check_band_structure(gid: np.ndarray, bcode: np.ndarray, n_groups: int, band_index: pd.Index,
                          keys: pd.DataFrame, age: str) -> np.ndarray:
    """Raise unless every group has each band at most once and all groups the same bands.

    Returns the boolean mask of the bands used (present in at least one group).
    """
    nb = len(band_index)
    counts = np.bincount(gid * nb + bcode, minlength=n_groups * nb).reshape(n_groups, nb)
    dup = np.argwhere(counts > 1)
    if len(dup):
        g, b = dup[0]
        raise ValueError(f"{_describe_group(keys, g)} has age band {band_index[b]!r} in column "
                         f"{age!r} more than once ({len(dup)} duplicated group/band pairs)")
    present = counts > 0
    used = present.any(axis=0)
    missing = used[None, :] & ~present
    bad = np.flatnonzero(missing.any(axis=1))
    if len(bad):
        msgs = [f"{_describe_group(keys, g)} is missing age band(s) "
                f"{[band_index[b] for b in np.flatnonzero(missing[g])]}" for g in bad[:5]]
        more = f" (and {len(bad) - 5} more groups)" if len(bad) > 5 else ""
        raise ValueError("every group must have the same set of age bands: " + "; ".join(msgs)
                         + more)
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
        0.99 -> "99" (the ``lower_95`` / ``upper_998`` columns of ``nhsbook.model``).
    Reference
        Fingertips export columns "Lower CI 95.0 limit", "Lower CI 99.8 limit".
    Edge cases
        ``conf`` outside (0, 1) raises ValueError.
    """
    c = _check_conf(conf)
    return f"{c * 100:.10g}".replace(".", "")


def _wrap(index: pd.Index, scalar: bool, **cols: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(cols, index=index if not scalar else pd.RangeIndex(1))


# --- proportions ------------------------------------------------------------------------------

def wilson_limits(count: ArrayLike, denom: ArrayLike, conf: float = 0.95
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


def proportion_ci(count: ArrayLike, denom: ArrayLike, conf: float = 0.95,
                  multiplier: ArrayLike = 100.0) -> pd.DataFrame:
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
    return _wrap(index, scalar, value=value * m, lower=np.where(valid, lo * m, np.nan),
                 upper=np.where(valid, up * m, np.nan))


# --- counts, rates ----------------------------------------------------------------------------

def _count_limits(o: np.ndarray, conf: float, exact_below: float = _EXACT_BELOW
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


def byars_limits(count: ArrayLike, conf: float = 0.95, exact_below: float = _EXACT_BELOW
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


def rate_ci(count: ArrayLike, denom: ArrayLike, multiplier: ArrayLike = 100_000.0,
            conf: float = 0.95) -> pd.DataFrame:
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


# --- directly standardised rates ------------------------------------------------------------

_NOTE_INVALID_DSR = ("Not calculated: a count or denominator is missing, negative, or a "
                     "denominator is zero in at least one age band")
_NOTE_DSR_SMALL = "Not published: DSRs are not calculated when the total count is below 10"
_NOTE_DSR_MISSING = "{k} missing age-band count{s} counted as 0 (national method)"


def dsr(data: pd.DataFrame, *, count: str = "count", pop: str = "denominator",
        age: str = "age_band", groupby: list[str] | None = None,
        standard: pd.Series | ArrayLike = ESP2013, multiplier: float = 100_000.0,
        conf: float = 0.95) -> pd.DataFrame:
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
        return pd.DataFrame({c: [] for c in gb + ["count", "denominator", "value", "lower",
                                                  "upper", "value_note"]})
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
    miss_note = np.array([_NOTE_DSR_MISSING.format(k=k, s="" if k == 1 else "s")
                          for k in n_missing], dtype=object)
    has_missing = (n_missing > 0) & ~bad
    note = np.where(has_missing & (note == ""), miss_note,
                    np.where(has_missing, note + "; " + miss_note, note))
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
            raise ValueError(f"age band {b!r} in column {age!r} has no start age to order it by; "
                             "pass standard as a Series indexed by age band")
        starts.append(float(m.group()))
    if len(set(starts)) != len(starts):
        raise ValueError(f"age bands {bands} in column {age!r} do not have distinct start ages; "
                         "pass standard as a Series indexed by age band")
    return [b for _, b in sorted(zip(starts, bands))]


def _dsr_weights(data: pd.DataFrame, gid: np.ndarray, n_groups: int, keys: pd.DataFrame,
                 standard: Any, age: str) -> np.ndarray:
    """Standard-population weight of every row, looked up by the row's age-band label (and
    the band-structure checks)."""
    if isinstance(standard, pd.Series):
        if standard.index.has_duplicates:
            raise ValueError("standard has duplicated age bands: "
                             f"{list(standard.index[standard.index.duplicated()])}")
        std = standard
    else:
        # one weight per distinct band, in ascending order of the bands' start ages
        w, _ = _to_array(standard, "standard")
        w = np.atleast_1d(w)
        bands = _bands_by_start_age(data[age], age)
        if len(w) != len(bands):
            raise ValueError(f"standard has {len(w)} weights but column {age!r} has {len(bands)} "
                             f"distinct age bands {list(bands)}; give one weight per band in "
                             "ascending age order, or pass standard as a Series indexed by "
                             "age band")
        std = pd.Series(w, index=pd.Index(bands, dtype=object))
    w = pd.to_numeric(std, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("standard must hold non-negative weights for every age band; got "
                         f"{std[~(np.isfinite(w) & (w >= 0))].to_dict()}")
    band_index = pd.Index(std.index, dtype=object)
    bcode = _band_codes(data[age], band_index)
    if (bcode < 0).any():
        unknown = pd.unique(data[age].to_numpy()[bcode < 0])
        raise ValueError(f"age band(s) {list(unknown)} in column {age!r} are not in standard "
                         f"(which has {list(band_index)})")
    _check_band_structure(gid, bcode, n_groups, band_index, keys, age)
    weights = w[bcode]
    if np.any(np.bincount(gid, weights=weights, minlength=n_groups) <= 0):
        raise ValueError("standard gives a total weight of 0 for the age bands present")
    return weights


# --- indirect standardisation -----------------------------------------------------------------

def expected_counts(data: pd.DataFrame, ref_rates: pd.Series, *, count: str = "count",
                    pop: str = "denominator", age: str = "age_band",
                    groupby: list[str] | None = None) -> pd.DataFrame:
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


def isratio(observed: ArrayLike, expected: ArrayLike, conf: float = 0.95,
            multiplier: ArrayLike = 100.0) -> pd.DataFrame:
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


def isr(observed: ArrayLike, expected: ArrayLike, ref_rate: ArrayLike,
        multiplier: ArrayLike = 100_000.0, conf: float = 0.95) -> pd.DataFrame:
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
    arr, index, scalar = _broadcast(observed=observed, expected=expected, ref_rate=ref_rate,
                                    multiplier=multiplier)
    r = arr["ref_rate"]
    base = isratio(arr["observed"], arr["expected"], conf=conf, multiplier=arr["multiplier"])
    factor = np.where(np.isfinite(r) & (r >= 0), r, np.nan)
    return _wrap(index, scalar, value=base["value"].to_numpy() * factor,
                 lower=base["lower"].to_numpy() * factor, upper=base["upper"].to_numpy() * factor)


# --- life expectancy --------------------------------------------------------------------------

_NOTE_LE_INVALID = ("Not calculated: deaths or population missing or negative, a population of "
                    "zero, or deaths above population in at least one age band")
_NOTE_LE_SMALL = "Not calculated: total population (all ages) of 5,000 or fewer"
_NOTE_LE_MISSING = "Not calculated: missing age band(s) {bands}"
_NOTE_LE_NO90 = "Not calculated: no deaths at ages 90+"
_NOTE_LE_WIDE = "Value suppressed: 95% confidence interval wider than 20 years"
_NOTE_LE_NOSURV = ("Limits not calculated: no survivors to this age (probability of dying 1 in "
                   "an earlier band)")
#: Total population (all ages) at or below which life expectancy is not calculated.
LE_MIN_POPULATION = 5_000


def life_expectancy(data: pd.DataFrame, *, deaths: str = "deaths", pop: str = "population",
                    age: str = "age_band", groupby: list[str] | None = None,
                    start_age: int | Sequence[int] = 0, conf: float = 0.95,
                    le_age_bands: Sequence[str] | None = None) -> pd.DataFrame:
    """Life expectancy from an abridged life table (Chiang II) with Silcocks' variance.

    Method
        Twenty bands 0, 1-4, 5-9, ..., 85-89, 90+ (widths n = 1, 4, 5, ..., 5; 90+ open), the
        fraction of the last interval lived a = 0.1 at age 0 and 0.5 otherwise, l₀ = 100,000::

            Mᵢ = Dᵢ / Pᵢ
            qᵢ = nᵢMᵢ / (1 + (1 − aᵢ) nᵢ Mᵢ)   if Dᵢ ≤ Pᵢ / (nᵢ aᵢ),   else qᵢ = 1
            q₉₀₊ = 1
            lᵢ₊₁ = lᵢ (1 − qᵢ)                 dᵢ = lᵢ qᵢ
            Lᵢ = nᵢ (lᵢ₊₁ + aᵢ dᵢ),  L₉₀₊ = l₉₀₊ / M₉₀₊
            Tᵢ = Σ_{j≥i} Lⱼ                    eᵢ = Tᵢ / lᵢ  (0 where lᵢ = 0)

        (the q = 1 rule: in a 5-year band a death rate M ≥ 0.4 -- where the formula would
        reach or pass 1 -- means everyone alive at its start dies in it).
        Variance of eₓ (Chiang, with Silcocks' term for the open interval)::

            S²(qᵢ) = qᵢ² (1 − qᵢ) / Dᵢ          (0 where dᵢ = 0)
            S²(eₓ) = [Σ_{x≤i<90} lᵢ² ((1 − aᵢ) nᵢ + eᵢ₊₁)² S²(qᵢ)
                      + l₉₀₊² / (D₉₀₊ M₉₀₊²)] / lₓ²

        and limits ``eₓ ± z √S²(eₓ)`` (not clipped: with few deaths a lower limit can be
        negative, as the national tool gives it).
    Parameters
        data: one row per group × band.  deaths, pop, age: column names (``pop`` holds
        person-years).  groupby: grouping columns.  start_age: the age (start of a band, e.g.
        0 or 65) at which LE is wanted, or a list of them (adds a ``start_age`` column).
        conf: confidence level.  le_age_bands: the 20 band labels used in ``data`` in
        ascending order, if not :data:`LE_AGE_BANDS` (a numeric age column holding the start
        ages 0, 1, 5, ..., 90 is also accepted).
    Reference
        PHEindicatormethods 2.1.0 ``phe_life_expectancy`` (R/LifeExpectancy.R) and its tests
        (tests/testthat/testLifeExpectancy.R); PHE Life Expectancy Calculator (Fingertips
        technical guidance); Chiang CL (1968) Introduction to stochastic processes in
        biostatistics; Silcocks PBS, Jenner DA, Reza R (2001) JECH 55:38-43; Eayres DP,
        Williams ES (2004) JECH 58:243-249; Toson B, Baker A (2003) ONS Methodology Series 33
        (the 5,000 minimum).
    Edge cases (the national rules, in this order; each gives the whole group NaN with a note)
        * A group missing one or more of the 20 bands (the national rule: "a different number
          of age bands than 20"); the other groups are computed.
        * Any band with missing/negative deaths, missing/negative/zero population or deaths
          above population.
        * **Total population over all 20 bands ≤ 5,000** (at exactly 5,000: not calculated).
          The threshold is on the whole group's population, not the person-years at and above
          ``start_age``: life expectancy at 85 and 90 of an ordinary local authority is
          published.
        * No deaths at 90+ (the open interval needs M₉₀₊ > 0).
    Then, per start age:
        * 95% CI wider than 20 years (``1.96 × SE > 10``): value NaN, limits still given (at
          the requested ``conf``), note "Value suppressed: ...".
        * A start age after a band with q = 1 (no survivors): value 0, limits NaN.
        * Zero deaths in other bands are fine.  Duplicated bands or unknown band labels raise
          ValueError naming the group (PHEindicatormethods stops on unknown labels; a
          duplicated band there gives NA -- here it is treated as a data error).
    Returns
        DataFrame: group columns (+ ``start_age`` for a list), ``value, lower, upper,
        value_note``.
    """
    gb = _groupby_list(groupby)
    _require_columns(data, [deaths, pop, age] + gb)
    z = z_value(conf)
    z95 = z_value(0.95)
    labels = tuple(le_age_bands) if le_age_bands is not None else LE_AGE_BANDS
    if len(labels) != 20 or len(set(labels)) != 20:
        raise ValueError("le_age_bands must list the 20 distinct life-table bands "
                         "(0, 1-4, 5-9, ..., 85-89, 90+) in ascending order")
    ages = [start_age] if np.ndim(start_age) == 0 else list(start_age)
    for a in ages:
        if a not in LE_START_AGES:
            raise ValueError(f"start_age {a!r} is not the start of a life-table band "
                             f"{list(LE_START_AGES)}")
    if len(data) == 0:
        raise ValueError("data is empty")
    gid, keys = _group_ids(data, gb)
    n_groups = len(keys)
    col = data[age]
    if pd.api.types.is_numeric_dtype(col) and le_age_bands is None:
        band_index = pd.Index(LE_START_AGES, dtype=object)
        bcode = _band_codes(col.astype(object), band_index)
        shown = LE_START_AGES
    else:
        band_index = pd.Index(labels, dtype=object)
        bcode = _band_codes(col, band_index)
        shown = labels
    if (bcode < 0).any():
        unknown = pd.unique(col.to_numpy()[bcode < 0])
        raise ValueError(f"age band(s) {list(unknown)} in column {age!r} are not life-table "
                         f"bands {list(shown)}")
    counts = np.bincount(gid * 20 + bcode, minlength=n_groups * 20).reshape(n_groups, 20)
    if (counts > 1).any():
        g, b = np.argwhere(counts > 1)[0]
        raise ValueError(f"{_describe_group(keys, g)} has age band {shown[b]!r} more than once")
    missing_band = (counts == 0).any(axis=1)
    D = np.full((n_groups, 20), np.nan)
    P = np.full((n_groups, 20), np.nan)
    D[gid, bcode] = pd.to_numeric(data[deaths]).to_numpy(dtype="float64", na_value=np.nan)
    P[gid, bcode] = pd.to_numeric(data[pop]).to_numpy(dtype="float64", na_value=np.nan)
    res = _life_table(np.where(missing_band[:, None], 1.0, D),
                      np.where(missing_band[:, None], 1e6, P))
    invalid = res["invalid"] & ~missing_band
    small = ~missing_band & ~invalid & (P.sum(axis=1) <= LE_MIN_POPULATION)
    no90 = ~missing_band & ~invalid & ~small & (D[:, 19] == 0)
    hide_all = missing_band | invalid | small | no90
    missing_note = np.array([_NOTE_LE_MISSING.format(bands=[shown[b] for b in
                                                            np.flatnonzero(counts[g] == 0)])
                             for g in range(n_groups)], dtype=object)
    frames = []
    for a in ages:
        k = LE_START_AGES.index(a)
        e = res["e"][:, k]
        lk = res["l"][:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(res["cum_var"][:, k] / lk ** 2)
        lower, upper = e - z * se, e + z * se
        wide = ~hide_all & (z95 * se > 10)
        nosurv = ~hide_all & (lk == 0)
        note = np.select([missing_band, invalid, small, no90, wide, nosurv],
                         [missing_note, _NOTE_LE_INVALID, _NOTE_LE_SMALL, _NOTE_LE_NO90,
                          _NOTE_LE_WIDE, _NOTE_LE_NOSURV], "")
        out = keys.copy() if gb else pd.DataFrame(index=pd.RangeIndex(n_groups))
        if len(ages) > 1:
            out["start_age"] = a
        out["value"] = np.where(hide_all | wide, np.nan, e)
        out["lower"] = np.where(hide_all, np.nan, lower)
        out["upper"] = np.where(hide_all, np.nan, upper)
        out["value_note"] = note
        frames.append(out)
    result = pd.concat(frames, ignore_index=True)
    if len(ages) > 1:
        result = result.sort_values(gb + ["start_age"], kind="stable").reset_index(drop=True)
    return result


def _life_table(D: np.ndarray, P: np.ndarray) -> dict[str, np.ndarray]:
    """Chiang II abridged life table for each row of the (groups × 20) deaths/population.

    Follows PHEindicatormethods ``phe_life_expectancy`` (R/LifeExpectancy.R): q = 1 in a
    closed band where D > P / (n a); eᵢ = 0 where lᵢ = 0; S²(q) = 0 where dᵢ = 0.
    """
    n = np.array([1.0, 4.0] + [5.0] * 17 + [np.nan])
    a = np.array([0.1] + [0.5] * 19)
    invalid = (~np.isfinite(D) | ~np.isfinite(P) | (D < 0) | (P <= 0) | (D > P)).any(axis=1)
    Ds = np.where(invalid[:, None], 1.0, D)
    Ps = np.where(invalid[:, None], 1e6, P)
    Ds[:, 19] = np.where(Ds[:, 19] > 0, Ds[:, 19], 1.0)  # no deaths at 90+: masked by caller
    M = Ds / Ps
    q = np.ones_like(M)
    closed = Ds[:, :19] <= Ps[:, :19] / n[:19] / a[:19]
    qf = n[:19] * M[:, :19] / (1.0 + (1.0 - a[:19]) * n[:19] * M[:, :19])
    q[:, :19] = np.where(closed, qf, 1.0)
    l = np.empty_like(q)
    l[:, 0] = 100_000.0
    l[:, 1:] = 100_000.0 * np.cumprod(1.0 - q[:, :-1], axis=1)
    d = l * q
    L = np.empty_like(q)
    L[:, :19] = n[:19] * (l[:, 1:] + a[:19] * d[:, :19])
    L[:, 19] = l[:, 19] / M[:, 19]
    T = np.cumsum(L[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(l > 0, T / l, 0.0)
        var_q = np.where(d > 0, q * q * (1.0 - q) / Ds, 0.0)
    e_next = np.concatenate([e[:, 1:], np.zeros((len(e), 1))], axis=1)
    term = l ** 2 * ((1.0 - a) * np.nan_to_num(n) + e_next) ** 2 * var_q
    term[:, 19] = l[:, 19] ** 2 / (Ds[:, 19] * M[:, 19] ** 2)
    cum_var = np.cumsum(term[:, ::-1], axis=1)[:, ::-1]
    return {"e": e, "l": l, "cum_var": cum_var, "invalid": invalid}


# --- means ------------------------------------------------------------------------------------

def mean_ci(values: ArrayLike | pd.DataFrame, conf: float = 0.95, *, x: str = "x",
            groupby: list[str] | None = None) -> pd.DataFrame:
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
        agg = pd.DataFrame({"n": g.count(), "missing": g.size() - g.count(),
                            "sum": g.sum(), "sd": g.std(ddof=1)}).reset_index()
    else:
        s = df[x]
        agg = pd.DataFrame({"n": [int(s.count())], "missing": [int(s.isna().sum())],
                            "sum": [s.sum()], "sd": [s.std(ddof=1)]})
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
    out["value_note"] = [f"{k} missing value{'' if k == 1 else 's'} excluded" if k else ""
                         for k in miss]
    return out


# --- comparison with a comparator -------------------------------------------------------------

def compare(value: ArrayLike, lower: ArrayLike, upper: ArrayLike, comparator: ArrayLike,
            polarity: str | pd.Series | Sequence[str], conf: float = 0.95,
            lower_998: ArrayLike | None = None, upper_998: ArrayLike | None = None, *,
            area_code: Any = None, comparator_code: Any = None) -> pd.Series:
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
    named: dict[str, Any] = {"value": value, "lower": lower, "upper": upper,
                             "comparator": comparator}
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
        raise ValueError(f"polarity must be one of {list(_POLARITY_LABELS)}; got "
                         f"{sorted({repr(p) for p in pol_arr[bad]})}")
    v, lo, up, comp = arr["value"], arr["lower"], arr["upper"], arr["comparator"]
    ok = np.isfinite(v) & np.isfinite(lo) & np.isfinite(up) & np.isfinite(comp) & (lo <= up)
    if (area_code is None) != (comparator_code is None):
        raise ValueError("give both area_code and comparator_code, or neither")
    if area_code is not None:
        codes = {}
        for name, c in (("area_code", area_code), ("comparator_code", comparator_code)):
            c_arr = (np.full(n, c, dtype=object) if np.ndim(c) == 0
                     else np.asarray(pd.Series(c).to_numpy(dtype=object)))
            if len(c_arr) != n:
                raise ValueError(f"{name} has length {len(c_arr)} but value has length {n}")
            codes[name] = c_arr
        same = pd.Series(codes["area_code"]).astype(str).to_numpy() == \
            pd.Series(codes["comparator_code"]).astype(str).to_numpy()
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
        [~ok, ~(higher | lower_), ~(high_good | low_good) & higher,
         ~(high_good | low_good) & lower_, good & extreme, bad_dir & extreme, good, bad_dir],
        ["Not compared", "Similar", "Higher", "Lower", "Best", "Worst", "Better", "Worse"],
        default="Not compared")
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
    return pd.Series(z, index=index if index is not None else pd.RangeIndex(len(v)),
                     name="zscore")


# --- funnel plots -----------------------------------------------------------------------------

def _byar_inverse(e: np.ndarray, start: np.ndarray, z: float, upper: bool) -> np.ndarray:
    """Count O whose Byar's upper (``upper=True``) or lower limit equals ``e``.

    Byar's limits are cubes: ``U(O) = h(O + 1)³`` with ``h(y) = y^⅓ − y^-⅔/9 + (z/3) y^-⅙`` and
    ``L(O) = h(O)³`` with ``−z``; h is increasing for the counts where Byar's method is used
    (>= 10), so Newton's method on ``h(y) = e^⅓`` from the exact solution converges in a few
    steps.
    """
    sgn = 1.0 if upper else -1.0
    target = np.cbrt(e)
    y = start + (1.0 if upper else 0.0)
    for _ in range(12):
        h = np.cbrt(y) - y ** (-2.0 / 3.0) / 9.0 + sgn * z / 3.0 * y ** (-1.0 / 6.0)
        dh = (y ** (-2.0 / 3.0) / 3.0 + 2.0 / 27.0 * y ** (-5.0 / 3.0)
              - sgn * z / 18.0 * y ** (-7.0 / 6.0))
        step = (h - target) / dh
        y = np.maximum(y - step, 0.5 * y)
        if np.all(np.abs(step) <= 1e-12 * y):
            break
    return y - (1.0 if upper else 0.0)


def _byar_upper(o: float | np.ndarray, z: float):
    o1 = np.asarray(o, dtype=float) + 1.0
    return o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3


def _byar_lower(o: float | np.ndarray, z: float):
    o = np.asarray(o, dtype=float)
    return o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * np.sqrt(o))) ** 3


def _funnel_counts(e: np.ndarray, conf: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper control-limit counts around expected counts ``e``.

    The lower limit is the smallest count whose upper confidence limit reaches e, the upper
    limit the smallest count whose lower confidence limit reaches e (generalised inverses), so
    a count lies outside the funnel exactly when its own confidence interval excludes e.

    * ``"exact"``: exact χ² limits at every count (PHEindicatormethods ``poisson_funnel``,
      R/utils.R, as plotted by ``calculate_funnel_limits``).
    * ``"byar"``: the limits :func:`byars_limits` gives a count (exact below 10, Byar's from
      10).  Those limits jump at 10 (at 99.8% Byar's upper limit of 10 is 24.19, the exact
      upper limit of 9.99... is 24.13), so the inverse is exact where that is below 10 and
      ``max(10, Byar's inverse)`` otherwise -- never the Byar's inverse below 10, which made
      the 99.8% lower curve step backwards at expected 24.13.
    """
    alpha = 1.0 - conf
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    valid = np.isfinite(e) & (e >= 0)
    es = np.where(valid, e, 1.0)
    low = np.empty(es.shape)
    high = np.empty(es.shape)
    # exact: upper(O) = chi2(1-a/2; 2O+2)/2 = e  and  lower(O) = chi2(a/2; 2O)/2 = e, solved for
    # the degrees of freedom with scipy.special.chdtriv
    with np.errstate(invalid="ignore"):
        low[:] = special.chdtriv(1.0 - alpha / 2.0, 2.0 * es) / 2.0 - 1.0
        high[:] = special.chdtriv(alpha / 2.0, 2.0 * es) / 2.0
    u0 = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0) / 2.0  # upper limit of a zero count
    low = np.where(es <= u0, 0.0, low)
    high = np.where(es == 0, 0.0, high)
    if method == "byar":
        use_byar_low = es >= stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * _EXACT_BELOW + 2.0) / 2.0
        use_byar_high = es >= stats.chi2.ppf(alpha / 2.0, 2.0 * _EXACT_BELOW) / 2.0
        if use_byar_low.any():
            eb = es[use_byar_low]
            inv = _byar_inverse(eb, np.maximum(eb - z * np.sqrt(eb), _EXACT_BELOW), z, upper=True)
            low[use_byar_low] = np.maximum(inv, _EXACT_BELOW)
        if use_byar_high.any():
            eb = es[use_byar_high]
            inv = _byar_inverse(eb, eb + z * np.sqrt(eb) + 1.0, z, upper=False)
            high[use_byar_high] = np.maximum(inv, _EXACT_BELOW)
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def _monotone_byar(e: np.ndarray, ol: np.ndarray, ou: np.ndarray, conf: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Limit counts of the ``"byar"`` funnel made monotone in the value scale.

    As a ratio of the expected count, the lower limit ``O_L(E)/E`` must not fall and the upper
    limit ``O_U(E)/E`` must not rise as E grows.  At the switch to Byar's method at 10 events
    the count-scale inverse has a flat piece (O_L = 10 while E runs from the exact to the
    Byar's upper limit of 10) or a forward jump (O_U from 10 to the count whose Byar's lower
    limit is the exact lower limit of 10); on those few expected counts the curve is held at
    the value it has where Byar's method takes over.  Integer counts keep exactly the labels of
    :func:`funnel_significance`; only non-integer counts within ~0.3% of the switch can sit on
    the other side of the drawn curve.
    """
    z = float(stats.norm.ppf(1.0 - (1.0 - conf) / 2.0))
    alpha = 1.0 - conf
    ten = _EXACT_BELOW
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_l, ratio_u = ol / e, ou / e
        e_b = float(_byar_upper(ten, z))
        e_x = float(stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * ten + 2.0) / 2.0)
        if e_b > e_x:  # flat piece of O_L on [e_x, e_b): hold the ratio at 10 / e_b below e_b
            c = ten / e_b
            ratio_l = np.where(e < e_b, np.minimum(ratio_l, c), ratio_l)
        e_bl = float(_byar_lower(ten, z))
        e_xl = float(stats.chi2.ppf(alpha / 2.0, 2.0 * ten) / 2.0)
        if e_bl < e_xl:  # forward jump of O_U at e_xl: hold the ratio at its value just after
            o_star = float(_byar_inverse(np.array([e_xl]), np.array([e_xl + z * np.sqrt(e_xl)
                                                                      + 1.0]), z, upper=False)[0])
            c = max(o_star, ten) / e_xl
            ratio_u = np.where(e <= e_xl, np.maximum(ratio_u, c), ratio_u)
    return ratio_l * e, ratio_u * e


_FUNNEL_MULT = {"proportion": 100.0, "rate": 100_000.0, "ratio": 100.0}
#: The values of the one ``method`` switch of :func:`funnel_limits` and
#: :func:`funnel_significance`.
FUNNEL_METHODS = ("national", "exact", "byar")


def _funnel_method(method: str, job: str) -> str:
    if method not in FUNNEL_METHODS:
        raise ValueError(f"method must be one of {list(FUNNEL_METHODS)}, got {method!r}")
    if method == "national":
        return "exact" if job == "limits" else "byar"
    return method


def funnel_limits(denominators: ArrayLike, target: float | None, conf: float | Sequence[float] = 0.95,
                  kind: str = "proportion", multiplier: float | None = None,
                  method: str = "national") -> pd.DataFrame:
    """Funnel-plot control limits around a target at each denominator.

    Method
        * ``kind="proportion"`` (denominators = sample sizes n, target p in multiplier units):
          ``p ± z √(p(1 − p)/n)``, clipped to [0, multiplier] -- the observed proportions whose
          Wilson score interval has p as an end point (PHEindicatormethods ``sigma_adjustment``
          solves the same Wilson equation; every ``method`` gives these limits).
        * ``kind="rate"`` (denominators = person-years n, target rate r per multiplier): with
          E = r n / multiplier expected events, the lower limit is O_L/n × multiplier where
          O_L is the count whose *upper* confidence limit equals E, and the upper limit
          O_U/n × multiplier where O_U is the count whose *lower* limit equals E (exact χ²
          limits: O_L = v/2 − 1 for χ²-cdf(2E; v) = 1 − α/2, O_U = v/2 for
          χ²-cdf(2E; v) = α/2).
        * ``kind="ratio"`` (denominators = expected counts E, target = reference ratio in
          multiplier units, default 1 × multiplier): limits O_L/E and O_U/E × multiplier as for
          rates (indirectly standardised ratios / SMRs).  PHEindicatormethods' "count" ratio
          type is ``ratio/multiplier − 1``.
    The method switch (the same one in :func:`funnel_significance`)
        * ``"national"`` (default): each job with the national package's own method -- here
          the plotted limits of PHEindicatormethods ``calculate_funnel_limits``
          (R/Funnels.R; ``poisson_funnel`` in R/utils.R): exact Poisson limits at every count.
        * ``"exact"``: the same exact limits (use it in both functions for labels that agree
          with the drawn curves to the last digit).
        * ``"byar"``: the limits of the points' own intervals (exact below 10 events, Byar's
          from 10, as :func:`rate_ci`), i.e. the curves on which the national *labels* of
          ``assign_funnel_significance`` change; the switch at 10 events is made monotone
          (see ``_monotone_byar``).  Byar's and exact differ by at most ~0.85% (at 10-15
          events and 99.8%) and by < 0.01% from a few hundred events.
    Parameters
        denominators: points along the x axis.  target: baseline (for proportions and rates:
        e.g. the overall value Σcount/Σdenominator × multiplier).  conf: 0.95 (PHE "0.025"
        limits), 0.998 ("0.001" limits) or a sequence of levels (columns suffixed ``_95``,
        ``_998``).  multiplier: default 100 (proportion, ratio) or 100,000 (rate).
    Reference
        Spiegelhalter DJ (2005) Stat Med 24:1185-1202; PHEindicatormethods 2.1.0
        ``calculate_funnel_limits`` (R/Funnels.R) and ``poisson_funnel``/``sigma_adjustment``
        (R/utils.R); Fingertips technical guidance, "Funnel plots".
    Edge cases
        Denominators <= 0 or missing -> NaN limits.  Lower limits never go below 0 and
        proportion limits never above the multiplier.  Unknown ``kind``/``method`` or a
        target outside [0, multiplier] for proportions raise ValueError.  (A proportion target
        given as a fraction, 0.2 for 20%, cannot be told from a small percentage without the
        data: :func:`funnel_significance`, which has the counts, refuses it.)
    Returns
        DataFrame ``denominator, lower, upper`` (or ``lower_95, upper_95, ...``).
    """
    if kind not in _FUNNEL_MULT:
        raise ValueError(f"kind must be one of {list(_FUNNEL_MULT)}, got {kind!r}")
    how = _funnel_method(method, "limits")
    mult = float(_FUNNEL_MULT[kind] if multiplier is None else multiplier)
    if target is None:
        if kind != "ratio":
            raise ValueError("target is required for proportion and rate funnels")
        target = mult
    t = float(target)
    if not np.isfinite(t) or t < 0:
        raise ValueError(f"target must be a non-negative number, got {target!r}")
    n, index = _to_array(denominators, "denominators")
    n = np.atleast_1d(n)
    levels = [conf] if np.ndim(conf) == 0 else list(conf)
    out = pd.DataFrame({"denominator": n},
                       index=index if index is not None else pd.RangeIndex(len(n)))
    valid = np.isfinite(n) & (n > 0)
    for c in levels:
        c = _check_conf(c)
        suffix = "" if np.ndim(conf) == 0 else "_" + conf_label(c)
        if kind == "proportion":
            p = t / mult
            if p > 1:
                raise ValueError(f"target {t} is above the multiplier {mult} for a proportion")
            z = z_value(c)
            with np.errstate(divide="ignore", invalid="ignore"):
                half = z * np.sqrt(p * (1 - p) / n)
            lo = np.clip(p - half, 0, 1) * mult
            up = np.clip(p + half, 0, 1) * mult
        else:
            e = np.where(valid, t / mult * n, np.nan)
            ol, ou = _funnel_counts(e, c, how)
            if how == "byar":
                ol, ou = _monotone_byar(e, ol, ou, c)
            with np.errstate(divide="ignore", invalid="ignore"):
                lo, up = ol / n * mult, ou / n * mult
        out["lower" + suffix] = np.where(valid, lo, np.nan)
        out["upper" + suffix] = np.where(valid, up, np.nan)
    return out


_NOTE_DSR_FUNNEL = "Not applicable for events less than 10 for dsrs"


def funnel_significance(count: ArrayLike, denominator: ArrayLike, target: float | None,
                        kind: str = "proportion", multiplier: float | None = None,
                        method: str = "national", rate_type: str = "crude") -> pd.Series:
    """Position of each point against the 95% and 99.8% funnel limits.

    Method
        As PHEindicatormethods ``assign_funnel_significance`` (R/Funnels.R), in its order:
        "High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)", else "Not
        significant".

        * Proportions: ``value = count / denominator × multiplier`` against the Wilson funnel
          limits of :func:`funnel_limits` at the point's denominator (the national
          ``sigma_adjustment``).
        * Rates and ratios: the point's own confidence limits of its count O (at 99.8% and
          95%) against the expected count at the target, E = denominator × target /
          multiplier (for ratios ``denominator`` is the expected count itself): "High" when
          the lower limit of O is above E, "Low" when the upper limit is below E (the national
          ``funnel_ratio_significance`` in R/utils.R: a lower limit of 0 for O = 0, exact χ²
          below 10 events, Byar's from 10).
    The method switch (the same one in :func:`funnel_limits`)
        ``"national"`` (default) and ``"byar"``: the count limits are exact below 10 and
        Byar's from 10, as the national labels; ``"exact"``: exact limits at every count, so
        the labels agree with the exact curves that ``funnel_limits`` draws by default.
    Parameters
        rate_type: "crude" (default) or "dsr": for DSRs (denominator derived as count / DSR ×
        multiplier, as the national function does) points with fewer than 10 events are
        labelled "Not applicable for events less than 10 for dsrs".
    Reference
        PHEindicatormethods 2.1.0 ``assign_funnel_significance`` (R/Funnels.R),
        ``funnel_ratio_significance`` and ``sigma_adjustment`` (R/utils.R); Spiegelhalter
        (2005).
    Edge cases
        * Missing or invalid inputs (count < 0, denominator <= 0, count > denominator for a
          proportion) -> NaN (missing label); the national function stops instead.
        * **A proportion target on the wrong scale**: with a multiplier m > 1 a target t with
          0 < t ≤ 1 is refused (ValueError) when the points' pooled value Σcount/Σdenominator
          × m is more than √m times t (10 times, for percentages) -- i.e. when t reads as a
          fraction (0.2 for 20%) rather than as a percentage.  A genuinely small percentage
          target (0.5% for a 0.5% register) passes.  Give the target in multiplier units.
    """
    if kind not in _FUNNEL_MULT:
        raise ValueError(f"kind must be one of {list(_FUNNEL_MULT)}, got {kind!r}")
    if rate_type not in ("crude", "dsr"):
        raise ValueError(f"rate_type must be 'crude' or 'dsr', got {rate_type!r}")
    how = _funnel_method(method, "significance")
    arr, index, _ = _broadcast(count=count, denominator=denominator)
    x, n = arr["count"], arr["denominator"]
    mult = float(_FUNNEL_MULT[kind] if multiplier is None else multiplier)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = x / n * mult
    valid = np.isfinite(v) & (x >= 0) & (n > 0)
    if kind == "proportion":
        valid &= x <= n
        _check_proportion_target(target, mult, x[valid], n[valid])
        lim = funnel_limits(n, target, conf=(0.95, 0.998), kind=kind, multiplier=multiplier,
                            method=how)
        hi3, hi2 = v > lim["upper_998"].to_numpy(), v > lim["upper_95"].to_numpy()
        lo3, lo2 = v < lim["lower_998"].to_numpy(), v < lim["lower_95"].to_numpy()
    else:
        t = mult if (target is None and kind == "ratio") else target
        if t is None:
            raise ValueError("target is required for proportion and rate funnels")
        t = float(t)
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"target must be a non-negative number, got {target!r}")
        e = n * t / mult
        below = _EXACT_BELOW if how == "byar" else np.inf
        xs = np.where(valid, x, np.nan)
        lo95, up95 = _count_limits(xs, 0.95, below)
        lo998, up998 = _count_limits(xs, 0.998, below)
        lo998 = np.where(np.isnan(lo998) & valid, 0.0, lo998)  # Byar's below 0: no lower limit
        hi3, hi2 = lo998 > e, lo95 > e
        lo3, lo2 = up998 < e, up95 < e
    lab = np.select([~valid, hi3, hi2, lo3, lo2],
                    [None, "High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)"],
                    default="Not significant")
    if kind == "rate" and rate_type == "dsr":
        lab = np.where(valid & (x < _EXACT_BELOW), _NOTE_DSR_FUNNEL, lab)
    return pd.Series(lab, index=index, name="significance", dtype=object)


def _check_proportion_target(target: float | None, mult: float, x: np.ndarray,
                             n: np.ndarray) -> None:
    """Refuse a proportion target that reads as a fraction where multiplier units are due."""
    if target is None:
        raise ValueError("target is required for proportion and rate funnels")
    t = float(target)
    if not (mult > 1 and 0 < t <= 1) or len(n) == 0 or n.sum() <= 0:
        return
    pooled = x.sum() / n.sum() * mult
    if pooled > t * np.sqrt(mult):
        raise ValueError(
            f"target {t:g} looks like a fraction: the points' pooled value is {pooled:.4g} per "
            f"{mult:g} (multiplier {mult:g}); give the target per {mult:g} "
            f"(e.g. {t * mult:g}), not as a fraction")


# --- quantiles and percentiles ----------------------------------------------------------------

def quantile_class(values: ArrayLike, n: int = 10, high_is_low_rank: bool | ArrayLike = False,
                   groups: ArrayLike | pd.DataFrame | None = None) -> pd.Series:
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
        gdf = groups if isinstance(groups, pd.DataFrame) else pd.DataFrame({"g": np.asarray(groups)})
        if (isinstance(groups, (pd.Series, pd.DataFrame)) and index is not None
                and len(groups) == len(v) and not groups.index.equals(index)):
            raise ValueError("groups and values have different indexes; align them first")
        if len(gdf) != len(v):
            raise ValueError(f"groups has length {len(gdf)} but values has length {len(v)}")
        key = pd.Series(gdf.groupby(list(gdf.columns), sort=False, dropna=False).ngroup()
                        .to_numpy(), index=idx)
    if np.ndim(high_is_low_rank) == 0:
        inv = np.full(len(v), bool(high_is_low_rank))
    else:
        inv_raw = np.asarray(high_is_low_rank)
        if len(inv_raw) != len(v):
            raise ValueError(f"high_is_low_rank has length {len(inv_raw)} but values has length "
                             f"{len(v)}")
        inv = inv_raw.astype(bool)
        varying = pd.Series(inv).groupby(key.to_numpy()).nunique() > 1
        if varying.any():
            raise ValueError("high_is_low_rank must be the same for every value of a group; it "
                             f"varies in {int(varying.sum())} group(s)")
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


# --- slope index of inequality ----------------------------------------------------------------

_VALUE_TYPES = {0: "default", 1: "rate", 2: "proportion", "default": "default", "rate": "rate",
                "proportion": "proportion"}


def _sii_fit(v: np.ndarray, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercept and slope of the population-weighted regression of v on relative rank.

    ``v`` may be 2-D (repetitions × quantiles).
    """
    a = pop / pop.sum()
    b = np.cumsum(a) - a / 2.0
    w = np.sqrt(a)
    X = np.column_stack([w, b * w])
    pinv = np.linalg.pinv(X)  # 2 × k
    coef = (np.atleast_2d(v) * w) @ pinv.T
    return coef[:, 0], coef[:, 1]


def sii(data: pd.DataFrame, *, value: str = "value", lower: str | None = "lower",
        upper: str | None = "upper", se: str | None = None, population: str = "population",
        rank_group: str = "decile", groupby: list[str] | None = None,
        value_type: str | int = "default", transform: bool = False, multiplier: float = 1.0,
        conf: float | Sequence[float] = 0.95, ci_conf: float = 0.95, rii: bool = False,
        intercept: bool = False, reps: int = 100_000, seed: int | np.random.Generator | None = 1
        ) -> pd.DataFrame:
    """Slope index of inequality (SII), optionally the relative index (RII), with simulated CIs.

    Method
        Quantiles (e.g. deprivation deciles, 1 = most deprived) are ordered and each given the
        midpoint of its range in the cumulative population distribution, bᵢ = Σ_{j<i} aⱼ +
        aᵢ/2 with aᵢ its population share.  The value yᵢ is regressed on bᵢ by least squares
        weighted by aᵢ (equivalently, yᵢ√aᵢ on √aᵢ and bᵢ√aᵢ without intercept):
        ``y = Y₀ + SII·b``; SII is the fitted difference between the least (b = 1) and the most
        (b = 0) deprived ends and ``RII = (Y₀ + SII) / Y₀``.
        ``transform=True`` (rates: log; proportions: logit) fits on the transformed scale and
        back-transforms: ``SII = f⁻¹(Y₀ + β) − f⁻¹(Y₀)``, ``RII = f⁻¹(Y₀ + β) / f⁻¹(Y₀)``.
        Confidence limits by simulation: each quantile's value is drawn ``reps`` times from a
        normal distribution with its standard error (on the log/logit scale for rates/
        proportions, back-transformed before fitting unless ``transform``), the SII/RII
        recomputed for each draw and the (1 − c)/2 and 1 − (1 − c)/2 quantiles taken.  The
        standard error is ``se`` if given (on the log/logit scale for rates/proportions), else
        ``(f(upper) − f(lower)) / (2 z(ci_conf))``.  A negative ``multiplier`` flips the
        polarity: SII × multiplier and RII inverted (1/RII).
    Parameters
        data: one row per group × quantile.  value/lower/upper/se/population/rank_group: column
        names.  groupby: group columns.  value_type: "default"/0 (normal, e.g. life
        expectancy), "rate"/1, "proportion"/2 (values between 0 and 1).  conf: confidence
        level(s) of the SII limits (a sequence gives suffixed columns).  ci_conf: level of the
        supplied ``lower``/``upper``.  rii, intercept: also return these.  reps: simulation
        size.  seed: seed or numpy Generator for reproducible limits.
    Reference
        PHEindicatormethods 2.1.0 ``phe_sii``; Low A, Low A (2004) J Public Health 26:32-39;
        Fingertips technical guidance, "Slope index of inequality"; Mackenbach JP, Kunst AE
        (1997) Soc Sci Med 44:757-771.
    Edge cases
        A group with fewer than 2 quantiles, a missing/negative/zero population, a missing
        value, neither limits nor standard error, a negative standard error, or (proportions)
        values/limits outside [0, 1] gets NaN results with a ``value_note``.  Duplicated
        quantiles in a group raise ValueError.  Limits use numpy's random generator, so they
        match PHEindicatormethods (R's generator) only to simulation error: with 100,000
        repetitions about 0.1% of the SII.
        Reproducibility: each group draws from its own generator, seeded from ``seed`` and a
        SHA-256 hash of the group's key values (:func:`_group_rng`), so a group's limits depend
        on its own data, key and ``seed`` alone -- not on which other groups are in the call or
        their order (PHEindicatormethods draws every group from R's one global stream, so
        there its limits for an area change with the other areas).  A numpy Generator as
        ``seed`` gives one integer to that scheme; ``None`` a fresh random one.
    Returns
        DataFrame: group columns, ``sii, sii_lower, sii_upper`` (+ ``rii, rii_lower,
        rii_upper``; + ``intercept``), ``value_note``.
    """
    gb = _groupby_list(groupby)
    vt = _VALUE_TYPES.get(value_type)
    if vt is None:
        raise ValueError(f"value_type must be 'default', 'rate' or 'proportion' (0, 1, 2), "
                         f"got {value_type!r}")
    if transform and vt == "default":
        raise ValueError("transform=True needs value_type 'rate' or 'proportion'")
    need = [value, population, rank_group] + gb
    if se is not None:
        need.append(se)
    else:
        if lower is None or upper is None:
            raise ValueError("give se, or both lower and upper")
        need += [lower, upper]
    _require_columns(data, need)
    levels = [conf] if np.ndim(conf) == 0 else list(conf)
    levels = [_check_conf(c) for c in levels]
    zci = z_value(ci_conf)
    mult = float(multiplier)
    if mult == 0:
        raise ValueError("multiplier must not be 0")
    if isinstance(seed, np.random.Generator):
        base_seed = int(seed.integers(0, 2**63))
    elif seed is None:
        base_seed = int(np.random.SeedSequence().entropy % 2**63)
    else:
        base_seed = int(seed)
        if base_seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    reps = int(reps)
    if reps < 100:
        raise ValueError("reps must be at least 100")

    if vt == "rate":
        fwd, inv = np.log, np.exp
    elif vt == "proportion":
        fwd, inv = special.logit, special.expit
    else:
        fwd = inv = (lambda u: u)

    gid, keys = _group_ids(data, gb)
    order = np.lexsort((pd.to_numeric(data[rank_group]).to_numpy(), gid))
    rows = []
    for g in range(len(keys)):
        sel = order[gid[order] == g]
        sub = data.iloc[sel]
        q = pd.to_numeric(sub[rank_group]).to_numpy()
        if len(np.unique(q)) != len(q):
            raise ValueError(f"{_describe_group(keys, g)} has a quantile in {rank_group!r} more "
                             "than once")
        rng = _group_rng(base_seed, keys, g)
        rows.append(_sii_group(sub, value, lower, upper, se, population, vt, transform, fwd, inv,
                               zci, mult, levels, np.ndim(conf) != 0, rii, intercept, reps, rng))
    res = pd.DataFrame(rows)
    out = pd.concat([keys.reset_index(drop=True), res], axis=1) if gb else res
    return out


def _group_rng(seed: int, keys: pd.DataFrame, g: int) -> np.random.Generator:
    """A random generator for group ``g`` that depends on ``seed`` and the group's key only.

    The key values are written out (``repr`` of each, joined by the unit separator) and hashed
    with SHA-256 -- stable across processes and Python versions, unlike ``hash()`` -- and the
    generator is seeded from ``SeedSequence([seed, *hash words])``.  So a group's simulation
    does not change when other groups are added, removed or reordered in the same call.
    """
    text = "\x1f".join(repr(v) for v in keys.iloc[g].tolist()) if keys.shape[1] else ""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def _sii_group(sub: pd.DataFrame, value: str, lower: str | None, upper: str | None,
               se: str | None, population: str, vt: str, transform: bool, fwd, inv, zci: float,
               mult: float, levels: list[float], multi: bool, want_rii: bool,
               want_intercept: bool, reps: int, rng: np.random.Generator) -> dict[str, Any]:
    def num(col: str) -> np.ndarray:
        return pd.to_numeric(sub[col]).to_numpy(dtype="float64", na_value=np.nan)

    v = num(value)
    pop = num(population)
    names = ["sii"] + [f"sii_{s}{_sfx(c, multi)}" for c in levels for s in ("lower", "upper")]
    if want_rii:
        names += ["rii"] + [f"rii_{s}{_sfx(c, multi)}" for c in levels for s in ("lower", "upper")]
    if want_intercept:
        names.append("intercept")
    out: dict[str, Any] = {k: np.nan for k in names}
    note = ""
    if se is not None:
        s = num(se)
    else:
        lo, up = num(lower), num(upper)
    if len(v) < 2:
        note = "Not calculated: fewer than 2 quantiles"
    elif not np.all(np.isfinite(pop)) or np.any(pop <= 0):
        note = "Not calculated: a population is missing, negative or zero"
    elif not np.all(np.isfinite(v)):
        note = "Not calculated: a value is missing"
    elif se is not None and (not np.all(np.isfinite(s)) or np.any(s < 0)):
        note = "Not calculated: a standard error is missing or negative"
    elif se is None and (not np.all(np.isfinite(lo)) or not np.all(np.isfinite(up))):
        note = "Not calculated: confidence limits (or a standard error) are missing"
    elif vt == "proportion" and (np.any((v < 0) | (v > 1)) or
                                 (se is None and np.any((lo < 0) | (up > 1) | (lo > up)))):
        note = "Not calculated: proportions and their limits must be between 0 and 1"
    elif vt == "rate" and (np.any(v <= 0) or (se is None and np.any((lo <= 0) | (lo > up)))):
        note = "Not calculated: rates and their limits must be positive for the log scale"
    elif vt == "default" and se is None and np.any(lo > up):
        note = "Not calculated: a lower limit is above its upper limit"
    if note:
        out["value_note"] = note
        return out
    if se is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (fwd(up) - fwd(lo)) / (2.0 * zci)
    centre = fwd(v) if vt != "default" else v
    draws = rng.normal(centre, s, size=(reps, len(v)))
    if transform:
        y0, beta = _sii_fit(fwd(v), pop)
        sii_pt = inv(y0 + beta) - inv(y0)
        rii_pt = inv(y0 + beta) / inv(y0)
        i0 = inv(y0)
        a_s, b_s = _sii_fit(draws, pop)
        sii_s = inv(a_s + b_s) - inv(a_s)
        rii_s = inv(a_s + b_s) / inv(a_s)
    else:
        y0, beta = _sii_fit(v, pop)
        sii_pt, rii_pt, i0 = beta, (y0 + beta) / y0, y0
        sims = inv(draws) if vt != "default" else draws
        a_s, b_s = _sii_fit(sims, pop)
        sii_s = b_s
        with np.errstate(divide="ignore", invalid="ignore"):
            rii_s = (a_s + b_s) / a_s
    out["sii"] = float(sii_pt[0]) * mult
    for c in levels:
        qs = [(1 - c) / 2, 1 - (1 - c) / 2]
        slo, sup_ = np.quantile(sii_s * mult, qs)
        out[f"sii_lower{_sfx(c, multi)}"], out[f"sii_upper{_sfx(c, multi)}"] = \
            float(min(slo, sup_)), float(max(slo, sup_))
        if want_rii:
            rlo, rup = np.quantile(rii_s, qs)
            if mult < 0:
                rlo, rup = 1.0 / rup, 1.0 / rlo
            out[f"rii_lower{_sfx(c, multi)}"], out[f"rii_upper{_sfx(c, multi)}"] = \
                float(rlo), float(rup)
    if want_rii:
        r = float(rii_pt[0])
        out["rii"] = 1.0 / r if mult < 0 else r
    if want_intercept:
        out["intercept"] = float(np.atleast_1d(i0)[0]) * abs(mult)
    out["value_note"] = ""
    return out


def _sfx(c: float, multi: bool) -> str:
    return "_" + conf_label(c) if multi else ""


# --- aggregation and disclosure control -------------------------------------------------------

def aggregate(df: pd.DataFrame, mapping: Mapping[str, str] | pd.Series, *,
              by: Sequence[str] = (), sum_cols: Sequence[str] = ("count", "denominator"),
              area_col: str = "area_code") -> pd.DataFrame:
    """Roll child areas up to their parents by summing counts and denominators.

    Method
        Each row's ``area_col`` is replaced by its parent from ``mapping`` and ``sum_cols``
        (counts, denominators, age-specific counts, ...) are summed within
        ``[area_col] + by``.  Values of the parent are then recalculated from the sums with
        the indicator's method -- rates and proportions are never averaged.
    Parameters
        df: child rows.  mapping: child code -> parent code (dict or Series indexed by child).
        by: other key columns (period, sex, age band, ...).  sum_cols: columns to add up.
        area_col: the area code column.
    Reference
        Fingertips technical guidance (aggregating counts and denominators to larger areas);
        PHEindicatormethods computes every statistic from summed counts.
    Edge cases
        A missing value in a summed column of any child makes that parent's sum missing (never
        a silent undercount).  Children absent from ``mapping`` (or mapped to a missing
        parent) raise ValueError naming them, as do missing columns or non-numeric sum
        columns.  Other columns are dropped.  The result is sorted by key, so the order of the
        input rows does not matter.
    Returns
        DataFrame: ``area_col``, ``by`` columns, ``sum_cols``.
    """
    by = list(by)
    sum_cols = list(sum_cols)
    _require_columns(df, [area_col] + by + sum_cols, "df")
    if area_col in by:
        raise ValueError(f"by must not include area_col {area_col!r}")
    m = pd.Series(mapping) if not isinstance(mapping, pd.Series) else mapping
    if m.index.has_duplicates:
        dups = list(pd.unique(m.index[m.index.duplicated()]))[:10]
        raise ValueError(f"mapping has children listed more than once: {dups}")
    parent = df[area_col].map(m)
    unmapped = parent.isna()
    if unmapped.any():
        missing = list(pd.unique(df.loc[unmapped, area_col]))
        more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
        raise ValueError(f"{len(missing)} area(s) in {area_col!r} have no parent in mapping: "
                         f"{missing[:10]}{more}")
    values = {}
    for c in sum_cols:
        if pd.api.types.is_bool_dtype(df[c]) or not pd.api.types.is_numeric_dtype(df[c]):
            raise ValueError(f"sum column {c!r} must be numeric, it is {df[c].dtype}")
        values[c] = df[c].astype("float64")
    work = pd.DataFrame({area_col: parent.to_numpy()}, index=df.index)
    for c in by:
        work[c] = df[c]
    for c in sum_cols:
        work[c] = values[c]
        work["__na_" + c] = values[c].isna()
    g = work.groupby([area_col] + by, sort=True, dropna=False, observed=True)
    sums = g[sum_cols].sum()
    nas = g[["__na_" + c for c in sum_cols]].any()
    for c in sum_cols:
        sums[c] = sums[c].where(~nas["__na_" + c].to_numpy())
    return sums.reset_index()


def suppress(df: pd.DataFrame, threshold: int = 5, *, count: str = "count",
             derived: Sequence[str] = ("value", "lower_95", "upper_95", "lower_998", "upper_998"),
             note: str = "value_note") -> pd.DataFrame:
    """Disclosure control: blank small counts and everything derived from them.

    Method
        Rows with ``0 < count < threshold`` (1-4 for the default threshold 5) have the count and
        every ``derived`` column set to missing, ``suppressed = True`` and the value note
        "Supp.: count between 1 and 4 suppressed (disclosure control)" appended (after "; " if
        the row already has a note).  Counts of 0 and missing counts are not suppressed.
    Parameters
        df: table with a count column.  threshold: smallest count that is published.  count:
        the count column.  derived: columns computed from the count (those absent from ``df``
        are skipped).  note: the value-note column (created if absent).
    Reference
        NHS Digital / ONS disclosure control guidance for small numbers (counts 1-4);
        Fingertips value note "Value suppressed for disclosure control reasons".
    Edge cases
        Returns a copy; the input is not modified.  A missing ``count`` column raises
        ValueError.
    Returns
        Copy of ``df`` with the columns blanked, ``suppressed`` (bool) and ``note`` updated.
    """
    _require_columns(df, [count], "df")
    out = df.copy()
    c = pd.to_numeric(out[count], errors="coerce").astype("float64")
    mask = ((c > 0) & (c < threshold)).fillna(False).to_numpy(dtype=bool)
    text = (SUPPRESSION_NOTE if threshold == 5 else
            f"Supp.: count between 1 and {threshold - 1:g} suppressed (disclosure control)")
    out[count] = c.where(~mask)
    for col in derived:
        if col in out.columns and col != count:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64").where(~mask)
    if note in out.columns:
        old = out[note].astype(object).where(out[note].notna(), "").astype(str)
    else:
        old = pd.Series("", index=out.index, dtype=object)
    new = np.where(mask, np.where(old.to_numpy() == "", text, old.to_numpy() + "; " + text),
                   old.to_numpy())
    out[note] = pd.Series(new, index=out.index, dtype=object)
    out["suppressed"] = mask
    return out


#: χ² on 1 degree of freedom at 99.8% (the Fingertips recent-trend threshold, 3.0902²).
TREND_THRESHOLD = 9.5495


def _ls_slope(t: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted least-squares slope of ``y`` on ``t`` (``w`` all 1: ordinary least squares)."""
    tbar, ybar = (w * t).sum() / w.sum(), (w * y).sum() / w.sum()
    return float((w * (t - tbar) * (y - ybar)).sum() / (w * (t - tbar) ** 2).sum())


def recent_trend(values: ArrayLike, *, count: ArrayLike | None = None,
                 denom: ArrayLike | None = None, lower: ArrayLike | None = None,
                 upper: ArrayLike | None = None, polarity: str = "no_judgement",
                 conf: float = 0.95, points: int = 5) -> dict[str, Any]:
    """Recent trend of a series over its last ``points`` (5) periods, as Fingertips marks it.

    Method
        Periods are scored ``t = 1 … k`` (equally spaced, oldest first).

        1. **Significance.**

           * Proportions (``count`` and ``denom`` given): the χ² test for trend in proportions
             (Armitage 1955; Altman, *Practical Statistics for Medical Research*, 1991, 10.7):
             with ``p̄ = Σx/Σn`` and ``t̄ = Σn·t/Σn``,
             ``β = Σ(x − n·p̄)(t − t̄) / Σn(t − t̄)²`` and
             ``χ² = β² · Σn(t − t̄)² / (p̄(1 − p̄))``.
           * Other values (``lower``/``upper`` given at confidence ``conf``): weighted least
             squares with ``w = 1/SE²``, ``SE = (upper − lower)/(2z)``; with weighted means
             ``t̄``, ``ȳ``: ``β = Σw(t − t̄)(y − ȳ)/Σw(t − t̄)²`` and ``χ² = β² · Σw(t − t̄)²``.

           χ² ≤ 9.5495 (99.8%, 1 df): "No significant change" (reason "No significant trend").
        2. **Outlier check** (the national rule): a significant trend is kept only if its
           direction does not depend on one point.  The direction slope is fitted to all
           ``k`` points and again to each set of ``k − 1`` points with one point left out in
           turn; if any of the ``k`` leave-one-out slopes has a different sign from the full
           one (a slope of exactly 0 counts as different), the label is "No significant
           change" with reason "Outlier found".  Direction slope: for proportions the
           ordinary least-squares slope of the log odds ``ln(x/(n − x))`` on ``t``
           (Fingertips); when a count in the ``k`` points is 0 or equals its denominator the
           log odds is infinite and the slope of the proportions weighted by ``n`` (``β``
           above, on the kept points) is used instead.  For other values, ``β`` above on the
           kept points.  The full direction slope must also have the sign of ``β``.
        3. Labels: "Increasing" / "Decreasing" by the sign of ``β``, with "and getting
           better"/"and getting worse" by polarity; "No significant change"; "Cannot be
           calculated".
    Reference
        OHID Fingertips technical guidance, "Trend markers" (recent trend over the latest five
        points at 99.8%),
        https://fingertips.phe.org.uk/static-reports/public-health-technical-guidance/Presentation/Trend_markers.html;
        Fingertips' own calculator (ukhsa-collaboration/fingertips-open,
        PholioVisualisationWS/Analysis/TrendMarkers/TrendMarkerCalculator.cs: χ² > 9.5495 and
        the six slopes — all points, then each point left out — of one sign,
        ``NoOutliersCheck`` / ``NoOutliersCheckForProportion``); PHEindicatormethods
        ``assign_trend_markers`` (added after 2.1.0; reason "Outlier found" when a
        leave-one-out slope's sign differs).  Real check: every one of the 6,851 recent trends
        of Fingertips export 91547 (tests/test_fingertips_agreement.py), including three
        districts whose direction turns on one point (their series start with a flagged
        2018/19 value).
    Edge cases
        Fewer than ``points`` values, any missing value, count, denominator or limit among
        them, p̄ of 0 or 1, or zero-width limits -> "Cannot be calculated".  Invalid input
        raises ValueError naming the argument: ``count``/``denom``/``lower``/``upper`` of a
        different length from ``values``, a negative count or denominator, a count above its
        denominator, an unknown polarity, or ``points`` < 3 (the outlier check needs at least
        two points left after removing one).
    Returns
        dict with ``label``, ``reason`` ("No outliers and significant trend", "Outlier found",
        "No significant trend" or why it cannot be calculated), ``chi2``, ``slope`` (β per
        period, in the values' units; for proportions per unit proportion) and ``points``
        used.
    """
    if polarity not in ("high_is_good", "low_is_good", "no_judgement"):
        raise ValueError(f"unknown polarity {polarity!r}")
    if int(points) != points or points < 3:
        raise ValueError(f"points must be an integer of at least 3, got {points!r}")
    k = int(points)
    y = np.atleast_1d(_to_array(values, "values")[0])
    series = {"count": count, "denom": denom, "lower": lower, "upper": upper}
    arrays: dict[str, np.ndarray] = {}
    for name, v in series.items():
        if v is None:
            continue
        arr = np.atleast_1d(_to_array(v, name)[0])
        if len(arr) != len(y):
            raise ValueError(f"recent_trend: {name} has length {len(arr)} but values has length "
                             f"{len(y)}; give one {name} per period")
        arrays[name] = arr
    for name in ("count", "denom"):
        if name in arrays and (arrays[name] < 0).any():
            bad = np.flatnonzero(arrays[name] < 0).tolist()
            raise ValueError(f"recent_trend: {name} must not be negative; got "
                             f"{arrays[name][bad].tolist()} at position(s) {bad}")
    if "count" in arrays and "denom" in arrays and (arrays["count"] > arrays["denom"]).any():
        bad = np.flatnonzero(arrays["count"] > arrays["denom"]).tolist()
        raise ValueError(f"recent_trend: count is above denom at position(s) {bad} (a "
                         "proportion's numerator cannot exceed its denominator)")

    def cannot(reason: str) -> dict[str, Any]:
        return {"label": "Cannot be calculated", "reason": reason, "chi2": np.nan,
                "slope": np.nan, "points": 0}

    if len(y) < k:
        return cannot(f"fewer than {k} points")
    y = y[-k:]
    t = np.arange(1, k + 1, dtype=float)
    if count is not None and denom is not None:
        x = arrays["count"][-k:]
        n = arrays["denom"][-k:]
        if not (np.isfinite(x).all() and np.isfinite(n).all() and (n > 0).all()):
            return cannot("a missing count or denominator")
        pbar = x.sum() / n.sum()
        if not 0 < pbar < 1:
            return cannot("the proportion is 0 or 1 in every period")
        slope = _ls_slope(t, x / n, n)
        sxx = (n * (t - (n * t).sum() / n.sum()) ** 2).sum()
        chi2 = slope ** 2 * sxx / (pbar * (1 - pbar))
        if ((x > 0) & (x < n)).all():
            logodds = np.log(x / (n - x))

            def direction(keep: np.ndarray) -> float:
                return _ls_slope(t[keep], logodds[keep], np.ones(keep.sum()))
        else:
            def direction(keep: np.ndarray) -> float:
                return _ls_slope(t[keep], x[keep] / n[keep], n[keep])
    elif lower is not None and upper is not None:
        lo = arrays["lower"][-k:]
        up = arrays["upper"][-k:]
        se = (up - lo) / (2 * z_value(conf))
        if not (np.isfinite(y).all() and np.isfinite(se).all() and (se > 0).all()):
            return cannot("a missing value or limit, or limits of zero width")
        w = 1 / se ** 2
        slope = _ls_slope(t, y, w)
        chi2 = slope ** 2 * (w * (t - (w * t).sum() / w.sum()) ** 2).sum()

        def direction(keep: np.ndarray) -> float:
            return _ls_slope(t[keep], y[keep], w[keep])
    else:
        raise ValueError("recent_trend needs count and denom (proportions) or lower and "
                         "upper (other indicator types)")
    if chi2 <= TREND_THRESHOLD:
        label, reason = "No significant change", "No significant trend"
    else:
        full = np.sign(direction(np.ones(k, bool)))
        left_out = [np.sign(direction(np.arange(k) != j)) for j in range(k)]
        if full != np.sign(slope) or any(s != full for s in left_out):
            label, reason = "No significant change", "Outlier found"
        else:
            label, reason = ("Increasing" if slope > 0 else "Decreasing"), \
                "No outliers and significant trend"
            if polarity != "no_judgement":
                good = (slope > 0) == (polarity == "high_is_good")
                label += " and getting better" if good else " and getting worse"
    return {"label": label, "reason": reason, "chi2": float(chi2), "slope": float(slope),
            "points": k}
