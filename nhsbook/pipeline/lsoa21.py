"""Deprivation maps on 2021 LSOAs: the English Indices of Deprivation 2025 for the sub-ICB
locations and ICBs of a current-data book (:mod:`nhsbook.io.opendata_icb`).

* the **LSOAs of an area** (:func:`area_lsoas`) come from the ONS LSOA (2021) → sub-ICB
  location → ICB (April 2024) lookup: a sub-ICB location's LSOAs by its ONS code, an ICB's as
  the union of its sub-ICB locations in the book (the July 2026 ICBs after the April 2026
  mergers have no LSOA lookup of their own; sub-ICB codes are unchanged);
* each LSOA's IMD 2025 **score, national rank and decile** (:func:`imd_table`; rank 1 = most
  deprived of England's 33,755 LSOAs; decile ``d`` = ranks ``⌊(d−1)·N/10⌋+1 … ⌊d·N/10⌋``);
* **residents**: Census 2021 TS007A usual residents of each LSOA (registry
  ``census2021_ts007a_lsoa21``), the weights of the population-weighted figures
  (:func:`weighted_summary`, :func:`decile_profile`, :func:`district_summary`);
* **boundaries**: ONS LSOA (December 2021) BSC for Derby and Derbyshire
  (registry ``lsoa2021_boundaries_derbyshire``); an area with LSOAs outside the file gets
  tables but no map (:func:`has_boundaries`).

The inputs are the book's own validated files (``imd2025_lsoa21``, ``ons_lsoa21_sicbl_icb``):
the map pages read exactly what the validation gate passed.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from nhsbook.analysis.deprivation import DECILE_COLOURS, MapClasses
from nhsbook.config import sources
from nhsbook.config.book import BookConfig, load_book
from nhsbook.core import page_inputs
from nhsbook.io import current, opendata_loader

NATIONAL_LSOAS_2021 = 33755
BOUNDARIES = "lsoa2021_boundaries_derbyshire"


def _paths(cfg: BookConfig) -> dict:
    return opendata_loader.dataset_paths(cfg)


@page_inputs.remember(maxsize=4)
def _lookup(path: str) -> pd.DataFrame:
    return current.read_lsoa21_lookup(path)


@page_inputs.remember(maxsize=4)
def _imd(path: str) -> pd.DataFrame:
    return current.read_imd2025_lsoa(path)


@page_inputs.remember(maxsize=4)
def _census(path: str) -> pd.DataFrame:
    return current.read_census_ts007a(path)


@page_inputs.remember(maxsize=2)
def boundaries() -> gpd.GeoDataFrame:
    """The registered 2021 LSOA boundaries (``code, name, lad24_code, lad24_name, geometry``)."""
    from nhsbook.pipeline.geo import read_boundaries  # lazy: keeps shapely off this module's import

    path = sources.locate(BOUNDARIES)
    gdf = read_boundaries(path, "lsoa21_code", "lsoa21_name")
    props = gpd.read_file(path, engine="pyogrio", ignore_geometry=True)
    lad = props.set_index("lsoa21_code")
    gdf["lad24_code"] = gdf["code"].map(lad["ltla24_code"])
    gdf["lad24_name"] = gdf["code"].map(lad["ltla24_name"])
    return gdf


def area_lsoas(area_code: str, book: str | BookConfig, areas: pd.DataFrame) -> pd.DataFrame:
    """The lookup rows of the area's LSOAs: a sub-ICB location (area type ``ccg``) by its ONS
    code, an ICB (``stp``) by the sub-ICB locations of the book below it.  KeyError when the
    area has none (e.g. a practice or PCN: their patients have no LSOA footprint)."""
    cfg = book if isinstance(book, BookConfig) else load_book(book)
    lookup = _lookup(str(_paths(cfg)["ons_lsoa21_sicbl_icb"]))
    row = areas.loc[areas["area_code"] == area_code]
    kind = str(row["area_type"].iloc[0]) if not row.empty else ""
    if kind == "ccg":
        subs = {area_code}
    elif kind == "stp":
        subs = set(
            areas.loc[
                (areas["parent_code"] == area_code) & (areas["area_type"] == "ccg"), "area_code"
            ]
        )
    else:
        raise KeyError(
            f"{area_code!r} is a {kind or 'code not in the book'}: LSOA maps are "
            "drawn for sub-ICB locations and ICBs"
        )
    out = lookup[lookup["sicbl24_code"].isin(subs)].reset_index(drop=True)
    if out.empty:
        raise KeyError(f"no LSOA (2021) of the lookup is in {sorted(subs)}")
    return out


def imd_table(lsoas: pd.DataFrame, book: str | BookConfig) -> tuple[pd.DataFrame, MapClasses]:
    """The LSOAs with their IMD 2025 score, national rank and decile, classed by national
    decile (1 = most deprived); ``area_code``/``area_name`` for the map's join and tooltip,
    ``lad24_name`` where the boundaries give it."""
    cfg = book if isinstance(book, BookConfig) else load_book(book)
    imd = _imd(str(_paths(cfg)["imd2025_lsoa21"]))
    t = lsoas[["lsoa21_code", "lsoa21_name", "sicbl24_code"]].merge(
        imd, on="lsoa21_code", how="left"
    )
    missing = t["imd_decile"].isna()
    if missing.any():
        raise KeyError(f"no IMD 2025 for LSOA(s) {t.loc[missing, 'lsoa21_code'].tolist()[:5]}")
    census = _census(str(_paths(cfg)["census2021_ts007a"])).set_index("lsoa21_code")
    t["population"] = t["lsoa21_code"].map(census["population"])
    if t["population"].isna().any():
        raise KeyError(
            f"no Census 2021 population for LSOA(s) "
            f"{t.loc[t['population'].isna(), 'lsoa21_code'].tolist()[:5]}"
        )
    shapes = boundaries()
    lad = shapes.set_index("code")
    t["lad24_name"] = t["lsoa21_code"].map(lad["lad24_name"]).fillna("")
    t.insert(0, "area_code", t["lsoa21_code"])
    t.insert(1, "area_name", t["lsoa21_name"])
    classes = decile_classes(t["imd_decile"])
    t["map_class"] = classes.assigned.to_numpy()
    return t, classes


def decile_classes(decile: pd.Series, n: int = NATIONAL_LSOAS_2021) -> MapClasses:
    """National IMD 2025 deciles labelled with their rank limits, ``⌊(d−1)·n/10⌋+1`` to
    ``⌊d·n/10⌋`` (n = 33,755 LSOAs of 2021)."""
    labels = []
    for d in range(1, 11):
        lo, hi = (d - 1) * n // 10 + 1, d * n // 10
        tag = " most deprived" if d == 1 else (" least deprived" if d == 10 else "")
        labels.append(f"{d}{tag} (ranks {lo:,}–{hi:,})")
    d = pd.to_numeric(decile, errors="coerce")
    assigned = pd.Series(
        [labels[int(x) - 1] if pd.notna(x) else "No value" for x in d], index=decile.index
    )
    return MapClasses(
        tuple(labels), DECILE_COLOURS, assigned, method="national deciles of IMD 2025 (LSOA 2021)"
    )


def has_boundaries(lsoas: pd.DataFrame) -> bool:
    """True when every LSOA of the table has a registered 2021 boundary."""
    return set(lsoas["lsoa21_code"]) <= set(boundaries()["code"])


def lsoa_shapes(lsoas: pd.DataFrame) -> gpd.GeoDataFrame:
    """Web shapes of the LSOAs (coverage-preserving simplification, :func:`geo.web_shapes`)."""
    from nhsbook.pipeline.geo import web_shapes  # lazy: keeps shapely off this module's import

    shapes = boundaries()
    return web_shapes(shapes[shapes["code"].isin(set(lsoas["lsoa21_code"]))].reset_index(drop=True))


def district_outline(shapes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The parts of the 2024 districts covered by ``shapes``, dissolved from them."""
    from nhsbook.pipeline.geo import dissolve  # lazy: keeps shapely off this module's import

    lad = boundaries().set_index("code")
    m = pd.DataFrame(
        {
            "lsoa11_code": shapes["code"],
            "group_code": shapes["code"].map(lad["lad24_code"]),
            "group_name": shapes["code"].map(lad["lad24_name"]),
        }
    )
    return dissolve(shapes[["code", "geometry"]], m, group="group_code", name="group_name")


