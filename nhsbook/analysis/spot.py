"""Commissioning for Value: the SPOT quadrant (spend and outcome z-scores against peers) and
the locality packs.

SPOT, the Spend and Outcome Tool (YHPHO/PHE, 2010-2016), places each programme budgeting
category of an area on two axes: spend per head and outcome, each as a z-score against the
area's peer group (for CCGs in 2012 the ONS cluster, e.g. "Manufacturing Towns": seed
``002_e967b0e31addb216.txt`` lines 350-363), the outcome turned so that up is always better.
"A z score below -2 or above +2 may indicate the need to investigate further" (line 370):
programmes beyond ±2 are significant, beyond ±1 worth exploring (the solid and dotted boxes of
the SPOT chart, ``docs/conventions.md``).  Commissioners look first at programmes of high
spend and poor outcome.

The z-score (:func:`peer_zscores`)
    ``z = (x_area − mean(peers)) / sd(peers)``, sd the sample standard deviation (n − 1
    divisor), via :func:`nhsbook.stats.zscore`.  The peers are every member of the area's
    peer group *including the area itself* (``include_area=True``, the default), as the SPOT
    comparator averages are averages over all member organisations ("SHA and Cluster values
    are PCT averages", seed 002 line 380); ``include_area=False`` leaves the area out.
    For outcomes, ``outcome_z = z`` when high is good and ``−z`` when low is good.
    References: YHPHO, *SPOT: Spend and Outcome Tool — technical guidance* (2012); seed 002
    line 370 (definition and the ±2 threshold).

Quadrants (:func:`classify`)
    spend z ≥ 0 is *higher spend*, < 0 *lower spend*; outcome z ≥ 0 *better outcome*, < 0
    *worse outcome* (a z of exactly 0, the peer mean, counts as higher/better); a missing z
    gives "Not classified".

Opportunity ranking (:func:`rank_opportunities`)
    ``opportunity = spend_z − outcome_z``: largest when spend is high and outcome poor, so
    programmes of higher spend and worse outcome come first; programmes without an outcome
    measure follow, by spend z.

Locality packs (:func:`locality_pack`) list, for a locality, the indicators where it is
significantly worse or better than its CCG (significance already computed by
:mod:`nhsbook.analysis.indicators`), the CCG's own position against its comparator and against England
when England's values are in the data, and the locality's practices outside the 99.8% funnel
limits around the CCG value (from :mod:`nhsbook.analysis.variation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook import stats
from nhsbook.analysis import variation
from nhsbook.analysis.disclosure import apply
from nhsbook.config.book import load_book as load_config
from nhsbook.core.escape import markdown as esc
from nhsbook.core.textfile import unreadable
from nhsbook.io import programme_budget as pb

#: "A z score below -2 or above +2 may indicate the need to investigate further"
#: (seed 002 line 370): the solid box of the SPOT chart.
INVESTIGATE_Z = 2.0
#: The dotted box of the SPOT chart: worth exploring (docs/conventions.md).
EXPLORE_Z = 1.0

HIGHER_WORSE = "Higher spend, worse outcome"
LOWER_WORSE = "Lower spend, worse outcome"
HIGHER_BETTER = "Higher spend, better outcome"
LOWER_BETTER = "Lower spend, better outcome"
NOT_CLASSIFIED = "Not classified"
#: Quadrant labels, in the order commissioners look at them.
QUADRANTS: tuple[str, ...] = (HIGHER_WORSE, LOWER_WORSE, HIGHER_BETTER, LOWER_BETTER)

#: Files of a SPOT data folder (``data/default/spot``), by dataset name.
FILES: dict[str, str] = {
    "spot_programmes": "programmes.csv",
    "spot_peer_group": "peer_group.csv",
    "spot_spend": "spend.csv",
    "spot_outcome_indicators": "outcome_indicators.csv",
    "spot_outcomes": "outcomes.csv",
}


@dataclass
class SpotData:
    """The tables of one SPOT analysis (columns: :mod:`nhsbook.io.programme_budget`)."""

    programmes: pd.DataFrame
    peer_group: pd.DataFrame
    spend: pd.DataFrame
    outcome_indicators: pd.DataFrame
    outcomes: pd.DataFrame

    @property
    def synthetic(self) -> bool:
        """Whether any figure is synthetic."""
        return bool(
            self.peer_group["synthetic"].any()
            or self.spend["synthetic"].any()
            or self.outcomes["synthetic"].any()
        )

    def has_area(self, area_code: str) -> bool:
        return area_code in set(self.peer_group["area_code"])


def load(folder: Path | str) -> SpotData:
    """Read a SPOT data folder (the five files of :data:`FILES`)."""
    folder = Path(folder)
    programmes = pb.read_programmes(folder / FILES["spot_programmes"])
    indicators = pb.read_outcome_indicators(folder / FILES["spot_outcome_indicators"], programmes)
    return SpotData(
        programmes=programmes,
        peer_group=pb.read_peer_group(folder / FILES["spot_peer_group"]),
        spend=pb.read_spend(folder / FILES["spot_spend"], programmes),
        outcome_indicators=indicators,
        outcomes=pb.read_outcomes(folder / FILES["spot_outcomes"], indicators),
    )


def load_book(book: str = "default") -> SpotData | None:
    """The book's SPOT data (``<data>/spot``), or None when the book has none."""
    folder = load_config(book).data / "spot"
    return load(folder) if (folder / FILES["spot_spend"]).is_file() else None


