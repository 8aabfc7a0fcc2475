"""The ``icb`` mode of the open-data loader: a book for one integrated care board (ICB) or one
sub-ICB location from the current (2024-2026) open data.

A book names its ICB (or its sub-ICB location) in its own YAML file::

    loader: opendata
    data: books/derbyshire-icb-2025.yml
    opendata:
      icb_code: QJ2          # ODS (QJ2) or ONS (E54000058) code of an ICB of the July 2026 map
      # or  sub_icb_code: 15M   (ODS or ONS E38…): the book is that sub-ICB location only

and :func:`load` builds the model's tables from the registry's files (each validated by its
Great Expectations suite first, :data:`DATASETS`):

* **areas** from the NHS England practice map of July 2026: England → the NHS region → the ICB
  (area type ``stp``, the ICB's predecessor level) → its sub-ICB locations (area type ``ccg``:
  the former CCGs) → their primary care networks → practices.  Practices of PCN ``U``
  ("Unallocated") hang from their sub-ICB location.  Comparators: a practice and a PCN are
  compared with the sub-ICB location; the sub-ICB location, the ICB and the region with
  England (the pages add England as a second comparator for practices and PCNs).
* **QOF 2024-25 prevalence** of the 21 registers: ``register / list size of the register's age
  group`` (method ``proportion``: Wilson limits, × 100, polarity ``no_judgement``, so
  significance reads Higher / Similar / Lower).  PCNs and sub-ICB locations are rolled up from
  their practices by :func:`nhsbook.analysis.indicators.compute`; the ICB and the region are the sums
  over the practices the July 2026 map puts in them; England the sum over every practice of
  the QOF file (as QOF publishes England).  Practices of the map with no 2024-25 row (opened
  since) have no QOF values.
* **QOF 2020-21 → 2024-25** where the codes bridge (:func:`qof_2021_values`): the 2020/21
  registers of the book's practices whose codes are in both files (all 21 registers have the
  same group code and list type in both years), placed by the July 2026 map.  The sub-ICB
  location's and PCNs' 2020/21 values are thus those of *today's* practices (15M with
  Glossop, which was in Tameside and Glossop CCG in 2020-21; practices closed since left
  out), not the 2020-21 CCG E38000229 as QOF published it; the ICB's and the region's are
  the sums over the map's practices present in 2020-21, England's over every practice of the
  2020-21 file.  Two points four years apart: the pages draw them and compute no trend.
* **IMD 2025 practice scores** (Fingertips 94240, method ``score``): PCN, sub-ICB, ICB, region
  and England values are the means of their practices' scores weighted by the July 2026
  registered list, ``Σ(score × list) / Σ list``.
* **smoking** (Fingertips 91547, current smokers aged 15+ on the QOF register, 2022/23 and
  2023/24, the only periods with GP rows): the real trend of the book, for practices, PCNs,
  sub-ICB locations, the ICB, the region and England, all from the practices' counts and
  denominators (practices placed by the July 2026 map in every period; polarity low is good).
* **populations**: registered patients by sex and five-year band, July 2026, for every
  practice, PCN, sub-ICB location, ICB and region of the book and England (the sum of the
  seven regions); the population pages draw each against England.  An area with fewer than
  5 registered patients (a closing practice) has no pyramid, and says why.

The selection is written to ``build/<book>/opendata_icb_selection.csv`` (validated and
checksummed like every input), so that changing the code recomputes the stored tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.config import sources
from nhsbook.core.escape import markdown_code as esc_code
from nhsbook.io import current, fingertips, qof
from nhsbook.io.opendata import (
    OpenDataError,
    assemble,
    national_sources_markdown,
    register_rows,
    write_selection,
)
from nhsbook.io.opendata import (
    qof_metadata as base,
)

#: Dataset name (its Great Expectations suite, :func:`nhsbook.validation.gate.suite_for`) ->
#: source registry key.
DATASETS: dict[str, str] = {
    "gp_practice_map": "gp_reg_practice_map_jul2026",
    "gp_registrations_age": "gp_reg_quinary_age_jul2026",
    "qof_prevalence_2425": "qof2425_prevalence",
    "qof_indicator_groups": "qof2021_mapping_indicators",
    "practice_imd2025": "fingertips_94240_imd2025_gp",
    "imd2025_lsoa21": "imd2025_lsoa21",
    "ons_lsoa21_sicbl_icb": "lsoa21_sicbl24_icb24_england",
    "fingertips_91547": "fingertips_91547_smoking_qof",
    # the QOF 2020-21 -> 2024-25 bridge (qof_2021_values)
    "qof_prevalence": "qof2021_prevalence",
    # the similar-area peers (nhsbook.analysis.peers)
    "census2021_ts007a": "census2021_ts007a_lsoa21",
    "ruc21_lsoa21": "ruc21_lsoa21_ew",
    "ons_lsoa21_ltla24": "lsoa21_ward24_ltla24_ew",
    # the national maps (nhsbook.pipeline.national) and population-weighted IMD 2025 (nhsbook.pipeline.lsoa21)
    "sicbl_boundaries": "sicbl_boundaries_apr2023",
    # the SPOT page of general practice (nhsbook.analysis.gp_spend): payments 2022-23, A&E 0-4
    "gp_payments_2223": "nhs_payments_gp_2022_23",
    "fingertips_93930": "fingertips_93930_ae_0_4_gp_pcn",
}
SELECTION = "opendata_icb_selection"
OPTION_KEYS = ("icb_code", "sub_icb_code")

ENGLAND = ("E92000001", "England")
QOF_PERIOD = "2024/25"
QOF_PERIOD_2021 = "2020/21"
#: What the trend pages say about the QOF 2020/21 points (module docstring).
QOF_BRIDGE_NOTE = (
    "QOF registers have two points, 2020/21 and 2024/25, four years apart (the 2021-22 to "
    "2023-24 prevalence files are not in the open data mirror): no trend is computed. The "
    "2020/21 point of a PCN, sub-ICB location or ICB sums today's practices (July 2026 map) "
    "that reported in 2020-21, so 15M includes Glossop's practices, which were then in "
    "Tameside and Glossop CCG, and is not the 2020-21 CCG E38000229 as QOF published it; "
    "practices closed since are left out, practices opened since have no 2020/21 point. "
    "All 21 registers kept their group code and age group between the two years."
)
REGISTRATIONS_YEAR = 2026
IMD_INDICATOR = "94240"
QOF_SOURCE = (
    "NHS England, Quality and Outcomes Framework 2024-25 (PREVALENCE_2425.csv); "
    "practices placed by the GP registrations map of July 2026"
)
IMD_SOURCE = (
    "OHID Fingertips indicator 94240, Deprivation score (IMD 2025); above practice "
    "level the mean of practice scores weighted by registered patients (July 2026)"
)
#: What the pages say about the vintages they show.
VINTAGE = (
    "QOF 2024-25 prevalence (and 2020-21 for the practices in both files); registered "
    "patients and the practice → PCN → sub-ICB → ICB map of July 2026; IMD 2025 "
    "(practice scores, LSOA 2021 deciles); for the similar-10 peers, Census 2021 "
    "residents by age (TS007A) and the Rural Urban Classification 2021 of LSOAs, with "
    "the ONS LSOA (2021) lookups to sub-ICB locations (2024) and districts (2024)"
)


class IcbSelectionError(ValueError):
    """The book's ICB or sub-ICB code is not in the July 2026 map."""


