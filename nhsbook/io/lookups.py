"""The England-wide LSOA lookups, read from the source registry's files: every 2011 LSOA with
its districts, 2020 CCG, MSOA and region (and, where the mirror has them, its 2016 CCG and
2019 ward), used by the maps (:mod:`nhsbook.pipeline.geo`) and deprivation (:mod:`nhsbook.analysis.deprivation`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nhsbook.config import sources
from nhsbook.core import page_inputs


def read_source(key: str, **kwargs) -> pd.DataFrame:
    """A registered CSV dataset with its registry ``read_options`` (``kwargs`` override)."""
    src = sources.load_registry()[key]
    options = {"encoding": "utf-8-sig", **src.read_options, **kwargs}
    return pd.read_csv(sources.locate(key), **options)


def _optional(keys: Sequence[str], **kwargs) -> pd.DataFrame | None:
    """Concatenation of the registered files that are available (None if none is)."""
    frames = []
    for key in keys:
        try:
            frames.append(read_source(key, **kwargs))
        except sources.MissingSource:
            continue
    return pd.concat(frames, ignore_index=True) if frames else None


@page_inputs.remember()
def _lsoa_table() -> pd.DataFrame:
    base = read_source(
        "imd2015_lsoa11",
        dtype=str,
        usecols=["lsoa11_code", "lsoa11_name", "lad13_code", "lad13_name"],
    )
    f1 = read_source("imd2019_file1", dtype=str)
    f1 = f1.iloc[:, [0, 2, 3]].set_axis(["lsoa11_code", "lad19_code", "lad19_name"], axis=1)
    ccg20 = read_source(
        "lsoa11_ccg20_lad20_england",
        dtype=str,
        usecols=["LSOA11CD", "CCG20CD", "CCG20NM", "LAD20CD", "LAD20NM"],
    )
    ccg20.columns = ["lsoa11_code", "ccg20_code", "ccg20_name", "lad20_code", "lad20_name"]
    rgn = read_source(
        "lsoa11_msoa11_lad17_rgn11_england",
        dtype=str,
        usecols=["LSOA11CD", "MSOA11CD", "MSOA11NM", "RGN11CD", "RGN11NM"],
    )
    rgn.columns = ["lsoa11_code", "msoa11_code", "msoa11_name", "rgn11_code", "rgn11_name"]
    out = base.merge(f1, how="left").merge(ccg20, how="left").merge(rgn, how="left")
    ccg16 = _optional(
        ["lsoa11_ccg16_lad16_derbyshire", "lsoa11_ccg16_lad16_holdout"],
        dtype=str,
        usecols=["LSOA11CD", "CCG16CD", "CCG16NM"],
    )
    if ccg16 is not None:
        ccg16.columns = ["lsoa11_code", "ccg16_code", "ccg16_name"]
        out = out.merge(ccg16.drop_duplicates("lsoa11_code"), how="left")
    ward = _optional(
        ["lsoa11_ward19_lad19_derbyshire", "lsoa11_ward19_lad19_holdout"],
        dtype=str,
        usecols=["LSOA11CD", "WD19CD", "WD19NM"],
    )
    if ward is not None:
        ward.columns = ["lsoa11_code", "ward19_code", "ward19_name"]
        out = out.merge(ward.drop_duplicates("lsoa11_code"), how="left")
    for col in ("ccg16_code", "ccg16_name", "ward19_code", "ward19_name"):
        if col not in out:
            out[col] = pd.NA
    if out["lsoa11_code"].duplicated().any():
        raise ValueError("LSOA table: an LSOA appears twice after joining the lookups")
    return out


def lsoa_table() -> pd.DataFrame:
    """Every English 2011 LSOA (32,844) with its districts (2013, 2019, 2020), 2020 CCG, MSOA and
    region, and where the mirror has the lookups (Derbyshire, hold-out districts) its 2016 CCG
    and 2019 ward (best fit)."""
    return _lsoa_table().copy()