# --- z-scores --------------------------------------------------------------------------------


def peer_members(peer_group: pd.DataFrame, area_code: str) -> list[str]:
    """The members of the area's peer group (the area included)."""
    hit = peer_group.loc[peer_group["area_code"] == area_code, "peer_group"]
    if hit.empty:
        raise KeyError(f"area {area_code!r} is in no peer group of the SPOT data")
    return peer_group.loc[peer_group["peer_group"] == hit.iloc[0], "area_code"].tolist()


def peer_zscores(
    values: pd.DataFrame,
    key: str,
    value: str,
    area_code: str,
    members: list[str],
    include_area: bool = True,
) -> pd.DataFrame:
    """For each ``key`` (programme or indicator): the area's value, the peers' mean, SD and
    number, and the area's z-score (:func:`nhsbook.stats.zscore`; formula in the module
    docstring).  ``values`` has one row per ``area_code`` and ``key``."""
    peers = [m for m in members if include_area or m != area_code]
    rows = []
    for k, sub in values[values["area_code"].isin(members)].groupby(key, sort=False):
        own = sub.loc[sub["area_code"] == area_code, value]
        ref = sub.loc[sub["area_code"].isin(peers), value].dropna()
        x = float(own.iloc[0]) if len(own) else np.nan
        z = float(stats.zscore([x], ref.to_numpy()).iloc[0])
        rows.append(
            {
                key: k,
                "value": x,
                "peer_mean": ref.mean() if len(ref) else np.nan,
                "peer_sd": ref.std(ddof=1) if len(ref) > 1 else np.nan,
                "n_peers": len(ref),
                "z": z,
            }
        )
    return pd.DataFrame(rows, columns=[key, "value", "peer_mean", "peer_sd", "n_peers", "z"])


def spend_zscores(
    data: SpotData, area_code: str, year: str | None = None, include_area: bool = True
) -> pd.DataFrame:
    """Spend per head z-scores of the area for each programme budgeting category (the 23
    categories; sub-categories are left out) in ``year`` (default: the latest)."""
    spend = data.spend
    members = peer_members(data.peer_group, area_code)
    year = year or max(spend.loc[spend["area_code"] == area_code, "year"], default=None)
    if year is None:
        raise KeyError(f"no spend for area {area_code!r} in the SPOT data")
    top = data.programmes[data.programmes["parent_code"] == ""]
    rows = spend[(spend["year"] == year) & spend["programme_code"].isin(top["programme_code"])]
    z = peer_zscores(rows, "programme_code", "spend_per_head", area_code, members, include_area)
    own = rows[rows["area_code"] == area_code].set_index("programme_code")["spend_gbp"]
    z = z.rename(
        columns={
            "value": "spend_per_head",
            "peer_mean": "peer_spend_per_head",
            "peer_sd": "peer_spend_sd",
            "z": "spend_z",
        }
    )
    z["spend_gbp"] = z["programme_code"].map(own)
    z["year"] = year
    return z


