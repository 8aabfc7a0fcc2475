"""Funnel plots: control limits and each point's significance against them
(PHEindicatormethods ``calculate_funnel_limits`` / ``assign_funnel_significance``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from nhsbook.methods._common import (
    ArrayLike,
    _broadcast,
    _check_conf,
    _to_array,
    conf_label,
    z_value,
)
from nhsbook.methods.rates import _EXACT_BELOW, _count_limits


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
        dh = (
            y ** (-2.0 / 3.0) / 3.0
            + 2.0 / 27.0 * y ** (-5.0 / 3.0)
            - sgn * z / 18.0 * y ** (-7.0 / 6.0)
        )
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


def _monotone_byar(
    e: np.ndarray, ol: np.ndarray, ou: np.ndarray, conf: float
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
            o_star = float(
                _byar_inverse(
                    np.array([e_xl]), np.array([e_xl + z * np.sqrt(e_xl) + 1.0]), z, upper=False
                )[0]
            )
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


def funnel_limits(
    denominators: ArrayLike,
    target: float | None,
    conf: float | Sequence[float] = 0.95,
    kind: str = "proportion",
    multiplier: float | None = None,
    method: str = "national",
) -> pd.DataFrame:
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
    out = pd.DataFrame(
        {"denominator": n}, index=index if index is not None else pd.RangeIndex(len(n))
    )
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


def funnel_significance(
    count: ArrayLike,
    denominator: ArrayLike,
    target: float | None,
    kind: str = "proportion",
    multiplier: float | None = None,
    method: str = "national",
    rate_type: str = "crude",
) -> pd.Series:
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
        lim = funnel_limits(
            n, target, conf=(0.95, 0.998), kind=kind, multiplier=multiplier, method=how
        )
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
    lab = np.select(
        [~valid, hi3, hi2, lo3, lo2],
        [None, "High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)"],
        default="Not significant",
    )
    if kind == "rate" and rate_type == "dsr":
        lab = np.where(valid & (x < _EXACT_BELOW), _NOTE_DSR_FUNNEL, lab)
    return pd.Series(lab, index=index, name="significance", dtype=object)


def _check_proportion_target(
    target: float | None, mult: float, x: np.ndarray, n: np.ndarray
) -> None:
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
            f"(e.g. {t * mult:g}), not as a fraction"
        )
