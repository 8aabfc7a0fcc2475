"""Similar-area peers ("similar 10"): for every sub-ICB location, ICB, upper-tier local
authority (county or unitary) and local authority district of England, its ten most similar
areas of the same kind, computed once in the pipeline from the current open data, and the peer
group's value as a comparator.

Variables (one row per area; :func:`area_variables`)
    * **deprivation**: ``imd_score``, the IMD 2025 score of the area's 2021 LSOAs weighted by
      their Census 2021 usual residents (TS007A ``Total``), ``Σ(score × pop) / Σ pop``;
    * **age structure**: ``pct_under_15`` and ``pct_65_plus``, the shares of registered
      patients (NHS England, July 2026) aged 0–14 and 65+ for sub-ICB locations and ICBs, and
      of Census 2021 usual residents for local authorities (counties, unitaries, districts);
    * **rurality**: ``pct_rural``, the share of Census 2021 residents living in LSOAs the
      Rural Urban Classification 2021 calls Rural (RSN1, RSF1, RLN1, RLF1);
    * **size**: ``log_population``, ``log10`` of registered patients (NHS areas) or of Census
      residents (local authorities): sizes span two orders of magnitude, and a log makes 100,000 vs
      200,000 as far apart as 500,000 vs 1,000,000.

    Sub-ICB locations take their LSOAs from the ONS LSOA (2021) → sub-ICB (April 2024) lookup
    (all 651 Derbyshire LSOAs, Glossop included, in 15M, E38000261); the July 2026 map has the
    same 106 sub-ICB locations but one recoded: Frimley's D4U1Y (E38000252) is Thames Valley's
    U2G6B (E38000268) since the April 2026 mergers (:data:`RECODED`).  ICBs are the 36 of the
    July 2026 map (42 in the 2024 lookup and the 2023 boundaries), each the union of the
    sub-ICB locations the map puts in it.  Districts are the 296 English local authority
    districts of May 2024 (E06, E07, E08, E09), LSOAs by the ONS best-fit ward lookup.
    Upper-tier authorities are the 153 English counties and unitary authorities of December
    2023 (E06, E08, E09, E10): a unitary, metropolitan district or London borough is its own
    upper tier, and a county (E10) is the union of the two-tier districts (E07) whose ONS label
    point lies inside its boundary
    (:func:`nhsbook.io.lsoa21_attributes.read_upper_tier`; 164 districts in 21 counties).

Method (:func:`nearest`)
    Each variable is standardised within its kind of area, ``z = (x − mean) / sd`` (sample
    SD), and the distance between areas ``i`` and ``j`` is the weighted Euclidean distance
    ``d(i, j) = sqrt(Σ_k w_k (z_ik − z_jk)²)`` with ``w = 1`` for deprivation, rurality and
    size and ``w = ½`` for each of the two age variables, so that each of the four domains
    weighs the same.  The peers of an area are the ``k = 10`` other areas of its kind with
    the smallest distance (ties by code, so the result is deterministic).

    Why Euclidean on z-scores rather than Mahalanobis: this is the method of the NHS
    RightCare "similar 10" CCG explorer and of CIPFA's nearest neighbours (standardised,
    weighted Euclidean distance), so the peers read as analysts expect; each distance can be
    recomputed by hand from the published variables, means and SDs; and with 36 ICBs and five
    correlated variables, the inverse covariance Mahalanobis needs is unstable (its smallest
    eigenvalues would dominate the distance, making areas "similar" by the noise of a minor
    component).  Correlated variables (age and rurality) are the price: the domain weights
    keep any one domain from counting twice.
Reference
    NHS RightCare, *Similar 10 CCG explorer tool: methodology* (2019); CIPFA *Nearest
    Neighbours Model* (2020); Commissioning for Value packs (peer comparators).

The peer group's value (:func:`peer_group_values`)
    For a proportion (QOF registers, smoking) the peer group's value is the sum of the 10
    peers' counts over the sum of their denominators, ``Σ count / Σ denominator``, with Wilson
    95% limits (:func:`nhsbook.stats.proportion_ci`), and the area's significance against it
    by the comparator rule of :func:`nhsbook.stats.compare` (95%).  For a score (IMD 2025 of
    practices) the mean of the peers' practices weighted by registered patients, not compared.
    Counts are the sums over the practices the July 2026 map puts in each peer.

    For local authorities (the ``ons_local`` books) ONS publishes rates, percentages and
    scores with their 95% limits but not the counts behind them, so the peers cannot be
    pooled: the peer group's value is the **mean of the peers' published values**
    (unweighted, each authority counting once, as the CIPFA nearest-neighbour averages of the
    local authority profiles), shown only when at least :data:`MIN_PEERS` of the ten have a
    value in that period, with no limits of its own.  The area is compared with it by the
    area's own published 95% limits (the peer mean inside them: similar), the rule it is
    compared with England by.
Edge cases
    An area whose variables are incomplete (no LSOA, no population) gets no peers and is
    never a peer; a family with fewer than ``k + 1`` areas gets every other area.  A variable
    with zero SD standardises to 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook import stats
from nhsbook.analysis import indicators
from nhsbook.core.model import AGE_BANDS
from nhsbook.io import current, ons_local, opendata_icb
from nhsbook.io import lsoa21_attributes as la

#: Variables, their labels and weights (module docstring).
VARIABLES: tuple[tuple[str, str, float], ...] = (
    ("imd_score", "IMD 2025 score (population-weighted)", 1.0),
    ("pct_under_15", "% aged under 15", 0.5),
    ("pct_65_plus", "% aged 65 and over", 0.5),
    ("pct_rural", "% of residents in rural LSOAs", 1.0),
    ("log_population", "Size (log10 population)", 1.0),
)
K = 10
FAMILIES: dict[str, str] = {
    "sub_icb": "sub-ICB locations",
    "icb": "integrated care boards",
    "county": "upper-tier local authorities (counties and unitaries)",
    "district": "local authority districts",
}
#: The least number of peers with a value for a local authority's similar-10 mean.
MIN_PEERS = 5
#: Sub-ICB locations of the April 2024 lookup recoded in the July 2026 map.
RECODED: dict[str, str] = {"E38000252": "E38000268"}
UNDER_15 = AGE_BANDS[:3]  # 0-4, 5-9, 10-14
OVER_65 = AGE_BANDS[13:]  # 65-69 … 90+
METHOD = (
    "Similar 10: the ten areas of the same kind nearest by the weighted Euclidean "
    "distance of standardised (z-score) deprivation (IMD 2025), age structure (% under "
    "15, % 65+; weight ½ each), rurality (% of residents in rural LSOAs, RUC 2021) and "
    "size (log10 population), as the NHS RightCare similar 10 and Commissioning for "
    "Value do; a distance of 0 is an identical profile."
)
PEER_SUFFIX = "similar 10"


def variables_text(family: str) -> str:
    """What the peers page says the variables of a family are (module docstring)."""
    nhs = family in POOLED
    who = "registered patients (NHS England, July 2026)" if nhs else "Census 2021 usual residents"
    return (
        f"**Variables.** Deprivation: the IMD 2025 score of the area's 2021 LSOAs weighted "
        f"by their Census 2021 residents. Age structure: the shares of {who} aged under 15 "
        f"and 65 and over. Rurality: the share of Census 2021 residents living in LSOAs the "
        f"Rural Urban Classification 2021 calls rural. Size: log10 of "
        f"{'registered patients' if nhs else 'Census 2021 residents'}. Each is "
        f"standardised across England's {FAMILIES.get(family, family)} (z = (x − mean) / "
        f"SD) and the distance is d = √Σ w (z − z′)², weights 1 and ½ for each age "
        f"variable. Euclidean distance on z-scores (not Mahalanobis) is the RightCare and "
        f"CIPFA method, and each distance can be recomputed from the table below and the "
        f"means and SDs of the download. See Methods."
    )


def value_text(family: str) -> str:
    """How the peers page says the similar-10 value is made (module docstring)."""
    if family in POOLED:
        return (
            "The similar-10 value is the sum of the ten peers' counts over the sum of "
            "their denominators (their practices as the July 2026 map places them), with "
            "Wilson 95% limits; the area is compared with it by the same 95% rule as with "
            "England (the comparator's value inside the area's 95% interval: similar)."
        )
    return (
        "ONS publishes these rates, percentages and scores with their 95% limits but not "
        "the counts behind them, so the peers cannot be pooled: the similar-10 value is the "
        "mean of the peers' published values, each authority counting once, shown when at "
        f"least {MIN_PEERS} of the ten have a value for the period (the number is in the "
        "download); it has no limits of its own. The area is compared with it by the "
        "area's published 95% limits, the rule it is compared with England by (the "
        "similar-10 mean inside them: similar)."
    )


def lsoa_attributes(
    imd: pd.DataFrame,
    ruc: pd.DataFrame,
    census: pd.DataFrame,
    nhs_lookup: pd.DataFrame | None,
    la_lookup: pd.DataFrame,
    upper_tier: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """England's 2021 LSOAs: ``lsoa21_code``, ``imd_score``, ``rural`` (bool),
    ``population`` (Census 2021), ``under_15`` and ``over_65`` residents, ``sub_icb``
    (ONS E38, July 2026 coding; missing without the NHS lookup), ``district`` (LAD 2024) and
    ``county`` (its upper-tier authority, December 2023; missing without ``upper_tier``)."""
    out = imd[["lsoa21_code", "imd_score"]].copy()
    out["rural"] = out["lsoa21_code"].map(ruc.set_index("lsoa21_code")["ruc"]).eq("Rural")
    c = census.set_index("lsoa21_code")
    out["population"] = out["lsoa21_code"].map(c["population"]).astype(float)
    out["under_15"] = out["lsoa21_code"].map(c[list(current.TS007A_BANDS[:3])].sum(axis=1))
    out["over_65"] = out["lsoa21_code"].map(c[list(current.TS007A_BANDS[13:])].sum(axis=1))
    if nhs_lookup is not None:
        sub = out["lsoa21_code"].map(nhs_lookup.set_index("lsoa21_code")["sicbl24_code"])
        out["sub_icb"] = sub.replace(RECODED)
    else:
        out["sub_icb"] = pd.Series(np.nan, index=out.index, dtype=object)
    out["district"] = out["lsoa21_code"].map(la_lookup.set_index("lsoa21_code")["ltla24_code"])
    out["county"] = (
        out["district"].map(upper_tier.set_index("ltla24_code")["utla_code"])
        if upper_tier is not None
        else pd.Series(np.nan, index=out.index, dtype=object)
    )
    return out


def _lsoa_means(lsoas: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """Population-weighted IMD score, % rural and the Census age counts by ``key``."""
    g = lsoas.assign(
        key=key.to_numpy(),
        sw=lsoas["imd_score"] * lsoas["population"],
        rural_pop=lsoas["population"].where(lsoas["rural"], 0.0),
    )
    s = (
        g.dropna(subset=["key"])
        .groupby("key")[["sw", "population", "rural_pop", "under_15", "over_65"]]
        .sum()
    )
    return pd.DataFrame(
        {
            "imd_score": s["sw"] / s["population"],
            "pct_rural": 100 * s["rural_pop"] / s["population"],
            "census_population": s["population"],
            "census_under_15": s["under_15"],
            "census_over_65": s["over_65"],
        }
    )


def area_variables(
    lsoas: pd.DataFrame,
    registrations: pd.DataFrame | None,
    practice_map: pd.DataFrame | None,
    districts: pd.DataFrame,
    upper_tier: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per area of every family: ``family``, ``area_code``, ``area_name``,
    ``population`` and the variables of :data:`VARIABLES` (module docstring).  The NHS
    families need the registrations and the practice map, the counties ``upper_tier``
    (:func:`nhsbook.io.lsoa21_attributes.read_upper_tier`); a family without its inputs is
    left out."""
    frames = (
        _nhs_variables(lsoas, registrations, practice_map)
        if registrations is not None and practice_map is not None
        else []
    )
    england = lsoas["district"].str.startswith("E0", na=False)
    names = districts.drop_duplicates("ltla24_code").set_index("ltla24_code")["ltla24_name"]
    families = [("district", lsoas.loc[england, "district"], names)]
    if upper_tier is not None:
        families.append(
            (
                "county",
                lsoas.loc[england, "county"],
                upper_tier.drop_duplicates("utla_code").set_index("utla_code")["utla_name"],
            )
        )
    for family, key, names in families:
        means = _lsoa_means(lsoas[england], key)
        frames.append(
            pd.DataFrame(
                {
                    "family": family,
                    "area_code": means.index,
                    "area_name": names.reindex(means.index).to_numpy(),
                    "population": means["census_population"].to_numpy(),
                    "imd_score": means["imd_score"].to_numpy(),
                    "pct_under_15": (
                        100 * means["census_under_15"] / means["census_population"]
                    ).to_numpy(),
                    "pct_65_plus": (
                        100 * means["census_over_65"] / means["census_population"]
                    ).to_numpy(),
                    "pct_rural": means["pct_rural"].to_numpy(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["log_population"] = np.log10(out["population"].where(out["population"] > 0))
    return out.sort_values(["family", "area_code"]).reset_index(drop=True)


def _nhs_variables(
    lsoas: pd.DataFrame, registrations: pd.DataFrame, practice_map: pd.DataFrame
) -> list[pd.DataFrame]:
    """The variables of the sub-ICB locations and ICBs (age and size from registered
    patients, July 2026)."""
    m = practice_map
    sub_to_icb = m.drop_duplicates("ONS_SUB_ICB_LOCATION_CODE").set_index(
        "ONS_SUB_ICB_LOCATION_CODE"
    )["ONS_ICB_CODE"]
    frames = []
    for family, level, key, names in (
        (
            "sub_icb",
            "sub_icb",
            lsoas["sub_icb"],
            m.drop_duplicates("ONS_SUB_ICB_LOCATION_CODE").set_index("ONS_SUB_ICB_LOCATION_CODE")[
                "SUB_ICB_LOCATION_NAME"
            ],
        ),
        (
            "icb",
            "icb",
            lsoas["sub_icb"].map(sub_to_icb),
            m.drop_duplicates("ONS_ICB_CODE").set_index("ONS_ICB_CODE")["ICB_NAME"],
        ),
    ):
        means = _lsoa_means(lsoas, key)
        reg = registrations[registrations["level"] == level]
        total = reg.groupby("ons_code")["population"].sum()
        young = reg[reg["age_band"].isin(UNDER_15)].groupby("ons_code")["population"].sum()
        old = reg[reg["age_band"].isin(OVER_65)].groupby("ons_code")["population"].sum()
        codes = names.index
        frames.append(
            pd.DataFrame(
                {
                    "family": family,
                    "area_code": codes,
                    "area_name": names.str.replace("Integrated Care Board", "ICB").to_numpy(),
                    "population": total.reindex(codes).to_numpy(),
                    "imd_score": means["imd_score"].reindex(codes).to_numpy(),
                    "pct_under_15": (100 * young / total).reindex(codes).to_numpy(),
                    "pct_65_plus": (100 * old / total).reindex(codes).to_numpy(),
                    "pct_rural": means["pct_rural"].reindex(codes).to_numpy(),
                }
            )
        )
    return frames


def standardise(variables: pd.DataFrame) -> pd.DataFrame:
    """``z_<variable>`` columns: each variable's z-score within its family (sample SD; a
    variable with zero SD gives 0), and ``mean_``/``sd_`` columns of the family's means and
    SDs (so that a distance can be recomputed from the raw variables)."""
    out = variables.copy()
    for var, _, _ in VARIABLES:
        g = out.groupby("family")[var]
        mean, sd = g.transform("mean"), g.transform(lambda s: s.std(ddof=1))
        out[f"mean_{var}"], out[f"sd_{var}"] = mean, sd
        out[f"z_{var}"] = ((out[var] - mean) / sd.where(sd > 0)).where(sd > 0, 0.0)
        out.loc[out[var].isna(), f"z_{var}"] = np.nan
    return out


def distance(a: pd.Series, b: pd.Series) -> float:
    """The weighted Euclidean distance between two rows of :func:`standardise`."""
    return float(np.sqrt(sum(w * (a[f"z_{v}"] - b[f"z_{v}"]) ** 2 for v, _, w in VARIABLES)))


def nearest(variables: pd.DataFrame, k: int = K) -> pd.DataFrame:
    """The ``k`` nearest areas of each area's family: ``family``, ``area_code``, ``rank``
    (1 = most similar), ``peer_code``, ``peer_name``, ``distance`` (module docstring)."""
    z = standardise(variables)
    zcols = [f"z_{v}" for v, _, _ in VARIABLES]
    weights = np.array([w for _, _, w in VARIABLES])
    rows = []
    for family, fam in z.groupby("family", sort=True):
        fam = fam.dropna(subset=zcols).sort_values("area_code")
        x = fam[zcols].to_numpy(dtype=float)
        d = np.sqrt((((x[:, None, :] - x[None, :, :]) ** 2) * weights).sum(axis=2))
        codes = fam["area_code"].to_numpy()
        names = fam["area_name"].to_numpy()
        for i, code in enumerate(codes):
            order = sorted(
                (j for j in range(len(codes)) if j != i),
                key=lambda j: (round(d[i, j], 12), codes[j]),
            )[:k]
            rows += [
                {
                    "family": family,
                    "area_code": code,
                    "rank": r + 1,
                    "peer_code": codes[j],
                    "peer_name": names[j],
                    "distance": d[i, j],
                }
                for r, j in enumerate(order)
            ]
    return pd.DataFrame(
        rows, columns=["family", "area_code", "rank", "peer_code", "peer_name", "distance"]
    )


#: Dataset names (suites) of the inputs, as :data:`nhsbook.io.opendata_icb.DATASETS` and
#: :data:`nhsbook.io.ons_local.DATASETS` name them: every family needs the LSOA inputs, the
#: sub-ICB locations and ICBs also the NHS ones.
LSOA_INPUTS = ("imd2025_lsoa21", "ruc21_lsoa21", "census2021_ts007a", "ons_lsoa21_ltla24")
NHS_INPUTS = ("ons_lsoa21_sicbl_icb", "gp_registrations_age", "gp_practice_map")
INPUTS = LSOA_INPUTS + NHS_INPUTS


def compute(paths: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(variables, peers)`` for every area of every family from the book's input files
    (each already validated by its suite), or two empty tables when the book has none.  The
    counties come from the ONS district and county boundaries of the source registry
    (:func:`nhsbook.io.ons_local.upper_tier_table`)."""
    if not all(name in paths for name in LSOA_INPUTS):
        return empty_variables(), empty_peers()
    nhs = all(name in paths for name in NHS_INPUTS)
    districts = la.read_lsoa21_ltla24(paths["ons_lsoa21_ltla24"])
    upper_tier = ons_local.upper_tier_table()
    lsoas = lsoa_attributes(
        current.read_imd2025_lsoa(paths["imd2025_lsoa21"]),
        la.read_ruc21(paths["ruc21_lsoa21"]),
        current.read_census_ts007a(paths["census2021_ts007a"]),
        current.read_lsoa21_lookup(paths["ons_lsoa21_sicbl_icb"]) if nhs else None,
        districts,
        upper_tier,
    )
    variables = area_variables(
        lsoas,
        current.read_registrations_by_age(paths["gp_registrations_age"]) if nhs else None,
        current.read_practice_map(paths["gp_practice_map"]) if nhs else None,
        districts,
        upper_tier,
    )
    return standardise(variables), nearest(variables)


PEER_VALUE_COLUMNS = (
    "area_code",
    "indicator_id",
    "period",
    "sex",
    "age",
    "n_peers",
    "count",
    "denominator",
    "value",
    "lower_95",
    "upper_95",
)


def for_book(
    paths: dict[str, Path], areas: pd.DataFrame, metadata: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The pipeline's peer tables for a book (:func:`nhsbook.pipeline.store.compute_and_store`):
    ``peer_variables`` and ``peers`` for every area of England, ``peer_values`` (the
    similar-10 value of the book's sub-ICB locations and ICB); empty tables for a book
    without the current open data (the CCG and synthetic books)."""
    variables, peer_table = compute(paths)
    empty = pd.DataFrame(
        {
            c: pd.Series(dtype=str if c in PEER_VALUE_COLUMNS[:5] else float)
            for c in PEER_VALUE_COLUMNS
        }
    )
    if not peer_table.empty and all(d in paths for d in ons_local.SERIES):
        values = peer_mean_values(*ons_local.england_rows(paths), areas, peer_table, metadata)
        return {
            "peer_variables": variables,
            "peers": peer_table,
            "peer_values": values if not values.empty else empty,
        }
    if peer_table.empty or "qof_prevalence" not in paths:
        return {"peer_variables": variables, "peers": peer_table, "peer_values": empty}
    practice_map = current.read_practice_map(paths["gp_practice_map"])
    list_sizes = current.registered_totals(paths["gp_registrations_age"])
    practice_values = opendata_icb.england_practice_values(paths, metadata)
    values = peer_group_values(
        practice_values, practice_map, areas, peer_table, metadata, list_sizes
    )
    return {
        "peer_variables": variables,
        "peers": peer_table,
        "peer_values": values if not values.empty else empty,
    }


def empty_variables() -> pd.DataFrame:
    cols = ["family", "area_code", "area_name", "population"] + [v for v, _, _ in VARIABLES]
    return pd.DataFrame({c: pd.Series(dtype=str if c in cols[:3] else float) for c in cols})


def empty_peers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "family": pd.Series(dtype=str),
            "area_code": pd.Series(dtype=str),
            "rank": pd.Series(dtype="int64"),
            "peer_code": pd.Series(dtype=str),
            "peer_name": pd.Series(dtype=str),
            "distance": pd.Series(dtype=float),
        }
    )


# --- the peer group as a comparator -------------------------------------------------------

#: Book area type -> peer family.
AREA_FAMILIES = {
    "ccg": "sub_icb",
    "stp": "icb",
    "county": "county",
    "utla": "county",
    "district": "district",
}
#: The families whose peer value pools counts (NHS areas) rather than averaging published
#: values (local authorities).
POOLED = ("sub_icb", "icb")


def peer_codes(peers: pd.DataFrame, area_code: str) -> list[str]:
    """The area's peers, most similar first (empty when it has none)."""
    return peers.loc[peers["area_code"] == area_code].sort_values("rank")["peer_code"].tolist()


def peer_group_values(
    practice_values: pd.DataFrame,
    practice_map: pd.DataFrame,
    areas: pd.DataFrame,
    peers: pd.DataFrame,
    metadata: pd.DataFrame,
    list_sizes: pd.Series,
) -> pd.DataFrame:
    """The similar-10 value of each sub-ICB location and ICB of the book, per indicator and
    period (module docstring): columns ``area_code`` (the book's area), ``indicator_id``,
    ``period``, ``sex``, ``age``, ``n_peers``, ``count``, ``denominator``, ``value``,
    ``lower_95``, ``upper_95``.

    ``practice_values`` are practice rows of every practice in England (``area_code``,
    ``indicator_id``, ``period``, ``sex``, ``age``, ``count``, ``denominator``, ``value``);
    a peer's practices are those the July 2026 map puts in it."""
    meta = metadata.set_index("indicator_id")
    sub_of = practice_map.set_index("PRACTICE_CODE")["ONS_SUB_ICB_LOCATION_CODE"]
    icb_of = practice_map.set_index("PRACTICE_CODE")["ONS_ICB_CODE"]
    pv = practice_values.assign(
        sub_icb=practice_values["area_code"].map(sub_of),
        icb=practice_values["area_code"].map(icb_of),
        weight=practice_values["area_code"].map(list_sizes),
    )
    out = []
    mine = areas[areas["area_type"].isin([t for t, f in AREA_FAMILIES.items() if f in POOLED])]
    for code, kind in zip(mine["area_code"], mine["area_type"]):
        group = peer_codes(peers[peers["family"] == AREA_FAMILIES[kind]], code)
        if not group:
            continue
        level = "sub_icb" if kind == "ccg" else "icb"
        rows = pv[pv[level].isin(group)]
        for (ind, period, sex, age), sub in rows.groupby(
            ["indicator_id", "period", "sex", "age"], sort=True
        ):
            method = meta.loc[ind, "method"]
            n = int(sub[level].nunique())
            row = {
                "area_code": code,
                "indicator_id": ind,
                "period": period,
                "sex": sex,
                "age": age,
                "n_peers": n,
                "count": np.nan,
                "denominator": np.nan,
                "value": np.nan,
                "lower_95": np.nan,
                "upper_95": np.nan,
            }
            if method == "proportion":
                c, d = float(sub["count"].sum()), float(sub["denominator"].sum())
                r = stats.proportion_ci(
                    [c], [d], conf=0.95, multiplier=float(meta.loc[ind, "multiplier"])
                )
                row.update(
                    count=c,
                    denominator=d,
                    value=float(r["value"].iloc[0]),
                    lower_95=float(r["lower"].iloc[0]),
                    upper_95=float(r["upper"].iloc[0]),
                )
            elif method == "score":
                s = sub.dropna(subset=["value", "weight"])
                row["value"] = float((s["value"] * s["weight"]).sum() / s["weight"].sum())
            else:
                continue
            out.append(row)
    return pd.DataFrame(out, columns=list(PEER_VALUE_COLUMNS))


def peer_mean_values(
    series: pd.DataFrame,
    health_index: pd.DataFrame,
    areas: pd.DataFrame,
    peers: pd.DataFrame,
    metadata: pd.DataFrame,
    min_peers: int = MIN_PEERS,
) -> pd.DataFrame:
    """The similar-10 value of each local authority of the book (its county or unitary and
    its districts) from the published rows of every area of England
    (:func:`nhsbook.io.ons_local.england_rows`): per indicator, period, sex and age the mean of
    the peers' published values, where at least ``min_peers`` of them have one (module
    docstring); no count, denominator or limits.  Columns :data:`PEER_VALUE_COLUMNS`."""
    cols = ["area_code", "indicator_id", "period", "sex", "value"]
    rows = pd.concat(
        [series[cols], health_index.assign(sex="Persons")[cols]], ignore_index=True
    ).dropna(subset=["value"])
    rows = rows[rows["indicator_id"].isin(set(metadata["indicator_id"]))]
    rows["age"] = rows["indicator_id"].map(metadata.set_index("indicator_id")["age"])
    local = [t for t, f in AREA_FAMILIES.items() if f not in POOLED]
    mine = areas[areas["area_type"].isin(local)]
    groups = []
    for code, kind in zip(mine["area_code"], mine["area_type"]):
        group = peer_codes(peers[peers["family"] == AREA_FAMILIES[kind]], code)
        groups.append(pd.DataFrame({"area_code": code, "peer_code": group}))
    if not groups:
        return pd.DataFrame(columns=list(PEER_VALUE_COLUMNS))
    member = pd.concat(groups, ignore_index=True)
    joined = member.merge(rows.rename(columns={"area_code": "peer_code"}), on="peer_code")
    out = (
        joined.groupby(
            ["area_code", "indicator_id", "period", "sex", "age"], sort=True, dropna=False
        )
        .agg(n_peers=("peer_code", "nunique"), value=("value", "mean"))
        .reset_index()
    )
    out = out[out["n_peers"] >= min_peers]
    for col in ("count", "denominator", "lower_95", "upper_95"):
        out[col] = np.nan
    return out[list(PEER_VALUE_COLUMNS)].reset_index(drop=True)


def compare_with_peers(
    values: pd.DataFrame, peer_values: pd.DataFrame, metadata: pd.DataFrame, area_code: str
) -> pd.DataFrame:
    """The area's published rows (latest period of each indicator) with the similar-10
    value, its limits and the area's significance against it (95%, the comparator rule of
    :func:`nhsbook.stats.compare`): ``indicator_id``, ``name``, ``period``, ``value``,
    ``lower_95``, ``upper_95``, ``comparator_value``, ``significance``, ``peer_value``,
    ``peer_lower_95``, ``peer_upper_95``, ``peer_significance``, ``n_peers``,
    ``suppressed``."""
    own = values[(values["area_code"] == area_code)]
    if "category_type" in own.columns:
        own = own[own["category_type"].fillna("") == ""]
    own = indicators.profile_period(own, metadata)
    pv = peer_values[peer_values["area_code"] == area_code].rename(
        columns={"value": "peer_value", "lower_95": "peer_lower_95", "upper_95": "peer_upper_95"}
    )
    rows = own.merge(
        pv[
            [
                "indicator_id",
                "period",
                "sex",
                "age",
                "n_peers",
                "peer_value",
                "peer_lower_95",
                "peer_upper_95",
            ]
        ],
        on=["indicator_id", "period", "sex", "age"],
        how="inner",
    )
    meta = metadata.set_index("indicator_id")
    rows["name"] = rows["indicator_id"].map(meta["name"])
    suppressed = (
        rows["suppressed"].fillna(False).astype(bool)
        if "suppressed" in rows
        else pd.Series(False, index=rows.index)
    )
    rows["suppressed"] = suppressed
    rows["peer_significance"] = stats.compare(
        rows["value"],
        rows["lower_95"],
        rows["upper_95"],
        rows["peer_value"],
        rows["indicator_id"].map(meta["polarity"]),
        conf=0.95,
    )
    rows.loc[suppressed, "peer_significance"] = "Not compared"
    order = {i: n for n, i in enumerate(metadata["indicator_id"])}
    rows = rows.sort_values("indicator_id", key=lambda s: s.map(order))
    return rows[
        [
            "indicator_id",
            "name",
            "period",
            "value",
            "lower_95",
            "upper_95",
            "comparator_value",
            "significance",
            "peer_value",
            "peer_lower_95",
            "peer_upper_95",
            "peer_significance",
            "n_peers",
            "suppressed",
        ]
    ].reset_index(drop=True)


def peers_table(variables: pd.DataFrame, peers: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """The area and its peers (most similar first) with their distance and variables, for the
    peers page: ``Rank``, ``Code``, ``Area``, ``Distance``, then each variable.  ``peers``:
    the area's own rows (of its family, when a code is in two)."""
    fam = peers.loc[peers["area_code"] == area_code]
    # a unitary authority is both a district and an upper tier: its family's row
    family = fam["family"].iloc[0] if len(fam) else ""
    var = variables[variables["family"] == family].set_index("area_code")
    codes = [area_code] + fam.sort_values("rank")["peer_code"].tolist()
    out = pd.DataFrame(
        {
            "Rank": ["this area"] + [str(r) for r in fam.sort_values("rank")["rank"]],
            "Code": codes,
            "Area": [var.loc[c, "area_name"] for c in codes],
            "Distance": [0.0] + fam.sort_values("rank")["distance"].round(3).tolist(),
            "Population": [var.loc[c, "population"] for c in codes],
        }
    )
    for v, label, _ in VARIABLES:
        if v != "log_population":
            out[label] = [round(float(var.loc[c, v]), 1) for c in codes]
    return out
