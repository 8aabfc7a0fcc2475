"""A national-scale **synthetic** England in the published open-data formats.

``nhsbook synth --practices 6500 --ccgs 106 --lsoas 32844 --seed N --out DIR`` writes, in one
seeded and vectorised pass (numpy, a few seconds at national size), the six files the
``opendata`` loader reads, with the columns and headers of the real publications, so the same
importers (:mod:`nhsbook.io.qof`, :mod:`nhsbook.io.ons`, :mod:`nhsbook.io.fingertips`) and the
same Great Expectations suites (``expectations/qof_*.json``, ``ons_*.json``,
``fingertips.json``) read them (:data:`FILES`):

* ``MAPPING_NHS_GEOGRAPHIES_2021.csv``: England → 7 regions → 42 STPs → the CCGs → about one
  primary care network per 5.2 practices (about 1,250) → practices; about 0.5% of practices in
  no PCN (``U``), as in the published mapping.
* ``PREVALENCE_2021.csv``: one row per practice and QOF register (the 21 registers of QOF
  2020-21) with the list size of the register's age group.
* ``MAPPING_INDICATORS_2021.csv``: the registers, their domain and patient list type.
* ``fingertips_93553_imd2019_gp.csv``: a Fingertips export of the practices' IMD 2019 score.
* ``lsoa11_ccg20_lad20_england.csv``: LSOA → CCG → local authority district lookup.
* ``sape_mid2019_lsoa11_single_year_by_sex_england.csv``: LSOA populations by sex and single
  year of age.

The model (every figure is synthetic; codes are outside the ranges real organisations use:
practices ``S?nnnn``, PCNs ``U9nnnn``, CCGs ``E389nnnnn``/``Znn``, LSOAs ``E019nnnnn``):

* **Sizes.** CCG weights are lognormal (σ 0.55); practices are shared among CCGs in
  proportion (at least 3 each). Practice list sizes are lognormal with median 8,000 and
  σ 0.6 (NHS Digital QOF 2020-21: median 8,016, log-sd 0.63, 29 practices above 40,000),
  floored at 1,000, so England's list is about 60 million. LSOAs are shared among CCGs in
  proportion to their lists (at least 5 each) and hold about 1,700 residents each
  (normal, σ 300, 1,000-4,000), split among 1-8 districts per CCG.
* **Deprivation.** LSOA IMD scores are lognormal with CCG, district and LSOA effects
  (σ 0.28, 0.2, 0.62; median 17, mean about 21.7 as IMD 2019). A practice's score is the
  mean of five neighbouring LSOAs of its CCG (its home LSOA and four of the 20 around it in
  the CCG's list, which is ordered by district).
* **Age.** Each LSOA has an age index (older where less deprived, correlation about -0.45);
  its single-year populations are a multinomial draw from England's mid-2019 age shape
  (:data:`ENGLAND_AGE_SHARES`) tilted by the index, split by sex with a falling male share
  above 60. A practice's age index (the mean of its LSOAs' plus noise) sets the share of its
  list under 6, 16, 17, 18 and aged 50+.
* **Registers.** ``register ~ Binomial(list of the age group, p)`` with
  ``p = rate × exp(b_age × age index + b_dep × deprivation z + N(0, 0.15²))`` rescaled so
  that England's prevalence equals the national rate of QOF 2020-21 (:data:`REGISTERS`);
  ``b_age`` and ``b_dep`` are illustrative, chosen so that conditions of old age rise with
  age and COPD, diabetes, mental health and obesity with deprivation. A register never
  exceeds its list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.io import fingertips, ons, qof

DEFAULT_SEED = 20210401
NATIONAL = {"practices": 6500, "ccgs": 106, "lsoas": 32844}
#: Dataset (gate suite) name -> file name written by :func:`write`.
FILES: dict[str, str] = {
    "qof_prevalence": "PREVALENCE_2021.csv",
    "qof_geographies": "MAPPING_NHS_GEOGRAPHIES_2021.csv",
    "qof_indicator_groups": "MAPPING_INDICATORS_2021.csv",
    "fingertips": "fingertips_93553_imd2019_gp.csv",
    "ons_lsoa_ccg_lad": "lsoa11_ccg20_lad20_england.csv",
    "ons_sape_single_year": "sape_mid2019_lsoa11_single_year_by_sex_england.csv",
}
#: The generator's parameters, written beside the files.
PARAMETERS_FILE = "synthetic.json"

#: QOF 2020-21 registers: group -> (description, domain code, domain, patient list type,
#: national prevalence = England's register / list of the age group, from NHS Digital
#: PREVALENCE_2021_v2.csv, b_age, b_dep).  b_age, b_dep: illustrative model coefficients.
REGISTERS: dict[str, tuple[str, str, str, str, float, float, float]] = {
    "AF": ("Atrial fibrillation", "CL", "Clinical", "TOTAL", 0.020481, 0.50, -0.10),
    "AST": ("Asthma", "CL", "Clinical", "06OV", 0.063750, -0.05, 0.05),
    "CAN": ("Cancer", "CL", "Clinical", "TOTAL", 0.032099, 0.40, -0.10),
    "CHD": (
        "Secondary prevention of coronary heart disease",
        "CL",
        "Clinical",
        "TOTAL",
        0.030480,
        0.45,
        0.12,
    ),
    "CKD": ("Chronic kidney disease", "CL", "Clinical", "18OV", 0.039561, 0.40, 0.00),
    "COPD": (
        "Chronic obstructive pulmonary disease",
        "CL",
        "Clinical",
        "TOTAL",
        0.019277,
        0.35,
        0.35,
    ),
    "DEM": ("Dementia", "CL", "Clinical", "TOTAL", 0.007096, 0.60, -0.02),
    "DEP": ("Depression", "CL", "Clinical", "18OV", 0.122905, 0.00, 0.12),
    "DM": ("Diabetes mellitus", "CL", "Clinical", "17OV", 0.071085, 0.15, 0.20),
    "EP": ("Epilepsy", "CL", "Clinical", "18OV", 0.007973, 0.05, 0.15),
    "HF": ("Heart failure", "CL", "Clinical", "TOTAL", 0.009069, 0.50, 0.10),
    "HYP": ("Hypertension", "CL", "Clinical", "TOTAL", 0.139297, 0.35, 0.02),
    "LD": ("Learning disability", "CL", "Clinical", "TOTAL", 0.005341, 0.00, 0.20),
    "MH": ("Mental health", "CL", "Clinical", "TOTAL", 0.009458, -0.05, 0.30),
    "NDH": ("Non-diabetic hyperglycaemia", "CL", "Clinical", "18OV", 0.053101, 0.20, 0.00),
    "OB": ("Obesity", "PH", "Public Health", "18OV", 0.068801, 0.10, 0.20),
    "OST": (
        "Osteoporosis: secondary prevention of fragility fractures",
        "CL",
        "Clinical",
        "50OV",
        0.007588,
        0.30,
        -0.05,
    ),
    "PAD": ("Peripheral arterial disease", "CL", "Clinical", "TOTAL", 0.005879, 0.45, 0.15),
    "PC": ("Palliative care", "CL", "Clinical", "TOTAL", 0.004652, 0.30, 0.00),
    "RA": ("Rheumatoid arthritis", "CL", "Clinical", "16OV", 0.007682, 0.20, 0.05),
    "STIA": (
        "Stroke and transient ischaemic attack",
        "CL",
        "Clinical",
        "TOTAL",
        0.018012,
        0.45,
        0.08,
    ),
}
#: Share of a list below each age threshold in England (QOF 2020-21 list sizes by list type:
#: 06OV 56.9m, 16OV 49.8m, 17OV 49.1m, 18OV 48.5m of 60.7m); aged 50+: 22.3m of 60.7m.
UNDER_SHARES: dict[str, float] = {"06OV": 0.0624, "16OV": 0.1799, "17OV": 0.1910, "18OV": 0.2019}
OVER_50_SHARE = 0.3670
#: Approximate shares of England's residents by five-year band (0-4 … 85-89, 90+), rounded
#: from ONS mid-2019 estimates; they only shape the synthetic populations.
ENGLAND_AGE_SHARES = (
    5.9,
    6.3,
    5.9,
    5.6,
    6.2,
    6.8,
    6.8,
    6.5,
    6.0,
    6.6,
    6.9,
    6.5,
    5.6,
    5.0,
    5.1,
    3.6,
    2.6,
    1.6,
    0.9,
)
REGION_NAMES = (
    "North East and Yorkshire",
    "North West",
    "Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
)


class SynthParameterError(ValueError):
    """Sizes the generator cannot honour (too few practices or LSOAs per CCG)."""


@dataclass(frozen=True)
class NationalData:
    """The generated tables, each in its published layout (columns as written)."""

    geographies: pd.DataFrame
    prevalence: pd.DataFrame
    indicators: pd.DataFrame
    fingertips: pd.DataFrame
    lookup: pd.DataFrame
    sape: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """Tables by dataset name (the keys of :data:`FILES`)."""
        return {
            "qof_prevalence": self.prevalence,
            "qof_geographies": self.geographies,
            "qof_indicator_groups": self.indicators,
            "fingertips": self.fingertips,
            "ons_lsoa_ccg_lad": self.lookup,
            "ons_sape_single_year": self.sape,
        }


def allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights``, each at least ``minimum``
    (largest-remainder rounding of the part above the minimum)."""
    n = len(weights)
    spare = total - minimum * n
    if spare < 0:
        raise SynthParameterError(f"cannot give {n} groups at least {minimum} of {total}")
    share = spare * np.asarray(weights, float) / float(np.sum(weights))
    base = np.floor(share).astype(np.int64)
    rest = spare - int(base.sum())
    base[np.argsort(-(share - base), kind="stable")[:rest]] += 1
    return base + minimum