def selection(opts: dict) -> dict[str, str]:
    """The ``icb_code`` / ``sub_icb_code`` options, stripped (at least one must be given)."""
    out = {k: str(opts[k]).strip() for k in OPTION_KEYS if str(opts.get(k) or "").strip()}
    if not out:
        raise IcbSelectionError(
            "'opendata:' needs icb_code (e.g. QJ2 or E54000058) or "
            "sub_icb_code (e.g. 15M or E38000261)"
        )
    return out


#: The ``opendata:`` options of an ICB book.
ICB_OPTION_KEYS = ("icb_code", "sub_icb_code", "files")


def options(opts: dict, path: Path) -> dict:
    """The ``opendata:`` options of an ICB book (``path``, its file): ``icb_code`` and/or
    ``sub_icb_code``, ``files``; OpenDataError naming the file for any other key."""
    unknown = sorted(set(opts) - set(ICB_OPTION_KEYS))
    if unknown:
        raise OpenDataError(
            f"{path}: unknown 'opendata:' option(s) {unknown} with icb_code / "
            f"sub_icb_code; expected {', '.join(ICB_OPTION_KEYS)}"
        )
    files = opts.get("files") or {}
    if not isinstance(files, dict) or not set(files) <= set(DATASETS):
        raise OpenDataError(
            f"{path}: 'opendata: files:' maps dataset names "
            f"({', '.join(DATASETS)}) to paths, got {files!r}"
        )
    return {**selection(opts), "files": files, "mode": "icb", "ccg_code": ""}