def outcome_zscores(data: SpotData, area_code: str, include_area: bool = True) -> pd.DataFrame:
    """Outcome z-scores of the area for every outcome indicator (latest period of each),
    with ``outcome_z`` turned so that positive is better (−z when low is good)."""
    out = data.outcomes
    latest = out.groupby("indicator_id")["period"].transform("max")
    rows = out[out["period"] == latest]
    members = peer_members(data.peer_group, area_code)
    z = peer_zscores(rows, "indicator_id", "value", area_code, members, include_area)
    meta = data.outcome_indicators.set_index("indicator_id")
    z["indicator_name"] = z["indicator_id"].map(meta["indicator_name"])
    z["programme_code"] = z["indicator_id"].map(meta["programme_code"])
    z["polarity"] = z["indicator_id"].map(meta["polarity"])
    z["unit"] = z["indicator_id"].map(meta["unit"])
    z["headline"] = z["indicator_id"].map(meta["headline"]).astype(bool)
    z["period"] = z["indicator_id"].map(
        rows.drop_duplicates("indicator_id").set_index("indicator_id")["period"]
    )
    z["outcome_z"] = better_up(z["z"], z["polarity"])
    return z


def better_up(z: pd.Series, polarity: pd.Series) -> pd.Series:
    """Turn z-scores so that up is better: ``z`` when high is good, ``−z`` when low is good."""
    bad = ~polarity.isin(pb.OUTCOME_POLARITIES)
    if bad.any():
        raise ValueError(
            f"outcome polarity must be one of {pb.OUTCOME_POLARITIES}, got "
            f"{sorted(set(polarity[bad]))}"
        )
    return z.where(polarity == "high_is_good", -z)


def classify(spend_z: pd.Series | float, outcome_z: pd.Series | float) -> pd.Series:
    """SPOT quadrant of each programme (rules in the module docstring)."""
    s = pd.Series(spend_z, dtype="float64")
    o = pd.Series(outcome_z, dtype="float64", index=s.index)
    label = np.select(
        [s.isna() | o.isna(), (s >= 0) & (o < 0), (s < 0) & (o < 0), (s >= 0) & (o >= 0)],
        [NOT_CLASSIFIED, HIGHER_WORSE, LOWER_WORSE, HIGHER_BETTER],
        default=LOWER_BETTER,
    )
    return pd.Series(label, index=s.index, name="quadrant", dtype=object)


def band(z: pd.Series) -> pd.Series:
    """Where a z-score lies: "beyond ±2" (investigate), "±1 to ±2" (worth exploring) or
    "within ±1"; missing -> ""."""
    a = z.abs()
    return pd.Series(
        np.select(
            [z.isna(), a >= INVESTIGATE_Z, a >= EXPLORE_Z],
            ["", "beyond ±2", "±1 to ±2"],
            default="within ±1",
        ),
        index=z.index,
        dtype=object,
    )


def spot_table(
    data: SpotData, area_code: str, year: str | None = None, include_area: bool = True
) -> pd.DataFrame:
    """One row per programme budgeting category: spend and spend per head against the peer
    group, the headline outcome indicator and its z-score (up = better), the quadrant, the
    ±1/±2 bands and the opportunity score, ranked by :func:`rank_opportunities`."""
    spend = spend_zscores(data, area_code, year, include_area)
    outcome = outcome_zscores(data, area_code, include_area)
    head = outcome[outcome["headline"]].rename(
        columns={
            "value": "outcome_value",
            "peer_mean": "peer_outcome_mean",
            "peer_sd": "peer_outcome_sd",
            "n_peers": "n_outcome_peers",
        }
    )
    table = spend.merge(
        head[
            [
                "programme_code",
                "indicator_id",
                "indicator_name",
                "unit",
                "period",
                "polarity",
                "outcome_value",
                "peer_outcome_mean",
                "peer_outcome_sd",
                "n_outcome_peers",
                "outcome_z",
            ]
        ],
        on="programme_code",
        how="left",
    )
    progs = data.programmes.set_index("programme_code")
    table.insert(1, "programme", table["programme_code"].map(progs["programme_name"]))
    table.insert(2, "short_name", table["programme_code"].map(progs["short_name"]))
    table["quadrant"] = classify(table["spend_z"], table["outcome_z"])
    table["spend_band"] = band(table["spend_z"])
    table["outcome_band"] = band(table["outcome_z"])
    table["investigate"] = (table["spend_z"].abs() >= INVESTIGATE_Z) | (
        table["outcome_z"].abs() >= INVESTIGATE_Z
    )
    table["opportunity"] = table["spend_z"] - table["outcome_z"]
    return rank_opportunities(table)


