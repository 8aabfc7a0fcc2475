"""Life expectancy from an abridged life table (Chiang II, Silcocks' variance;
PHEindicatormethods ``phe_life_expectancy``).

Part of the public statistics API :mod:`nhsbook.stats` (conventions in its docstring).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nhsbook.core.model import AGE_BANDS
from nhsbook.methods._common import (
    _band_codes,
    _describe_group,
    _group_ids,
    _groupby_list,
    _require_columns,
    z_value,
)

#: Age bands of the abridged life table (as PHEindicatormethods ``phe_life_expectancy``).
LE_AGE_BANDS: tuple[str, ...] = ("0", "1-4") + AGE_BANDS[1:]
#: Start age of each life-table band.
LE_START_AGES: tuple[int, ...] = (0, 1) + tuple(range(5, 95, 5))


_NOTE_LE_INVALID = (
    "Not calculated: deaths or population missing or negative, a population of "
    "zero, or deaths above population in at least one age band"
)
_NOTE_LE_SMALL = "Not calculated: total population (all ages) of 5,000 or fewer"
_NOTE_LE_MISSING = "Not calculated: missing age band(s) {bands}"
_NOTE_LE_NO90 = "Not calculated: no deaths at ages 90+"
_NOTE_LE_WIDE = "Value suppressed: 95% confidence interval wider than 20 years"
_NOTE_LE_NOSURV = (
    "Limits not calculated: no survivors to this age (probability of dying 1 in an earlier band)"
)
#: Total population (all ages) at or below which life expectancy is not calculated.
LE_MIN_POPULATION = 5_000


def life_expectancy(
    data: pd.DataFrame,
    *,
    deaths: str = "deaths",
    pop: str = "population",
    age: str = "age_band",
    groupby: list[str] | None = None,
    start_age: int | Sequence[int] = 0,
    conf: float = 0.95,
    le_age_bands: Sequence[str] | None = None,
) -> pd.DataFrame:
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
        raise ValueError(
            "le_age_bands must list the 20 distinct life-table bands "
            "(0, 1-4, 5-9, ..., 85-89, 90+) in ascending order"
        )
    ages = [start_age] if np.ndim(start_age) == 0 else list(start_age)
    for a in ages:
        if a not in LE_START_AGES:
            raise ValueError(
                f"start_age {a!r} is not the start of a life-table band {list(LE_START_AGES)}"
            )
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
        raise ValueError(
            f"age band(s) {list(unknown)} in column {age!r} are not life-table bands {list(shown)}"
        )
    counts = np.bincount(gid * 20 + bcode, minlength=n_groups * 20).reshape(n_groups, 20)
    if (counts > 1).any():
        g, b = np.argwhere(counts > 1)[0]
        raise ValueError(f"{_describe_group(keys, g)} has age band {shown[b]!r} more than once")
    missing_band = (counts == 0).any(axis=1)
    D = np.full((n_groups, 20), np.nan)
    P = np.full((n_groups, 20), np.nan)
    D[gid, bcode] = pd.to_numeric(data[deaths]).to_numpy(dtype="float64", na_value=np.nan)
    P[gid, bcode] = pd.to_numeric(data[pop]).to_numpy(dtype="float64", na_value=np.nan)
    res = _life_table(
        np.where(missing_band[:, None], 1.0, D), np.where(missing_band[:, None], 1e6, P)
    )
    invalid = res["invalid"] & ~missing_band
    small = ~missing_band & ~invalid & (P.sum(axis=1) <= LE_MIN_POPULATION)
    no90 = ~missing_band & ~invalid & ~small & (D[:, 19] == 0)
    hide_all = missing_band | invalid | small | no90
    missing_note = np.array(
        [
            _NOTE_LE_MISSING.format(bands=[shown[b] for b in np.flatnonzero(counts[g] == 0)])
            for g in range(n_groups)
        ],
        dtype=object,
    )
    frames = []
    for a in ages:
        k = LE_START_AGES.index(a)
        e = res["e"][:, k]
        lk = res["l"][:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(res["cum_var"][:, k] / lk**2)
        lower, upper = e - z * se, e + z * se
        wide = ~hide_all & (z95 * se > 10)
        nosurv = ~hide_all & (lk == 0)
        note = np.select(
            [missing_band, invalid, small, no90, wide, nosurv],
            [
                missing_note,
                _NOTE_LE_INVALID,
                _NOTE_LE_SMALL,
                _NOTE_LE_NO90,
                _NOTE_LE_WIDE,
                _NOTE_LE_NOSURV,
            ],
            "",
        )
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
    term = l**2 * ((1.0 - a) * np.nan_to_num(n) + e_next) ** 2 * var_q
    term[:, 19] = l[:, 19] ** 2 / (Ds[:, 19] * M[:, 19] ** 2)
    cum_var = np.cumsum(term[:, ::-1], axis=1)[:, ::-1]
    return {"e": e, "l": l, "cum_var": cum_var, "invalid": invalid}