def sources_markdown(opts: dict) -> list[str]:
    """The Data sources chapter's section on an ICB book's inputs."""
    what = " and ".join(f"`{k}` {esc_code(v)}" for k, v in selection(opts).items())
    rows = [f"| `{name}` | `{key}` |" for name, key in DATASETS.items()]
    return [
        "## This book's data",
        "",
        f"This book is built from current public open data only ({what}): "
        f"{VINTAGE}. Each file is read through the source registry "
        "below (from the offline mirror or `nhsbook fetch`), checked against its "
        "registered checksum and validated by its Great Expectations suite before "
        "use. No figure is synthetic.",
        "",
        "| Dataset (validation suite) | Registry entry |",
        "|---|---|",
        *rows,
        "",
        *national_sources_markdown(),
    ]


def selection_path(cfg, opts: dict) -> Path:
    """Write (when changed) and return the selection file ``key,value``."""
    return write_selection(cfg, selection(opts))


def dataset_paths(cfg, opts: dict) -> dict[str, Path]:
    """The registry files (checksum-verified) by dataset name, the ``files:`` overrides and
    the selection file."""
    root = Path(cfg.root)
    paths = {name: sources.locate(key) for name, key in DATASETS.items()}
    paths.update({name: root / str(p) for name, p in (opts.get("files") or {}).items()})
    missing = {n: p for n, p in paths.items() if not p.is_file()}
    if missing:
        raise IcbSelectionError(
            f"book {cfg.name!r}: input file(s) not found: "
            + "; ".join(f"{n}: {p}" for n, p in missing.items())
        )
    paths[SELECTION] = selection_path(cfg, opts)
    return paths


def select(
    practice_map: pd.DataFrame, sel: dict[str, str], path: Path | str = ""
) -> tuple[pd.DataFrame, pd.Series]:
    """The practices of the book (rows of the map) and the map row naming its ICB.

    ``icb_code`` matches ``ICB_CODE`` or ``ONS_ICB_CODE``; ``sub_icb_code`` matches
    ``SUB_ICB_LOCATION_CODE`` or ``ONS_SUB_ICB_LOCATION_CODE`` (and, with both, must lie in
    the ICB)."""
    m = practice_map
    rows = m
    if "icb_code" in sel:
        code = sel["icb_code"].upper()
        rows = m[(m["ICB_CODE"].str.upper() == code) | (m["ONS_ICB_CODE"] == code)]
        if rows.empty:
            known = m.drop_duplicates("ICB_CODE").sort_values("ICB_NAME")
            some = ", ".join(
                f"{o} {c}"
                for o, c in known[["ICB_CODE", "ONS_ICB_CODE"]].head(5).itertuples(index=False)
            )
            raise IcbSelectionError(
                f"icb_code {sel['icb_code']!r} is not an ICB of "
                f"{path or 'the practice map'} ({len(known)} ICBs, e.g. "
                f"{some} …)"
            )
    if "sub_icb_code" in sel:
        code = sel["sub_icb_code"].upper()
        hit = rows[
            (rows["SUB_ICB_LOCATION_CODE"].str.upper() == code)
            | (rows["ONS_SUB_ICB_LOCATION_CODE"] == code)
        ]
        if hit.empty:
            where = f"ICB {sel['icb_code']}" if "icb_code" in sel else "the practice map"
            raise IcbSelectionError(
                f"sub_icb_code {sel['sub_icb_code']!r} is not a sub-ICB "
                f"location of {where} ({path})"
            )
        rows = hit
    return rows, rows.iloc[0]


def _icb_name(name: str) -> str:
    return name.replace("Integrated Care Board", "ICB")