def rank_opportunities(table: pd.DataFrame) -> pd.DataFrame:
    """Programmes by opportunity (``spend_z − outcome_z``, largest first: high spend and poor
    outcome first), then those without an outcome by spend z; ``rank`` from 1."""
    has = table["opportunity"].notna()
    ranked = pd.concat(
        [
            table[has].sort_values("opportunity", ascending=False, kind="stable"),
            table[~has].sort_values("spend_z", ascending=False, kind="stable"),
        ]
    )
    ranked = ranked.reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ranked


def quadrant_counts(table: pd.DataFrame) -> dict[str, int]:
    """Programmes per quadrant (every quadrant listed, also when empty)."""
    counts = table["quadrant"].value_counts()
    return {q: int(counts.get(q, 0)) for q in QUADRANTS + (NOT_CLASSIFIED,)}


def quadrant_data(table: pd.DataFrame) -> pd.DataFrame:
    """The quadrant chart's points: classified programmes with their label, spend (£ million,
    for the point size), spend per head and both z-scores rounded for display."""
    pts = table[table["quadrant"] != NOT_CLASSIFIED]
    return pd.DataFrame(
        {
            "programme": pts["short_name"],
            "programme_name": pts["programme"],
            "spend_z": pts["spend_z"].round(2),
            "outcome_z": pts["outcome_z"].round(2),
            "spend_m": (pts["spend_gbp"] / 1e6).round(1),
            "spend_per_head": pts["spend_per_head"].round(2),
            "peer_spend_per_head": pts["peer_spend_per_head"].round(2),
            "outcome_indicator": pts["indicator_name"],
            "outcome_value": pts["outcome_value"],
            "peer_outcome_mean": pts["peer_outcome_mean"].round(2),
            "quadrant": pts["quadrant"],
        }
    ).reset_index(drop=True)


def zscore_bar_data(
    data: SpotData, area_code: str, measure: str = "outcome", include_area: bool = True
) -> pd.DataFrame:
    """Rows of the z-score bar chart: every outcome indicator (``measure="outcome"``, z
    turned so that up is better) or every programme's spend per head (``"spend"``), with its
    band (:func:`band`) and direction words."""
    if measure == "outcome":
        z = outcome_zscores(data, area_code, include_area)
        progs = data.programmes.set_index("programme_code")["short_name"]
        out = pd.DataFrame(
            {
                "label": z["indicator_name"],
                "programme": z["programme_code"].map(progs),
                "z": z["outcome_z"].round(2) + 0.0,
                "value": z["value"],
                "peer_mean": z["peer_mean"].round(2),
            }
        )
        words = np.where(out["z"] >= 0, "better", "worse")
    elif measure == "spend":
        z = spend_zscores(data, area_code, None, include_area)
        progs = data.programmes.set_index("programme_code")["short_name"]
        out = pd.DataFrame(
            {
                "label": z["programme_code"].map(progs),
                "programme": z["programme_code"].map(progs),
                "z": z["spend_z"].round(2) + 0.0,
                "value": z["spend_per_head"].round(2),
                "peer_mean": z["peer_spend_per_head"].round(2),
            }
        )
        words = np.where(out["z"] >= 0, "higher", "lower")
    else:
        raise ValueError(f"measure must be 'outcome' or 'spend', got {measure!r}")
    out["band"] = band(out["z"])
    out["direction"] = np.where(out["z"].isna(), "", words)
    out["position"] = np.where(
        out["band"] == "within ±1", "within ±1", out["direction"] + " (" + out["band"] + ")"
    )
    return out[out["z"].notna()].reset_index(drop=True)


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The ranked SPOT table with readers' column names (what the page shows and publishes)."""
    return pd.DataFrame(
        {
            "Rank": table["rank"],
            "Programme": table["programme_code"] + " " + table["programme"],
            "Spend (£m)": (table["spend_gbp"] / 1e6).round(2),
            "Spend per head (£)": table["spend_per_head"].round(2),
            "Peer mean per head (£)": table["peer_spend_per_head"].round(2),
            "Spend z": table["spend_z"].round(2),
            "Outcome indicator": table["indicator_name"].fillna("no outcome measure"),
            "Outcome value": table["outcome_value"],
            "Peer mean outcome": table["peer_outcome_mean"].round(2),
            "Outcome z (up = better)": table["outcome_z"].round(2),
            "Quadrant": table["quadrant"],
            "Beyond ±2": np.where(table["investigate"], "yes", ""),
        }
    )


