"""National maps of a current-data book: every indicator for all of England's sub-ICB locations
and ICBs, computed once, ranked, classed and drawn with the book's area outlined.

**Values** (:func:`compute`, stored as ``build/<book>/national.parquet`` keyed by the sha256
of its inputs, :func:`table`): for each of the 106 sub-ICB locations and 36 ICBs of NHS
England's GP registrations map of July 2026 (ONS codes E38…, E54…):

* the 21 **QOF 2024-25** registers: ``Σ register / Σ list size of the register's age group``
  over the practices the July 2026 map places in the area (practices of the QOF file not in the
  map are left out, as in the book; England is every practice of the file, as QOF publishes
  it), × 100, Wilson 95% limits (:func:`nhsbook.stats.wilson_limits`), and the area against
  England (:func:`nhsbook.stats.compare`, polarity no judgement: Higher / Similar / Lower);
* **smoking** (Fingertips 91547, QOF, 15+, latest period): the same sums of the practices'
  counts and denominators, low is good (Better / Similar / Worse);
* the **IMD 2025 practice score** (Fingertips 94240): the mean of the area's practices' scores
  weighted by registered patients (July 2026), as the book computes it (no limits: not
  compared);
* **population-weighted IMD 2025** (:func:`lsoa_deprivation`): ``Σ score × residents / Σ
  residents`` over the area's 2021 LSOAs and the % of residents in LSOAs among England's most
  deprived 10%, with Census 2021 usual residents (TS007A) as the weights.  LSOAs are placed by
  the ONS LSOA (2021) → sub-ICB → ICB lookup of **April 2024**; an ICB's LSOAs are those of
  its July 2026 sub-ICB locations.

**Rank**: 1 = the highest value of the level (ties share the lower rank, ``min``), over the
areas with a value; whether high is good is stated beside it, never implied.

**Boundaries and the April 2026 changes** (:func:`shapes`): the ONS sub-ICB locations (April
2023) BSC file has 106 features and the July 2026 map 106 sub-ICB locations, but they are not
the same 106: in April 2026 NHS Frimley ICB's sub-ICB location D4U1Y (E38000252) was split
(41 of its practices form Thames Valley's U2G6B, E38000268; others joined E38000253 and
E38000264).  E38000268 has values and a rank but no boundary (it is listed under the map);
E38000252 is drawn grey with no value; the neighbours that gained practices are drawn with
their 2023 boundaries.  The April 2023 ICB boundaries have 42 ICBs, the July 2026 map 36 (the
April 2026 mergers): the ICB map dissolves the sub-ICB boundaries by each sub-ICB location's
July 2026 ICB, so every July 2026 ICB is drawn on its own footprint (Frimley's area stays
grey).  The same split leaves E38000268 without population-weighted IMD (the April 2024
lookup has no LSOA for it).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from nhsbook import stats
from nhsbook.config import sources
from nhsbook.config.book import BookConfig, load_book
from nhsbook.core import page_inputs
from nhsbook.io import current, fingertips, opendata_icb, opendata_loader, qof
from nhsbook.io.opendata_icb import IMD_INDICATOR, SMOKING, _icb_name

#: Levels of the national maps: the book's area type -> (level, label, plural label).
LEVELS: dict[str, tuple[str, str, str]] = {
    "ccg": ("sub_icb", "sub-ICB location", "sub-ICB locations"),
    "stp": ("icb", "ICB", "ICBs"),
}
#: The inputs of :func:`compute` (dataset names of :data:`nhsbook.io.opendata_icb.DATASETS`).
INPUTS = (
    "gp_practice_map",
    "gp_registrations_age",
    "qof_prevalence_2425",
    "qof_indicator_groups",
    "practice_imd2025",
    "fingertips_91547",
    "imd2025_lsoa21",
    "ons_lsoa21_sicbl_icb",
    "census2021_ts007a",
    "sicbl_boundaries",
)
ENGLAND = "E92000001"
VERSION = 1  # bump when compute() changes what it writes
POPW_SCORE, POPW_D1 = "IMD2025_POPW", "IMD2025_D1POP"
#: Indicators of the national maps that are not in the book's metadata (LSOA-based).
EXTRA_METADATA = pd.DataFrame(
    [
        {
            "indicator_id": POPW_SCORE,
            "name": "IMD 2025 score, population-weighted (LSOA 2021)",
            "unit": "score",
            "polarity": "no_judgement",
            "period": "2025",
            "source": "IoD2025 LSOA scores weighted by Census 2021 usual residents (TS007A)",
        },
        {
            "indicator_id": POPW_D1,
            "name": "Residents in England's most deprived 10% of LSOAs (IMD 2025)",
            "unit": "%",
            "polarity": "no_judgement",
            "period": "2025",
            "source": "IoD2025 LSOA deciles, Census 2021 usual residents (TS007A)",
        },
    ]
)
#: The sub-ICB location split in April 2026 and its successor without a boundary.
SPLIT_2026 = {"E38000252": "NHS Frimley ICB - D4U1Y (April 2023), split in April 2026"}
TOLERANCE_M = 3000.0  # simplification of the national shapes (about 2 px on a 360 px England)


def _paths(cfg: BookConfig) -> dict[str, Path]:
    paths = opendata_loader.dataset_paths(cfg)
    missing = [n for n in INPUTS if n not in paths]
    if missing:
        raise KeyError(
            f"book {cfg.name!r} has no input(s) {missing}: national maps need the "
            "current-data (icb) loader"
        )
    return {n: Path(paths[n]) for n in INPUTS}


def applies(cfg: BookConfig) -> bool:
    """True when the book has a national maps page."""
    return any("national_maps" in ps.notebooks for ps in cfg.page_sets)


# ------------------------------------------------------------------------------- compute


def _areas(m: pd.DataFrame) -> pd.DataFrame:
    """The 106 sub-ICB locations and 36 ICBs of the map: level, area_code, area_name,
    parent_code (the ICB of a sub-ICB location)."""
    sub = m.drop_duplicates("ONS_SUB_ICB_LOCATION_CODE")
    icb = m.drop_duplicates("ONS_ICB_CODE")
    return (
        pd.concat(
            [
                pd.DataFrame(
                    {
                        "level": "sub_icb",
                        "area_code": sub["ONS_SUB_ICB_LOCATION_CODE"],
                        "area_name": sub["SUB_ICB_LOCATION_NAME"],
                        "parent_code": sub["ONS_ICB_CODE"],
                    }
                ),
                pd.DataFrame(
                    {
                        "level": "icb",
                        "area_code": icb["ONS_ICB_CODE"],
                        "area_name": icb["ICB_NAME"].map(_icb_name),
                        "parent_code": ENGLAND,
                    }
                ),
            ],
            ignore_index=True,
        )
        .sort_values(["level", "area_code"])
        .reset_index(drop=True)
    )


def _by_level(m: pd.DataFrame) -> dict[str, pd.Series]:
    """Practice code -> area code, per level."""
    p = m.set_index("PRACTICE_CODE")
    return {"sub_icb": p["ONS_SUB_ICB_LOCATION_CODE"], "icb": p["ONS_ICB_CODE"]}


def _proportions(rows: pd.DataFrame, england: pd.DataFrame, polarity: str) -> pd.DataFrame:
    """``rows`` (indicator_id, level, area_code, count, denominator) with value (%), Wilson
    95% limits and significance against England's value of the same indicator."""
    lo, up = stats.wilson_limits(rows["count"].to_numpy(float), rows["denominator"].to_numpy(float))
    out = rows.assign(
        value=100 * rows["count"] / rows["denominator"], lower=100 * lo, upper=100 * up
    )
    eng = (
        100
        * england.set_index("indicator_id")["count"]
        / england.set_index("indicator_id")["denominator"]
    )
    out["england"] = out["indicator_id"].map(eng)
    out["significance"] = stats.compare(
        out["value"], out["lower"], out["upper"], out["england"], polarity
    ).to_numpy()
    return out


def qof_rows(prevalence: pd.DataFrame, m: pd.DataFrame) -> pd.DataFrame:
    """QOF 2024-25 prevalence of every sub-ICB location and ICB (module docstring)."""
    ok = prevalence[~prevalence["exceeds_list"]]
    frames = [
        qof.register_totals(ok, groups).assign(level=level)
        for level, groups in _by_level(m).items()
    ]
    rows = pd.concat(frames, ignore_index=True)
    england = qof.register_totals(ok)

    def tidy(r):
        return r.assign(
            indicator_id="QOF_" + r["group_code"],
            count=r["register"].astype(float),
            denominator=r["list_size"].astype(float),
        )

    out = _proportions(tidy(rows), tidy(england), "no_judgement")
    return out.assign(period="2024/25")


def smoking_rows_national(gp: pd.DataFrame, m: pd.DataFrame) -> pd.DataFrame:
    """Smoking (91547) in its latest period for every sub-ICB location and ICB: sums of the
    practices' counts and denominators; England over every practice of the export."""
    latest = gp[gp["period"] == gp["period"].max()]
    frames = []
    for level, groups in _by_level(m).items():
        g = latest.assign(area_code=latest["area_code"].map(groups)).dropna(subset=["area_code"])
        frames.append(
            g.groupby("area_code", as_index=False)[["count", "denominator"]]
            .sum()
            .assign(level=level)
        )
    rows = pd.concat(frames, ignore_index=True).assign(indicator_id=SMOKING)
    eng = pd.DataFrame(
        {
            "indicator_id": [SMOKING],
            "count": [latest["count"].sum()],
            "denominator": [latest["denominator"].sum()],
        }
    )
    return _proportions(rows, eng, "low_is_good").assign(period=str(latest["period"].max()))


def practice_imd_rows(imd: pd.DataFrame, m: pd.DataFrame, lists: pd.Series) -> pd.DataFrame:
    """IMD 2025 practice scores (94240) weighted by registered patients, ``Σ(score × list) /
    Σ list``, for every sub-ICB location and ICB (the book's arithmetic)."""
    score = imd.set_index("practice_code")["score"]
    g = pd.DataFrame(
        {
            "practice": m["PRACTICE_CODE"],
            "score": m["PRACTICE_CODE"].map(score),
            "weight": m["PRACTICE_CODE"].map(lists),
        }
    ).dropna()
    frames = []
    for level, groups in _by_level(m).items():
        x = g.assign(area_code=g["practice"].map(groups), sw=g["score"] * g["weight"])
        s = x.groupby("area_code")[["sw", "weight"]].sum()
        frames.append(
            pd.DataFrame({"area_code": s.index, "value": s["sw"] / s["weight"], "level": level})
        )
    eng = float((g["score"] * g["weight"]).sum() / g["weight"].sum())
    return pd.concat(frames, ignore_index=True).assign(
        indicator_id=IMD_INDICATOR, england=eng, significance="Not compared", period="2025"
    )


def lsoa_deprivation(
    imd: pd.DataFrame, lookup: pd.DataFrame, census: pd.DataFrame, m: pd.DataFrame
) -> pd.DataFrame:
    """Population-weighted IMD 2025 of every sub-ICB location and ICB.

    Method
        For the LSOAs (2021) of an area, with ``s`` the IMD 2025 score, ``d`` the national
        decile and ``p`` the Census 2021 usual residents (TS007A, 21 March 2021):
        score ``Σ s·p / Σ p`` and share ``100 × Σ_{d=1} p / Σ p`` (residents in England's
        most deprived 10% of LSOAs).  This is the population-weighted average score of
        MHCLG's area summaries, with Census 2021 residents in place of the IoD2025 mid-2022
        denominators (File 7 is not in the mirror), so it can differ slightly from File 13.
        Sub-ICB locations take their LSOAs from the April 2024 ONS lookup; an ICB of July
        2026 takes those of its sub-ICB locations.
    Edge cases
        An area with no LSOA in the lookup (E38000268, created in April 2026) has no value.
        An LSOA without a Census population is an error (KeyError).
    """
    t = (
        lookup[["lsoa21_code", "sicbl24_code"]]
        .merge(imd[["lsoa21_code", "imd_score", "imd_decile"]], on="lsoa21_code", how="left")
        .merge(census[["lsoa21_code", "population"]], on="lsoa21_code", how="left")
    )
    bad = t["population"].isna() | t["imd_score"].isna()
    if bad.any():
        raise KeyError(
            f"no Census 2021 population or IMD 2025 for LSOA(s) "
            f"{t.loc[bad, 'lsoa21_code'].head(5).tolist()}"
        )
    t = t.assign(
        sp=t["imd_score"] * t["population"], d1=np.where(t["imd_decile"] == 1, t["population"], 0.0)
    )
    icb_of = m.drop_duplicates("ONS_SUB_ICB_LOCATION_CODE").set_index("ONS_SUB_ICB_LOCATION_CODE")[
        "ONS_ICB_CODE"
    ]
    frames = []
    for level, key in (("sub_icb", t["sicbl24_code"]), ("icb", t["sicbl24_code"].map(icb_of))):
        s = (
            t.assign(area_code=key)
            .dropna(subset=["area_code"])
            .groupby("area_code")[["sp", "d1", "population"]]
            .sum()
        )
        frames.append(
            pd.DataFrame(
                {
                    "area_code": s.index,
                    "level": level,
                    POPW_SCORE: s["sp"] / s["population"],
                    POPW_D1: 100 * s["d1"] / s["population"],
                    "denominator": s["population"],
                }
            )
        )
    wide = pd.concat(frames, ignore_index=True)
    eng = {
        POPW_SCORE: float(t["sp"].sum() / t["population"].sum()),
        POPW_D1: float(100 * t["d1"].sum() / t["population"].sum()),
    }
    long = wide.melt(
        id_vars=["area_code", "level", "denominator"],
        value_vars=[POPW_SCORE, POPW_D1],
        var_name="indicator_id",
        value_name="value",
    )
    return long.assign(
        england=long["indicator_id"].map(eng), significance="Not compared", period="2025"
    )


def compute(paths: dict[str, Path]) -> pd.DataFrame:
    """Every indicator for every sub-ICB location and ICB of the July 2026 map (module
    docstring): one row per indicator × area, areas without a value kept with a ``note``."""
    m = current.read_practice_map(paths["gp_practice_map"])
    prevalence = current.read_qof_prevalence_2425(paths["qof_prevalence_2425"])
    lists = current.registered_totals(paths["gp_registrations_age"])
    imd = current.read_practice_imd(paths["practice_imd2025"])
    gp = opendata_icb.smoking_rows(fingertips.read(paths["fingertips_91547"]))
    lsoa = lsoa_deprivation(
        current.read_imd2025_lsoa(paths["imd2025_lsoa21"]),
        current.read_lsoa21_lookup(paths["ons_lsoa21_sicbl_icb"]),
        current.read_census_ts007a(paths["census2021_ts007a"]),
        m,
    )
    values = pd.concat(
        [
            qof_rows(prevalence, m),
            smoking_rows_national(gp, m),
            practice_imd_rows(imd, m, lists),
            lsoa,
        ],
        ignore_index=True,
    )
    areas = _areas(m)
    grid = pd.concat(
        [areas.assign(indicator_id=i) for i in values["indicator_id"].unique()], ignore_index=True
    )
    keep = [
        "indicator_id",
        "level",
        "area_code",
        "period",
        "count",
        "denominator",
        "value",
        "lower",
        "upper",
        "england",
        "significance",
    ]
    out = grid.merge(
        values.reindex(columns=keep), on=["indicator_id", "level", "area_code"], how="left"
    )
    out = out[~out["level"].eq("icb") | out["area_code"].isin(set(m["ONS_ICB_CODE"]))]
    # every row names its period (an area without a value: the indicator's period)
    out["period"] = out["period"].fillna(
        out.groupby("indicator_id")["period"].transform(
            lambda s: s.dropna().iloc[0] if s.notna().any() else ""
        )
    )
    ranked = out["value"].notna()
    out["rank"] = (
        out[ranked].groupby(["indicator_id", "level"])["value"].rank(ascending=False, method="min")
    )
    out["n_ranked"] = out.groupby(["indicator_id", "level"])["value"].transform("count")
    out["note"] = np.where(ranked, "", _missing_note(out))
    out["significance"] = out["significance"].fillna("Not compared")
    return out.reset_index(drop=True)


def _missing_note(out: pd.DataFrame) -> pd.Series:
    lsoa = out["indicator_id"].isin([POPW_SCORE, POPW_D1])
    return pd.Series(
        np.where(
            lsoa,
            "no LSOA of the April 2024 ONS lookup is in this sub-ICB location (created in "
            "April 2026)",
            "no practice of the July 2026 map in this area has a value in the source file",
        ),
        index=out.index,
    )


