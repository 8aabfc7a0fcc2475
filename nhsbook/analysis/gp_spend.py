"""Spend and outcome of general practice against the similar 10: a current SPOT (Spend and
Outcome Tool, :mod:`nhsbook.analysis.spot`) for every sub-ICB location and ICB of England, computed once
by the pipeline (table ``gp_spend``, :func:`for_book`).

**Spend** (NHS England, *NHS Payments to General Practice, England 2022-23*,
:func:`nhsbook.io.gp_payments.read_payments_2223`): ``Total NHS Payments to General
Practice``, the line NHS England's own "average payments per registered / weighted patient"
divide (gross: *before* the deductions for pensions, levies and prescription charge income,
which are not netted; without the covid and PCN lines), summed over the practices the July 2026
practice map places in each area, divided by the sum of their ``Number of Weighted Patients``
(**spend per weighted patient**, the SPOT x axis: weighted lists carry the global sum's need
weights, so areas with older or more deprived populations are not made to look expensive) and
of their ``Number of Registered Patients`` (spend per registered patient, in the table).

**Practices with no July 2026 code** (closed or merged since 2022-23, 547 of the 6,669 in the
file, 3.5% of the payments; 206 of them have a list of 0) are left out of both the payments and
the lists, as the book leaves closed practices out everywhere: counting the payments of a
practice whose list is 0 would charge an area for patients it no longer has, and the July 2026
map places none of them.  Each area's row says how many of the practices paid under its
2022-23 sub-ICB code were left out (:data:`DROPPED_COLUMNS`).  The April 2026 changes follow the
July 2026 map: Frimley's D4U1Y (E38000252) practices are counted where they are now (most in
Thames Valley's U2G6B, E38000268: :data:`nhsbook.analysis.peers.RECODED`), and the ICBs are the 36 of
the map (not the 42 of 2022-23).

**Outcomes** (:data:`OUTCOMES`; the first is the headline):

* OHID Fingertips 93930 *A&E attendances (0 to 4 years)* per 1,000 children aged 0-4
  registered, **2021/22** (the export has practice rows for 2021/22 only; its 2022/23 rows are
  England's alone, so the outcome is a year before the spend), ``Σ practice count / Σ practice
  denominator × 1000`` over the practices the July 2026 map places in the area, with Byar's 95%
  limits (:func:`nhsbook.stats.rate_ci`, the method that reproduces the export's own England
  limits; attendances can exceed the children registered, so this is a rate, not a
  proportion).  **Low is good**: the export's "Compared to England" says *Better* only for
  practices below England's value and *Worse* only above it (:func:`polarity_from_export`
  checks this on the file every time).
* OHID Fingertips 91547 *smoking prevalence (QOF, 15+)*, **2022/23** (the year of the spend),
  ``Σ count / Σ denominator × 100`` with Wilson 95% limits, low is good (the book's smoking
  indicator).

**Peers and z-scores**: the area's group is its ten most similar areas of the same kind
(``peers`` table, :mod:`nhsbook.analysis.peers`) *and the area itself*, as :mod:`nhsbook.analysis.spot` defines
the SPOT z-score: ``z = (x − mean(group)) / sd(group)``, sample SD (n − 1), by
:func:`nhsbook.stats.zscore`; the outcome z is turned so that up is better
(:func:`nhsbook.analysis.spot.better_up`), the quadrant is :func:`nhsbook.analysis.spot.classify` and the ±1 (worth
exploring) / ±2 (investigate) bands :func:`nhsbook.analysis.spot.band`.

**Disclosure**: the table holds whole areas only (no practice figure is ever published); the
book's rule (:func:`nhsbook.analysis.disclosure.primary`) is run on every outcome count, and a count it
suppresses withholds the count, the value and the limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook import stats
from nhsbook.analysis import disclosure, spot
from nhsbook.core import fmt
from nhsbook.io import current, fingertips, gp_payments
from nhsbook.io.opendata_icb import _icb_name, smoking_rows

#: Peer families of the table and the book's area type of each.
FAMILIES: dict[str, str] = {"sub_icb": "ccg", "icb": "stp"}
LABELS: dict[str, tuple[str, str]] = {
    "sub_icb": ("sub-ICB location", "sub-ICB locations"),
    "icb": ("ICB", "ICBs"),
}
SPEND_YEAR = "2022-23"
PAYMENT_LINE = "Total NHS Payments to General Practice"
#: Datasets (suites, :data:`nhsbook.io.opendata_icb.DATASETS`) the table needs.
INPUTS = ("gp_payments_2223", "gp_practice_map", "fingertips_93930", "fingertips_91547")


@dataclass(frozen=True)
class Outcome:
    """One outcome measure of the page."""

    indicator_id: str
    name: str
    short: str
    dataset: str
    period: str
    method: str  # "rate" (Byar) or "proportion" (Wilson)
    multiplier: float
    unit: str
    source: str


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "93930",
        "A&E attendances (0 to 4 years)",
        "A&E attendances of children aged 0–4",
        "fingertips_93930",
        "2021/22",
        "rate",
        1000.0,
        "per 1,000",
        "OHID Fingertips indicator 93930, A&E attendances (0 to 4 years), GP practices 2021/22",
    ),
    Outcome(
        "91547",
        "Smoking prevalence in adults (15+), current smokers (QOF)",
        "Smoking prevalence (QOF, 15+)",
        "fingertips_91547",
        "2022/23",
        "proportion",
        100.0,
        "%",
        "OHID Fingertips indicator 91547, QOF smoking register, GP practices 2022/23",
    ),
)
HEADLINE = OUTCOMES[0].indicator_id
#: The polarity of every outcome: low is good (checked for 93930 on the export).
POLARITY = "low_is_good"

DROPPED_COLUMNS = ("dropped_practices", "dropped_payments")
#: England's totals of the payments file, the same on every row: practices paid, those with
#: no July 2026 code (left out) and their payments.
ENGLAND_COLUMNS = (
    "england_practices",
    "england_payments",
    "england_dropped_practices",
    "england_dropped_payments",
    "england_dropped_zero_list",
)
COLUMNS = (
    "family",
    "area_code",
    "area_name",
    "practices",
    "registered",
    "weighted",
    "total_payments",
    "spend_per_registered",
    "spend_per_weighted",
    *DROPPED_COLUMNS,
    "indicator_id",
    "outcome_name",
    "period",
    "polarity",
    "unit",
    "outcome_practices",
    "count",
    "denominator",
    "value",
    "lower_95",
    "upper_95",
    "suppressed",
    "n_group",
    "spend_mean",
    "spend_sd",
    "spend_z",
    "outcome_mean",
    "outcome_sd",
    "z",
    "outcome_z",
    "quadrant",
    "spend_band",
    "outcome_band",
    *ENGLAND_COLUMNS,
)
TEXT = {
    "family",
    "area_code",
    "area_name",
    "indicator_id",
    "outcome_name",
    "period",
    "polarity",
    "unit",
    "quadrant",
    "spend_band",
    "outcome_band",
}


def empty() -> pd.DataFrame:
    """The table of a book without the inputs (the CCG, local-authority and synthetic books)."""
    return pd.DataFrame(
        {
            c: pd.Series(dtype=(str if c in TEXT else bool if c == "suppressed" else float))
            for c in COLUMNS
        }
    )


# --- inputs ----------------------------------------------------------------------------------


def polarity_from_export(export) -> str:
    """``low_is_good`` when every GP row the export calls *Better* than England lies below
    England's value in its period and every *Worse* row above it (``high_is_good`` the other
    way round); ValueError otherwise."""
    v = export.values.assign(judged=export.england_comparison.to_numpy())
    eng = (
        v[
            (v["area_type"] == "England")
            & (v["category_type"].fillna("") == "")
            & (v["sex"] == "Persons")
        ]
        .drop_duplicates("period")
        .set_index("period")["value"]
    )
    gp = v[v["area_type"] == "GPs"].assign(england=lambda d: d["period"].map(eng))
    better, worse = gp[gp["judged"] == "Better"], gp[gp["judged"] == "Worse"]
    if len(better) and len(worse):
        if (better["value"] < better["england"]).all() and (
            worse["value"] > worse["england"]
        ).all():
            return "low_is_good"
        if (better["value"] > better["england"]).all() and (
            worse["value"] < worse["england"]
        ).all():
            return "high_is_good"
    raise ValueError("the export's 'Compared to England' column gives no consistent polarity")


def practice_outcomes(paths: dict[str, Path]) -> pd.DataFrame:
    """Practice rows of every outcome in its period: ``indicator_id``, ``area_code`` (the
    practice), ``count``, ``denominator`` (suppressed rows, with no count, are left out)."""
    frames = []
    ae = fingertips.read(paths["fingertips_93930"])
    if polarity_from_export(ae) != POLARITY:
        raise ValueError(
            f"{paths['fingertips_93930']}: A&E attendances 0-4 are expected to be low is good"
        )
    v = ae.values
    gp = v[
        (v["area_type"] == "GPs")
        & (v["period"] == OUTCOMES[0].period)
        & (v["sex"] == "Persons")
        & (v["category_type"].fillna("") == "")
    ]
    gp = gp[gp["count"].notna() & gp["denominator"].gt(0)]
    frames.append(gp[["area_code", "count", "denominator"]].assign(indicator_id="93930"))
    smoking = smoking_rows(fingertips.read(paths["fingertips_91547"]))
    smoking = smoking[smoking["period"] == OUTCOMES[1].period]
    frames.append(smoking[["area_code", "count", "denominator"]].assign(indicator_id="91547"))
    out = pd.concat(frames, ignore_index=True)
    dup = out.duplicated(["indicator_id", "area_code"], keep=False)
    if dup.any():
        raise ValueError(
            f"practices with two outcome rows: {out.loc[dup, 'area_code'].unique()[:5]}"
        )
    return out


# --- the table -------------------------------------------------------------------------------


def _areas(practice_map: pd.DataFrame) -> pd.DataFrame:
    sub = practice_map.drop_duplicates("ONS_SUB_ICB_LOCATION_CODE")
    icb = practice_map.drop_duplicates("ONS_ICB_CODE")
    return (
        pd.concat(
            [
                pd.DataFrame(
                    {
                        "family": "sub_icb",
                        "area_code": sub["ONS_SUB_ICB_LOCATION_CODE"],
                        "area_name": sub["SUB_ICB_LOCATION_NAME"],
                    }
                ),
                pd.DataFrame(
                    {
                        "family": "icb",
                        "area_code": icb["ONS_ICB_CODE"],
                        "area_name": icb["ICB_NAME"].map(_icb_name),
                    }
                ),
            ],
            ignore_index=True,
        )
        .sort_values(["family", "area_code"])
        .reset_index(drop=True)
    )


def _by_family(practice_map: pd.DataFrame) -> dict[str, pd.Series]:
    p = practice_map.set_index("PRACTICE_CODE")
    return {"sub_icb": p["ONS_SUB_ICB_LOCATION_CODE"], "icb": p["ONS_ICB_CODE"]}


def spend_table(payments: pd.DataFrame, practice_map: pd.DataFrame) -> pd.DataFrame:
    """Payments and lists of every sub-ICB location and ICB (module docstring): ``family``,
    ``area_code``, ``area_name``, ``practices``, ``registered``, ``weighted``,
    ``total_payments``, ``spend_per_registered``, ``spend_per_weighted``,
    ``dropped_practices`` and ``dropped_payments`` (practices paid under the area's 2022-23
    sub-ICB code, or its sub-ICB locations' codes, with no July 2026 code)."""
    areas = _areas(practice_map)
    placed = payments[payments["practice_code"].isin(set(practice_map["PRACTICE_CODE"]))]
    dropped = payments[~payments["practice_code"].isin(set(practice_map["PRACTICE_CODE"]))]
    ods_to_ons = practice_map.drop_duplicates("SUB_ICB_LOCATION_CODE").set_index(
        "SUB_ICB_LOCATION_CODE"
    )
    frames = []
    for family, of in _by_family(practice_map).items():
        key = placed["practice_code"].map(of)
        sums = placed.groupby(key)[["registered", "weighted", "total_payments"]].sum()
        sums["practices"] = placed.groupby(key).size()
        old = dropped["sub_icb_ods"].map(
            ods_to_ons["ONS_SUB_ICB_LOCATION_CODE" if family == "sub_icb" else "ONS_ICB_CODE"]
        )
        gone = dropped.groupby(old)["total_payments"].agg(["size", "sum"])
        frames.append(
            areas[areas["family"] == family].assign(
                practices=lambda d, s=sums: d["area_code"].map(s["practices"]).fillna(0),
                registered=lambda d, s=sums: d["area_code"].map(s["registered"]),
                weighted=lambda d, s=sums: d["area_code"].map(s["weighted"]),
                total_payments=lambda d, s=sums: d["area_code"].map(s["total_payments"]),
                dropped_practices=lambda d, g=gone: d["area_code"].map(g["size"]).fillna(0),
                dropped_payments=lambda d, g=gone: d["area_code"].map(g["sum"]).fillna(0.0),
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out = out.assign(
        england_practices=float(len(payments)),
        england_payments=float(payments["total_payments"].sum()),
        england_dropped_practices=float(len(dropped)),
        england_dropped_payments=float(dropped["total_payments"].sum()),
        england_dropped_zero_list=float((dropped["registered"] == 0).sum()),
    )
    out["spend_per_registered"] = out["total_payments"] / out["registered"].where(
        out["registered"] > 0
    )
    out["spend_per_weighted"] = out["total_payments"] / out["weighted"].where(out["weighted"] > 0)
    return out


def outcome_table(
    rows: pd.DataFrame, practice_map: pd.DataFrame, book_rule: str | None = None
) -> pd.DataFrame:
    """Each outcome of every sub-ICB location and ICB: ``family``, ``area_code``,
    ``indicator_id``, ``outcome_practices``, ``count``, ``denominator``, ``value``,
    ``lower_95``, ``upper_95`` and ``suppressed`` (the book's disclosure rule)."""
    frames = []
    for family, of in _by_family(practice_map).items():
        key = rows["area_code"].map(of)
        placed = rows[key.notna()].assign(key=key[key.notna()])
        g = placed.groupby(["indicator_id", "key"])
        s = g[["count", "denominator"]].sum().reset_index()
        s["outcome_practices"] = g.size().to_numpy()
        frames.append(s.rename(columns={"key": "area_code"}).assign(family=family))
    out = pd.concat(frames, ignore_index=True)
    by_id = {o.indicator_id: o for o in OUTCOMES}
    out["value"] = out["lower_95"] = out["upper_95"] = np.nan
    for oid, o in by_id.items():
        m = out["indicator_id"] == oid
        ci = (
            stats.rate_ci(out.loc[m, "count"], out.loc[m, "denominator"], o.multiplier)
            if o.method == "rate"
            else stats.proportion_ci(
                out.loc[m, "count"], out.loc[m, "denominator"], multiplier=o.multiplier
            )
        )
        out.loc[m, ["value", "lower_95", "upper_95"]] = ci[["value", "lower", "upper"]].to_numpy()
    meta = pd.DataFrame(
        {
            "indicator_id": list(by_id),
            "method": ["crude_rate" if o.method == "rate" else "proportion" for o in OUTCOMES],
        }
    )
    out["suppressed"] = disclosure.primary(out, meta, book_rule)
    out.loc[out["suppressed"], ["count", "value", "lower_95", "upper_95"]] = np.nan
    return out


def group_codes(peers: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """One row per area of ``areas`` (``family``, ``area_code``): its group, the area first
    and then its ten peers, most similar first (columns ``m0`` … ``m10``; missing when the area
    has fewer peers)."""
    p = peers[peers["family"].isin(list(FAMILIES))]
    wide = p.pivot_table(
        index=["family", "area_code"], columns="rank", values="peer_code", aggfunc="first"
    )
    wide.columns = [f"m{int(r)}" for r in wide.columns]
    out = areas[["family", "area_code"]].merge(
        wide.reset_index(), how="left", on=["family", "area_code"]
    )
    return out.rename(columns={"area_code": "m0"}).assign(area_code=lambda d: d["m0"])


def _group_z(
    table: pd.DataFrame, groups: pd.DataFrame, column: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each row of ``groups``: the area's z of ``column`` against its group (the area and
    its peers, :func:`nhsbook.stats.zscore`), the group's mean, SD and number with a value."""
    members = [c for c in groups.columns if c.startswith("m") and c[1:].isdigit()]
    lookup = table.set_index(["family", "area_code"])[column]
    x = np.column_stack(
        [
            lookup.reindex(pd.MultiIndex.from_arrays([groups["family"], groups[m]])).to_numpy(float)
            for m in members
        ]
    )
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    with np.errstate(all="ignore"):
        mean = np.where(n >= 2, np.nanmean(np.where(ok, x, np.nan), axis=1), np.nan)
        sd = np.where(n >= 2, np.nanstd(np.where(ok, x, np.nan), axis=1, ddof=1), np.nan)
    z = np.array([float(stats.zscore([row[0]], row).iloc[0]) for row in x])
    return z, mean, sd, n


def compute(
    payments: pd.DataFrame,
    practice_map: pd.DataFrame,
    outcome_rows: pd.DataFrame,
    peers: pd.DataFrame,
    book_rule: str | None = None,
) -> pd.DataFrame:
    """The ``gp_spend`` table: one row per area of both families and outcome (module
    docstring; columns :data:`COLUMNS`)."""
    spend = spend_table(payments, practice_map)
    outcomes = outcome_table(outcome_rows, practice_map, book_rule)
    groups = group_codes(peers, spend)
    z, mean, sd, _ = _group_z(spend, groups, "spend_per_weighted")
    spend = spend.assign(spend_z=z, spend_mean=mean, spend_sd=sd)
    frames = []
    for o in OUTCOMES:
        rows = outcomes[outcomes["indicator_id"] == o.indicator_id]
        t = spend.merge(rows.drop(columns=["indicator_id"]), how="left", on=["family", "area_code"])
        oz, omean, osd, n = _group_z(t, groups, "value")
        polarity = pd.Series(POLARITY, index=t.index)
        t = t.assign(
            indicator_id=o.indicator_id,
            outcome_name=o.name,
            period=o.period,
            polarity=POLARITY,
            unit=o.unit,
            n_group=n.astype(float),
            z=oz,
            outcome_mean=omean,
            outcome_sd=osd,
            outcome_z=spot.better_up(pd.Series(oz, index=t.index), polarity),
        )
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    out["suppressed"] = out["suppressed"].fillna(False).astype(bool)
    out["quadrant"] = spot.classify(out["spend_z"], out["outcome_z"]).to_numpy()
    out["spend_band"] = spot.band(out["spend_z"]).to_numpy()
    out["outcome_band"] = spot.band(out["outcome_z"]).to_numpy()
    return (
        out[list(COLUMNS)]
        .sort_values(["family", "area_code", "indicator_id"])
        .reset_index(drop=True)
    )


def for_book(
    paths: dict[str, Path], peers: pd.DataFrame, book_rule: str | None = None
) -> dict[str, pd.DataFrame]:
    """The pipeline's ``gp_spend`` table (:func:`nhsbook.pipeline.store.compute_and_store`): every
    sub-ICB location and ICB of England when the book has the inputs (each validated by its
    suite first) and the peers, else an empty table."""
    if not all(name in paths for name in INPUTS) or peers.empty:
        return {"gp_spend": empty()}
    table = compute(
        gp_payments.read_payments_2223(paths["gp_payments_2223"]),
        current.read_practice_map(paths["gp_practice_map"]),
        practice_outcomes(paths),
        peers,
        book_rule,
    )
    return {"gp_spend": table}


# --- the page --------------------------------------------------------------------------------


def outcome(indicator_id: str) -> Outcome:
    return next(o for o in OUTCOMES if o.indicator_id == indicator_id)


def area_rows(table: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """The area's rows (one per outcome, the headline first); empty when it has none."""
    rows = table[table["area_code"] == area_code]
    order = {o.indicator_id: i for i, o in enumerate(OUTCOMES)}
    return rows.sort_values("indicator_id", key=lambda s: s.map(order))


def group_table(
    table: pd.DataFrame, peers: pd.DataFrame, area_code: str, indicator_id: str = HEADLINE
) -> pd.DataFrame:
    """The area and its similar 10 for one outcome, the area first then the peers most similar
    first: ``role`` ("this area" or the peer's rank), ``area_code``, ``area_name``, spend per
    registered and weighted patient, the outcome's value and limits, and each member's z-scores
    against the group (spend, outcome turned so that up is better) and quadrant."""
    own = area_rows(table, area_code)
    if own.empty:
        return table.iloc[0:0].assign(role="", spend_z_group=np.nan, outcome_z_group=np.nan)
    family = own["family"].iloc[0]
    mine = peers[(peers["family"] == family) & (peers["area_code"] == area_code)].sort_values(
        "rank"
    )
    codes = [area_code] + mine["peer_code"].tolist()
    rows = table[(table["family"] == family) & (table["indicator_id"] == indicator_id)]
    rows = rows.set_index("area_code").reindex(codes).reset_index()
    rows.insert(0, "role", ["this area"] + [str(int(r)) for r in mine["rank"]])
    rows["spend_z_group"] = stats.zscore(rows["spend_per_weighted"]).to_numpy()
    z = stats.zscore(rows["value"])
    rows["outcome_z_group"] = spot.better_up(z, rows["polarity"].fillna(POLARITY)).to_numpy()
    rows["quadrant_group"] = spot.classify(
        rows["spend_z_group"], rows["outcome_z_group"]
    ).to_numpy()
    return rows


def chart_data(group: pd.DataFrame) -> pd.DataFrame:
    """The scatter's points (:func:`nhsbook.charts.spot.spend_outcome_scatter`): ``point``
    (0 for the area, the peer's rank otherwise), ``label``, ``name``, ``this`` (bool), the
    spend per weighted patient, the outcome value and limits, the z-scores and quadrant."""
    g = group[group["value"].notna() & group["spend_per_weighted"].notna()]
    return pd.DataFrame(
        {
            "point": [0 if r == "this area" else int(r) for r in g["role"]],
            "label": ["" if r == "this area" else str(r) for r in g["role"]],
            "name": g["area_name"].astype(str),
            "this": g["role"].eq("this area"),
            "spend": g["spend_per_weighted"].round(2),
            "value": g["value"].round(1),
            "lower": g["lower_95"].round(1),
            "upper": g["upper_95"].round(1),
            "spend_z": g["spend_z_group"].round(2),
            "outcome_z": g["outcome_z_group"].round(2),
            "quadrant": g["quadrant_group"],
            # the group's means and SDs (the quadrant lines and the ±1/±2 SD boxes)
            "spend_mean": g["spend_per_weighted"].mean(),
            "spend_sd": g["spend_per_weighted"].std(ddof=1),
            "value_mean": g["value"].mean(),
            "value_sd": g["value"].std(ddof=1),
        }
    ).reset_index(drop=True)


def display_table(group: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The 11 areas as the page shows them (plain text names, escaped by the table helper)."""
    return pd.DataFrame(
        {
            # the second column is the one the page keeps in view when the table scrolls
            "": group["role"],
            "Area": group["area_name"],
            "Practices": group["practices"].astype("Int64"),
            "Per registered patient (£)": group["spend_per_registered"],
            "Per weighted patient (£)": group["spend_per_weighted"],
            "Spend z": group["spend_z_group"],
            f"Value ({unit})": group["value"],
            "Lower 95% CI": group["lower_95"],
            "Upper 95% CI": group["upper_95"],
            "Outcome z (up = better)": group["outcome_z_group"],
            "Quadrant": group["quadrant_group"],
            "Code": group["area_code"],
        }
    )


def csv_table(table: pd.DataFrame, peers: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """The download: every outcome's group table (counts only where the disclosure rule
    publishes them; whole areas only)."""
    frames = [group_table(table, peers, area_code, o.indicator_id) for o in OUTCOMES]
    out = pd.concat(frames, ignore_index=True)
    cols = [
        "role",
        "family",
        "area_code",
        "area_name",
        "practices",
        "registered",
        "weighted",
        "total_payments",
        "spend_per_registered",
        "spend_per_weighted",
        "spend_z_group",
        "indicator_id",
        "outcome_name",
        "period",
        "polarity",
        "count",
        "denominator",
        "value",
        "lower_95",
        "upper_95",
        "suppressed",
        "outcome_z_group",
        "quadrant_group",
        "dropped_practices",
        "dropped_payments",
    ]
    return out[cols].rename(
        columns={
            "spend_z_group": "spend_z",
            "outcome_z_group": "outcome_z_up_is_better",
            "quadrant_group": "quadrant",
        }
    )


def value_text(value: float, o: Outcome) -> str:
    """An outcome value in the book's number format with its unit."""
    return fmt.percent(value, 1) if o.unit == "%" else f"{fmt.number(value, 1)} {o.unit}"


def _direction(z: float, high: str, low: str) -> str:
    return high if z >= 0 else low


def key_messages(table: pd.DataFrame, area_code: str, area_name: str) -> list[str]:
    """The page's key messages (plain text; escaped by the box): the headline outcome's
    sentence, and one line per other outcome."""
    rows = area_rows(table, area_code)
    if rows.empty:
        return []
    out = []
    for i, r in enumerate(rows.itertuples()):
        if not np.isfinite(r.spend_per_weighted) or not np.isfinite(r.spend_z):
            continue
        o = outcome(r.indicator_id)
        spend = (
            f"Spend on general practice per weighted patient {fmt.pounds_per_head(r.spend_per_weighted)} "
            f"in {SPEND_YEAR}, z = {r.spend_z:+.2f} against its similar 10 "
            f"({_direction(r.spend_z, 'higher', 'lower')} spend)"
        )
        if r.suppressed or not np.isfinite(r.outcome_z):
            text = f"{spend}; {o.short} ({o.period}): not published for this area."
        else:
            text = (
                f"{spend}; {o.short}: {value_text(r.value, o)} in {o.period}, "
                f"outcome z = {r.outcome_z:+.2f} ({_direction(r.outcome_z, 'better', 'worse')}"
                f"; up = better): {r.quadrant.lower()}."
            )
        if i == 0:
            beyond = [
                w
                for w, b in (("spend", r.spend_band), ("outcome", r.outcome_band))
                if b == "beyond ±2"
            ]
            text += (
                f" Beyond ±2 on {' and '.join(beyond)}: worth investigating."
                if beyond
                else " Neither lies beyond ±2, the threshold at which SPOT says to investigate."
            )
            out.append(text)
        else:
            out.append(
                f"{o.short}: {value_text(r.value, o)} in {o.period}, outcome "
                f"z = {r.outcome_z:+.2f}: {r.quadrant.lower()}."
                if not r.suppressed and np.isfinite(r.outcome_z)
                else text
            )
    return out