# --- validation: cross-file checks of a SPOT folder ----------------------------------------

#: Reconciliation suites over the SPOT files, run by :mod:`nhsbook.validation.gate`.
RECONCILIATIONS: tuple[str, ...] = (
    "spot_reconcile_spend",
    "spot_reconcile_outcomes",
    "spot_reconcile_indicators",
    "spot_reconcile_coverage",
)
_LINE = "__line__"


def _num(col: pd.Series) -> pd.Series:
    return pd.to_numeric(col.astype(str).str.replace(",", "", regex=False), errors="coerce")


def reconciliation_frames(
    frames: Mapping[str, pd.DataFrame | None],
) -> dict[str, tuple[pd.DataFrame | None, str]]:
    """The derived frames of the SPOT reconciliation suites (name -> (frame, note)), from the
    validation gate's text frames (indexed by file line):

    * ``spot_reconcile_spend``: each spend row's area is in the peer group, its programme in
      the programme list, and ``spend_per_head`` = spend_gbp ÷ weighted_population to within
      0.5p plus the rounding of spend to £1,000 (``per_head_excess`` = 0);
    * ``spot_reconcile_outcomes``: each outcome row's area is in the peer group and its
      indicator in the outcome indicators;
    * ``spot_reconcile_indicators``: each outcome indicator's programme is in the programme
      list, with at most one headline indicator per programme;
    * ``spot_reconcile_coverage``: every peer-group member has spend for every programme
      budgeting category in every year, and a value of every outcome indicator.
    """
    out: dict[str, tuple[pd.DataFrame | None, str]] = {}
    progs, peers = frames.get("spot_programmes"), frames.get("spot_peer_group")
    spend, inds = frames.get("spot_spend"), frames.get("spot_outcome_indicators")
    outcomes = frames.get("spot_outcomes")

    def why(*pairs: tuple[str, tuple[str, ...]]) -> str:
        return unreadable(frames, *pairs)

    note = why(
        (
            "spot_spend",
            ("area_code", "programme_code", "spend_gbp", "weighted_population", "spend_per_head"),
        ),
        ("spot_peer_group", ("area_code",)),
        ("spot_programmes", ("programme_code",)),
    )
    if note:
        out["spot_reconcile_spend"] = (None, note)
    else:
        pop, gbp, ph = (
            _num(spend[c]) for c in ("weighted_population", "spend_gbp", "spend_per_head")
        )
        tol = 0.005 + 500.0 / pop + 1e-9
        excess = ((ph - gbp / pop).abs() - tol).clip(lower=0).round(4)
        frame = pd.DataFrame(
            {
                "area_code": spend["area_code"],
                "programme_code": spend["programme_code"],
                "known_area": spend["area_code"].isin(set(peers["area_code"])),
                "known_programme": spend["programme_code"].isin(set(progs["programme_code"])),
                "per_head_excess": excess.fillna(0.0),
            },
            index=spend.index,
        )
        out["spot_reconcile_spend"] = (frame, "")

    note = why(
        ("spot_outcomes", ("area_code", "indicator_id")),
        ("spot_peer_group", ("area_code",)),
        ("spot_outcome_indicators", ("indicator_id",)),
    )
    if note:
        out["spot_reconcile_outcomes"] = (None, note)
    else:
        frame = pd.DataFrame(
            {
                "area_code": outcomes["area_code"],
                "indicator_id": outcomes["indicator_id"],
                "known_area": outcomes["area_code"].isin(set(peers["area_code"])),
                "known_indicator": outcomes["indicator_id"].isin(set(inds["indicator_id"])),
            },
            index=outcomes.index,
        )
        out["spot_reconcile_outcomes"] = (frame, "")

    note = why(
        ("spot_outcome_indicators", ("indicator_id", "programme_code", "headline")),
        ("spot_programmes", ("programme_code",)),
    )
    if note:
        out["spot_reconcile_indicators"] = (None, note)
    else:
        head = inds["headline"].fillna("").str.lower().eq("true")
        heads = head.groupby(inds["programme_code"]).transform("sum")
        frame = pd.DataFrame(
            {
                "indicator_id": inds["indicator_id"],
                "programme_code": inds["programme_code"],
                "known_programme": inds["programme_code"].isin(set(progs["programme_code"])),
                "headlines_in_programme": heads.where(head, 0).astype("int64"),
            },
            index=inds.index,
        )
        out["spot_reconcile_indicators"] = (frame, "")

    note = why(
        ("spot_peer_group", ("area_code",)),
        ("spot_programmes", ("programme_code", "parent_code")),
        ("spot_spend", ("area_code", "year", "programme_code")),
        ("spot_outcome_indicators", ("indicator_id",)),
        ("spot_outcomes", ("area_code", "indicator_id")),
    )
    if note:
        out["spot_reconcile_coverage"] = (None, note)
    else:
        top = progs.loc[progs["parent_code"].fillna("") == "", "programme_code"]
        have_s = spend.groupby(["area_code", "year", "programme_code"]).size().to_dict()
        have_o = outcomes.groupby(["area_code", "indicator_id"]).size().to_dict()
        years = list(dict.fromkeys(y for y in spend["year"] if y is not None))
        rows = []
        for area in peers["area_code"]:
            for year in years:
                rows += [
                    {
                        "area_code": area,
                        "dataset": f"spend {year}",
                        "item": p,
                        "rows": int(have_s.get((area, year, p), 0)),
                    }
                    for p in top
                ]
            rows += [
                {
                    "area_code": area,
                    "dataset": "outcomes",
                    "item": i,
                    "rows": int(have_o.get((area, i), 0)),
                }
                for i in inds["indicator_id"]
            ]
        out["spot_reconcile_coverage"] = (
            pd.DataFrame(rows, columns=["area_code", "dataset", "item", "rows"]),
            "",
        )
    return out