def decile_profile(table: pd.DataFrame) -> pd.DataFrame:
    """LSOAs and residents of the area in each national IMD 2025 decile (1 = most deprived):
    ``100 × LSOAs in the decile / LSOAs`` and, population-weighted, ``100 × residents of the
    decile's LSOAs / residents`` (Census 2021 usual residents, TS007A)."""
    d = table.groupby("imd_decile").size().reindex(range(1, 11), fill_value=0)
    p = table.groupby("imd_decile")["population"].sum().reindex(range(1, 11), fill_value=0)
    out = pd.DataFrame({"IMD 2025 national decile": d.index, "LSOAs": d.to_numpy()})
    out["% of the area's LSOAs"] = 100 * out["LSOAs"] / out["LSOAs"].sum()
    out["Residents (Census 2021)"] = p.to_numpy()
    out["% of residents"] = 100 * out["Residents (Census 2021)"] / p.sum()
    return out


def weighted_summary(table: pd.DataFrame) -> dict[str, float]:
    """The area's population-weighted IMD 2025 figures.

    Method
        Over the area's LSOAs (2021) with score ``s``, national decile ``d`` and Census 2021
        usual residents ``p`` (TS007A): ``score = Σ s·p / Σ p`` (MHCLG's "population-weighted
        average score" of its area summaries, with Census 2021 residents in place of the
        IoD2025 mid-2022 denominators, which the mirror lacks), and the % of residents in
        England's most deprived 10% (``d = 1``) and 20% (``d ≤ 2``) of LSOAs.  The same
        arithmetic gives every sub-ICB location and ICB in :func:`nhsbook.pipeline.national.compute`.
    Edge cases
        An empty table or zero residents gives NaN figures."""
    p = table["population"].astype(float)
    total = float(p.sum())
    if total <= 0:
        return {
            "residents": 0.0,
            "score": float("nan"),
            "pct_d1": float("nan"),
            "pct_d12": float("nan"),
        }
    return {
        "residents": total,
        "score": float((table["imd_score"] * p).sum() / total),
        "pct_d1": float(100 * p[table["imd_decile"] == 1].sum() / total),
        "pct_d12": float(100 * p[table["imd_decile"] <= 2].sum() / total),
    }


