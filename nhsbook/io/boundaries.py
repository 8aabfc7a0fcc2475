"""Boundary files (GeoJSON, TopoJSON) read as ``code, name, geometry`` in WGS84 with every
geometry made valid: the importer of the published boundaries that the maps
(:mod:`nhsbook.pipeline.geo`) and the current-data readers (:mod:`nhsbook.io.current`) use.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Coordinates of every boundary read (lon/lat).
WGS84 = "EPSG:4326"


def repair(gdf: gpd.GeoDataFrame, where: str = "boundaries") -> gpd.GeoDataFrame:
    """Make every geometry valid (``shapely.make_valid``, structure method) and polygonal.

    Self-intersecting rings (common after TopoJSON quantisation) are rebuilt; lines and points
    left over by the repair are dropped.  A geometry that is empty after repair is an error
    naming its row.
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    empty = shapely.is_empty(geoms) | pd.isna(geoms)
    if empty.any():
        rows = list(gdf.index[empty][:5])
        raise ValueError(f"{where}: rows {rows} have no polygon after repair")
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (collections from a repair keep only their polygons)."""
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def read_boundaries(
    path: Path | str, code: str, name: str, layer: str | None = None
) -> gpd.GeoDataFrame:
    """A GeoJSON or TopoJSON boundary file as ``code, name, geometry`` in WGS84, repaired.

    TopoJSON is read by GDAL's TopoJSON driver (``layer`` is the topology object, e.g. ``lad``);
    a file without a CRS is taken as lon/lat (RFC 7946; the UK-GeoJSON TopoJSON is lon/lat).
    """
    path = Path(path)
    gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    missing = [c for c in (code, name) if c not in gdf.columns]
    if missing:
        raise ValueError(
            f"{path}: no property {', '.join(missing)} (has "
            f"{', '.join(c for c in gdf.columns if c != 'geometry')})"
        )
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(WGS84)
    out = gpd.GeoDataFrame(
        {"code": gdf[code].astype(str), "name": gdf[name].astype(str)},
        geometry=gdf.geometry.values,
        crs=WGS84,
    )
    dupes = out["code"][out["code"].duplicated()]
    if not dupes.empty:
        raise ValueError(f"{path}: property {code} repeats {sorted(set(dupes))[:5]}")
    return repair(out, str(path))