# --- locality packs --------------------------------------------------------------------------

#: Significance labels that mean a real difference from the comparator.
WORSE = ("Worse", "Worst")
BETTER = ("Better", "Best")
DIFFERENT = ("Higher", "Lower")


@dataclass
class LocalityPack:
    """A locality's Commissioning for Value pack (tables only; the notebook renders them)."""

    locality: str
    ccg: str
    rows: pd.DataFrame  #: every indicator: locality vs CCG, CCG vs comparator/England
    practice_outliers: pd.DataFrame
    ccg_comparator: str  #: name of the CCG's own comparator ("" if none)
    england: bool  #: whether England values were in the data

    def worse(self) -> pd.DataFrame:
        return self.rows[self.rows["Locality vs CCG"].isin(WORSE)]

    def better(self) -> pd.DataFrame:
        return self.rows[self.rows["Locality vs CCG"].isin(BETTER)]

    def different(self) -> pd.DataFrame:
        return self.rows[self.rows["Locality vs CCG"].isin(DIFFERENT)]


def _latest(values: pd.DataFrame, code: str) -> pd.DataFrame:
    rows = values[(values["area_code"] == code) & (values["category_type"].fillna("") == "")]
    rows = rows[rows["period"] == rows.groupby("indicator_id")["period"].transform("max")]
    return rows.drop_duplicates("indicator_id").set_index("indicator_id")


