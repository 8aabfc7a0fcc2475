"""Recent trend of a series over its last five periods, as Fingertips marks it (χ² test
for trend at 99.8% and the outlier check).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nhsbook.methods._common import ArrayLike, _to_array, z_value

#: χ² on 1 degree of freedom at 99.8% (the Fingertips recent-trend threshold, 3.0902²).
TREND_THRESHOLD = 9.5495


def _ls_slope(t: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted least-squares slope of ``y`` on ``t`` (``w`` all 1: ordinary least squares)."""
    tbar, ybar = (w * t).sum() / w.sum(), (w * y).sum() / w.sum()
    return float((w * (t - tbar) * (y - ybar)).sum() / (w * (t - tbar) ** 2).sum())


def recent_trend(
    values: ArrayLike,
    *,
    count: ArrayLike | None = None,
    denom: ArrayLike | None = None,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    polarity: str = "no_judgement",
    conf: float = 0.95,
    points: int = 5,
) -> dict[str, Any]:
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
            raise ValueError(
                f"recent_trend: {name} has length {len(arr)} but values has length "
                f"{len(y)}; give one {name} per period"
            )
        arrays[name] = arr
    for name in ("count", "denom"):
        if name in arrays and (arrays[name] < 0).any():
            bad = np.flatnonzero(arrays[name] < 0).tolist()
            raise ValueError(
                f"recent_trend: {name} must not be negative; got "
                f"{arrays[name][bad].tolist()} at position(s) {bad}"
            )
    if "count" in arrays and "denom" in arrays and (arrays["count"] > arrays["denom"]).any():
        bad = np.flatnonzero(arrays["count"] > arrays["denom"]).tolist()
        raise ValueError(
            f"recent_trend: count is above denom at position(s) {bad} (a "
            "proportion's numerator cannot exceed its denominator)"
        )

    def cannot(reason: str) -> dict[str, Any]:
        return {
            "label": "Cannot be calculated",
            "reason": reason,
            "chi2": np.nan,
            "slope": np.nan,
            "points": 0,
        }

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
        chi2 = slope**2 * sxx / (pbar * (1 - pbar))
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
        w = 1 / se**2
        slope = _ls_slope(t, y, w)
        chi2 = slope**2 * (w * (t - (w * t).sum() / w.sum()) ** 2).sum()

        def direction(keep: np.ndarray) -> float:
            return _ls_slope(t[keep], y[keep], w[keep])
    else:
        raise ValueError(
            "recent_trend needs count and denom (proportions) or lower and "
            "upper (other indicator types)"
        )
    if chi2 <= TREND_THRESHOLD:
        label, reason = "No significant change", "No significant trend"
    else:
        full = np.sign(direction(np.ones(k, bool)))
        left_out = [np.sign(direction(np.arange(k) != j)) for j in range(k)]
        if full != np.sign(slope) or any(s != full for s in left_out):
            label, reason = "No significant change", "Outlier found"
        else:
            label, reason = (
                ("Increasing" if slope > 0 else "Decreasing"),
                "No outliers and significant trend",
            )
            if polarity != "no_judgement":
                good = (slope > 0) == (polarity == "high_is_good")
                label += " and getting better" if good else " and getting worse"
    return {
        "label": label,
        "reason": reason,
        "chi2": float(chi2),
        "slope": float(slope),
        "points": k,
    }
