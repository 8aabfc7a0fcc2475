"""Real geography for maps: boundaries, the LSOA hierarchy, dissolving, and web-ready shapes.

Boundaries and lookups are external open datasets read through :mod:`nhsbook.config.sources` (never
committed).  Everything is keyed on 2011 LSOAs (``E01…``), the building block of every area a
map shows:

* **boundaries** (:func:`read_boundaries`, :func:`boundaries`): GeoJSON or TopoJSON read with
  geopandas/pyogrio, set to WGS84, invalid rings repaired (:func:`repair`);
* **the LSOA table** (:func:`lsoa_table`): one row per English LSOA with its 2013/2019/2020
  district, 2020 CCG, region and (where the mirror has the lookups) 2016 CCG and 2019 ward;
* **areas** (:func:`resolve`): a CCG, a locality or a practice of a book's hierarchy, or any
  English local authority district, as a set of LSOAs with the sub-areas a map shows
  (localities, synthetic practice catchments, wards);
* **dissolving** (:func:`dissolve`): LSOAs into localities, catchments, wards or districts, so
  that areas add up exactly;
* **web shapes** (:func:`web_shapes`): coverage-preserving simplification in metres, coordinates
  rounded, valid, exterior rings clockwise as Vega's d3-geo needs them.

Localities have no published LSOA lookup: the book defines them by rules on real wards and
districts in ``data/<book>/geography/localities.csv``; practice catchments of synthetic practices
are a seeded, documented assignment (:func:`make_practice_catchments`), labelled synthetic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nhsbook.config import sources
from nhsbook.config.book import BookConfig, load_book
from nhsbook.core import page_inputs
from nhsbook.core.escape import markdown as esc
from nhsbook.core.escape import markdown_code as esc_code
from nhsbook.io import ons
from nhsbook.io.boundaries import WGS84, _polygonal, read_boundaries, repair  # noqa: F401
from nhsbook.io.lookups import _optional, lsoa_table, read_source  # noqa: F401

if TYPE_CHECKING:  # annotations only: deprivation imports geo
    from nhsbook.analysis.deprivation import MapClasses

__all__ = [
    "BoundaryLayer",
    "LAYERS",
    "MapArea",
    "MissingBoundaries",
    "area_km2",
    "boundaries",
    "covered_codes",
    "dissolve",
    "localities",
    "make_practice_catchments",
    "practice_catchments",
    "read_boundaries",
    "repair",
    "resolve",
    "lsoa_table",
    "web_shapes",
    "write_practice_catchments",
]

#: British National Grid: metres, for simplification tolerances.
BNG = "EPSG:27700"
#: ETRS89 Lambert azimuthal equal-area: for areas in km².
EQUAL_AREA = "EPSG:3035"
#: Seed of the synthetic practice catchments (the date of the seed profile, as ``nhsbook synth``).
CATCHMENT_SEED = 20120927
CATCHMENTS_FILE = "practice_catchments_synthetic.csv"
LOCALITIES_FILE = "localities.csv"
COUNTY_FILE = "county_view.csv"


class MissingBoundaries(LookupError):
    """No registered boundary dataset covers some areas (the message names what exists)."""

    def __str__(self) -> str:
        return str(self.args[0])


# --------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class BoundaryLayer:
    """One registered boundary file: its registry key, code and name properties, TopoJSON
    object (None for GeoJSON)."""

    key: str
    code: str
    name: str
    layer: str | None = None


#: Registered boundary files by level.  LSOA boundaries exist for the Derbyshire focus area and
#: the two hold-out districts only; district (LAD 2013) boundaries cover all of England.
LAYERS: dict[str, tuple[BoundaryLayer, ...]] = {
    "lsoa": (
        BoundaryLayer("lsoa2011_boundaries_derbyshire", "LSOA11CD", "LSOA11NM"),
        BoundaryLayer("lsoa2011_boundaries_holdout", "LSOA11CD", "LSOA11NM"),
    ),
    "msoa": (
        BoundaryLayer("msoa2011_boundaries_derbyshire", "MSOA11CD", "MSOA11NM"),
        BoundaryLayer("msoa2011_boundaries_holdout", "MSOA11CD", "MSOA11NM"),
    ),
    "ward13": (
        BoundaryLayer("wards2013_boundaries_derbyshire", "WD13CD", "WD13NM"),
        BoundaryLayer("wards2013_boundaries_holdout", "WD13CD", "WD13NM"),
    ),
    "lad13": (BoundaryLayer("lad2013_boundaries_england", "LAD13CD", "LAD13NM"),),
}


@functools.lru_cache(maxsize=16)
def _layer(layer: BoundaryLayer, path: str, sha: str) -> gpd.GeoDataFrame:
    return read_boundaries(path, layer.code, layer.name, layer.layer)


def _load_layer(layer: BoundaryLayer) -> gpd.GeoDataFrame:
    path = sources.locate(layer.key)
    return _layer(layer, str(path), sources.file_sha256(path)).copy()


def covered_codes(level: str) -> set[str]:
    """Codes of every area of ``level`` that a registered boundary file holds."""
    return set().union(*(set(_load_layer(lay)["code"]) for lay in _layers(level)))


def _layers(level: str) -> tuple[BoundaryLayer, ...]:
    if level not in LAYERS:
        raise KeyError(f"no boundary level {level!r}; levels: {', '.join(LAYERS)}")
    return LAYERS[level]


def boundaries(level: str, codes: Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Boundaries of ``level`` (``lsoa``, ``msoa``, ``ward13``, ``lad13``) for ``codes`` (all if
    None), in WGS84, from every registered file of that level.

    Raises :class:`MissingBoundaries` naming the codes no registered file covers, and
    :class:`nhsbook.config.sources.MissingSource` (which says how to fetch it) if a file is absent.
    """
    frames = [_load_layer(lay) for lay in _layers(level)]
    gdf = pd.concat(frames, ignore_index=True).drop_duplicates("code")
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=WGS84)
    if codes is None:
        return gdf.reset_index(drop=True)
    wanted = list(dict.fromkeys(str(c) for c in codes))
    have = set(gdf["code"])
    missing = [c for c in wanted if c not in have]
    if missing:
        reg = sources.load_registry()
        files = "; ".join(f"{lay.key} ({reg[lay.key].coverage})" for lay in _layers(level))
        raise MissingBoundaries(
            f"no registered {level} boundaries for {len(missing)} of {len(wanted)} areas "
            f"(e.g. {', '.join(missing[:3])}). The registry's {level} boundary files cover: "
            f"{files}. Add a boundary file covering them to data/sources.yml."
        )
    order = {c: i for i, c in enumerate(wanted)}
    sel = gdf[gdf["code"].isin(order)].copy()
    sel["_o"] = sel["code"].map(order)
    return sel.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def area_km2(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Area of each geometry in km², on the ETRS89 Lambert equal-area projection (EPSG:3035)."""
    return gdf.geometry.to_crs(EQUAL_AREA).area / 1e6


# --------------------------------------------------------------------------------- geometry


def dissolve(
    parts: gpd.GeoDataFrame,
    membership: pd.DataFrame,
    *,
    part: str = "lsoa11_code",
    group: str = "group_code",
    name: str | None = None,
) -> gpd.GeoDataFrame:
    """Union the ``parts`` (``code, geometry``) into groups by ``membership`` (``part`` →
    ``group`` [, ``name``]).

    Every member must have a geometry and belong to one group only (else ValueError naming
    them), so the groups' areas are the sums of their parts' areas.  Returns ``code, name,
    geometry`` (name = the group code when ``name`` is None), repaired.
    """
    dup = membership[part][membership[part].duplicated()]
    if not dup.empty:
        raise ValueError(f"membership: {part} in more than one {group}: {sorted(set(dup))[:5]}")
    absent = sorted(set(membership[part]) - set(parts["code"]))
    if absent:
        raise ValueError(
            f"membership: {len(absent)} {part} have no boundary (e.g. {', '.join(absent[:3])})"
        )
    cols = [part, group] + ([name] if name else [])
    joined = parts.merge(membership[cols], left_on="code", right_on=part, how="inner")
    out = joined[[group, "geometry"]].dissolve(by=group, as_index=False)
    out = out.rename(columns={group: "code"})
    names = (
        membership.drop_duplicates(group).set_index(group)[name]
        if name
        else pd.Series(out["code"].to_numpy(), index=out["code"].to_numpy())
    )
    out.insert(1, "name", out["code"].map(names).astype(str))
    return repair(gpd.GeoDataFrame(out, geometry="geometry", crs=parts.crs), "dissolve")


def default_tolerance(gdf: gpd.GeoDataFrame) -> float:
    """A simplification tolerance in metres: 1/1,200 of the map's diagonal, 10–300 m."""
    minx, miny, maxx, maxy = gdf.geometry.to_crs(BNG).total_bounds
    return float(np.clip(np.hypot(maxx - minx, maxy - miny) / 1200.0, 10.0, 300.0))


def web_shapes(
    gdf: gpd.GeoDataFrame, tolerance_m: float | None = None, digits: int = 4
) -> gpd.GeoDataFrame:
    """Shapes small enough for a web page and drawn right by Vega.

    1. simplify in British National Grid metres with ``shapely.coverage_simplify`` (neighbours
       keep one shared edge: no gaps or slivers), tolerance :func:`default_tolerance` if None;
    2. back to WGS84, snapped to a grid of 10^-digits degrees (4 digits ≈ 11 m), valid;
    3. exterior rings clockwise, holes anticlockwise (``shapely.orient_polygons(exterior_cw=
       True)``): Vega's spherical d3-geo fills the outside of RFC 7946 anticlockwise rings.
    """
    tol = default_tolerance(gdf) if tolerance_m is None else float(tolerance_m)
    geoms = gdf.geometry.to_crs(BNG).values
    simple = shapely.coverage_simplify(np.asarray(geoms, dtype=object), tol)
    back = gpd.GeoSeries(simple, index=gdf.index, crs=BNG).to_crs(WGS84)
    grid = 10.0**-digits
    snapped = shapely.set_precision(np.asarray(back.values, dtype=object), grid)
    rounded = shapely.transform(snapped, lambda xy: np.round(xy, digits))
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(rounded, index=gdf.index, crs=WGS84)
    out = repair(out, "web_shapes")
    out.geometry = gpd.GeoSeries(
        shapely.orient_polygons(np.asarray(out.geometry.values, dtype=object), exterior_cw=True),
        index=gdf.index,
        crs=WGS84,
    )
    return out


# --------------------------------------------------------------------------------- lookups

# --------------------------------------------------------------------------------- hierarchy


def _geography_dir(cfg: BookConfig) -> Path:
    return cfg.data / "geography"


def localities(cfg: BookConfig, ccg_code: str | None = None) -> pd.DataFrame:
    """LSOA → locality of the book (``lsoa11_code, locality_code, locality_name``).

    The rules in ``data/<book>/geography/localities.csv`` name a 2019 district (every LSOA of
    it in the CCG) or a 2019 ward (best-fit LSOA lookup) for each locality.  Every LSOA of the
    CCG must match exactly one rule and every rule at least one LSOA (else ValueError).
    """
    path = _geography_dir(cfg) / LOCALITIES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the book has localities but no LSOA rules for them")
    rules = pd.read_csv(path, dtype=str, keep_default_na=False)
    areas = _book_areas(cfg)
    ccgs = {
        str(areas.loc[areas["area_code"] == c, "parent_code"].iloc[0])
        for c in rules["locality_code"].unique()
        if (areas["area_code"] == c).any()
    }
    unknown = sorted(set(rules["locality_code"]) - set(areas["area_code"]))
    if unknown:
        raise ValueError(f"{path}: locality codes {unknown} are not in the book's areas")
    ccg = ccg_code or (ccgs.pop() if len(ccgs) == 1 else None)
    if ccg is None:
        raise ValueError(f"{path}: localities of several CCGs; pass ccg_code")
    lsoas = ccg_lsoas(ccg)
    by_ward = rules[rules["ward19_code"] != ""]
    by_lad = rules[rules["ward19_code"] == ""]
    clash = sorted(set(by_ward["lad19_code"]) & set(by_lad["lad19_code"]))
    if clash:
        raise ValueError(f"{path}: districts {clash} have both a whole-district and ward rules")
    w = lsoas.merge(by_ward[["ward19_code", "locality_code", "locality_name"]], on="ward19_code")
    d = lsoas.merge(by_lad[["lad19_code", "locality_code", "locality_name"]], on="lad19_code")
    out = pd.concat([w, d], ignore_index=True)[
        ["lsoa11_code", "lsoa11_name", "locality_code", "locality_name"]
    ]
    dup = out["lsoa11_code"][out["lsoa11_code"].duplicated()]
    if not dup.empty:
        raise ValueError(f"{path}: LSOAs match several rules: {sorted(set(dup))[:5]}")
    unmatched = sorted(set(lsoas["lsoa11_code"]) - set(out["lsoa11_code"]))
    if unmatched:
        raise ValueError(
            f"{path}: {len(unmatched)} LSOAs of {ccg} match no rule "
            f"(e.g. {', '.join(unmatched[:3])})"
        )
    idle = [
        r
        for r in (by_ward["ward19_code"].tolist() + by_lad["lad19_code"].tolist())
        if r not in set(w["ward19_code"]) | set(d["lad19_code"])
    ]
    if idle:
        raise ValueError(f"{path}: rules {idle} match no LSOA of {ccg}")
    return out.sort_values(["locality_code", "lsoa11_code"]).reset_index(drop=True)


def ccg_lsoas(ccg_code: str) -> pd.DataFrame:
    """The LSOAs of a CCG: by the April 2016 lookup (the 2013–18 CCGs, Derbyshire and the
    hold-out districts) or else the April 2020 lookup (all of England)."""
    t = lsoa_table()
    hit = t[t["ccg16_code"] == ccg_code]
    if hit.empty:
        hit = t[t["ccg20_code"] == ccg_code]
    if hit.empty:
        raise KeyError(
            f"CCG {ccg_code!r} is in neither the 2016 (Derbyshire, hold-out) nor the "
            "2020 (England) LSOA-to-CCG lookup"
        )
    return hit.reset_index(drop=True)


def district_lsoas(code: str) -> tuple[pd.DataFrame, str]:
    """The LSOAs of a local authority district by its 2013, 2019 or 2020 code, and its name."""
    t = lsoa_table()
    for col in ("lad13", "lad19", "lad20"):
        hit = t[t[f"{col}_code"] == code]
        if not hit.empty:
            return hit.reset_index(drop=True), str(hit[f"{col}_name"].iloc[0])
    raise KeyError(
        f"{code!r} is not a local authority district of England in the 2013, 2019 "
        "or 2020 LSOA lookups"
    )


def _book_areas(cfg: BookConfig) -> pd.DataFrame:
    from nhsbook.pipeline.store import load_computed  # lazy: keeps scipy off this module's import

    return load_computed(cfg)["areas"]


def practice_catchments(cfg: BookConfig) -> pd.DataFrame:
    """LSOA → synthetic practice catchment (``data/<book>/geography/practice_catchments_
    synthetic.csv``, written by :func:`write_practice_catchments`)."""
    path = _geography_dir(cfg) / CATCHMENTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python -m nhsbook.pipeline.geo catchments`"
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def make_practice_catchments(cfg: BookConfig, seed: int = CATCHMENT_SEED) -> pd.DataFrame:
    """A **synthetic** catchment for each practice: a seeded partition of its locality's LSOAs.

    Method: for each locality (in code order), with k practices and n ≥ k LSOAs located by
    their representative points (British National Grid):

    1. k distinct LSOAs are drawn with ``numpy.random.default_rng([seed, i])`` (i = the
       locality's position) as starting centres;
    2. 20 rounds of population-weighted k-means (Lloyd): each LSOA joins its nearest centre,
       each centre moves to the population-weighted mean of its LSOAs (a centre left with no
       LSOA stays where it was); the final assignment must leave no practice empty;
    3. the catchments, largest population first, go to the practices, largest list size first
       (ties by code).

    Real practice catchments overlap and are not published here; these are for drawing the
    synthetic practices' figures only.  Population: IoD2019 denominators (mid-2015).
    """
    from nhsbook.analysis import deprivation  # lazy: keeps mapclassify off this module's import

    areas = _book_areas(cfg)
    loc = localities(cfg)
    pop = deprivation.imd2019()[["lsoa11_code", "population"]]
    shapes = boundaries("lsoa", loc["lsoa11_code"]).to_crs(BNG)
    pts = shapes.set_index("code").geometry.representative_point()
    practices = areas[areas["area_type"] == "practice"]
    rows = []
    for i, (code, members) in enumerate(loc.groupby("locality_code", sort=True)):
        prac = practices[practices["parent_code"] == code].copy()
        prac["list_size"] = pd.to_numeric(prac.get("list_size", np.nan), errors="coerce")
        prac = prac.sort_values(["list_size", "area_code"], ascending=[False, True])
        k, m = len(prac), members.merge(pop, how="left").sort_values("lsoa11_code")
        if k == 0:
            continue
        if k > len(m):
            raise ValueError(f"locality {code}: {k} practices but only {len(m)} LSOAs")
        xy = np.column_stack([pts.loc[m["lsoa11_code"]].x, pts.loc[m["lsoa11_code"]].y])
        w = m["population"].to_numpy(dtype=float)
        rng = np.random.default_rng([seed, i])
        centres = xy[rng.choice(len(m), size=k, replace=False)]
        for _ in range(20):
            label = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
            for j in range(k):
                sel = label == j
                if sel.any():
                    centres[j] = np.average(xy[sel], axis=0, weights=w[sel])
        label = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        if len(set(label)) < k:
            raise ValueError(f"locality {code}: a synthetic catchment came out empty")
        sizes = pd.Series(w).groupby(label).sum()
        order = sorted(range(k), key=lambda j: (-sizes[j], j))
        to_practice = {j: prac["area_code"].iloc[r] for r, j in enumerate(order)}
        rows.append(
            pd.DataFrame(
                {
                    "lsoa11_code": m["lsoa11_code"].to_numpy(),
                    "practice_code": [to_practice[j] for j in label],
                    "locality_code": code,
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out["synthetic"] = "yes"
    return out.sort_values(["practice_code", "lsoa11_code"]).reset_index(drop=True)


def write_practice_catchments(cfg: BookConfig) -> Path:
    """Write :func:`make_practice_catchments` to the book's geography folder."""
    path = _geography_dir(cfg) / CATCHMENTS_FILE
    make_practice_catchments(cfg).to_csv(path, index=False, lineterminator="\n")
    return path


def county_view(cfg: BookConfig) -> pd.DataFrame:
    """The districts (LAD 2013 codes) of the book's county view (``county_view.csv``)."""
    path = _geography_dir(cfg) / COUNTY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the book names no districts for its county view")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------------- areas


@dataclass
class MapArea:
    """One area a map page shows: its LSOAs and the sub-areas it is divided into.

    ``lsoas`` holds the LSOA table rows of the area plus one column per sub-area kind
    (``locality_code``/``practice_code``/``ward19_code`` …); ``parts`` maps a kind's label to
    ``(membership column, name column or None)``.
    """

    code: str
    name: str
    kind: str  # "ccg", "locality", "practice" or "district"
    book: BookConfig
    lsoas: pd.DataFrame
    parts: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    synthetic_parts: tuple[str, ...] = ()
    in_book: bool = True  # an area of the book's hierarchy (indicators exist for it)

    @property
    def has_lsoa_boundaries(self) -> bool:
        """True when every LSOA of the area has a registered boundary."""
        return set(self.lsoas["lsoa11_code"]) <= covered_codes("lsoa")

    @property
    def lad13_codes(self) -> list[str]:
        """The 2013 districts the area's LSOAs lie in (the district boundaries' vintage)."""
        return sorted(self.lsoas["lad13_code"].dropna().unique())

    def membership(self, kind: str) -> pd.DataFrame:
        """``lsoa11_code, group_code, group_name`` for a sub-area kind of :attr:`parts`."""
        col, name = self.parts[kind]
        out = self.lsoas[["lsoa11_code", col]].rename(columns={col: "group_code"})
        out["group_name"] = self.lsoas[name] if name else out["group_code"]
        return out.dropna(subset=["group_code"]).reset_index(drop=True)

    def lsoa_shapes(self, tolerance_m: float | None = None) -> gpd.GeoDataFrame:
        """The area's LSOA boundaries as web shapes (one simplification for every map of the
        page, so dissolved sub-areas fit the LSOAs exactly)."""
        return _web_lsoas(self, tolerance_m)

    def part_shapes(self, kind: str, tolerance_m: float | None = None) -> gpd.GeoDataFrame:
        """Sub-areas of ``kind`` dissolved from the area's simplified LSOA shapes."""
        return _dissolved_lsoas(self, self.membership(kind), tolerance_m)

    def outline(self, tolerance_m: float | None = None) -> gpd.GeoDataFrame:
        """The whole area as one shape (union of its simplified LSOAs)."""
        m = self.lsoas[["lsoa11_code"]].assign(group_code=self.code, group_name=self.name)
        return _dissolved_lsoas(self, m, tolerance_m)


def _dissolved_lsoas(
    area: MapArea, membership: pd.DataFrame, tolerance_m: float | None
) -> gpd.GeoDataFrame:
    """The area's simplified LSOAs dissolved by ``membership`` (``lsoa11_code, group_code,
    group_name``), oriented; computed once per process for the same LSOAs, groups and
    tolerance (a page and the pages after it draw them several times), a copy each call."""
    cols = ("lsoa11_code", "group_code", "group_name")
    key = tuple(tuple(membership[c].tolist()) for c in cols)
    return _dissolved_of(tuple(area.lsoas["lsoa11_code"]), key, tolerance_m).copy()


@page_inputs.remember(maxsize=32)
def _dissolved_of(
    codes: tuple[str, ...], membership: tuple[tuple, ...], tolerance_m: float | None
) -> gpd.GeoDataFrame:
    m = pd.DataFrame(dict(zip(("lsoa11_code", "group_code", "group_name"), membership)))
    shapes = _web_shapes_of(codes, tolerance_m).copy()
    return _oriented(dissolve(shapes, m, group="group_code", name="group_name"))


def _oriented(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(
        shapely.orient_polygons(np.asarray(gdf.geometry.values, dtype=object), exterior_cw=True),
        index=gdf.index,
        crs=gdf.crs,
    )
    return out


@page_inputs.remember(maxsize=8)
def _web_shapes_of(codes: tuple[str, ...], tolerance_m: float | None) -> gpd.GeoDataFrame:
    return web_shapes(boundaries("lsoa", pd.Series(codes)), tolerance_m)


def _web_lsoas(area: MapArea, tolerance_m: float | None) -> gpd.GeoDataFrame:
    return _web_shapes_of(tuple(area.lsoas["lsoa11_code"]), tolerance_m).copy()


def resolve(area_code: str, book: str | BookConfig = "default") -> MapArea:
    """The area behind a page's ``area_code``.

    * a CCG of the book's hierarchy: its LSOAs (CCG lookups), divided into the book's
      localities (``localities.csv``) and synthetic practice catchments;
    * a locality: its LSOAs, divided into synthetic practice catchments;
    * any English local authority district (2013, 2019 or 2020 code): its LSOAs, divided into
      2019 wards (best-fit lookup) where the mirror has them, else into MSOAs;
    * any other CCG code of the 2016/2020 lookups: its LSOAs, divided into districts.
    """
    cfg = book if isinstance(book, BookConfig) else load_book(book)
    areas = _book_areas(cfg)
    hit = areas[areas["area_code"] == area_code]
    kind = str(hit["area_type"].iloc[0]) if not hit.empty else ""
    if kind == "ccg":
        lsoas = ccg_lsoas(area_code)
        parts: dict[str, tuple[str, str | None]] = {}
        synthetic: list[str] = []
        if (areas["parent_code"] == area_code).any() and (
            _geography_dir(cfg) / LOCALITIES_FILE
        ).is_file():
            loc = localities(cfg, area_code)
            lsoas = lsoas.merge(loc[["lsoa11_code", "locality_code", "locality_name"]], how="left")
            parts["locality"] = ("locality_code", "locality_name")
            lsoas, synthetic = _with_practices(cfg, areas, lsoas, parts)
        else:  # a book without localities (e.g. a real-data book): the CCG's districts
            parts["district"] = ("lad19_code", "lad19_name")
        return MapArea(
            area_code, str(hit["area_name"].iloc[0]), "ccg", cfg, lsoas, parts, tuple(synthetic)
        )
    if kind == "locality":
        loc = localities(cfg)
        members = loc[loc["locality_code"] == area_code]
        lsoas = lsoa_table().merge(members[["lsoa11_code", "locality_code", "locality_name"]])
        parts = {}
        lsoas, synthetic = _with_practices(cfg, areas, lsoas, parts)
        return MapArea(
            area_code,
            str(hit["area_name"].iloc[0]),
            "locality",
            cfg,
            lsoas,
            parts,
            tuple(synthetic),
        )
    if kind == "district":  # a district of the book: the part of it inside the book's CCG
        lsoas, _ = district_lsoas(area_code)
        parent = str(hit["parent_code"].iloc[0])
        if (areas.loc[areas["area_code"] == parent, "area_type"] == "ccg").any():
            lsoas = lsoas[lsoas["lsoa11_code"].isin(ccg_lsoas(parent)["lsoa11_code"])]
        lsoas = lsoas.reset_index(drop=True)
        parts = (
            {"ward": ("ward19_code", "ward19_name")}
            if lsoas["ward19_code"].notna().all()
            else {"MSOA": ("msoa11_code", "msoa11_name")}
        )
        return MapArea(area_code, str(hit["area_name"].iloc[0]), "district", cfg, lsoas, parts)
    if kind:
        raise ValueError(
            f"area {area_code!r} is a {kind}: maps are drawn for CCGs, localities "
            "and local authority districts"
        )
    try:
        lsoas, name = district_lsoas(area_code)
        kind = "district"
    except KeyError:
        try:
            lsoas = ccg_lsoas(area_code)
        except KeyError:
            raise KeyError(
                f"{area_code!r} is neither an area of book {cfg.name!r} nor an "
                "English local authority district or CCG of the LSOA lookups"
            ) from None
        name = str(
            lsoas["ccg16_name"].dropna().iloc[0]
            if lsoas["ccg16_code"].eq(area_code).any()
            else lsoas["ccg20_name"].iloc[0]
        )
        kind = "ccg"
        return MapArea(
            area_code,
            name,
            kind,
            cfg,
            lsoas,
            {"district": ("lad19_code", "lad19_name")},
            in_book=False,
        )
    if lsoas["ward19_code"].notna().all():
        parts = {"ward": ("ward19_code", "ward19_name")}
    else:
        parts = {"MSOA": ("msoa11_code", "msoa11_name")}
    return MapArea(area_code, name, kind, cfg, lsoas, parts, in_book=False)


def _with_practices(
    cfg: BookConfig, areas: pd.DataFrame, lsoas: pd.DataFrame, parts: dict
) -> tuple[pd.DataFrame, list[str]]:
    path = _geography_dir(cfg) / CATCHMENTS_FILE
    if not path.is_file():
        return lsoas, []
    catch = practice_catchments(cfg)[["lsoa11_code", "practice_code"]]
    names = areas.set_index("area_code")["area_name"]
    out = lsoas.merge(catch, how="left")
    out["practice_name"] = out["practice_code"].map(names)
    parts["practice"] = ("practice_code", "practice_name")
    return out, ["practice"]


def main(argv: list[str] | None = None) -> int:
    """``python -m nhsbook.pipeline.geo catchments [BOOK]``: rewrite the synthetic practice catchments."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "catchments":
        print("usage: python -m nhsbook.pipeline.geo catchments [BOOK]")
        return 2
    cfg = load_book(args[1] if len(args) > 1 else "default")
    print(write_practice_catchments(cfg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# --------------------------------------------------------------------------------- map tables
# What a map page shows, as tidy tables ready for nhsbook.charts.choropleth: one row per area
# with area_code, area_name, the values of the tooltip, rank and map_class.

NATIONAL_LSOAS = 32844
SUPPRESSED_CLASS = "Suppressed (disclosure control)"


def lsoa_map_table(area: MapArea) -> tuple[pd.DataFrame, "MapClasses"]:
    """The area's LSOAs with IMD 2019 national rank and decile (classes: national deciles),
    IMD 2015 score and population."""
    # lazy: keeps mapclassify off this module's import
    from nhsbook.analysis import deprivation as dep

    t = dep.lsoa_deprivation(area.lsoas["lsoa11_code"])
    t.insert(0, "area_code", t["lsoa11_code"])
    t.insert(1, "area_name", t["lsoa11_name"])
    for kind, (col, name) in area.parts.items():
        t[f"{kind}_name"] = area.lsoas[name or col].to_numpy()
    classes = dep.classify_national(t["imd2019_decile"], k=10, n=NATIONAL_LSOAS)
    t["map_class"] = classes.assigned.to_numpy()
    return t, classes


#: Registry key of the ONS mid-2019 LSOA population (persons, five-year bands, all England).
SAPE_5YR = "sape2019_5yr_england"
AGE_MEASURES = {
    "pct_65_plus": "% aged 65 and over",
    "pct_under_15": "% aged under 15",
    "pct_75_plus": "% aged 75 and over",
}


@page_inputs.remember()
def _lsoa_age_shares() -> pd.DataFrame:
    return ons.population_shares(ons.read_sape_5yr(sources.locate(SAPE_5YR)))


def lsoa_age_table(
    area: MapArea, measure: str = "pct_65_plus"
) -> tuple[pd.DataFrame, "MapClasses"]:
    """The area's LSOAs with their ONS mid-2019 population and age structure
    (:func:`nhsbook.io.ons.population_shares`: % under 15, 65+ and 75+), classed into
    quintiles of ``measure`` over the area's LSOAs (mapclassify); ``population`` is a whole
    LSOA's residents (about 1,500), never a small count."""
    # lazy: keeps mapclassify off this module's import
    from nhsbook.analysis import deprivation as dep

    shares = _lsoa_age_shares()
    t = area.lsoas[["lsoa11_code", "lsoa11_name"]].merge(
        shares.drop(columns=["lsoa_name", "la_code", "la_name"]).rename(
            columns={"lsoa_code": "lsoa11_code", "all_ages": "population"}
        ),
        how="left",
    )
    missing = t["population"].isna()
    if missing.any():
        raise KeyError(
            f"{sources.locate(SAPE_5YR)}: no mid-2019 population for LSOA(s) "
            f"{t.loc[missing, 'lsoa11_code'].tolist()[:5]} of {area.name}"
        )
    t.insert(0, "area_code", t["lsoa11_code"])
    t.insert(1, "area_name", t["lsoa11_name"])
    classes = dep.classify_quantiles(t[measure], k=5, digits=1)
    t["map_class"] = classes.assigned.to_numpy()
    return t, classes


def score_classes(values: pd.Series) -> "MapClasses":
    """Population-weighted IMD 2015 scores classed by the national quintiles of the LSOA score
    (most deprived darkest), so areas of any size are placed against all of England's LSOAs."""
    # lazy: keeps mapclassify off this module's import
    from nhsbook.analysis import deprivation as dep

    limits = dep.national_score_breaks(5)
    labels_q = ["least deprived 20%", "4th", "3rd", "2nd", "most deprived 20%"]
    c = dep.classify_fixed(
        values,
        limits[1:],
        digits=1,
        colours=dep.QUINTILE_COLOURS[::-1],
        method="national quintiles of the LSOA IMD 2015 score",
        low=limits[0],
    )
    labels = tuple(f"{lab} ({q})" for lab, q in zip(c.labels, labels_q))
    relabel = dict(zip(c.labels, labels))
    return dep.MapClasses(
        labels, c.colours, c.assigned.map(lambda x: relabel.get(x, x)), c.missing, c.method
    )


def part_map_table(area: MapArea, kind: str) -> tuple[pd.DataFrame, "MapClasses"]:
    """Deprivation of the area's sub-areas of ``kind`` (:func:`nhsbook.analysis.deprivation.summarise`):
    population-weighted IMD 2015 (and 2010) score, % of people in England's most deprived 20%,
    rank among the sub-areas (1 = most deprived)."""
    # lazy: keeps mapclassify off this module's import
    from nhsbook.analysis import deprivation as dep

    m = area.membership(kind)
    t = m.merge(dep.lsoa_deprivation(m["lsoa11_code"]), on="lsoa11_code")
    s = dep.summarise(t, "group_code")
    names = m.drop_duplicates("group_code").set_index("group_code")["group_name"]
    s.insert(0, "area_code", s.pop("group_code"))
    s.insert(1, "area_name", s["area_code"].map(names).astype(str))
    classes = score_classes(s["imd2015_score"])
    s["map_class"] = classes.assigned.to_numpy()
    return s.sort_values("area_name").reset_index(drop=True), classes


def district_map_table(lad13_codes: Sequence[str]) -> tuple[pd.DataFrame, "MapClasses"]:
    """The given districts (2013 codes) with their deprivation and national rank among the 326
    districts of England (1 = highest population-weighted IMD 2015 score)."""
    # lazy: keeps mapclassify off this module's import
    from nhsbook.analysis import deprivation as dep

    d = dep.district_summary()
    t = d[d["lad13_code"].isin(list(lad13_codes))].copy()
    t.insert(0, "area_code", t.pop("lad13_code"))
    t.insert(1, "area_name", t.pop("lad13_name"))
    classes = score_classes(t["imd2015_score"])
    t["map_class"] = classes.assigned.to_numpy()
    return t.reset_index(drop=True), classes


def wider_view(area: MapArea) -> tuple[list[str], str]:
    """The districts (2013 codes) of the page's "wider area" map and how to name them: the
    book's county view (``county_view.csv``) when it has one and the area is of the book,
    otherwise every district of the area's region."""
    if area.in_book and (_geography_dir(area.book) / COUNTY_FILE).is_file():
        return county_view(area.book)[
            "lad13_code"
        ].tolist(), "districts of Derbyshire (county view)"
    region, codes = region_districts(area)
    return codes, f"districts of the {region} region"


def region_districts(area: MapArea) -> tuple[str, list[str]]:
    """The region of the area (the region of most of its LSOAs) and its districts (2013)."""
    t = lsoa_table()
    rgn = area.lsoas["rgn11_code"].mode().iloc[0]
    sel = t[t["rgn11_code"] == rgn]
    return str(sel["rgn11_name"].iloc[0]), sorted(sel["lad13_code"].unique())


def district_shapes(
    lad13_codes: Sequence[str], tolerance_m: float | None = None
) -> gpd.GeoDataFrame:
    """District (LAD 2013) boundaries as web shapes: by default twice the usual tolerance
    (at least 100 m) and 3 decimals (≈ 100 m) when the tolerance is 150 m or more: these maps
    show whole counties or regions."""
    raw = boundaries("lad13", lad13_codes)
    tol = max(2 * default_tolerance(raw), 100.0) if tolerance_m is None else tolerance_m
    return web_shapes(raw, tol, digits=3 if tol >= 150 else 4)


def indicator_map_tables(
    area: MapArea, computed: Mapping[str, pd.DataFrame], level: str = "practice"
) -> list[tuple[pd.Series, pd.DataFrame, "MapClasses"]]:
    """Every profile indicator at ``level`` (practices: the finest level of the book) for the
    sub-areas of the area: ``(metadata row, table, classes)`` per indicator.

    Disclosure control: suppressed values (:func:`nhsbook.analysis.disclosure.apply`: counts 1–4 and
    their complementary cells) are blanked and shown as a "Suppressed" class; counts are
    never embedded.  Classes: up to 5 quantiles of the values shown; rank 1 = the highest value.
    """
    # lazy: keeps mapclassify off this module's import
    from nhsbook.analysis import deprivation as dep

    members = area.membership(level)
    codes = members.drop_duplicates("group_code").set_index("group_code")["group_name"]
    values = computed["values"]
    rows = values[
        values["area_code"].isin(codes.index) & (values["category_type"].fillna("") == "")
    ]
    from nhsbook.analysis.disclosure import apply  # lazy: keeps scipy off this module's import

    rows = apply(rows)
    by_id = dict(list(rows.groupby("indicator_id", sort=False)))  # one pass, not one per indicator
    meta = computed["metadata"].sort_values("indicator_id")
    out = []
    for _, m in meta.iterrows():
        r = by_id.get(m["indicator_id"], rows.iloc[:0])
        t = pd.DataFrame({"area_code": codes.index, "area_name": codes.to_numpy()})
        t = t.merge(r[["area_code", "value", "suppressed"]], how="left")
        if r.empty:  # the indicator does not exist at this level
            continue
        t["suppressed"] = t["suppressed"].fillna(False).astype(bool)
        digits = 1 if t["value"].abs().max() < 1000 else 0
        classes = dep.classify_quantiles(t["value"], k=5, digits=digits)
        assigned = classes.assigned.where(~t["suppressed"], SUPPRESSED_CLASS)
        missing = SUPPRESSED_CLASS if t["suppressed"].any() else classes.missing
        classes = dep.MapClasses(classes.labels, classes.colours, assigned, missing, classes.method)
        t["rank"] = t["value"].rank(ascending=False, method="min").astype("Int64")
        t["value"] = t["value"].round(2)
        t["map_class"] = assigned.to_numpy()
        out.append((m, t.drop(columns="suppressed"), classes))
    return out


KIND_LABELS = {
    "ccg": "clinical commissioning group",
    "locality": "locality",
    "district": "local authority district",
}
PART_LABELS = {
    "locality": "localities",
    "practice": "practices (synthetic catchments)",
    "ward": "wards (2019, best-fit LSOA lookup)",
    "MSOA": "MSOAs (2011)",
    "district": "districts (2019)",
}


def header_markdown(area: MapArea) -> str:
    """The opening of a map page: the area, what it is made of, the sources, and the
    synthetic-data notice where the page shows the book's synthetic practices."""
    parts = ", ".join(
        f"{len(area.membership(k)['group_code'].unique())} {PART_LABELS.get(k, k)}"
        for k in area.parts
    )
    lines = [
        f"**Area:** {esc(area.name)} ({esc_code(area.code)}, "
        f"{KIND_LABELS.get(area.kind, area.kind)}): {len(area.lsoas)} LSOAs (2011)"
        + (f"; {parts}" if parts else "")
        + ".",
        "",
    ]
    if area.synthetic_parts and area.book.synthetic:
        note = " ".join(area.book.synthetic_note.split())
        lines += [
            f"> **Synthetic data.** {note} The practice catchments drawn here are "
            "synthetic too: a seeded assignment of the locality's real LSOAs to its "
            "synthetic practices (Methods).",
            "",
        ]
    lines += [
        "**Sources:** IMD 2019 and 2015; ONS boundaries, lookups and mid-2019 "
        "populations (Open Government Licence v3.0; boundaries © Crown copyright and "
        "database right, CC-BY 4.0, Martin Chorley). Editions and files: *Data "
        "sources*."
    ]
    return "\n".join(lines)


def wrap_title(text: str, width: int = 38, lines: int = 3) -> list[str]:
    """A chart title as at most ``lines`` lines of about ``width`` characters."""
    import textwrap

    out = textwrap.wrap(text, width)
    return (
        out[: lines - 1] + [textwrap.shorten(" ".join(out[lines - 1 :]), width, placeholder="…")]
        if len(out) > lines
        else out
    )


def lsoa_age_totals(age_table: pd.DataFrame) -> pd.DataFrame:
    """The whole area's age structure from its LSOAs (:func:`lsoa_age_table`), one row as the
    maps page shows it: LSOAs, residents and each of :data:`AGE_MEASURES` as the
    population-weighted mean of the LSOAs' shares, ``Σ pᵢ·xᵢ / Σ pᵢ`` (= the share of all the
    area's residents), formatted (residents with thousands separators, shares to 0.1)."""
    people = age_table["population"].sum()
    totals = {"LSOAs": len(age_table), "Residents (mid-2019)": f"{people:,.0f}"}
    for col, label in AGE_MEASURES.items():
        totals[label] = f"{(age_table[col] * age_table['population']).sum() / people:.1f}"
    return pd.DataFrame([totals])
