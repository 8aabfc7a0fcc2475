"""Importers for what the similar-area peers (:mod:`nhsbook.analysis.peers`) need to know of each 2021
LSOA beyond its deprivation: its rurality and its local authority district, as published.

* :func:`read_ruc21`: ONS/Defra Rural Urban Classification 2021 of LSOAs (England and Wales;
  ``ruc21_code`` UN1, UF1, RSN1, RSF1, RLN1, RLF1; ``ruc`` Urban or Rural).
* :func:`read_lsoa21_ltla24`: ONS LSOA (2021) → electoral ward (2024) → local authority
  district (2024) best-fit lookup (England and Wales).
(Census 2021 TS007A, residents by five-year age band per LSOA 2021, is read by
:func:`nhsbook.io.current.read_census_ts007a`.)

Every reader checks the header by name and refuses cells that are not numbers, unknown codes
and duplicated keys, naming the file, the line (the file's own line numbers) and the column;
the gate's suites (``expectations/ruc21_lsoa21.json``, ``ons_lsoa21_ltla24.json``) refuse the same files first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.io.current import CurrentFormatError, _codes, _read, _unique

RUC21_COLUMNS: tuple[str, ...] = ("lsoa21_code", "ruc21_code", "classification", "ruc")
RUC21_CODES: tuple[str, ...] = ("UN1", "UF1", "RSN1", "RSF1", "RLN1", "RLF1")
LTLA24_COLUMNS: tuple[str, ...] = (
    "lsoa21_code",
    "lsoa21_name",
    "ward24_code",
    "ward24_name",
    "ltla24_code",
    "ltla24_name",
)


def read_ruc21(path: str | Path) -> pd.DataFrame:
    """Rural Urban Classification 2021: ``lsoa21_code``, ``ruc21_code``, ``ruc`` (Urban or
    Rural), indexed by file line.  Refused: malformed LSOA codes, an unknown class, an
    ``ruc`` that disagrees with the class's first letter, an LSOA twice."""
    path = Path(path)
    raw = _read(path, RUC21_COLUMNS, "Rural Urban Classification 2021 of LSOAs")
    _codes(raw, "lsoa21_code", r"[EW]01[0-9]{6}", path, "an LSOA 2021 code E01…/W01…")
    for column, known in (("ruc21_code", RUC21_CODES), ("ruc", ("Urban", "Rural"))):
        bad = ~raw[column].isin(known)
        if bad.any():
            raise CurrentFormatError(
                f"{path}: column {column!r}, line(s) {raw.index[bad][:10].tolist()}: expected "
                f"one of {', '.join(known)}, found {raw.loc[bad, column].head(10).tolist()}"
            )
    off = raw["ruc21_code"].str[0].map({"U": "Urban", "R": "Rural"}) != raw["ruc"]
    if off.any():
        raise CurrentFormatError(
            f"{path}: column 'ruc', line(s) {raw.index[off][:10].tolist()}"
            ": must be Urban for U… classes and Rural for R… classes"
        )
    _unique(raw, ["lsoa21_code"], path, "each LSOA must appear once")
    return raw[["lsoa21_code", "ruc21_code", "ruc"]]


def read_lsoa21_ltla24(path: str | Path) -> pd.DataFrame:
    """LSOA (2021) → ward (2024) → district (2024): ``lsoa21_code``, ``ltla24_code``,
    ``ltla24_name``, indexed by file line.  Refused: malformed LSOA or district codes
    (E06/E07/E08/E09, W06), an LSOA twice."""
    path = Path(path)
    raw = _read(path, LTLA24_COLUMNS, "ONS LSOA (2021) to ward (2024) to LAD (2024) lookup")
    _codes(raw, "lsoa21_code", r"[EW]01[0-9]{6}", path, "an LSOA 2021 code E01…/W01…")
    _codes(
        raw,
        "ltla24_code",
        r"(?:E0[6-9]|W06)[0-9]{6}",
        path,
        "a local authority district code E06/E07/E08/E09/W06…",
    )
    _unique(raw, ["lsoa21_code"], path, "each LSOA must appear once")
    return raw[["lsoa21_code", "ltla24_code", "ltla24_name"]]


UPPER_TIER_COLUMNS: tuple[str, ...] = ("ltla24_code", "ltla24_name", "utla_code", "utla_name")


def read_upper_tier(lad_path: str | Path, cty_path: str | Path) -> pd.DataFrame:
    """Every English local authority district of May 2024 with its upper-tier authority of
    December 2023: ``ltla24_code``, ``ltla24_name``, ``utla_code``, ``utla_name``.

    A unitary authority, metropolitan district or London borough (E06, E08, E09) is its own
    upper tier; a two-tier district (E07) belongs to the county (E10) whose boundary holds the
    district's label point (the ``LONG``/``LAT`` ONS publishes inside every area; the BSC
    boundaries are generalised, but a label point sits well inside its area).  Refused, naming
    the file and the district: a district whose upper tier has no boundary, an E07 district in
    no county or in two."""
    import json

    import shapely
    from shapely.geometry import shape

    lad_path, cty_path = Path(lad_path), Path(cty_path)

    def features(path: Path, code: str) -> list[dict]:
        try:
            feats = json.loads(path.read_text(encoding="utf-8"))["features"]
        except (OSError, ValueError, KeyError) as exc:
            raise CurrentFormatError(f"{path}: not a GeoJSON FeatureCollection ({exc})") from None
        for n, f in enumerate(feats):
            if code not in f.get("properties", {}):
                raise CurrentFormatError(f"{path}: feature {n}: expected the property {code!r}")
        return feats

    lads = [
        f for f in features(lad_path, "LAD24CD") if str(f["properties"]["LAD24CD"]).startswith("E0")
    ]
    ctys = [
        f
        for f in features(cty_path, "CTYUA23CD")
        if str(f["properties"]["CTYUA23CD"]).startswith("E")
    ]
    cty_name = {f["properties"]["CTYUA23CD"]: f["properties"]["CTYUA23NM"] for f in ctys}
    counties = [f for f in ctys if f["properties"]["CTYUA23CD"].startswith("E10")]
    shapes = [shape(f["geometry"]) for f in counties]
    two_tier = [f["properties"] for f in lads if f["properties"]["LAD24CD"].startswith("E07")]
    points = shapely.points([p["LONG"] for p in two_tier], [p["LAT"] for p in two_tier])
    inside = (
        np.column_stack([shapely.contains(s, points) for s in shapes])
        if shapes
        else np.zeros((len(two_tier), 0), dtype=bool)
    )
    rows = []
    for p, hits in zip(two_tier, inside):
        found = [counties[j]["properties"]["CTYUA23CD"] for j in np.flatnonzero(hits)]
        if len(found) != 1:
            raise CurrentFormatError(
                f"{lad_path}: district {p['LAD24CD']} ({p['LAD24NM']}): its label point lies in "
                f"{len(found)} counties of {cty_path} ({', '.join(found) or 'none'}); expected one"
            )
        rows.append((p["LAD24CD"], p["LAD24NM"], found[0], cty_name[found[0]]))
    for f in lads:
        code, name = f["properties"]["LAD24CD"], f["properties"]["LAD24NM"]
        if code.startswith("E07"):
            continue
        if code not in cty_name:
            raise CurrentFormatError(
                f"{cty_path}: no boundary for the unitary authority {code} "
                f"({name}) of {lad_path} (property CTYUA23CD)"
            )
        rows.append((code, name, code, cty_name[code]))
    return (
        pd.DataFrame(rows, columns=list(UPPER_TIER_COLUMNS))
        .sort_values("ltla24_code")
        .reset_index(drop=True)
    )
