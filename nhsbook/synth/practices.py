"""Seeded generator of the embedded default's synthetic practice-level data.

The seed documents publish North Derbyshire CCG's JSNA profiles at CCG level only: for each
indicator the CCG's Number and Rate, the cluster's rate and the worst and best practice values
(seed ``002_e967b0e31addb216.txt`` lines 253-333).  Practice-level data are not public, so the
default book uses *synthetic* practices, made here, that are calibrated to those facts:

* 38 practices in the five localities with list sizes that sum to 288,000 (seed line 120);
* an age-sex registered population whose under-15 and 75+ shares are the seed's 15.4% and 9.1%
  (seed line 203) and whose practice totals equal the list sizes;
* for every count-based indicator, practice counts that sum to the CCG's published Number and
  denominators for which the CCG value, recomputed by :mod:`nhsbook.analysis.indicators`, rounds to the
  published Rate;
* one practice at exactly the published worst value and one at the published best value, with
  every other practice between them (ties allowed), and each extreme practice's count either 0 or at
  least 5 so that the published extremes survive disclosure control;
* for value-only indicators (life expectancy, IMD score) practice values between worst and best,
  the IMD list-size-weighted mean equal to the CCG's published score.

Codes (``SYN01``...) and names ("Synthetic practice 01") are plainly not real.  Everything is
drawn from one ``numpy.random.Generator`` seeded by ``seed``: the same seed always writes the same
files, byte for byte, and the build checks the calibration again through the validation gate.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.core.model import AGE_BANDS, COUNT_METHODS

#: Default seed: the date the seed strategy went to the CCG governing body (27/09/2012).
DEFAULT_SEED = 20120927
PERIOD = "2012"
CCG_CODE = "E38000115"
REGISTERED_POPULATION = 288_000  # seed 002 line 120
UNDER_15_SHARE = 0.154  # seed 002 line 203
OVER_75_SHARE = 0.091  # seed 002 line 203
#: Practices per locality (the seed gives 38 in all, line 120; the split is synthetic).
LOCALITY_PRACTICES: dict[str, int] = {
    "ND-CHE": 11,
    "ND-NEA": 9,
    "ND-HPK": 8,
    "ND-NDA": 6,
    "ND-DRO": 4,
}
#: A plausible English age structure (percent of persons by 5-year band) and male share,
#: used only as the starting shape before calibration.
_BASE_SHAPE = np.array(
    [6.3, 5.6, 5.8, 6.3, 6.8, 6.9, 6.6, 6.8, 7.3, 7.3, 6.4, 5.7, 6.0, 4.7, 3.9, 3.2, 2.4, 1.5, 0.8]
)
_MALE_SHARE = np.array(
    [
        0.512,
        0.512,
        0.512,
        0.513,
        0.51,
        0.5,
        0.5,
        0.5,
        0.5,
        0.495,
        0.495,
        0.493,
        0.49,
        0.485,
        0.47,
        0.45,
        0.42,
        0.35,
        0.27,
    ]
)
_BAND_START = np.array([int(re.match(r"\d+", b).group()) for b in AGE_BANDS])


def round_half_up(x: float, digits: int = 1) -> float:
    """Round as published tables do (half away from zero), robust to binary representation."""
    q = 10**digits
    return math.copysign(math.floor(abs(x) * q + 0.5 + 1e-9) / q, x)


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total`` (Hamilton's method)."""
    w = np.asarray(weights, dtype=float)
    raw = w / w.sum() * total
    base = np.floor(raw).astype(np.int64)
    short = int(total - base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:short]] += 1
    return base


def age_bands_for(age: str, sex: str = "Persons") -> np.ndarray:
    """Weights over the 19 bands for an indicator's age group, e.g. "65+ yrs", "<75 yrs",
    "5-18 yrs", "1 yr", "All ages" (a band partly inside the range gets a partial weight)."""
    text = age.strip().lower()
    if text.startswith("all"):
        lo, hi = 0.0, 120.0
    elif m := re.match(r"<\s*(\d+)", text):
        lo, hi = 0.0, float(m.group(1))
    elif m := re.match(r"(\d+)\s*\+", text):
        lo, hi = float(m.group(1)), 120.0
    elif m := re.match(r"(\d+)\s*-\s*(\d+)", text):
        lo, hi = float(m.group(1)), float(m.group(2)) + 1
    elif m := re.match(r"(\d+)", text):
        lo = float(m.group(1))
        hi = lo + 1
    else:
        raise ValueError(f"cannot read the age group {age!r}")
    start = _BAND_START.astype(float)
    end = np.append(start[1:], 120.0)
    overlap = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0, None)
    return overlap / (end - start)