def hierarchy(
    m: pd.DataFrame, mine: pd.DataFrame, icb: pd.Series, list_sizes: pd.Series
) -> pd.DataFrame:
    """England → region → ICB → sub-ICB locations → PCNs → practices (see the module
    docstring), with ``list_size`` the registered lists (July 2026) and their sums."""
    size = lambda codes: float(list_sizes.reindex(codes).sum())  # noqa: E731
    region = icb["ONS_COMM_REGION_CODE"]
    icb_code = icb["ONS_ICB_CODE"]
    rows = [
        {
            "area_code": ENGLAND[0],
            "area_name": ENGLAND[1],
            "area_type": "england",
            "parent_code": "",
            "comparator_code": "",
            "list_size": size(m["PRACTICE_CODE"]),
        },
        {
            "area_code": region,
            "area_name": f"NHS England {icb['COMM_REGION_NAME']} region",
            "area_type": "region",
            "parent_code": ENGLAND[0],
            "comparator_code": ENGLAND[0],
            "list_size": size(m.loc[m["ONS_COMM_REGION_CODE"] == region, "PRACTICE_CODE"]),
        },
        {
            "area_code": icb_code,
            "area_name": _icb_name(icb["ICB_NAME"]),
            "area_type": "stp",
            "parent_code": region,
            "comparator_code": ENGLAND[0],
            "list_size": size(m.loc[m["ONS_ICB_CODE"] == icb_code, "PRACTICE_CODE"]),
        },
    ]
    for sub_code, sub in mine.groupby("ONS_SUB_ICB_LOCATION_CODE", sort=True):
        first = sub.iloc[0]
        rows.append(
            {
                "area_code": sub_code,
                "area_name": f"{first['SUB_ICB_LOCATION_NAME']} sub-ICB location",
                "area_type": "ccg",
                "parent_code": icb_code,
                "comparator_code": ENGLAND[0],
                "list_size": size(sub["PRACTICE_CODE"]),
            }
        )
        in_pcn = sub["PCN_CODE"] != current.UNALLOCATED_PCN
        for pcn_code, pcn in sub[in_pcn].groupby("PCN_CODE", sort=True):
            rows.append(
                {
                    "area_code": pcn_code,
                    "area_name": pcn["PCN_NAME"].iloc[0],
                    "area_type": "pcn",
                    "parent_code": sub_code,
                    "comparator_code": sub_code,
                    "list_size": size(pcn["PRACTICE_CODE"]),
                }
            )
        for _, p in sub.iterrows():
            allocated = p["PCN_CODE"] != current.UNALLOCATED_PCN
            rows.append(
                {
                    "area_code": p["PRACTICE_CODE"],
                    "area_name": p["PRACTICE_NAME"],
                    "area_type": "practice",
                    "parent_code": p["PCN_CODE"] if allocated else sub_code,
                    "comparator_code": sub_code,
                    "list_size": float(list_sizes.get(p["PRACTICE_CODE"], np.nan)),
                }
            )
    out = pd.DataFrame(rows)
    out["n_lsoas"] = np.nan
    out["population_note"] = ""
    return out


