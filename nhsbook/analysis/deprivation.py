"""The English Indices of Deprivation by LSOA, their aggregation to areas, and map classes.

Data (external, through :mod:`nhsbook.config.sources`):

* **IMD 2019** (MHCLG, File 1): national rank (1 = most deprived of 32,844 LSOAs) and decile;
  **File 6**: the IoD2019 population denominators (ONS mid-2015, excluding prisoners), used as
  weights for every population-weighted figure here.  The mirror has no IMD 2019 *scores*
  (File 5 is absent), so scores come from
* **IMD 2015** (DCLG, File 1 + File 5 scores, LSOA 2011), the latest scores available, and
* **IMD 2010** (LSOA 2001; the vintage of the seed's JSNA indicator "population weighted average
  of LLSOA IMD 2010"), carried to 2011 LSOAs where the LSOA 2001→2011 lookup is in the mirror.

Class assignment for maps (:class:`MapClasses`) lives here too: national deciles/quintiles for
deprivation, quantiles or fixed breaks (mapclassify) for indicators.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import mapclassify
import numpy as np
import pandas as pd

from nhsbook.core import page_inputs
from nhsbook.io.lookups import _optional, lsoa_table, read_source

__all__ = [
    "DECILE_COLOURS",
    "MapClasses",
    "classify_fixed",
    "classify_national",
    "classify_quantiles",
    "district_summary",
    "imd2010",
    "imd2015",
    "imd2019",
    "lsoa_deprivation",
    "national_decile",
    "share_in_deciles",
    "summarise",
    "weighted_mean",
]

#: Ten colours, most deprived (decile 1) darkest: ColorBrewer YlGnBu reversed, the convention
#: of MHCLG's IoD maps (dark blue = most deprived).
DECILE_COLOURS: tuple[str, ...] = (
    "#081d58",
    "#253494",
    "#225ea8",
    "#1d91c0",
    "#41b6c4",
    "#7fcdbb",
    "#c7e9b4",
    "#edf8b1",
    "#ffffd9",
    "#fffff2",
)
QUINTILE_COLOURS: tuple[str, ...] = ("#081d58", "#225ea8", "#41b6c4", "#c7e9b4", "#ffffd9")
#: Sequential classes for indicators, low to high (ColorBrewer PuRd 6, lightest dropped).
SEQUENTIAL: dict[int, tuple[str, ...]] = {
    1: ("#ce1256",),
    2: ("#d7b5d8", "#ce1256"),
    3: ("#d7b5d8", "#df65b0", "#980043"),
    4: ("#d7b5d8", "#df65b0", "#dd1c77", "#980043"),
    5: ("#e7e1ef", "#d4b9da", "#df65b0", "#dd1c77", "#980043"),
    6: ("#e7e1ef", "#d4b9da", "#c994c7", "#df65b0", "#dd1c77", "#980043"),
}
MISSING_COLOUR = "#d9d9d9"


# --------------------------------------------------------------------------------- data


@page_inputs.remember()
def _imd2019() -> pd.DataFrame:
    f1 = read_source("imd2019_file1")
    f1 = f1.iloc[:, [0, 1, 4, 5]].set_axis(
        ["lsoa11_code", "lsoa11_name", "imd2019_rank", "imd2019_decile"], axis=1
    )
    f6 = read_source("imd2019_file6")
    f6 = f6.iloc[:, [0, 4]].set_axis(["lsoa11_code", "population"], axis=1)
    out = f1.merge(f6, on="lsoa11_code", how="left", validate="one_to_one")
    for col in ("imd2019_rank", "imd2019_decile", "population"):
        out[col] = pd.to_numeric(out[col], errors="raise").astype("int64")
    return out


def imd2019() -> pd.DataFrame:
    """IMD 2019 for every English LSOA: ``lsoa11_code, lsoa11_name, imd2019_rank,
    imd2019_decile`` (1 = most deprived) and ``population`` (IoD2019 denominators, mid-2015)."""
    return _imd2019().copy()


@page_inputs.remember()
def _imd2015() -> pd.DataFrame:
    t = read_source(
        "imd2015_lsoa11", usecols=["lsoa11_code", "IMD_score", "IMD_rank", "IMD_decile"]
    )
    return t.set_axis(["lsoa11_code", "imd2015_score", "imd2015_rank", "imd2015_decile"], axis=1)


def imd2015() -> pd.DataFrame:
    """IMD 2015 score, rank and decile for every English LSOA (2011 codes)."""
    return _imd2015().copy()


@page_inputs.remember()
def _imd2010() -> pd.DataFrame:
    scores = read_source("imd2010_lsoa01", usecols=["lsoa01_code", "IMD_score"])
    lookup = _optional(
        ["lsoa01_lsoa11_lad11_derbyshire", "lsoa01_lsoa11_lad11_holdout"],
        dtype=str,
        usecols=["LSOA01CD", "LSOA11CD"],
    )
    if lookup is None:
        return pd.DataFrame(
            {"lsoa11_code": pd.Series(dtype=str), "imd2010_score": pd.Series(dtype=float)}
        )
    lookup = lookup.drop_duplicates().set_axis(["lsoa01_code", "lsoa11_code"], axis=1)
    pop = read_source("iod2010_denominators_england").iloc[:, [0, 1]]
    pop = pop.set_axis(["lsoa01_code", "pop2008"], axis=1)
    t = lookup.merge(scores, on="lsoa01_code", how="inner").merge(pop, on="lsoa01_code", how="left")
    out = weighted_mean(t, "IMD_score", "pop2008", "lsoa11_code").rename("imd2010_score")
    return out.reset_index()


def imd2010() -> pd.DataFrame:
    """IMD 2010 score on 2011 LSOAs (where the LSOA 2001→2011 lookup is in the mirror).

    An unchanged or split 2001 LSOA passes its score to each 2011 LSOA made from it; a 2011
    LSOA made from several 2001 LSOAs (merged or complex change) gets their mean weighted by
    their IoD2010 populations (mid-2008).
    """
    return _imd2010().copy()


def lsoa_deprivation(codes: Sequence[str] | pd.Series) -> pd.DataFrame:
    """IMD 2019 rank, decile and population, IMD 2015 score and IMD 2010 score (where
    available) for the given LSOAs, in their order; unknown codes are an error."""
    codes = pd.Series(list(codes), name="lsoa11_code", dtype=str)
    out = pd.DataFrame({"lsoa11_code": codes}).merge(imd2019(), how="left")
    missing = out.loc[out["imd2019_rank"].isna(), "lsoa11_code"].tolist()
    if missing:
        raise KeyError(f"{len(missing)} LSOAs are not in IMD 2019 File 1: {missing[:5]}")
    out = out.merge(imd2015(), how="left").merge(imd2010(), how="left")
    return out


# --------------------------------------------------------------------------------- statistics


def national_decile(rank: pd.Series | np.ndarray, n: int = 32844, k: int = 10) -> pd.Series:
    """The national k-tile of each national rank, 1 = most deprived.

    Formula: ``ceil(k × rank / n)``: decile 1 holds ranks 1 … n/10 (MHCLG's IoD2019 deciles,
    Technical Report 2019 §3.5: LSOAs ranked and split into ten equal groups; it reproduces
    every decile of File 1).
    """
    r = np.asarray(rank, dtype=float)
    if np.nanmin(r) < 1 or np.nanmax(r) > n:
        raise ValueError(f"ranks must lie in 1..{n}")
    out = np.ceil(k * r / n)
    return pd.Series(out, index=getattr(rank, "index", None)).astype("Int64")


def weighted_mean(df: pd.DataFrame, value: str, weight: str, by: str | list[str]) -> pd.Series:
    """Population-weighted mean of ``value`` by group: ``Σ wᵢ·xᵢ / Σ wᵢ`` over the LSOAs i of a
    group with a value (the method of the seed's "population weighted average of LSOA IMD";
    MHCLG's "average score" of local authorities, IoD2019 Technical Report §3.6)."""
    ok = df[value].notna() & df[weight].notna()
    d = df.loc[ok]
    num = (d[value] * d[weight]).groupby([d[c] for c in np.atleast_1d(by)]).sum()
    den = d[weight].groupby([d[c] for c in np.atleast_1d(by)]).sum()
    return num / den.replace(0, np.nan)


def share_in_deciles(
    df: pd.DataFrame, decile: str, weight: str, by: str | list[str], deciles: Sequence[int] = (1, 2)
) -> pd.Series:
    """Percentage of the population living in LSOAs of the given national deciles (default
    the most deprived 20% of England): ``100 × Σ_{i: decile ∈ D} wᵢ / Σ wᵢ``."""
    w = df[weight].where(df[decile].isin(list(deciles)), 0)
    keys = [df[c] for c in np.atleast_1d(by)]
    return 100 * w.groupby(keys).sum() / df[weight].groupby(keys).sum()


def summarise(lsoas: pd.DataFrame, by: str) -> pd.DataFrame:
    """Deprivation of the groups ``by`` of an LSOA table (from :func:`lsoa_deprivation`):
    ``n_lsoas, population`` (mid-2015), population-weighted IMD 2015 and IMD 2010 score,
    percentage of the population in England's most deprived 20% (IMD 2019 deciles 1–2) and
    the count of LSOAs in decile 1; ``rank`` orders the groups, 1 = highest IMD 2015 score."""
    g = lsoas.groupby(by)
    out = pd.DataFrame(
        {
            "n_lsoas": g.size(),
            "population": g["population"].sum(),
            "imd2015_score": weighted_mean(lsoas, "imd2015_score", "population", by),
            "imd2010_score": weighted_mean(lsoas, "imd2010_score", "population", by),
            "pct_most_deprived_20": share_in_deciles(lsoas, "imd2019_decile", "population", by),
            "lsoas_in_decile_1": g["imd2019_decile"].apply(lambda d: int((d == 1).sum())),
        }
    )
    if out["imd2010_score"].isna().all():
        out = out.drop(columns="imd2010_score")
    out["rank"] = out["imd2015_score"].rank(ascending=False, method="min").astype("Int64")
    return out.reset_index()


@page_inputs.remember()
def _districts() -> pd.DataFrame:
    t = lsoa_table()[["lsoa11_code", "lad13_code", "lad13_name"]].merge(
        lsoa_deprivation(lsoa_table()["lsoa11_code"]), on="lsoa11_code"
    )
    out = summarise(t, "lad13_code")
    names = t.drop_duplicates("lad13_code").set_index("lad13_code")["lad13_name"]
    out.insert(1, "lad13_name", out["lad13_code"].map(names))
    return out.drop(columns=[c for c in ("imd2010_score",) if c in out])


def district_summary() -> pd.DataFrame:
    """:func:`summarise` for every English district on 2013 boundaries (326), ranked among
    them (1 = highest population-weighted IMD 2015 score)."""
    return _districts().copy()


# --------------------------------------------------------------------------------- classes


@dataclass(frozen=True)
class MapClasses:
    """Classes of a choropleth: ordered labels (with their limits), a colour each, and the
    label of every value (``missing`` where there is none)."""

    labels: tuple[str, ...]
    colours: tuple[str, ...]
    assigned: pd.Series
    missing: str = "No value"
    method: str = ""

    @property
    def domain(self) -> list[str]:
        """Legend order: the classes, then the missing label if any value has it."""
        extra = [self.missing] if (self.assigned == self.missing).any() else []
        return [*self.labels, *extra]

    @property
    def range(self) -> list[str]:
        extra = [MISSING_COLOUR] if (self.assigned == self.missing).any() else []
        return [*self.colours, *extra]


def _fmt(x: float, digits: int) -> str:
    return f"{x:,.{digits}f}"


def classify_national(decile: pd.Series, k: int = 10, n: int = 32844) -> MapClasses:
    """National deciles (k = 10) or quintiles (k = 5) of IMD, 1 = most deprived, labelled with
    their national rank limits (from ``ceil(k × rank / n)``, :func:`national_decile`)."""
    if k not in (5, 10):
        raise ValueError("k must be 10 (deciles) or 5 (quintiles)")
    d = pd.to_numeric(decile, errors="coerce")
    cls = d if k == 10 else np.ceil(d / 2)
    labels = []
    for c in range(1, k + 1):
        lo = int(np.floor((c - 1) * n / k)) + 1
        hi = int(np.floor(c * n / k))
        tag = " most deprived" if c == 1 else (" least deprived" if c == k else "")
        labels.append(f"{c}{tag} (ranks {lo:,}–{hi:,})")
    assigned = pd.Series(
        [labels[int(c) - 1] if pd.notna(c) else "No value" for c in cls], index=decile.index
    )
    colours = DECILE_COLOURS if k == 10 else QUINTILE_COLOURS
    return MapClasses(
        tuple(labels),
        colours,
        assigned,
        method=f"national {'deciles' if k == 10 else 'quintiles'} of IMD 2019",
    )


def _ranges(bins: Sequence[float], low: float, digits: int) -> list[str]:
    edges = [low, *bins]
    return [f"{_fmt(edges[i], digits)}–{_fmt(edges[i + 1], digits)}" for i in range(len(bins))]


def classify_quantiles(
    values: pd.Series, k: int = 5, digits: int = 1, missing: str = "No value"
) -> MapClasses:
    """Quantile classes (``mapclassify.Quantiles``): k classes of about equal numbers of areas,
    k reduced to the number of distinct values when there are fewer; labelled low–high."""
    v = pd.to_numeric(values, errors="coerce")
    ok = v.dropna()
    if ok.empty:
        return MapClasses((), (), pd.Series(missing, index=values.index), missing, "quantiles")
    k = int(min(k, ok.nunique(), 6))
    if k < 2:
        label = _fmt(float(ok.iloc[0]), digits)
        assigned = v.map(lambda x: label if pd.notna(x) else missing)
        return MapClasses((label,), SEQUENTIAL[1], assigned, missing, "one value")
    with warnings.catch_warnings():  # fewer distinct values than k: mapclassify lowers k
        warnings.simplefilter("ignore", UserWarning)
        q = mapclassify.Quantiles(ok.to_numpy(), k=k)
    bins = list(q.bins)
    labels = _ranges(bins, float(ok.min()), digits)
    k = len(labels)
    assigned = pd.Series(missing, index=values.index, dtype=object)
    assigned.loc[ok.index] = [labels[int(i)] for i in q.yb]
    return MapClasses(tuple(labels), SEQUENTIAL[k], assigned, missing, f"{k} quantiles")


def classify_fixed(
    values: pd.Series,
    breaks: Sequence[float],
    digits: int = 1,
    colours: Sequence[str] | None = None,
    missing: str = "No value",
    method: str = "fixed breaks",
    low: float | None = None,
) -> MapClasses:
    """Classes by fixed upper limits (``mapclassify.UserDefined``): class i holds
    ``breaks[i-1] < x ≤ breaks[i]``; values above the last break get an open top class.
    Labels run from ``low`` (default the smallest value) to each upper limit."""
    v = pd.to_numeric(values, errors="coerce")
    ok = v.dropna()
    bins = sorted(float(b) for b in breaks)
    if low is None:
        low = min(float(ok.min()), bins[0]) if not ok.empty else bins[0]
    top = max(float(ok.max()), bins[-1]) if not ok.empty else bins[-1]
    edges = bins if top <= bins[-1] else [*bins, top]
    labels = _ranges(edges, low, digits)
    if top > bins[-1]:
        labels[-1] = f"over {_fmt(bins[-1], digits)}"
    assigned = pd.Series(missing, index=values.index, dtype=object)
    if not ok.empty:
        ud = mapclassify.UserDefined(ok.to_numpy(), bins=edges)
        assigned.loc[ok.index] = [labels[int(i)] for i in ud.yb]
    cols = tuple(colours) if colours else SEQUENTIAL[min(len(labels), 6)]
    if len(cols) < len(labels):
        raise ValueError(f"{len(labels)} classes but {len(cols)} colours")
    return MapClasses(tuple(labels), tuple(cols[: len(labels)]), assigned, missing, method)


def national_score_breaks(k: int = 5) -> list[float]:
    """The national k-tiles of the LSOA IMD 2015 score: ``[min, q1, …, max]`` (k + 1 limits,
    least deprived first; numpy's linear quantiles), so that areas' population-weighted scores
    are classed against all of England's LSOAs."""
    s = imd2015()["imd2015_score"]
    return [float(np.quantile(s, i / k)) for i in range(0, k + 1)]


def decile_profile(lsoas: pd.DataFrame) -> pd.DataFrame:
    """How an area's LSOAs and people spread over England's IMD 2019 deciles: for each decile
    (1 = most deprived) the number of LSOAs, their population (mid-2015) and its percentage
    of the area's population."""
    d = lsoas.groupby("imd2019_decile").agg(
        lsoas=("lsoa11_code", "size"), population=("population", "sum")
    )
    d = d.reindex(range(1, 11), fill_value=0)
    d["pct_population"] = 100 * d["population"] / d["population"].sum()
    d.index.name = "imd2019_decile"
    return d.reset_index()