def locality_pack(
    values: pd.DataFrame, metadata: pd.DataFrame, areas: pd.DataFrame, locality_code: str
) -> LocalityPack:
    """The locality against its CCG on every indicator (significance as computed, against the
    locality's comparator, the CCG), the CCG against its own comparator and against England
    (when England's values exist), and the locality's practices outside the 99.8% funnel
    limits around the CCG value (:func:`nhsbook.analysis.variation.practice_points`).

    Disclosure control: suppressed values (:func:`nhsbook.analysis.disclosure.apply`: counts 1-4 and
    their complementary cells) are blanked and not compared; no count is in the tables.
    """
    area = areas.loc[areas["area_code"] == locality_code]
    if area.empty or area["area_type"].iloc[0] != "locality":
        raise KeyError(f"{locality_code!r} is not a locality of the book")
    ccg = str(area["comparator_code"].iloc[0])
    names = areas.set_index("area_code")["area_name"]
    comp = areas.loc[areas["area_code"] == ccg, "comparator_code"].fillna("")
    ccg_comp = str(comp.iloc[0]) if len(comp) else ""
    meta = metadata.set_index("indicator_id")
    loc = apply(_latest(values, locality_code))
    ccg_rows = apply(_latest(values, ccg))
    ids = [i for i in metadata["indicator_id"] if i in loc.index]
    rows = pd.DataFrame(
        {
            "indicator_id": ids,
            "Domain": [meta.at[i, "domain"] for i in ids],
            "Indicator": [meta.at[i, "name"] for i in ids],
            "Unit": [meta.at[i, "unit"] for i in ids],
            "Period": [loc.at[i, "period"] for i in ids],
            "Locality value": [loc.at[i, "value"] for i in ids],
            "Lower 95% CI": [loc.at[i, "lower_95"] for i in ids],
            "Upper 95% CI": [loc.at[i, "upper_95"] for i in ids],
            "CCG value": [loc.at[i, "comparator_value"] for i in ids],
            "Locality vs CCG": [loc.at[i, "significance"] for i in ids],
            "CCG vs " + (str(names.get(ccg_comp, ccg_comp)) if ccg_comp else "comparator"): [
                ccg_rows.at[i, "significance"] if i in ccg_rows.index else "Not compared"
                for i in ids
            ],
        }
    )
    england_codes = areas.loc[areas["area_type"] == "england", "area_code"].tolist()
    eng = _latest(values, england_codes[0]) if england_codes else pd.DataFrame()
    has_england = not eng.empty and eng["value"].notna().any()
    if has_england:
        polarity = pd.Series([meta.at[i, "polarity"] for i in ids])
        eng_value = pd.Series([eng["value"].get(i, np.nan) for i in ids], dtype="float64")
        rows["England value"] = eng_value.to_numpy()
        for label, src in (("Locality vs England", loc), ("CCG vs England", ccg_rows)):

            def get(c, src=src):
                return pd.Series([src[c].get(i, np.nan) for i in ids], dtype="float64")

            rows[label] = stats.compare(
                get("value"), get("lower_95"), get("upper_95"), eng_value, polarity
            ).to_numpy()
    practices = variation.practices_below(areas, locality_code)
    points = variation.practice_points(values, metadata, areas, practices, ccg)
    return LocalityPack(
        locality=locality_code,
        ccg=ccg,
        rows=rows,
        practice_outliers=variation.outliers(points),
        ccg_comparator=str(names.get(ccg_comp, "")) if ccg_comp else "",
        england=bool(has_england),
    )


def relative_data(pack: LocalityPack) -> pd.DataFrame:
    """The locality's value as a percentage of the CCG value, with its 95% interval, for every
    indicator with an interval and a positive CCG value (the locality-pack chart)."""
    r = pack.rows
    ok = r["Lower 95% CI"].notna() & r["CCG value"].gt(0) & r["Locality value"].notna()
    r = r[ok]
    return pd.DataFrame(
        {
            "indicator": r["Indicator"],
            "domain": r["Domain"],
            "relative": (100 * r["Locality value"] / r["CCG value"]).round(1),
            "relative_lower": (100 * r["Lower 95% CI"] / r["CCG value"]).round(1),
            "relative_upper": (100 * r["Upper 95% CI"] / r["CCG value"]).round(1),
            "locality_value": r["Locality value"].round(2),
            "ccg_value": r["CCG value"].round(2),
            "significance": r["Locality vs CCG"],
        }
    ).reset_index(drop=True)


# --- page text and tables --------------------------------------------------------------------


def _esc(text: object) -> str:
    return esc(text)