def district_summary(table: pd.DataFrame) -> pd.DataFrame:
    """By 2024 district (where the boundaries name it): LSOAs, Census 2021 residents, the
    mean LSOA IMD 2025 score (unweighted), the population-weighted score ``Σ s·p / Σ p``, and
    the % of LSOAs in England's most deprived 10% and 20%."""
    t = table[table["lad24_name"] != ""]
    if t.empty:
        return pd.DataFrame()
    g = t.assign(sp=t["imd_score"] * t["population"]).groupby("lad24_name")
    out = pd.DataFrame(
        {
            "LSOAs": g.size(),
            "Residents (Census 2021)": g["population"].sum(),
            "Mean LSOA IMD 2025 score": g["imd_score"].mean(),
            "Population-weighted IMD 2025 score": g["sp"].sum() / g["population"].sum(),
            "% of LSOAs in most deprived 10%": 100
            * g["imd_decile"].apply(lambda s: (s == 1).mean()),
            "% of LSOAs in most deprived 20%": 100
            * g["imd_decile"].apply(lambda s: (s <= 2).mean()),
        }
    )
    return (
        out.rename_axis("District (2024)")
        .reset_index()
        .sort_values("Mean LSOA IMD 2025 score", ascending=False)
    )


def practice_scores(
    values: pd.DataFrame, areas: pd.DataFrame, area_code: str, indicator_id: str = "94240"
) -> pd.DataFrame:
    """The IMD 2025 scores of the practices of an area (Fingertips 94240: OHID's
    population-weighted score of the LSOAs their patients live in) from a book's published
    values: ``Code, IMD 2025 score, Practice``, most deprived first."""
    # lazy: keeps scipy off this module's import
    from nhsbook.analysis.variation import practices_below

    mine = practices_below(areas, area_code)
    scores = values[(values["indicator_id"] == indicator_id) & values["area_code"].isin(mine)][
        ["area_code", "value"]
    ]
    names = areas.set_index("area_code")["area_name"]
    return (
        scores.assign(Practice=scores["area_code"].map(names))
        .rename(columns={"area_code": "Code", "value": "IMD 2025 score"})
        .sort_values("IMD 2025 score", ascending=False)
    )


def area_score(values: pd.DataFrame, area_code: str, indicator_id: str = "94240") -> float | None:
    """The area's own value of ``indicator_id`` (its IMD 2025 score: the list-weighted mean
    of its practices' scores) from a book's published values; None when it has none."""
    own = values.loc[
        (values["indicator_id"] == indicator_id) & (values["area_code"] == area_code), "value"
    ]
    return None if own.empty else own.iloc[0]