def _starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]])


def _base36(i: np.ndarray, width: int) -> list[str]:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    for v in np.asarray(i, dtype=np.int64):
        s = ""
        for _ in range(width):
            s = digits[v % 36] + s
            v //= 36
        out.append(s)
    return out


def generate(
    practices: int = NATIONAL["practices"],
    ccgs: int = NATIONAL["ccgs"],
    lsoas: int = NATIONAL["lsoas"],
    seed: int = DEFAULT_SEED,
) -> NationalData:
    """Generate a synthetic England (see the module docstring); same seed, same tables."""
    if ccgs < 1 or practices < 3 * ccgs or lsoas < 5 * ccgs:
        raise SynthParameterError(
            f"--practices {practices}, --ccgs {ccgs}, --lsoas {lsoas}: need at least one CCG, "
            "3 practices and 5 LSOAs per CCG"
        )
    if practices > 26 * 10000 or ccgs > 36**2 - 1 or lsoas > 99999:
        raise SynthParameterError("at most 260,000 practices, 1,295 CCGs and 99,999 LSOAs")
    rng = np.random.default_rng(seed)
    n_stp = min(42, ccgs)
    n_region = min(7, n_stp)

    # --- hierarchy: regions -> STPs -> CCGs (each level at least one child) --------------
    stp_region = np.concatenate([np.arange(n_region), rng.integers(0, n_region, n_stp - n_region)])
    stp_region = np.sort(stp_region)
    ccg_stp = np.sort(np.concatenate([np.arange(n_stp), rng.integers(0, n_stp, ccgs - n_stp)]))
    ccg_weight = rng.lognormal(0.0, 0.55, ccgs)
    pr_per_ccg = allocate(practices, ccg_weight, 3)
    pr_ccg = np.repeat(np.arange(ccgs), pr_per_ccg)
    list_size = np.maximum(np.round(rng.lognormal(np.log(8000.0), 0.6, practices)), 1000)
    list_size = list_size.astype(np.int64)
    ccg_list = np.bincount(pr_ccg, weights=list_size, minlength=ccgs)

    # --- LSOAs and districts ------------------------------------------------------------
    ls_per_ccg = allocate(lsoas, ccg_list, 5)
    lad_per_ccg = np.minimum(1 + rng.poisson(2.0, ccgs), np.minimum(8, ls_per_ccg))
    n_lad = int(lad_per_ccg.sum())
    lad_ccg = np.repeat(np.arange(ccgs), lad_per_ccg)
    ls_per_lad = np.concatenate(
        [
            allocate(int(n), rng.dirichlet(np.full(k, 4.0)), 1)
            for n, k in zip(ls_per_ccg, lad_per_ccg)
        ]
    )
    ls_lad = np.repeat(np.arange(n_lad), ls_per_lad)
    ls_ccg = lad_ccg[ls_lad]
    lad_start = _starts(ls_per_lad)
    ls_start = _starts(ls_per_ccg)

    log_imd = (
        np.log(17.0)
        + rng.normal(0, 0.28, ccgs)[ls_ccg]
        + rng.normal(0, 0.2, n_lad)[ls_lad]
        + rng.normal(0, 0.62, lsoas)
    )
    imd_lsoa = np.clip(np.exp(log_imd), 0.5, 92.0)
    dep_z = (log_imd - log_imd.mean()) / log_imd.std()
    age_z = -0.45 * dep_z + np.sqrt(1 - 0.45**2) * rng.normal(0, 1, lsoas)
    residents = np.clip(np.round(rng.normal(1700, 300, lsoas)), 1000, 4000).astype(np.int64)

    # --- practices: deprivation and age from five neighbouring LSOAs of the CCG ----------
    # the home LSOA and four others among its 20 neighbours in the CCG's list (ordered by
    # district, so a catchment mostly lies in one district and may cross into the next)
    n_c = ls_per_ccg[pr_ccg]
    home = np.floor(rng.random(practices) * n_c).astype(np.int64)
    offsets = np.concatenate(
        [np.zeros((practices, 1), np.int64), rng.integers(-10, 11, (practices, 4))], axis=1
    )
    picks = ls_start[pr_ccg][:, None] + (home[:, None] + offsets) % n_c[:, None]
    imd_practice = imd_lsoa[picks].mean(axis=1)
    pr_age = age_z[picks].mean(axis=1) + rng.normal(0, 0.3, practices)
    pr_age = (pr_age - pr_age.mean()) / pr_age.std()
    pr_dep = np.log(imd_practice)
    pr_dep = (pr_dep - pr_dep.mean()) / pr_dep.std()

    # --- PCNs: about 5.2 practices each, within the CCG; 0.5% in no PCN ------------------
    pcn_per_ccg = np.maximum(1, np.round(pr_per_ccg / 5.2)).astype(np.int64)
    order = np.lexsort((rng.random(practices), pr_ccg))
    rank = np.empty(practices, np.int64)
    rank[order] = np.arange(practices) - _starts(pr_per_ccg)[pr_ccg[order]]
    pr_pcn = _starts(pcn_per_ccg)[pr_ccg] + rank * pcn_per_ccg[pr_ccg] // pr_per_ccg[pr_ccg]
    no_pcn = rng.random(practices) < 0.005

    # --- codes and names ----------------------------------------------------------------
    region_ods = [f"Y9{i}" for i in range(n_region)]
    region_ons = [f"E40{900001 + i}" for i in range(n_region)]
    region_name = [REGION_NAMES[i] + " (synthetic)" for i in range(n_region)]
    stp_ods = [f"Q{i + 1:02d}" for i in range(n_stp)]
    stp_ons = [f"E54{900001 + i}" for i in range(n_stp)]
    stp_name = [f"Synthetic STP {i + 1:02d}" for i in range(n_stp)]
    ccg_ods = ["Z" + c for c in _base36(np.arange(1, ccgs + 1), 2)]
    ccg_ons = [f"E38{900001 + i}" for i in range(ccgs)]
    ccg_name = [f"NHS Synthetic CCG {i + 1:03d}" for i in range(ccgs)]
    pcn_ods = np.array([f"U9{i + 1:04d}" for i in range(int(pcn_per_ccg.sum()))])
    pcn_name = np.array([f"Synthetic PCN {i + 1:04d}" for i in range(int(pcn_per_ccg.sum()))])
    letters = "YXWVUTSRQPONMLKJIHGFEDCBAZ"
    pr_code = np.array([f"S{letters[i // 10000]}{i % 10000:04d}" for i in range(practices)])
    pr_name = np.array([f"Synthetic Practice {i + 1:04d}" for i in range(practices)])
    lad_code = np.array([f"E07{900001 + i}" for i in range(n_lad)])
    lad_name = np.array([f"Synthetic District {i + 1:03d}" for i in range(n_lad)])
    ls_code = np.array([f"E01{900001 + i}" for i in range(lsoas)])
    within = np.arange(lsoas) - lad_start[ls_lad]
    ls_name = np.array(
        [f"{lad_name[d]} {k // 4 + 1:03d}{'ABCD'[k % 4]}" for d, k in zip(ls_lad, within)]
    )

    c_stp = ccg_stp[pr_ccg]
    geographies = pd.DataFrame(
        {
            "NAT_ONS_CODE": "E92000001",
            "NAT_CODE": "ENG",
            "COUNTRY": "England",
            "REGION_ODS_CODE": np.array(region_ods)[stp_region[c_stp]],
            "REGION_ONS_CODE": np.array(region_ons)[stp_region[c_stp]],
            "REGION_NAME": np.array(region_name)[stp_region[c_stp]],
            "STP_ODS_CODE": np.array(stp_ods)[c_stp],
            "STP_ONS_CODE": np.array(stp_ons)[c_stp],
            "STP_NAME": np.array(stp_name)[c_stp],
            "CCG_ODS_CODE": np.array(ccg_ods)[pr_ccg],
            "CCG_ONS_CODE": np.array(ccg_ons)[pr_ccg],
            "CCG_NAME": np.array(ccg_name)[pr_ccg],
            "PCN_ODS_CODE": np.where(no_pcn, "U", pcn_ods[pr_pcn]),
            "PCN_NAME": np.where(no_pcn, "Unallocated", pcn_name[pr_pcn]),
            "PRACTICE_CODE": pr_code,
            "PRACTICE_NAME": pr_name,
        }
    )

    prevalence = _registers(rng, pr_code, list_size, pr_age, pr_dep)
    indicators = pd.DataFrame(
        {
            "INDICATOR_CODE": [f"{g}001" for g in REGISTERS],
            "INDICATOR_POINT_VALUE": [int(5 + i % 7) for i in range(len(REGISTERS))],
            "GROUP_CODE": list(REGISTERS),
            "GROUP_DESCRIPTION": [r[0] for r in REGISTERS.values()],
            "DOMAIN_CODE": [r[1] for r in REGISTERS.values()],
            "DOMAIN_DESCRIPTION": [r[2] for r in REGISTERS.values()],
            "PATIENT_LIST_TYPE": [r[3] for r in REGISTERS.values()],
        }
    )
    england_imd = float(np.average(imd_lsoa, weights=residents))
    export = _fingertips(pr_code, pr_name, imd_practice, england_imd)
    lookup = pd.DataFrame(
        {
            "FID": np.arange(1, lsoas + 1),
            "LSOA11CD": ls_code,
            "LSOA11NM": ls_name,
            "CCG20CD": np.array(ccg_ons)[ls_ccg],
            "CCG20CDH": np.array(ccg_ods)[ls_ccg],
            "CCG20NM": np.array(ccg_name)[ls_ccg],
            "LAD20CD": lad_code[ls_lad],
            "LAD20NM": lad_name[ls_lad],
        }
    )
    sape = _populations(rng, ls_code, ls_name, lad_code[ls_lad], lad_name[ls_lad], residents, age_z)
    return NationalData(geographies, prevalence, indicators, export, lookup, sape)


