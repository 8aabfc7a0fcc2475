"""Slope and relative index of inequality with simulated limits (PHEindicatormethods
``phe_sii``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from nhsbook.methods._common import (
    _check_conf,
    _describe_group,
    _group_ids,
    _groupby_list,
    _require_columns,
    conf_label,
    z_value,
)

_VALUE_TYPES = {
    0: "default",
    1: "rate",
    2: "proportion",
    "default": "default",
    "rate": "rate",
    "proportion": "proportion",
}


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


def sii(
    data: pd.DataFrame,
    *,
    value: str = "value",
    lower: str | None = "lower",
    upper: str | None = "upper",
    se: str | None = None,
    population: str = "population",
    rank_group: str = "decile",
    groupby: list[str] | None = None,
    value_type: str | int = "default",
    transform: bool = False,
    multiplier: float = 1.0,
    conf: float | Sequence[float] = 0.95,
    ci_conf: float = 0.95,
    rii: bool = False,
    intercept: bool = False,
    reps: int = 100_000,
    seed: int | np.random.Generator | None = 1,
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
        raise ValueError(
            f"value_type must be 'default', 'rate' or 'proportion' (0, 1, 2), got {value_type!r}"
        )
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
        fwd = inv = lambda u: u

    gid, keys = _group_ids(data, gb)
    order = np.lexsort((pd.to_numeric(data[rank_group]).to_numpy(), gid))
    rows = []
    for g in range(len(keys)):
        sel = order[gid[order] == g]
        sub = data.iloc[sel]
        q = pd.to_numeric(sub[rank_group]).to_numpy()
        if len(np.unique(q)) != len(q):
            raise ValueError(
                f"{_describe_group(keys, g)} has a quantile in {rank_group!r} more than once"
            )
        rng = _group_rng(base_seed, keys, g)
        rows.append(
            _sii_group(
                sub,
                value,
                lower,
                upper,
                se,
                population,
                vt,
                transform,
                fwd,
                inv,
                zci,
                mult,
                levels,
                np.ndim(conf) != 0,
                rii,
                intercept,
                reps,
                rng,
            )
        )
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
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def _sii_group(
    sub: pd.DataFrame,
    value: str,
    lower: str | None,
    upper: str | None,
    se: str | None,
    population: str,
    vt: str,
    transform: bool,
    fwd,
    inv,
    zci: float,
    mult: float,
    levels: list[float],
    multi: bool,
    want_rii: bool,
    want_intercept: bool,
    reps: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
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
    elif vt == "proportion" and (
        np.any((v < 0) | (v > 1)) or (se is None and np.any((lo < 0) | (up > 1) | (lo > up)))
    ):
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
        out[f"sii_lower{_sfx(c, multi)}"], out[f"sii_upper{_sfx(c, multi)}"] = (
            float(min(slo, sup_)),
            float(max(slo, sup_)),
        )
        if want_rii:
            rlo, rup = np.quantile(rii_s, qs)
            if mult < 0:
                rlo, rup = 1.0 / rup, 1.0 / rlo
            out[f"rii_lower{_sfx(c, multi)}"], out[f"rii_upper{_sfx(c, multi)}"] = (
                float(rlo),
                float(rup),
            )
    if want_rii:
        r = float(rii_pt[0])
        out["rii"] = 1.0 / r if mult < 0 else r
    if want_intercept:
        out["intercept"] = float(np.atleast_1d(i0)[0]) * abs(mult)
    out["value_note"] = ""
    return out


def _sfx(c: float, multi: bool) -> str:
    return "_" + conf_label(c) if multi else ""
