"""Population: age-sex structure, projections and the measures read from them.

Everything a population page shows is computed here from the model's population table (area,
year, sex, 5-year age band, population) and the projection table; the charts are
:func:`nhsbook.charts.pyramid` and :func:`nhsbook.charts.projection`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.core.model import AGE_BANDS

#: Bands of the old-age dependency ratio (UN/World Bank definition on 5-year bands).
OLD_BANDS = AGE_BANDS[13:]  # 65-69 … 90+
WORKING_BANDS = AGE_BANDS[3:13]  # 15-19 … 60-64
UNDER_15 = AGE_BANDS[:3]
OVER_75 = AGE_BANDS[15:]  # 75-79 … 90+


def area_population(population: pd.DataFrame, areas: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """Population of an area by sex and age band: its own rows, or the sum of the practices
    below it (localities and CCGs are built from their practices).

    Returns columns ``sex``, ``age_band``, ``population`` in band order, males first.
    """
    own = population[population["area_code"] == area_code]
    if own.empty:
        codes = areas["area_code"].tolist()
        below = [
            c
            for c, t in zip(codes, areas["area_type"])
            if t == "practice" and area_code in _ancestors(areas, c)
        ]
        own = population[population["area_code"].isin(below)]
    if own.empty:
        raise KeyError(f"no population for area {area_code!r} or for practices below it")
    year = own["year"].max()
    own = own[own["year"] == year]
    out = own.groupby(["sex", "age_band"], as_index=False)["population"].sum()
    return _ordered(out)


def _ancestors(areas: pd.DataFrame, code: str) -> set[str]:
    parents = dict(zip(areas["area_code"], areas["parent_code"].fillna("")))
    seen: set[str] = set()
    while code in parents and parents[code] and parents[code] not in seen:
        code = parents[code]
        seen.add(code)
    return seen


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    unknown = sorted(set(df["age_band"]) - set(AGE_BANDS))
    if unknown:
        raise ValueError(
            f"population has age bands {unknown}; expected the 19 ESP bands "
            f"{AGE_BANDS[0]} … {AGE_BANDS[-1]}"
        )
    df = df.assign(
        _b=df["age_band"].map({b: i for i, b in enumerate(AGE_BANDS)}),
        _s=df["sex"].map({"Male": 0, "Female": 1}),
    )
    return df.sort_values(["_s", "_b"]).drop(columns=["_b", "_s"]).reset_index(drop=True)


def pyramid_data(
    area: pd.DataFrame,
    area_name: str,
    comparator: pd.DataFrame | None = None,
    comparator_name: str = "",
) -> pd.DataFrame:
    """Rows for an age-sex pyramid: each band's share of the whole population (both sexes),
    for the area and, when given, its comparator.

    ``percent = 100 × population(sex, band) / Σ population``; ``signed_percent`` is negative
    for males so that they are drawn to the left.  Columns ``role`` ("area"/"comparator"),
    ``name``, ``sex``, ``age_band``, ``band_order``, ``population``, ``percent``,
    ``signed_percent``.
    """
    parts = []
    for role, df, name in (("area", area, area_name), ("comparator", comparator, comparator_name)):
        if df is None:
            continue
        total = df["population"].sum()
        if not total > 0:
            raise ValueError(f"population of {name!r} sums to {total}")
        d = df[["sex", "age_band", "population"]].copy()
        d["percent"] = 100 * d["population"] / total
        d["signed_percent"] = np.where(d["sex"].eq("Male"), -d["percent"], d["percent"])
        d["band_order"] = d["age_band"].map({b: i for i, b in enumerate(AGE_BANDS)})
        d.insert(0, "name", name)
        d.insert(0, "role", role)
        parts.append(d)
    out = pd.concat(parts, ignore_index=True)
    out[["percent", "signed_percent"]] = out[["percent", "signed_percent"]].round(3)
    return out


def structure(pop: pd.DataFrame) -> dict[str, float]:
    """Summary measures of an age structure (``sex``, ``age_band``, ``population`` rows).

    * ``total``; ``under_15_pct`` = 100 × P(0-14) / P; ``over_65_pct``; ``over_75_pct``.
    * ``old_age_dependency_ratio`` = 100 × P(65+) / P(15-64): people aged 65 and over per
      100 of working age (UN World Population Prospects definition; ONS uses state pension
      age per 1,000 aged 16 to state pension age, which 5-year bands cannot give).
    """
    by_band = pop.groupby("age_band")["population"].sum()
    total = float(by_band.sum())

    def share(bands: tuple[str, ...]) -> float:
        return float(by_band.reindex(bands).fillna(0).sum())

    return {
        "total": total,
        "under_15_pct": 100 * share(UNDER_15) / total,
        "over_65_pct": 100 * share(OLD_BANDS) / total,
        "over_75_pct": 100 * share(OVER_75) / total,
        "old_age_dependency_ratio": 100 * share(OLD_BANDS) / share(WORKING_BANDS),
    }


def cagr(start: float, end: float, years: float) -> float:
    """Compound annual growth rate in percent: ``100 × ((end / start)^(1 / years) − 1)``.

    The "average annual growth rate" of population projections (e.g. ONS subnational
    projections summaries).  Raises ``ValueError`` for non-positive values or years.
    """
    if not (start > 0 and end > 0 and years > 0):
        raise ValueError(
            f"growth needs positive start, end and years (got {start}, {end}, {years})"
        )
    return 100 * ((end / start) ** (1 / years) - 1)


def projection_table(projection: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """The area's projection by year: population, 75+, the 75+ share, and the growth of both
    since the first year (compound annual, percent)."""
    p = projection[projection["area_code"] == area_code].sort_values("year").copy()
    if p.empty:
        return p
    p["year"] = p["year"].astype(int)
    first = p.iloc[0]
    p["share_75plus_pct"] = 100 * p["population_75plus"] / p["population"]
    growth = [np.nan] + [
        cagr(first["population"], r["population"], r["year"] - first["year"])
        for _, r in p.iloc[1:].iterrows()
    ]
    growth75 = [np.nan] + [
        cagr(first["population_75plus"], r["population_75plus"], r["year"] - first["year"])
        for _, r in p.iloc[1:].iterrows()
    ]
    p["growth_pct_a_year"] = growth
    p["growth_75plus_pct_a_year"] = growth75
    return p[
        [
            "area_code",
            "year",
            "population",
            "population_75plus",
            "share_75plus_pct",
            "growth_pct_a_year",
            "growth_75plus_pct_a_year",
        ]
    ].reset_index(drop=True)


def growth_between(
    projection: pd.DataFrame, area_code: str, start: int, end: int
) -> dict[str, float]:
    """Compound annual growth of all ages and of 75+ between two projection years."""
    p = projection[projection["area_code"] == area_code].set_index(projection["year"].astype(int))
    missing = [y for y in (start, end) if y not in p.index]
    if missing:
        raise KeyError(f"projection for {area_code} has no year {missing}")
    return {
        "all_ages": cagr(p.at[start, "population"], p.at[end, "population"], end - start),
        "over_75": cagr(
            p.at[start, "population_75plus"], p.at[end, "population_75plus"], end - start
        ),
    }


def projection_long(table: pd.DataFrame) -> pd.DataFrame:
    """Projection rows for the chart: one row per year and group ("All ages", "Aged 75+"),
    with the population indexed to the first year (= 100)."""
    rows = []
    for group, col in (("All ages", "population"), ("Aged 75+", "population_75plus")):
        base = table[col].iloc[0]
        for _, r in table.iterrows():
            rows.append(
                {
                    "year": int(r["year"]),
                    "group": group,
                    "population": r[col],
                    "index": round(100 * r[col] / base, 2),
                }
            )
    return pd.DataFrame(rows)


def reference_population(source: Path, la_codes: list[str] | None = None) -> pd.DataFrame:
    """A comparator population by sex and 5-year band from an ONS small-area single-year
    file (SAPE: ``lsoa_code``, ``la_code``, ``sex`` m/f, ``age_0`` … ``age_89``,
    ``age_90plus``), summed over the LSOAs of ``la_codes`` (all when None)."""
    raw = pd.read_csv(source)
    need = {"la_code", "sex", "age_90plus"} | {f"age_{a}" for a in range(90)}
    missing = sorted(need - set(raw.columns))
    if missing:
        raise ValueError(
            f"{source}: columns {missing[:5]} missing; expected an ONS SAPE single-year file"
        )
    if la_codes:
        raw = raw[raw["la_code"].isin(la_codes)]
        if raw.empty:
            raise ValueError(f"{source}: no rows for local authorities {la_codes}")
    sexes = (
        raw["sex"].str.lower().map({"m": "Male", "f": "Female", "male": "Male", "female": "Female"})
    )
    if sexes.isna().any():
        bad = raw.loc[sexes.isna(), "sex"].iloc[0]
        raise ValueError(f"{source}: column 'sex' has {bad!r}; expected m or f")
    rows = []
    for sex in ("Male", "Female"):
        sub = raw[sexes == sex]
        for i, band in enumerate(AGE_BANDS):
            if band == "90+":
                cols = ["age_90plus"]
            else:
                lo = 5 * i
                cols = [f"age_{a}" for a in range(lo, lo + 5)]
            rows.append(
                {"sex": sex, "age_band": band, "population": float(sub[cols].to_numpy().sum())}
            )
    return pd.DataFrame(rows)