def peer_group_name(data: SpotData, area_code: str) -> str:
    hit = data.peer_group.loc[data.peer_group["area_code"] == area_code, "peer_group"]
    return str(hit.iloc[0]) if len(hit) else ""


def notice_markdown(data: SpotData, area_code: str) -> str:
    """What is real and what is synthetic on the SPOT page, in words."""
    members = data.peer_group[
        data.peer_group["area_code"].isin(peer_members(data.peer_group, area_code))
    ]
    synth_peers = int(members["synthetic"].sum())
    own_spend = data.spend[data.spend["area_code"] == area_code]
    own_out = data.outcomes[data.outcomes["area_code"] == area_code]
    parts = []
    if synth_peers:
        share = (
            "all" if synth_peers == len(members) - 1 else f"{synth_peers} of the"
        ) + f" {len(members) - 1} peers"
        parts.append(
            f"{share} are **synthetic** CCGs "
            "made by nhsbook's seeded generator, with codes starting `SYNCCG` "
            "(see Data sources)"
        )
    if own_spend["synthetic"].any():
        parts.append(
            "this area's **spend figures are synthetic** (the seed publishes no "
            "spend: its SPOT chart is an image), placed lower than its peers on most "
            "programmes as the seed reports"
        )
    if len(own_out) and not own_out["synthetic"].any():
        parts.append(
            "this area's outcome values are its published figures, and the "
            "synthetic peers are calibrated so that the peer-group mean equals the "
            "published cluster value"
        )
    if not parts:
        return ""
    text = "; ".join(parts)
    return f"> **Synthetic data.** {text[0].upper()}{text[1:]}."


def summary_markdown(table: pd.DataFrame, area_name: str, peer_group: str) -> str:
    """One paragraph: programmes per quadrant and those beyond the ±2 threshold."""
    counts = quadrant_counts(table)
    shown = sum(v for k, v in counts.items() if k != NOT_CLASSIFIED)
    parts = [f"{v} {k.lower()}" for k, v in counts.items() if k != NOT_CLASSIFIED and v]
    text = (
        f"Of the {len(table)} programme budgeting categories, {shown} have an outcome "
        f"measure and are placed on the chart: {'; '.join(parts) or 'none'}."
    )
    beyond = table[table["investigate"]]
    if beyond.empty:
        text += (
            f" No programme of {_esc(area_name)} lies beyond ±2 against "
            f"{_esc(peer_group)} on spend or outcome, the threshold at which the seed's "
            "SPOT analysis says to investigate further."
        )
    else:
        names = ", ".join(_esc(n) for n in beyond["short_name"])
        text += f" Beyond ±2, to investigate further: {names}."
    top = table[table["quadrant"] == HIGHER_WORSE]
    if not top.empty:
        text += (
            " Higher spend with worse outcome, where money buys least health: "
            + ", ".join(
                f"{_esc(r.short_name)} (spend z {r.spend_z:+.2f}, outcome z {r.outcome_z:+.2f})"
                for r in top.itertuples()
            )
            + "."
        )
    return text


def locality_summary_markdown(pack: LocalityPack, name: str, ccg_name: str) -> str:
    """One paragraph: how many indicators are significantly worse/better than the CCG, and how
    many practice outliers the locality has."""
    w, b, d = len(pack.worse()), len(pack.better()), len(pack.different())
    compared = int((pack.rows["Locality vs CCG"] != "Not compared").sum())
    text = (
        f"{_esc(name)} is compared with {_esc(ccg_name)} on {compared} of "
        f"{len(pack.rows)} indicators (95% confidence): significantly **worse** on {w}, "
        f"significantly **better** on {b}"
    )
    text += f", and higher or lower on {d} where neither is better." if d else "."
    n_out = len(pack.practice_outliers)
    pr = pack.practice_outliers["Practice code"].nunique() if n_out else 0
    text += (
        f" {n_out} practice-indicator values of {pr} of its practices lie outside the "
        "99.8% funnel limits around the CCG value."
        if n_out
        else " None of its practices lies outside the 99.8% funnel limits around the CCG value."
    )
    return text


def pack_table(rows: pd.DataFrame) -> pd.DataFrame:
    """A locality-pack table as shown and published (the id column dropped)."""
    return rows.drop(columns=["indicator_id"]).reset_index(drop=True)