def qof_metadata(prevalence: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """The 21 registers as indicators ``QOF_<group>`` (the 2020-21 loader's wording and
    domains, period 2024/25, this file's source)."""
    return base(prevalence, groups).assign(period=QOF_PERIOD, source=QOF_SOURCE)


def qof_values(
    prevalence: pd.DataFrame,
    m: pd.DataFrame,
    mine: pd.DataFrame,
    icb: pd.Series,
    metadata: pd.DataFrame,
) -> pd.DataFrame:
    """Register and list size of each practice of the book; the ICB's and the region's sums
    over the practices of the map in them; England's over every practice of the file."""
    ok = prevalence[~prevalence["exceeds_list"]]
    book = ok[ok["practice_code"].isin(set(mine["PRACTICE_CODE"]))]
    by_practice = m.set_index("PRACTICE_CODE")
    icb_map = by_practice.loc[by_practice["ONS_ICB_CODE"] == icb["ONS_ICB_CODE"], "ONS_ICB_CODE"]
    region_map = by_practice.loc[
        by_practice["ONS_COMM_REGION_CODE"] == icb["ONS_COMM_REGION_CODE"], "ONS_COMM_REGION_CODE"
    ]
    return register_rows(book, ok, [icb_map, region_map], metadata, period=QOF_PERIOD)


def bridged_registers(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """Registers with the same group code and the same list type (age group) in both
    prevalence files: only these are comparable across the years."""
    a = old.groupby("group_code")["list_type"].agg(lambda s: tuple(sorted(set(s))))
    b = new.groupby("group_code")["list_type"].agg(lambda s: tuple(sorted(set(s))))
    return sorted(g for g in a.index.intersection(b.index) if a[g] == b[g])


def qof_2021_values(
    old: pd.DataFrame,
    new: pd.DataFrame,
    m: pd.DataFrame,
    mine: pd.DataFrame,
    icb: pd.Series,
    metadata: pd.DataFrame,
) -> pd.DataFrame:
    """QOF 2020/21 register and list size of the book's practices present in both files,
    of the ICB and the region (sums over the map's practices present in 2020-21) and of
    England (every practice of the 2020-21 file), for the registers that bridge (module
    docstring)."""
    groups = set(bridged_registers(old, new))
    ok = old[~old["exceeds_list"] & old["group_code"].isin(groups)]
    both = set(ok["practice_code"]) & set(new["practice_code"])
    book = ok[ok["practice_code"].isin(set(mine["PRACTICE_CODE"]) & both)]
    by_practice = m[m["PRACTICE_CODE"].isin(both)].set_index("PRACTICE_CODE")
    icb_map = by_practice.loc[by_practice["ONS_ICB_CODE"] == icb["ONS_ICB_CODE"], "ONS_ICB_CODE"]
    region_map = by_practice.loc[
        by_practice["ONS_COMM_REGION_CODE"] == icb["ONS_COMM_REGION_CODE"], "ONS_COMM_REGION_CODE"
    ]
    return register_rows(book, ok, [icb_map, region_map], metadata, period=QOF_PERIOD_2021)


def england_practice_values(paths: dict[str, Path], metadata: pd.DataFrame) -> pd.DataFrame:
    """Every practice's rows in England (QOF 2024-25 and 2020-21 registers, smoking,
    IMD 2025 score): the inputs of the similar-10 comparator
    (:func:`nhsbook.analysis.peers.peer_group_values`)."""
    new = current.read_qof_prevalence_2425(paths["qof_prevalence_2425"])
    old = qof.read_prevalence(paths["qof_prevalence"])
    meta = metadata.set_index("indicator_id")
    frames = []
    for prev, period in ((new, QOF_PERIOD), (old, QOF_PERIOD_2021)):
        ok = prev[~prev["exceeds_list"]]
        if period == QOF_PERIOD_2021:
            ok = ok[ok["group_code"].isin(set(bridged_registers(old, new)))]
        frames.append(
            pd.DataFrame(
                {
                    "area_code": ok["practice_code"],
                    "indicator_id": "QOF_" + ok["group_code"],
                    "period": period,
                    "count": ok["register"].astype(float),
                    "denominator": ok["list_size"].astype(float),
                }
            )
        )
    smoking = smoking_rows(fingertips.read(paths["fingertips_91547"]))
    frames.append(smoking.assign(indicator_id=SMOKING))
    imd = current.read_practice_imd(paths["practice_imd2025"])
    frames.append(
        pd.DataFrame(
            {
                "area_code": imd["practice_code"],
                "indicator_id": IMD_INDICATOR,
                "period": "2025",
                "value": imd["score"],
            }
        )
    )
    out = pd.concat(frames, ignore_index=True)
    out["sex"] = out["indicator_id"].map(meta["sex"])
    out["age"] = out["indicator_id"].map(meta["age"])
    return out


def imd_metadata() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "indicator_id": IMD_INDICATOR,
                "name": "Deprivation score (IMD 2025)",
                "domain": "Deprivation",
                "profile": "deprivation",
                "unit": "score",
                "multiplier": 1.0,
                "polarity": "no_judgement",
                "method": "score",
                "period": "2025",
                "sex": "Persons",
                "age": "All ages",
                "source": IMD_SOURCE,
            }
        ]
    )


def imd_values(
    imd: pd.DataFrame, m: pd.DataFrame, mine: pd.DataFrame, icb: pd.Series, list_sizes: pd.Series
) -> pd.DataFrame:
    """Practice IMD 2025 scores of the book; the ICB's, region's and England's list-weighted
    means ``Σ(score × list) / Σ list`` over the map's practices with a score and a list (the
    PCN and sub-ICB means are computed the same way by :func:`nhsbook.analysis.indicators.compute`)."""
    score = imd.set_index("practice_code")["score"]
    g = (
        m[["PRACTICE_CODE", "ONS_ICB_CODE", "ONS_COMM_REGION_CODE"]]
        .assign(
            score=m["PRACTICE_CODE"].map(score).to_numpy(),
            weight=m["PRACTICE_CODE"].map(list_sizes).to_numpy(),
        )
        .dropna(subset=["score", "weight"])
    )

    def mean(rows: pd.DataFrame) -> float:
        return float((rows["score"] * rows["weight"]).sum() / rows["weight"].sum())

    out = [
        {"area_code": c, "value": float(score[c])}
        for c in mine["PRACTICE_CODE"]
        if c in score.index
    ]
    out += [
        {"area_code": ENGLAND[0], "value": mean(g)},
        {
            "area_code": icb["ONS_ICB_CODE"],
            "value": mean(g[g["ONS_ICB_CODE"] == icb["ONS_ICB_CODE"]]),
        },
        {
            "area_code": icb["ONS_COMM_REGION_CODE"],
            "value": mean(g[g["ONS_COMM_REGION_CODE"] == icb["ONS_COMM_REGION_CODE"]]),
        },
    ]
    return pd.DataFrame(out).assign(
        indicator_id=IMD_INDICATOR, period="2025", sex="Persons", age="All ages"
    )


#: Fewest registered patients an area's pyramid is drawn for (counts 1-4 are suppressed).
MIN_POPULATION = 5
SMALL_LIST_NOTE = (
    "Fewer than 5 patients were registered with this practice in July 2026 (it "
    "may have closed or merged since QOF 2024-25), so no age-sex structure is "
    "shown: counts from 1 to 4 are suppressed."
)

SMOKING = "91547"
SMOKING_SOURCE = (
    "OHID Fingertips indicator 91547 (QOF smoking register, GP practices); above "
    "practice level the sums of the practices' counts and denominators, "
    "practices placed by the July 2026 map"
)


def smoking_rows(export: fingertips.FingertipsExport) -> pd.DataFrame:
    """The GP practice rows of Fingertips 91547 (current smokers aged 15+, QOF), every period.

    The export's 2023/24 GP rows (6,267) have an empty ``Indicator ID``, ``Sex`` and ``Age``
    (as published in the intermediary's file): GP rows with an empty id are read as 91547,
    Persons, 15+ yrs here, locally, because the file holds no other indicator.  A GP row with
    another id, or a practice with two rows in one period, raises ValueError."""
    v = export.values
    gp = v[v["area_type"] == "GPs"].copy()
    blank = gp["indicator_id"].fillna("").str.strip() == ""
    other = ~blank & (gp["indicator_id"] != SMOKING)
    if other.any():
        raise ValueError(
            f"Fingertips 91547 export: GP rows of other indicators "
            f"{sorted(gp.loc[other, 'indicator_id'].unique())[:5]}"
        )
    gp.loc[blank, ["indicator_id", "sex", "age"]] = [SMOKING, "Persons", "15+ yrs"]
    gp = gp[gp["count"].notna() & gp["denominator"].gt(0)]
    dup = gp.duplicated(["area_code", "period"], keep=False)
    if dup.any():
        raise ValueError(
            f"Fingertips 91547 export: practices with two rows in one period: "
            f"{gp.loc[dup, 'area_code'].unique()[:5].tolist()}"
        )
    return gp[["area_code", "period", "count", "denominator"]].reset_index(drop=True)


def smoking_metadata(periods: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "indicator_id": SMOKING,
                "name": "Smoking prevalence in adults (15+), current smokers (QOF)",
                "domain": "Behaviours",
                "profile": "behaviours",
                "unit": "%",
                "multiplier": 100.0,
                "polarity": "low_is_good",
                "method": "proportion",
                "period": max(periods),
                "sex": "Persons",
                "age": "15+ yrs",
                "source": SMOKING_SOURCE,
            }
        ]
    )