def _practices(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    names = {
        "ND-CHE": "Chesterfield",
        "ND-NEA": "North East",
        "ND-HPK": "High Peak",
        "ND-NDA": "North Dales",
        "ND-DRO": "Dronfield",
    }
    n = 0
    for loc, k in LOCALITY_PRACTICES.items():
        for _ in range(k):
            n += 1
            rows.append(
                {
                    "area_code": f"SYN{n:02d}",
                    "area_name": f"Synthetic practice {n:02d} ({names[loc]})",
                    "area_type": "practice",
                    "parent_code": loc,
                    "comparator_code": CCG_CODE,
                }
            )
    df = pd.DataFrame(rows)
    sizes = np.clip(rng.lognormal(mean=0.0, sigma=0.45, size=len(df)), 0.3, 3.0)
    df["list_size"] = largest_remainder(sizes, REGISTERED_POPULATION)
    return df


def _population(rng: np.random.Generator, practices: pd.DataFrame) -> pd.DataFrame:
    """Practice x sex x band registered population calibrated to the seed's age shares."""
    n = len(practices)
    old = _BAND_START >= 75
    young = _BAND_START < 15
    tilt = rng.lognormal(0.0, 0.25, size=n)
    shapes = _BASE_SHAPE[None, :] * np.where(old[None, :], tilt[:, None], 1.0)
    shapes = shapes * np.where(young[None, :], tilt[:, None] ** -0.5, 1.0)
    sizes = practices["list_size"].to_numpy(dtype=float)
    a = b = 1.0
    for _ in range(200):  # fixed-point iteration on the CCG-level young and old shares
        s = shapes * np.where(young, a, 1.0) * np.where(old, b, 1.0)
        s = s / s.sum(axis=1, keepdims=True)
        pop = s * sizes[:, None]
        tot = pop.sum()
        a *= UNDER_15_SHARE / (pop[:, young].sum() / tot)
        b *= OVER_75_SHARE / (pop[:, old].sum() / tot)
    rows = []
    for i, code in enumerate(practices["area_code"]):
        persons = largest_remainder(pop[i], int(sizes[i]))
        male = np.round(persons * _MALE_SHARE).astype(np.int64)
        for sex, counts in (("Male", male), ("Female", persons - male)):
            for band, value in zip(AGE_BANDS, counts):
                rows.append(
                    {
                        "area_code": code,
                        "year": int(PERIOD),
                        "sex": sex,
                        "age_band": band,
                        "population": int(value),
                        "kind": "estimate",
                    }
                )
    out = pd.DataFrame(rows)
    persons_band = out.groupby("age_band")["population"].sum().reindex(AGE_BANDS).to_numpy()
    total = persons_band.sum()
    for share, mask, line in ((UNDER_15_SHARE, young, "under 15"), (OVER_75_SHARE, old, "75+")):
        got = round_half_up(100 * persons_band[mask].sum() / total, 1)
        if got != round_half_up(100 * share, 1):
            raise RuntimeError(f"synthetic population {line} share {got}% != seed {100 * share}%")
    return out


class _Target:
    """One indicator's calibration target, with the value formula its method implies."""

    def __init__(self, meta: pd.Series, seed: pd.Series):
        self.id = meta["indicator_id"]
        self.method = meta["method"]
        self.scale = (
            float(meta["reference_value"]) if self.method == "isr" else float(meta["multiplier"])
        )
        self.count = int(seed["ccg_count"])
        self.rate = float(seed["ccg_value"])
        self.worst = float(seed["worst_practice"])
        self.best = float(seed["best_practice"])
        self.lo, self.hi = sorted((self.worst, self.best))
        self.integer_denominator = self.method != "isr"
        self.bounded = self.method == "proportion"

    def value(self, x: float, d: float) -> float:
        return x / d * self.scale

    def matches(self, x: float, d: float, target: float) -> bool:
        return round_half_up(self.value(x, d), 1) == round_half_up(target, 1)

    def extreme(self, x: int, target: float, near: float) -> tuple[int, float]:
        """A count near ``x`` and a denominator whose value is exactly ``target``.

        Counts stay 0 (for a target of 0) or at least 5 in size, so the extreme survives
        disclosure control; ``near`` is the denominator kept when the count is 0."""
        if target == 0:
            return 0, (round(near) if self.integer_denominator else round(near, 3))
        sign = 1 if target > 0 else -1
        for step in range(0, 2000):
            for cand_x in {x + step, x - step}:
                if cand_x * sign < 5:
                    continue
                exact = cand_x * self.scale / target
                if not self.integer_denominator:
                    return cand_x, round(exact, 3)
                for cand_d in (math.floor(exact), math.ceil(exact)):
                    if (
                        cand_d > 0
                        and (not self.bounded or cand_d >= cand_x)
                        and self.matches(cand_x, cand_d, target)
                    ):
                        return cand_x, float(cand_d)
        raise RuntimeError(f"{self.id}: no count and denominator give {target}")


def _calibrate(
    t: _Target, base: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and denominators per practice meeting the target (see module docstring)."""
    n = len(base)
    total_d = t.count * t.scale / t.rate
    if t.integer_denominator:
        guess = round(total_d)
        total_d = next(
            float(c)
            for s in range(1000)
            for c in (guess + s, guess - s)
            if c > 0 and t.matches(t.count, c, t.rate)
        )
    order = np.argsort(base)
    # extremes drawn from the smaller half of practices, as extreme rates usually are
    w, b = rng.choice(order[: max(4, n // 2)], size=2, replace=False)
    d = base / base.sum() * total_d
    x = np.zeros(n)
    for idx, target in ((w, t.worst), (b, t.best)):
        count = round(target * d[idx] / t.scale)
        if t.bounded and target == 100.0:
            count = max(round(d[idx]), 5)
        x[idx], d[idx] = t.extreme(count, target, d[idx])
    mid = np.array([i for i in range(n) if i not in (w, b)])
    rest_d = total_d - d[w] - d[b]
    rest_x = t.count - x[w] - x[b]
    if t.integer_denominator:
        d[mid] = largest_remainder(d[mid], int(round(rest_d)))
    else:
        d[mid] = np.round(d[mid] / d[mid].sum() * rest_d, 3)
    mid_rate = t.value(rest_x, d[mid].sum())
    span = t.hi - t.lo
    inner_lo, inner_hi = t.lo + 0.08 * span, t.hi - 0.08 * span
    if t.bounded:
        inner_hi = min(inner_hi, 99.0)
    if not inner_lo < mid_rate < inner_hi:
        raise RuntimeError(
            f"{t.id}: the rest of the CCG ({mid_rate:.2f}) falls outside the "
            f"worst-best range after placing the extremes"
        )
    sigma = 0.25 if t.lo <= 0 else min(0.35, math.log(t.hi / t.lo) / 6)
    rates = mid_rate * np.exp(rng.normal(0, sigma, size=len(mid)))
    rates = np.clip(rates, inner_lo, inner_hi)
    expected = rates * d[mid] / t.scale
    x[mid] = _integer_sum(expected, int(rest_x))
    _repair(t, x, d, mid)
    _check(t, x, d, w, b, mid)
    return x, d


def _integer_sum(expected: np.ndarray, total: int) -> np.ndarray:
    """Integers close to ``expected`` summing to ``total`` (works for negative values too)."""
    shift = np.floor(expected.min()) if expected.min() < 0 else 0.0
    e = expected - shift
    target = total - shift * len(e)
    return largest_remainder(np.clip(e, 1e-9, None), int(round(target))) + shift


def _repair(t: _Target, x: np.ndarray, d: np.ndarray, mid: np.ndarray) -> None:
    """Move single counts between middle practices until every one lies within worst-best."""
    for _ in range(100_000):
        v = x[mid] / d[mid] * t.scale
        over = (v > t.hi) | (t.bounded & (x[mid] > d[mid]))
        under = v < t.lo
        if not over.any() and not under.any():
            return
        src = mid[np.argmax(np.where(over, v, -np.inf))] if over.any() else None
        dst = mid[np.argmin(np.where(under, v, np.inf))] if under.any() else None
        if src is None:
            src = mid[np.argmax(v)]
        if dst is None:
            dst = mid[np.argmin(v)]
        x[src] -= 1
        x[dst] += 1
    raise RuntimeError(f"{t.id}: could not place middle practices inside the worst-best range")


def _check(t: _Target, x, d, w, b, mid) -> None:
    problems = []
    if x.sum() != t.count:
        problems.append(f"counts sum to {x.sum()} not {t.count}")
    if not t.matches(x.sum(), d.sum(), t.rate):
        problems.append(f"CCG value {t.value(x.sum(), d.sum()):.3f} does not round to {t.rate}")
    if not t.matches(x[w], d[w], t.worst) or not t.matches(x[b], d[b], t.best):
        problems.append("extreme practices do not match the seed's worst/best")
    v = x[mid] / d[mid] * t.scale
    if ((v < t.lo) | (v > t.hi)).any():
        problems.append("a middle practice lies outside worst-best")
    if t.bounded and (x > d).any():
        problems.append("a count exceeds its denominator")
    if problems:
        raise RuntimeError(f"synthetic calibration failed for {t.id}: " + "; ".join(problems))


def _value_only(
    meta: pd.Series, seed: pd.Series, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Practice values for a value-only indicator (life expectancy, IMD score)."""
    worst, best = float(seed["worst_practice"]), float(seed["best_practice"])
    lo, hi = sorted((worst, best))
    n = len(weights)
    w, b = rng.choice(n, size=2, replace=False)
    mid = np.array([i for i in range(n) if i not in (w, b)])
    target = float(seed["ccg_value"])
    values = np.empty(n)
    values[w], values[b] = worst, best
    span = hi - lo
    values[mid] = np.clip(
        target + rng.normal(0, span / 6, size=len(mid)), lo + 0.05 * span, hi - 0.05 * span
    )
    if meta["method"] == "score":
        # the CCG score is the list-size-weighted mean: shift the middle practices to meet it
        for _ in range(100):
            gap = target - np.average(values, weights=weights)
            if abs(gap) < 1e-6:
                break
            values[mid] = np.clip(
                values[mid] + gap * weights.sum() / weights[mid].sum(),
                lo + 0.01 * span,
                hi - 0.01 * span,
            )
        values = np.round(values, 2)
        got = round_half_up(float(np.average(values, weights=weights)), 1)
        if got != target:
            raise RuntimeError(f"{meta['indicator_id']}: weighted mean {got} != seed {target}")
    else:
        values = np.round(values, 1)
    return values


def generate(data_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Build the synthetic tables from the transcribed seed tables in ``data_dir``."""
    meta = pd.read_csv(data_dir / "indicators.csv", dtype={"indicator_id": str})
    published = pd.read_csv(data_dir / "seed_profile.csv", dtype={"indicator_id": str})
    published = published.set_index("indicator_id")
    rng = np.random.default_rng(seed)
    practices = _practices(rng)
    population = _population(rng, practices)
    pop = population.pivot_table(
        index="area_code", columns=["sex", "age_band"], values="population", aggfunc="sum"
    )
    pop = pop.reindex(practices["area_code"])
    rows = []
    sizes = practices["list_size"].to_numpy(dtype=float)
    for _, m in meta.iterrows():
        s = published.loc[m["indicator_id"]]
        if m["method"] in COUNT_METHODS:
            weights = age_bands_for(m["age"])
            sexes = ["Male", "Female"] if m["sex"] == "Persons" else [m["sex"]]
            at_risk = sum(
                pop[sex][list(AGE_BANDS)].to_numpy(dtype=float) @ weights for sex in sexes
            )
            base = at_risk * rng.lognormal(0, 0.1, size=len(at_risk))
            x, d = _calibrate(_Target(m, s), base, rng)
            for code, xi, di in zip(practices["area_code"], x, d):
                rows.append(
                    {
                        "indicator_id": m["indicator_id"],
                        "area_code": code,
                        "period": PERIOD,
                        "count": int(xi),
                        "denominator": di,
                        "value": None,
                    }
                )
        else:
            values = _value_only(m, s, sizes, rng)
            for code, v in zip(practices["area_code"], values):
                rows.append(
                    {
                        "indicator_id": m["indicator_id"],
                        "area_code": code,
                        "period": PERIOD,
                        "count": None,
                        "denominator": None,
                        "value": v,
                    }
                )
    values = pd.DataFrame(rows)
    return {"practices": practices, "population": population, "practice_values": values}


def _fmt_number(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    f = float(v)
    return str(int(f)) if f == int(f) else repr(round(f, 3))


def write(data_dir: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Generate and write ``data_dir/synthetic/*.csv``; returns the paths written."""
    tables = generate(data_dir, seed)
    out_dir = data_dir / "synthetic"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in tables.items():
        df = df.copy()
        for col in ("count", "denominator", "value", "population", "list_size"):
            if col in df.columns:
                df[col] = [_fmt_number(v) for v in df[col]]
        path = out_dir / f"{name}.csv"
        df.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths
