"""Loader of a real-data book for one CCG in England, from the open-data mirror.

A book with ``loader: opendata`` names its CCG in its own YAML file (``data:`` points to that
file, so the book is one self-contained file)::

    name: derbyshire-2021
    loader: opendata
    data: books/derbyshire-2021.yml
    opendata:
      ccg_code: E38000229      # ONS (E38…) or ODS (15M) code of any CCG in QOF 2020-21

and the loader builds the model's :class:`~nhsbook.model.Tables` from the national files of the
source registry (``data/sources.yml``, read through :func:`nhsbook.sources.locate`), each
validated by its Great Expectations suite before a build uses it (:func:`dataset_paths`):

* **areas**: England → STP → the CCG → its primary care networks → its practices, with real
  ODS codes and names from the QOF 2020-21 geography mapping (practices outside any PCN hang
  from the CCG); the CCG's local authority districts (or the parts of them inside the CCG)
  from the ONS LSOA → CCG lookup.  Comparators: a practice and a PCN are compared with the
  CCG, the CCG, the STP and the districts' populations with England / the CCG.
* **values**: QOF recorded prevalence of every register (profile ``qof``) for each practice,
  ``register / list size of the register's age group`` (method ``proportion``, Wilson limits,
  multiplier 100); England and the STP as the sums of all their practices' registers and list
  sizes, so that every comparator is computed exactly as the CCG is.  The practices' IMD 2019
  score (Fingertips 93553, profile ``deprivation``, method ``score``: PCN and CCG values are
  list-size-weighted means).
* **population**: ONS mid-2019 LSOA estimates by sex and single year (in five-year bands) for
  the CCG and each district, summed over the LSOAs that the lookup puts in the CCG (so the
  Glossop LSOAs of High Peak count for NHS Tameside and Glossop CCG, not for Derby and
  Derbyshire).  Where the mirror's single-year files do not cover every LSOA of an area, the
  area gets no population rather than a partial one (:data:`POPULATION_NOTE`).

The CCG's selection is written to ``build/<book>/opendata_selection.csv`` (validated and
checksummed like any input), so that changing the code recomputes the stored tables.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .. import sources
from ..model import (AGE_COUNT_COLUMNS, AREA_COLUMNS, METADATA_COLUMNS, POPULATION_COLUMNS,
                     VALUE_COLUMNS, Tables, coerce, empty_frame)
from . import fingertips, ons, qof

#: Dataset (and Great Expectations suite) name -> source registry key.
DATASETS: dict[str, str] = {
    "qof_prevalence": "qof2021_prevalence",
    "qof_geographies": "qof2021_mapping_geographies",
    "qof_indicator_groups": "qof2021_mapping_indicators",
    "fingertips": "fingertips_93553_imd2019_gp",
    "ons_lsoa_ccg_lad": "lsoa11_ccg20_lad20_england",
    "ons_sape_single_year_derbyshire": "sape2019_single_year_derbyshire",
    "ons_sape_single_year_holdout": "sape2019_single_year_holdout",
}
#: The generated selection file's dataset name.
SELECTION = "opendata_selection"

ENGLAND = ("E92000001", "England")
QOF_PERIOD = "2020/21"
POPULATION_YEAR = 2019
IMD_INDICATOR = "93553"
QOF_SOURCE = "NHS Digital, Quality and Outcomes Framework 2020-21 (PREVALENCE_2021_v2.csv)"
POPULATION_NOTE = ("ONS mid-2019 LSOA population estimates by sex and single year of age are "
                   "in the mirror for Derby, Derbyshire, Dacorum and King's Lynn and West "
                   "Norfolk only")


class OpenDataError(ValueError):
    """The book's selection cannot be built from the data (unknown CCG code, bad option)."""


# --- the book's options and inputs --------------------------------------------------------

def options(cfg) -> dict:
    """The ``opendata:`` section of the book file that ``data:`` points to."""
    path = Path(cfg.data)
    if path.suffix not in (".yml", ".yaml") or not path.is_file():
        raise OpenDataError(f"book {cfg.name!r}: with loader 'opendata', 'data' must name the "
                            f"book's own YAML file (holding 'opendata: ccg_code: …'), got {path}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    opts = raw.get("opendata") or {}
    if not isinstance(opts, dict) or not str(opts.get("ccg_code", "")).strip():
        raise OpenDataError(f"{path}: 'opendata: ccg_code:' must give the CCG's ONS (E38…) or "
                            "ODS (e.g. 15M) code")
    return {**opts, "ccg_code": str(opts["ccg_code"]).strip()}


def selection_path(cfg) -> Path:
    """Write (when changed) and return the book's selection file ``key,value``."""
    opts = options(cfg)
    text = "key,value\n" + f"ccg_code,{opts['ccg_code']}\n"
    path = Path(cfg.cache_dir) / f"{SELECTION}.csv"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    return path


def dataset_paths(cfg) -> dict[str, Path]:
    """Every input of the book by dataset name: the registry files (verified by checksum,
    from the mirror or the download cache) and the selection file."""
    paths = {name: sources.locate(key) for name, key in DATASETS.items()}
    paths[SELECTION] = selection_path(cfg)
    return paths


# --- loading ------------------------------------------------------------------------------

def load(cfg) -> Tables:
    """Read the book's inputs into the model's tables (see the module docstring)."""
    paths = dataset_paths(cfg)
    geo = qof.read_geographies(paths["qof_geographies"])
    ccg = select_ccg(geo, options(cfg)["ccg_code"], paths["qof_geographies"])
    prevalence = qof.read_prevalence(paths["qof_prevalence"])
    groups = qof.read_indicator_groups(paths["qof_indicator_groups"])
    imd = fingertips.read(paths["fingertips"])
    lookup = ons.read_lsoa_ccg_lookup(paths["ons_lsoa_ccg_lad"])

    practices = geo[geo["CCG_ONS_CODE"] == ccg["CCG_ONS_CODE"]]
    missing = sorted(set(practices["PRACTICE_CODE"]) - set(prevalence["practice_code"]))
    if missing:
        raise OpenDataError(f"{paths['qof_prevalence']}: no prevalence rows for practices "
                            f"{missing[:10]} of {ccg['CCG_NAME']} listed in "
                            f"{paths['qof_geographies']}")
    metadata = qof_metadata(prevalence, groups)
    metadata = pd.concat([metadata, imd_metadata(imd)], ignore_index=True)
    list_sizes = total_list_sizes(prevalence)
    areas = hierarchy(geo, ccg, list_sizes)
    lsoas = lookup[lookup["ccg_code"] == ccg["CCG_ONS_CODE"]]
    sape = [ons.read_sape_single_year(paths[n]) for n in DATASETS if n.startswith("ons_sape")]
    population, districts = area_populations(lsoas, lookup, pd.concat(sape, ignore_index=True),
                                             ccg)
    areas = pd.concat([areas, districts], ignore_index=True)
    for i in areas.index[areas["area_type"].isin(["ccg", "district"])]:
        areas.loc[i, "population_note"] = population_note(population,
                                                          areas.loc[i, "area_code"])

    values = pd.concat([
        qof_values(prevalence, geo, ccg, metadata),
        imd_values(imd, geo, ccg, list_sizes),
    ], ignore_index=True)
    kinds = dict(zip(areas["area_code"], areas["area_type"]))
    values["area_type"] = values["area_code"].map(kinds)
    area_table = coerce(areas, AREA_COLUMNS)
    for extra in ("list_size", "n_lsoas", "population_note"):
        area_table[extra] = areas[extra].to_numpy()
    area_table["synthetic"] = False
    meta = coerce(metadata, METADATA_COLUMNS)
    meta["reference_value"] = np.nan
    published = excluded_registers(prevalence, practices["PRACTICE_CODE"], metadata)
    published["area_type"] = "practice"
    return Tables(metadata=meta, areas=area_table, values=coerce(values, VALUE_COLUMNS),
                  age_counts=empty_frame(AGE_COUNT_COLUMNS),
                  population=coerce(population, POPULATION_COLUMNS),
                  published=coerce(published, VALUE_COLUMNS))


def select_ccg(geo: pd.DataFrame, code: str, path: Path | str = "") -> pd.Series:
    """The CCG's first row of the QOF geography mapping, by ONS (E38…) or ODS code."""
    hit = geo[(geo["CCG_ONS_CODE"] == code) | (geo["CCG_ODS_CODE"].str.upper() == code.upper())]
    if hit.empty:
        known = geo.drop_duplicates("CCG_ONS_CODE").sort_values("CCG_NAME")
        some = ", ".join(f"{o} {c} {n}" for o, c, n in known[
            ["CCG_ODS_CODE", "CCG_ONS_CODE", "CCG_NAME"]].head(5).itertuples(index=False))
        raise OpenDataError(f"ccg_code {code!r} is not a CCG of {path or 'the QOF mapping'} "
                            f"({len(known)} CCGs, e.g. {some} …)")
    return hit.iloc[0]


def qof_metadata(prevalence: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """One indicator per QOF register in the prevalence file: ``QOF_<group>``, named by the
    register and its age group, profile ``qof``, proportion × 100, no polarity judgement
    (recorded prevalence is neither good nor bad)."""
    present = list(dict.fromkeys(prevalence["group_code"]))
    g = groups.set_index("group_code")
    unknown = [c for c in present if c not in g.index]
    if unknown:
        raise OpenDataError(f"QOF registers {unknown} of the prevalence file are not in the "
                            "indicator mapping")
    list_type = prevalence.drop_duplicates("group_code").set_index("group_code")["list_type"]
    rows = []
    for code in sorted(present, key=lambda c: (g.loc[c, "domain"].lower(),
                                               g.loc[c, "description"].lower())):
        age = qof.LIST_TYPE_AGES.get(list_type[code], list_type[code])
        suffix = "" if age == "All ages" else f", {age}"
        rows.append({"indicator_id": f"QOF_{code}",
                     "name": f"{g.loc[code, 'description']}: QOF prevalence{suffix}",
                     "domain": f"QOF {g.loc[code, 'domain'].lower()} registers",
                     "profile": "qof", "unit": "%", "multiplier": 100.0,
                     "polarity": "no_judgement", "method": "proportion", "period": QOF_PERIOD,
                     "sex": "Persons", "age": age, "source": QOF_SOURCE})
    return pd.DataFrame(rows)


def imd_metadata(imd: fingertips.FingertipsExport) -> pd.DataFrame:
    """The practices' IMD 2019 score (Fingertips 93553) as a ``score`` indicator."""
    m = imd.metadata.iloc[0]
    return pd.DataFrame([{
        "indicator_id": str(m["indicator_id"]), "name": str(m["name"]),
        "domain": "Deprivation", "profile": "deprivation", "unit": "score",
        "multiplier": 1.0, "polarity": "no_judgement", "method": "score",
        "period": str(m["period"]), "sex": str(m["sex"]), "age": str(m["age"]),
        "source": f"OHID Fingertips indicator {m['indicator_id']} ({m['source']}); list-size "
                  "weighted mean of practice scores above practice level"}])


def total_list_sizes(prevalence: pd.DataFrame) -> pd.Series:
    """Each practice's whole list (``PATIENT_LIST_TYPE`` TOTAL), by practice code."""
    total = prevalence[prevalence["list_type"] == "TOTAL"]
    sizes = total.groupby("practice_code")["list_size"].first()
    return sizes.astype(float)


def hierarchy(geo: pd.DataFrame, ccg: pd.Series, list_sizes: pd.Series) -> pd.DataFrame:
    """England → STP → CCG → PCNs → practices (practices of no PCN, code ``U``, under the
    CCG); ``list_size`` the practices' whole lists and their sums."""
    mine = geo[geo["CCG_ONS_CODE"] == ccg["CCG_ONS_CODE"]].copy()
    stp = (ccg["STP_ONS_CODE"], ccg["STP_NAME"])
    code = ccg["CCG_ONS_CODE"]
    in_pcn = ~mine["PCN_ODS_CODE"].isin(["", "U"])
    pcns = mine[in_pcn].drop_duplicates("PCN_ODS_CODE")
    stp_practices = geo.loc[geo["STP_ONS_CODE"] == stp[0], "PRACTICE_CODE"]
    rows = [
        {"area_code": ENGLAND[0], "area_name": ENGLAND[1], "area_type": "england",
         "parent_code": "", "comparator_code": "", "list_size": list_sizes.sum()},
        {"area_code": stp[0], "area_name": stp[1], "area_type": "stp",
         "parent_code": ENGLAND[0], "comparator_code": ENGLAND[0],
         "list_size": list_sizes.reindex(stp_practices).sum()},
        {"area_code": code, "area_name": ccg["CCG_NAME"], "area_type": "ccg",
         "parent_code": stp[0], "comparator_code": ENGLAND[0],
         "list_size": list_sizes.reindex(mine["PRACTICE_CODE"]).sum()},
    ]
    for _, p in pcns.iterrows():
        members = mine.loc[mine["PCN_ODS_CODE"] == p["PCN_ODS_CODE"], "PRACTICE_CODE"]
        rows.append({"area_code": p["PCN_ODS_CODE"], "area_name": p["PCN_NAME"],
                     "area_type": "pcn", "parent_code": code, "comparator_code": code,
                     "list_size": list_sizes.reindex(members).sum()})
    for _, p in mine.iterrows():
        parent = p["PCN_ODS_CODE"] if p["PCN_ODS_CODE"] not in ("", "U") else code
        rows.append({"area_code": p["PRACTICE_CODE"], "area_name": p["PRACTICE_NAME"],
                     "area_type": "practice", "parent_code": parent, "comparator_code": code,
                     "list_size": list_sizes.get(p["PRACTICE_CODE"], np.nan)})
    out = pd.DataFrame(rows)
    out["n_lsoas"] = np.nan
    out["population_note"] = ""
    return out


def qof_values(prevalence: pd.DataFrame, geo: pd.DataFrame, ccg: pd.Series,
               metadata: pd.DataFrame) -> pd.DataFrame:
    """Register counts and list sizes: each practice of the CCG, and the sums over every
    practice of England and of the STP (their values are then computed like the CCG's)."""
    meta = metadata.set_index("indicator_id")
    mine = set(geo.loc[geo["CCG_ONS_CODE"] == ccg["CCG_ONS_CODE"], "PRACTICE_CODE"])
    practice = prevalence[prevalence["practice_code"].isin(mine) & ~prevalence["exceeds_list"]]
    practice = practice.rename(columns={"practice_code": "area_code"})
    england = qof.register_totals(prevalence).assign(area_code=ENGLAND[0])
    stp_map = geo.loc[geo["STP_ONS_CODE"] == ccg["STP_ONS_CODE"]].set_index(
        "PRACTICE_CODE")["STP_ONS_CODE"]
    stp = qof.register_totals(prevalence, stp_map)
    rows = pd.concat([practice, england, stp], ignore_index=True)
    rows["indicator_id"] = "QOF_" + rows["group_code"]
    rows["count"] = rows["register"].astype(float)
    rows["denominator"] = rows["list_size"].astype(float)
    rows["period"] = QOF_PERIOD
    rows["sex"] = "Persons"
    rows["age"] = rows["indicator_id"].map(meta["age"])
    return rows


def excluded_registers(prevalence: pd.DataFrame, practice_codes: pd.Series,
                       metadata: pd.DataFrame) -> pd.DataFrame:
    """The book's practice registers larger than their list (no proportion can be computed):
    rows without a value that say why, left out of the PCN and CCG sums."""
    meta = metadata.set_index("indicator_id")
    bad = prevalence[prevalence["practice_code"].isin(set(practice_codes))
                     & prevalence["exceeds_list"]]
    out = pd.DataFrame({
        "indicator_id": "QOF_" + bad["group_code"], "area_code": bad["practice_code"],
        "period": QOF_PERIOD, "sex": "Persons",
        "value_note": [f"Not calculated: the register ({r:,}) exceeds the list size of its age "
                       f"group ({n:,}) in the QOF file; left out of the PCN and CCG sums"
                       for r, n in zip(bad["register"], bad["list_size"])]})
    out["age"] = out["indicator_id"].map(meta["age"])
    return out


def imd_values(imd: fingertips.FingertipsExport, geo: pd.DataFrame, ccg: pd.Series,
               list_sizes: pd.Series) -> pd.DataFrame:
    """Practice IMD 2019 scores of the CCG, England's published score, and the STP's
    list-size-weighted mean ``Σ(score × list) / Σ list`` over its practices with a score."""
    v = imd.values
    gp = v[v["area_type"] == "GP"].drop_duplicates("area_code").set_index("area_code")["value"]
    eng = v.loc[v["area_code"] == ENGLAND[0], "value"]
    mine = geo.loc[geo["CCG_ONS_CODE"] == ccg["CCG_ONS_CODE"], "PRACTICE_CODE"]
    stp_pr = geo.loc[geo["STP_ONS_CODE"] == ccg["STP_ONS_CODE"], "PRACTICE_CODE"]
    scores = gp.reindex(stp_pr).dropna()
    weights = list_sizes.reindex(scores.index)
    ok = weights.notna()
    rows = [{"area_code": c, "value": gp[c]} for c in mine if c in gp.index]
    if not eng.empty:
        rows.append({"area_code": ENGLAND[0], "value": float(eng.iloc[0])})
    if ok.any():
        rows.append({"area_code": ccg["STP_ONS_CODE"],
                     "value": float((scores[ok] * weights[ok]).sum() / weights[ok].sum())})
    m = imd.metadata.iloc[0]
    out = pd.DataFrame(rows)
    return out.assign(indicator_id=str(m["indicator_id"]), period=str(m["period"]),
                      sex=str(m["sex"]), age=str(m["age"]))


def area_populations(lsoas: pd.DataFrame, lookup: pd.DataFrame, sape: pd.DataFrame,
                     ccg: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The CCG's and its districts' populations by sex and five-year band, summed over the
    LSOAs the lookup puts in the CCG, and the district areas.

    A district is the part of a local authority district inside the CCG (named "(part)"
    when the district has LSOAs in other CCGs).  An area whose LSOAs are not all in the
    population files gets no population rows (a partial sum would be silently wrong) and a
    ``population_note``; a district without population is left out of the areas.
    """
    code = ccg["CCG_ONS_CODE"]
    have = set(sape["lsoa_code"])
    empty = pd.DataFrame(columns=list(POPULATION_COLUMNS))
    districts = []
    frames = []
    if lsoas.empty:
        return empty, pd.DataFrame(columns=["area_code"])
    whole_lad = lookup.groupby("lad_code").size()
    for lad, sub in lsoas.groupby("lad_code", sort=True):
        if not set(sub["lsoa_code"]) <= have:
            continue
        name = sub["lad_name"].iloc[0]
        if whole_lad.get(lad, 0) > len(sub):
            name = f"{name} (part: {len(sub)} of {whole_lad[lad]} LSOAs)"
        districts.append({"area_code": lad, "area_name": name, "area_type": "district",
                          "parent_code": code, "comparator_code": code, "list_size": np.nan,
                          "n_lsoas": len(sub), "population_note": ""})
        frames.append(_sum_population(sape, sub["lsoa_code"], lad))
    if set(lsoas["lsoa_code"]) <= have:
        frames.append(_sum_population(sape, lsoas["lsoa_code"], code))
    population = pd.concat(frames, ignore_index=True) if frames else empty
    return population, pd.DataFrame(districts)


def _sum_population(sape: pd.DataFrame, lsoa_codes: pd.Series, area_code: str
                    ) -> pd.DataFrame:
    sub = sape[sape["lsoa_code"].isin(set(lsoa_codes))]
    out = sub.groupby(["sex", "age_band"], as_index=False)["population"].sum()
    return out.assign(area_code=area_code, year=POPULATION_YEAR, kind="estimate")


def population_note(population: pd.DataFrame, code: str) -> str:
    """Why an area has no population ("" when it has one)."""
    if (population["area_code"] == code).any():
        return ""
    return f"No age-sex population for this area: {POPULATION_NOTE}."


# --- a second comparison ------------------------------------------------------------------

def compare_with(values: pd.DataFrame, metadata: pd.DataFrame, area_code: str,
                 comparator_code: str) -> pd.DataFrame:
    """The area's indicators against a second comparator (e.g. a practice against England
    besides its CCG): value, 95% limits, the second comparator's value and the significance
    against it, by the Fingertips rule of :func:`nhsbook.stats.compare` (the comparator's
    value inside the area's 95% interval: Similar; outside: Higher/Lower or Better/Worse by
    polarity).  Counts 1-4 are suppressed first (``Not compared``)."""
    from .. import stats
    rows = values[values["area_code"] == area_code]
    other = values.loc[values["area_code"] == comparator_code,
                       ["indicator_id", "period", "sex", "age", "value"]].rename(
        columns={"value": "second_value"})
    rows = rows.merge(other, on=["indicator_id", "period", "sex", "age"], how="left")
    meta = metadata.set_index("indicator_id")
    polarity = rows["indicator_id"].map(meta["polarity"])
    rows["second_significance"] = stats.compare(rows["value"], rows["lower_95"],
                                                rows["upper_95"], rows["second_value"],
                                                polarity, conf=0.95).to_numpy()
    rows = stats.suppress(rows)
    rows.loc[rows["suppressed"], "second_significance"] = "Not compared"
    rows["name"] = rows["indicator_id"].map(meta["name"])
    order = {ind: i for i, ind in enumerate(metadata["indicator_id"])}
    rows = rows.sort_values("indicator_id", key=lambda s: s.map(order))
    return rows[["indicator_id", "name", "period", "value", "lower_95", "upper_95",
                 "comparator_value", "significance", "second_value", "second_significance",
                 "suppressed"]].reset_index(drop=True)