def smoking_values(
    gp: pd.DataFrame, m: pd.DataFrame, mine: pd.DataFrame, icb: pd.Series
) -> pd.DataFrame:
    """Count and denominator of each practice of the book in each period (PCN and sub-ICB
    rolled up by :func:`nhsbook.analysis.indicators.compute`), and the sums over the map's practices of
    the ICB and the region, and over every practice of the export for England (the same
    arithmetic in every period, so that the comparison is like with like)."""
    book = gp[gp["area_code"].isin(set(mine["PRACTICE_CODE"]))]
    icb_of = m.set_index("PRACTICE_CODE")["ONS_ICB_CODE"]
    region_of = m.set_index("PRACTICE_CODE")["ONS_COMM_REGION_CODE"]

    def total(rows: pd.DataFrame, code: str) -> pd.DataFrame:
        s = rows.groupby("period", as_index=False)[["count", "denominator"]].sum()
        return s.assign(area_code=code)

    frames = [
        book,
        total(gp, ENGLAND[0]),
        total(gp[gp["area_code"].map(icb_of) == icb["ONS_ICB_CODE"]], icb["ONS_ICB_CODE"]),
        total(
            gp[gp["area_code"].map(region_of) == icb["ONS_COMM_REGION_CODE"]],
            icb["ONS_COMM_REGION_CODE"],
        ),
    ]
    out = pd.concat(frames, ignore_index=True)
    return out.assign(indicator_id=SMOKING, sex="Persons", age="15+ yrs")


def populations(reg: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """The book's areas' registered populations by sex and band (July 2026): each area's own
    rows of the file (practices and PCNs by ODS code; sub-ICB, ICB and region by ONS code)
    and England as the sum of the regions."""
    want = set(areas["area_code"])
    by_ods = reg[reg["level"].isin(["practice", "pcn"]) & reg["org_code"].isin(want)]
    by_ons = reg[reg["level"].isin(["sub_icb", "icb", "region"]) & reg["ons_code"].isin(want)]
    rows = pd.concat(
        [by_ods.assign(area_code=by_ods["org_code"]), by_ons.assign(area_code=by_ons["ons_code"])],
        ignore_index=True,
    )
    regions = reg[reg["level"] == "region"]
    england = (
        regions.groupby(["sex", "age_band"], as_index=False, sort=False)["population"]
        .sum()
        .assign(area_code=ENGLAND[0])
    )
    out = pd.concat(
        [rows[["area_code", "sex", "age_band", "population"]], england], ignore_index=True
    )
    # an area with 1-4 registered patients (a practice closing: Parkfields Surgery, Y05733,
    # has 1 in July 2026 and 6,643 on its QOF 2024-25 list) gets no pyramid: counts 1-4 are
    # suppressed, and its shares would describe one or two people
    total = out.groupby("area_code")["population"].transform("sum")
    out = out[total >= MIN_POPULATION]
    return out.assign(year=REGISTRATIONS_YEAR, kind="registered")


def load(cfg, opts: dict, paths: dict[str, Path]):
    """The model's tables for the book's ICB or sub-ICB location (module docstring)."""
    sel = selection(opts)
    m = current.read_practice_map(paths["gp_practice_map"])
    mine, icb = select(m, sel, paths["gp_practice_map"])
    reg = current.read_registrations_by_age(paths["gp_registrations_age"])
    list_sizes = current.registered_totals(paths["gp_registrations_age"])
    prevalence = current.read_qof_prevalence_2425(paths["qof_prevalence_2425"])
    groups = qof.read_indicator_groups(paths["qof_indicator_groups"])
    imd = current.read_practice_imd(paths["practice_imd2025"])

    areas = hierarchy(m, mine, icb, list_sizes)
    smoking = smoking_rows(fingertips.read(paths["fingertips_91547"]))
    metadata = pd.concat(
        [
            qof_metadata(prevalence, groups),
            imd_metadata(),
            smoking_metadata(sorted(smoking["period"].unique())),
        ],
        ignore_index=True,
    )
    old = qof.read_prevalence(paths["qof_prevalence"])
    values = pd.concat(
        [
            qof_values(prevalence, m, mine, icb, metadata),
            qof_2021_values(old, prevalence, m, mine, icb, metadata),
            imd_values(imd, m, mine, icb, list_sizes),
            smoking_values(smoking, m, mine, icb),
        ],
        ignore_index=True,
    )
    population = populations(reg, areas)
    have = set(population["area_code"])
    small = areas["area_code"].map(list_sizes).lt(MIN_POPULATION) & areas["area_type"].eq(
        "practice"
    )
    areas.loc[~areas["area_code"].isin(have), "population_note"] = (
        "No registered population for this area in the July 2026 file."
    )
    areas.loc[small & ~areas["area_code"].isin(have), "population_note"] = SMALL_LIST_NOTE
    return assemble(
        cfg,
        areas,
        metadata,
        values,
        population,
        prevalence,
        mine["PRACTICE_CODE"],
        period=QOF_PERIOD,
    )