def table(book: str | BookConfig) -> pd.DataFrame:
    """The stored national table, recomputed first when an input (or :data:`VERSION`)
    changed; the page that reads it depends on the stored file."""
    cfg = book if isinstance(book, BookConfig) else load_book(book)
    path, manifest = cfg.cache_dir / "national.parquet", cfg.cache_dir / "national.json"
    paths = _paths(cfg)
    with page_inputs.untracked():
        sums = {"version": VERSION, **{n: sources.file_sha256(p) for n, p in sorted(paths.items())}}
        fresh = (
            path.is_file()
            and manifest.is_file()
            and json.loads(manifest.read_text(encoding="utf-8")) == sums
        )
    if not fresh:
        with page_inputs.untracked():
            out = compute(paths)
        cfg.cache_dir.mkdir(parents=True, exist_ok=True)
        out.to_parquet(path, index=False)
        manifest.write_text(json.dumps(sums, indent=2), encoding="utf-8")
    page_inputs.record(path)
    return pd.read_parquet(path)


# ------------------------------------------------------------------------------- shapes


@page_inputs.remember(maxsize=4)
def _sicbl(path: str) -> gpd.GeoDataFrame:
    return current.read_sicbl_boundaries(path)


def shapes(book: str | BookConfig, level: str, nat: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Web shapes (``code, name, geometry``) of the level's areas: the April 2023 sub-ICB
    locations, or the July 2026 ICBs dissolved from them (module docstring); the split
    E38000252 is kept as its own shape in both (it has no value)."""
    from nhsbook.pipeline.geo import web_shapes  # lazy: keeps shapely off this module's import

    cfg = book if isinstance(book, BookConfig) else load_book(book)
    sub = _sicbl(str(_paths(cfg)["sicbl_boundaries"]))
    if level == "sub_icb":
        return web_shapes(sub, TOLERANCE_M, digits=2)
    nat = table(cfg) if nat is None else nat
    parents = (
        nat[nat["level"] == "sub_icb"]
        .drop_duplicates("area_code")
        .set_index("area_code")["parent_code"]
    )
    names = (
        nat[nat["level"] == "icb"].drop_duplicates("area_code").set_index("area_code")["area_name"]
    )
    sub = sub.assign(icb=sub["code"].map(parents))
    icbs = sub.dropna(subset=["icb"]).dissolve(by="icb").reset_index()
    icbs = gpd.GeoDataFrame(
        {"code": icbs["icb"], "name": icbs["icb"].map(names)},
        geometry=icbs.geometry.values,
        crs=sub.crs,
    )
    left = sub[sub["icb"].isna()][["code", "name", "geometry"]]
    both = gpd.GeoDataFrame(pd.concat([icbs, left], ignore_index=True), crs=sub.crs)
    return web_shapes(both, TOLERANCE_M, digits=2)


# ------------------------------------------------------------------------------- a page


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st …"""
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


POLARITY_WORDS = {
    "no_judgement": "no judgement: higher is neither better nor worse",
    "low_is_good": "lower is better",
    "high_is_good": "higher is better",
}


def metadata(page_metadata: pd.DataFrame) -> pd.DataFrame:
    """Names, units, polarity and period of the national indicators: the book's metadata,
    then the LSOA-based ones (:data:`EXTRA_METADATA`)."""
    cols = ["indicator_id", "name", "unit", "polarity", "period", "source"]
    return pd.concat(
        [page_metadata[cols], EXTRA_METADATA[cols]], ignore_index=True
    ).drop_duplicates("indicator_id")


def level_of(area_type: str) -> tuple[str, str, str]:
    """(level, label, plural) of the national map for a page of ``area_type``."""
    if area_type not in LEVELS:
        raise KeyError(f"national maps are drawn for sub-ICB locations and ICBs, not {area_type!r}")
    return LEVELS[area_type]


def map_table(
    nat: pd.DataFrame, indicator_id: str, level: str, shape_codes: set[str]
) -> tuple[pd.DataFrame, "object", pd.DataFrame]:
    """(rows to draw, their quintile classes (mapclassify), rows with a value but no shape).

    Rows to draw are the level's areas with a shape, plus a no-value row for each shape that
    is not a July 2026 area (:data:`SPLIT_2026`)."""
    # lazy: keeps mapclassify off this module's import
    from nhsbook.analysis.deprivation import classify_quantiles

    t = nat[(nat["indicator_id"] == indicator_id) & (nat["level"] == level)].copy()
    undrawn = t[~t["area_code"].isin(shape_codes)]
    extra = pd.DataFrame(
        [
            {"area_code": c, "area_name": n, "note": "not a July 2026 area"}
            for c, n in SPLIT_2026.items()
            if c in shape_codes and c not in set(t["area_code"])
        ]
    )
    draw = pd.concat([t[t["area_code"].isin(shape_codes)], extra], ignore_index=True)
    small = draw["value"].abs().max() < 5  # e.g. 0.4-0.9%: two decimals
    classes = classify_quantiles(
        draw["value"], k=5, digits=2 if small else 1, missing="No July 2026 value"
    )
    draw["map_class"] = classes.assigned.to_numpy()
    draw["rank_text"] = [
        f"{ordinal(r)} of {int(n)}" if pd.notna(r) else "not ranked"
        for r, n in zip(draw["rank"], draw["n_ranked"].fillna(0))
    ]
    return draw.reset_index(drop=True), classes, undrawn


def rank_sentence(row: pd.Series, label_plural: str, unit: str, polarity: str) -> str:
    """ "ranked 12th of 106 sub-ICB locations (1 = highest)", with the value, its limits and
    the comparison with England (plain text; names are escaped by the caller)."""
    if pd.isna(row.get("value")):
        return f"no value ({row.get('note') or 'not in the source'})"
    u = "%" if unit == "%" else ""
    text = f"{row['value']:.1f}{u}"
    if pd.notna(row.get("lower")):
        text += f" (95% CI {row['lower']:.1f}–{row['upper']:.1f})"
    text += (
        f", ranked **{ordinal(row['rank'])} of {int(row['n_ranked'])}** {label_plural} (1 = highest"
    )
    text += "; " + POLARITY_WORDS.get(polarity, polarity) + ")"
    if row.get("significance") not in (None, "", "Not compared") and pd.notna(row.get("england")):
        text += (
            f"; {str(row['significance']).lower()} than England ({row['england']:.1f}{u})"
            if row["significance"] != "Similar"
            else f"; similar to England ({row['england']:.1f}{u})"
        )
    elif pd.notna(row.get("england")):
        text += f"; England {row['england']:.1f}{u}"
    return text


def summary(page) -> tuple[pd.DataFrame, str, str, str]:
    """For an ICB or sub-ICB page (:class:`nhsbook.pages.area.AreaPage`): the area's row of every
    national indicator (name, value, rank of N with 1 = highest, England, significance,
    polarity), and (level, label, plural)."""
    level, label, plural = level_of(str(page.area["area_type"]))
    nat = table(page.book)
    meta = metadata(page.metadata).set_index("indicator_id")
    own = nat[(nat["level"] == level) & (nat["area_code"] == page.area["area_code"])]
    if own.empty:
        raise KeyError(f"{page.area['area_code']} is not a {label} of the July 2026 map")
    order = [i for i in meta.index if i in set(own["indicator_id"])]
    own = own.set_index("indicator_id").loc[order].reset_index()
    rows = pd.DataFrame(
        {
            "indicator_id": own["indicator_id"],
            "Indicator": own["indicator_id"].map(meta["name"]),
            "Period": own["period"],
            "Value": own["value"].round(1),
            "Rank (1 = highest)": [
                f"{ordinal(r)} of {int(n)}" if pd.notna(r) else "—"
                for r, n in zip(own["rank"], own["n_ranked"])
            ],
            "England": own["england"].round(1),
            "Compared with England": own["significance"],
            "Polarity": own["indicator_id"]
            .map(meta["polarity"])
            .map(lambda p: POLARITY_WORDS.get(p, p).split(":")[0]),
        }
    )
    return rows, level, label, plural


def csv_table(page) -> pd.DataFrame:
    """Every area of the page's level with every national indicator (the maps' data)."""
    level, _, _ = level_of(str(page.area["area_type"]))
    nat = table(page.book)
    names = metadata(page.metadata).set_index("indicator_id")["name"]
    t = nat[nat["level"] == level].assign(indicator=lambda d: d["indicator_id"].map(names))
    return t[
        [
            "indicator_id",
            "indicator",
            "period",
            "area_code",
            "area_name",
            "value",
            "lower",
            "upper",
            "england",
            "significance",
            "rank",
            "n_ranked",
            "note",
        ]
    ]