def _registers(
    rng: np.random.Generator,
    codes: np.ndarray,
    list_size: np.ndarray,
    age: np.ndarray,
    dep: np.ndarray,
) -> pd.DataFrame:
    """The prevalence file: per practice and register, the list of the register's age
    group and ``Binomial(list, p)`` (module docstring), rescaled to the national rate."""
    young = np.exp(-0.25 * age)  # more children where the list is younger
    old = np.exp(0.30 * age)
    lists = {"TOTAL": list_size}
    for lt, share in UNDER_SHARES.items():
        lists[lt] = np.round(list_size * (1 - share * young)).astype(np.int64)
    lists["50OV"] = np.round(list_size * np.minimum(OVER_50_SHARE * old, 0.9)).astype(np.int64)
    frames = []
    for group, (_, _, _, lt, rate, b_age, b_dep) in REGISTERS.items():
        n = lists[lt]
        p = np.exp(b_age * age + b_dep * dep + rng.normal(0, 0.15, len(n)))
        p *= rate * n.sum() / float(np.sum(p * n))
        register = rng.binomial(n, np.minimum(p, 0.95))
        frames.append(
            pd.DataFrame(
                {
                    "PRACTICE_CODE": codes,
                    "GROUP_CODE": group,
                    "REGISTER": register,
                    "PATIENT_LIST_TYPE": lt,
                    "PRACTICE_LIST_SIZE": n,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    order = np.lexsort((out["GROUP_CODE"].to_numpy(), out["PRACTICE_CODE"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _fingertips(
    codes: np.ndarray, names: np.ndarray, scores: np.ndarray, england: float
) -> pd.DataFrame:
    """A Fingertips export of indicator 93553 (IMD 2019 score) for England and practices,
    with the columns of a real export (:data:`nhsbook.io.fingertips.REQUIRED` and the rest)."""
    n = len(codes) + 1
    cols = list(fingertips.REQUIRED)
    cols.insert(cols.index("Time period Sortable"), "Compared to percentiles")
    cols += ["Compared to goal", "Time period range"]
    out = pd.DataFrame({c: [""] * n for c in cols})
    out["Indicator ID"] = "93553"
    out["Indicator Name"] = "Deprivation score (IMD 2019)"
    out["Parent Code"] = [""] + ["E92000001"] * len(codes)
    out["Parent Name"] = [""] + ["England"] * len(codes)
    out["Area Code"] = ["E92000001", *codes]
    out["Area Name"] = ["England", *names]
    out["Area Type"] = ["England"] + ["GP"] * len(codes)
    out["Sex"] = "Persons"
    out["Age"] = "All ages"
    out["Time period"] = "2019"
    out["Value"] = [repr(float(v)) for v in np.concatenate([[england], scores])]
    out["Recent Trend"] = "Cannot be calculated"
    out["Compared to England value or percentiles"] = "Not compared"
    out["Compared to percentiles"] = "Not compared"
    out["Time period Sortable"] = "20190000"
    out["Time period range"] = "1y"
    return out


def _populations(
    rng: np.random.Generator,
    codes: np.ndarray,
    names: np.ndarray,
    la_codes: np.ndarray,
    la_names: np.ndarray,
    residents: np.ndarray,
    age_z: np.ndarray,
) -> pd.DataFrame:
    """ONS SAPE layout: one row per LSOA and sex (m, f), ``all_ages`` and ``age_0`` …
    ``age_90plus``; ages a multinomial draw from England's shape tilted by the age index,
    sexes a binomial split with a male share falling from 0.51 to 0.35 above 60."""
    bands = np.repeat(np.asarray(ENGLAND_AGE_SHARES[:18]) / 5.0, 5)
    shape = np.append(bands, ENGLAND_AGE_SHARES[18])
    ages = np.arange(91)
    tilt = np.exp(np.outer(age_z, 0.012 * (ages - 40)))
    p = shape[None, :] * tilt
    p /= p.sum(axis=1, keepdims=True)
    counts = rng.multinomial(residents, p)
    male_share = np.where(ages < 60, 0.505, 0.505 - (ages - 60) * 0.005)
    male = rng.binomial(counts, male_share[None, :])
    female = counts - male
    n = len(codes)
    cols = list(ons.SINGLE_YEARS)
    both = np.empty((2 * n, 91), np.int64)
    both[0::2] = male
    both[1::2] = female
    out = pd.DataFrame(both, columns=cols)
    out.insert(0, "all_ages", both.sum(axis=1))
    out.insert(0, "sex", np.tile(["m", "f"], n))
    out.insert(0, "la_name", np.repeat(la_names, 2))
    out.insert(0, "la_code", np.repeat(la_codes, 2))
    out.insert(0, "lsoa_name", np.repeat(names, 2))
    out.insert(0, "lsoa_code", np.repeat(codes, 2))
    return out


def parameters(practices: int, ccgs: int, lsoas: int, seed: int) -> dict:
    """What :data:`PARAMETERS_FILE` records (and :func:`is_current` compares)."""
    return {
        "generator": "nhsbook.synth.national",
        "synthetic": True,
        "practices": practices,
        "ccgs": ccgs,
        "lsoas": lsoas,
        "seed": seed,
    }


def write(
    out_dir: Path | str,
    practices: int = NATIONAL["practices"],
    ccgs: int = NATIONAL["ccgs"],
    lsoas: int = NATIONAL["lsoas"],
    seed: int = DEFAULT_SEED,
) -> dict[str, Path]:
    """Generate and write the files (:data:`FILES`) and :data:`PARAMETERS_FILE` into
    ``out_dir``; returns the paths by dataset name.  Byte-identical for the same arguments."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(practices, ccgs, lsoas, seed)
    paths = {}
    for name, frame in data.frames().items():
        path = out / FILES[name]
        tmp = path.with_suffix(".tmp")
        frame.to_csv(tmp, index=False, lineterminator="\n")
        tmp.replace(path)
        paths[name] = path
    (out / PARAMETERS_FILE).write_text(
        json.dumps(parameters(practices, ccgs, lsoas, seed), indent=2) + "\n", encoding="utf-8"
    )
    return paths


def is_current(out_dir: Path | str, practices: int, ccgs: int, lsoas: int, seed: int) -> bool:
    """True when ``out_dir`` holds every file, generated with these parameters."""
    out = Path(out_dir)
    marker = out / PARAMETERS_FILE
    if not marker.is_file() or not all((out / f).is_file() for f in FILES.values()):
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")) == parameters(
            practices, ccgs, lsoas, seed
        )
    except ValueError:
        return False


def ensure(
    out_dir: Path | str,
    practices: int = NATIONAL["practices"],
    ccgs: int = NATIONAL["ccgs"],
    lsoas: int = NATIONAL["lsoas"],
    seed: int = DEFAULT_SEED,
) -> dict[str, Path]:
    """The files in ``out_dir``, generated first when missing or made with other parameters."""
    if not is_current(out_dir, practices, ccgs, lsoas, seed):
        return write(out_dir, practices, ccgs, lsoas, seed)
    return {name: Path(out_dir) / f for name, f in FILES.items()}


def read_back(paths: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """The written files through the project's importers (a check that they parse)."""
    return {
        "prevalence": qof.read_prevalence(paths["qof_prevalence"]),
        "geographies": qof.read_geographies(paths["qof_geographies"]),
        "groups": qof.read_indicator_groups(paths["qof_indicator_groups"]),
        "lookup": ons.read_lsoa_ccg_lookup(paths["ons_lsoa_ccg_lad"]),
        "sape": ons.read_sape_single_year(paths["ons_sape_single_year"]),
    }
