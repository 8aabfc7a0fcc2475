"""The ``ons_local`` loader: a book for one upper-tier local authority and its districts from
the ONS local series (the Health Index for England and the "Explore local statistics" inputs).

A book names its authority in its own YAML file (``data:`` points to that file)::

    loader: ons_local
    data: books/derbyshire-county.yml
    ons_local:
      authority: E10000007       # any county (E10) or unitary authority (E06/E08/E09) code
      region: E12000004          # optional for the 21 counties of REGION_OF_COUNTY

Inputs (source registry keys, :data:`DATASETS`; each validated by its Great Expectations suite,
:data:`SUITES`, before a build reads it):

* the ONS Health Index's 56 underlying indicators and its overall and domain scores for every
  lower-tier authority of England, 2015-2021 (no county rows: a county's districts carry them);
* the ONS local statistics series with their published 95% limits and polarity: adults who
  smoke (2012-2023), healthy life expectancy at birth (upper tier only, 2011-13 … 2021-23),
  under-75 preventable cardiovascular mortality (2001-03 … 2021-23), cancers diagnosed at stage
  1 or 2 (2013-2021), NCMP reception and year 6 overweight (2006/07 … 2021/22) and adult
  obesity (2015/16 … 2023/24).

Areas: England, the region, the authority and (for a county) its districts, found as the
districts of the ONS May 2024 boundaries whose label point lies inside the authority's December
2023 boundary.  Every figure is a *published* one (``Tables.published``): nhsbook computes no
value and no limit; significance against a comparator uses the published 95% limits.

Periods: ISO 8601 intervals become the labels the publishers use: ``2021-01-01T00:00:00/P3Y`` is
``2021-23``, ``2015-11-16T00:00:00/P1Y`` is ``2015/16``, ``2023-01-01T00:00:00/P1Y`` is
``2023``; plain years stay as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from nhsbook.config import sources
from nhsbook.core.escape import markdown as esc
from nhsbook.core.model import (
    AGE_COUNT_COLUMNS,
    AREA_COLUMNS,
    METADATA_COLUMNS,
    POPULATION_COLUMNS,
    VALUE_COLUMNS,
    Tables,
    coerce,
    empty_frame,
)
from nhsbook.io.lsoa21_attributes import read_upper_tier


class OnsLocalError(ValueError):
    """A book or an input the loader cannot use; the message names the file and what is wrong."""


#: Dataset name -> source registry key (data/sources.yml).
DATASETS: dict[str, str] = {
    "ons_health_index_indicators": "ons_health_index_indicators",
    "ons_health_index_scores": "ons_health_index_scores",
    "els_cigarette_smokers": "els_cigarette_smokers",
    "els_healthy_life_expectancy": "els_healthy_life_expectancy",
    "els_preventable_cvd_mortality": "els_preventable_cvd_mortality",
    "els_cancer_stage_1_2": "els_cancer_stage_1_2",
    "els_ncmp_reception": "els_ncmp_reception",
    "els_ncmp_year6": "els_ncmp_year6",
    "els_adult_obesity": "els_adult_obesity",
    # the similar-area peers of the authority and its districts (nhsbook.analysis.peers)
    "imd2025_lsoa21": "imd2025_lsoa21",
    "ruc21_lsoa21": "ruc21_lsoa21_ew",
    "census2021_ts007a": "census2021_ts007a_lsoa21",
    "ons_lsoa21_ltla24": "lsoa21_ward24_ltla24_ew",
}

#: Dataset name -> Great Expectations suite (expectations/<suite>.json), one per layout.
SUITES: dict[str, str] = {
    "ons_health_index_indicators": "ons_health_index_indicators",
    "ons_health_index_scores": "ons_health_index_scores",
    "els_cigarette_smokers": "ons_els",
    "els_preventable_cvd_mortality": "ons_els",
    "els_adult_obesity": "ons_els",
    "els_cancer_stage_1_2": "ons_els",
    "els_ncmp_reception": "ons_els_value",
    "els_ncmp_year6": "ons_els_value",
    "els_healthy_life_expectancy": "ons_els_hle",
    "imd2025_lsoa21": "imd2025_lsoa21",
    "ruc21_lsoa21": "ruc21_lsoa21",
    "census2021_ts007a": "census2021_ts007a",
    "ons_lsoa21_ltla24": "ons_lsoa21_ltla24",
}

#: The English regions of the 21 two-tier counties of December 2023 (ONS codes).  A book for
#: a unitary authority names its region (``ons_local: region``).
REGION_OF_COUNTY: dict[str, str] = {
    "E10000003": "E12000006",
    "E10000007": "E12000004",
    "E10000008": "E12000009",
    "E10000011": "E12000008",
    "E10000012": "E12000006",
    "E10000013": "E12000009",
    "E10000014": "E12000008",
    "E10000015": "E12000006",
    "E10000016": "E12000008",
    "E10000017": "E12000002",
    "E10000018": "E12000004",
    "E10000019": "E12000004",
    "E10000020": "E12000006",
    "E10000024": "E12000004",
    "E10000025": "E12000008",
    "E10000028": "E12000005",
    "E10000029": "E12000006",
    "E10000030": "E12000008",
    "E10000031": "E12000005",
    "E10000032": "E12000008",
    "E10000034": "E12000005",
}

ENGLAND = "E92000001"
UPPER_TIER = re.compile(r"^E(06|08|09|10)[0-9]{6}$")
REGION = re.compile(r"^E12[0-9]{6}$")

#: The local statistics series: dataset -> (indicator id, profile, domain, method, unit,
#: multiplier, sex, age, definition).  HLE's two indicators are split by sex.
SERIES: dict[str, dict] = {
    "els_cigarette_smokers": dict(
        id="ONS_SMOKING",
        profile="adult",
        domain="Lifestyle",
        method="proportion",
        unit="%",
        multiplier=100,
        age="18+ yrs",
        definition="Percentage of adults aged 18 and over who said they currently smoke "
        "cigarettes (Annual Population Survey).",
        numerator="Survey respondents aged 18+ who currently smoke (weighted)",
        denominator="Survey respondents aged 18+ (weighted)",
    ),
    "els_preventable_cvd_mortality": dict(
        id="ONS_CVD_PREVENTABLE",
        profile="adult",
        domain="Mortality",
        method="dsr",
        unit="per 100,000",
        multiplier=100000,
        age="<75 yrs",
        definition="Directly age-standardised rate of deaths under 75 from cardiovascular "
        "diseases considered preventable, per 100,000 population (2021 "
        "census-based population estimates), over three years.",
        numerator="Deaths under 75 from preventable cardiovascular disease (ONS mortality)",
        denominator="Mid-year population under 75 (ONS estimates)",
    ),
    "els_cancer_stage_1_2": dict(
        id="ONS_CANCER_EARLY",
        profile="adult",
        domain="Cancer",
        method="proportion",
        unit="%",
        multiplier=100,
        age="All ages",
        definition="Percentage of new cancer diagnoses with a known stage diagnosed at stage "
        "1 or 2.",
        numerator="New cancers diagnosed at stage 1 or 2",
        denominator="New cancers with a known stage",
    ),
    "els_ncmp_reception": dict(
        id="ONS_NCMP_RECEPTION",
        profile="child",
        domain="Child weight",
        method="proportion",
        unit="%",
        multiplier=100,
        age="4-5 yrs",
        definition="Percentage of children in reception (aged 4-5) measured by the National "
        "Child Measurement Programme who are overweight, including obese.",
        numerator="Reception children overweight or obese (NCMP)",
        denominator="Reception children measured (NCMP)",
    ),
    "els_ncmp_year6": dict(
        id="ONS_NCMP_YEAR6",
        profile="child",
        domain="Child weight",
        method="proportion",
        unit="%",
        multiplier=100,
        age="10-11 yrs",
        definition="Percentage of children in year 6 (aged 10-11) measured by the National "
        "Child Measurement Programme who are overweight, including obese.",
        numerator="Year 6 children overweight or obese (NCMP)",
        denominator="Year 6 children measured (NCMP)",
    ),
    "els_adult_obesity": dict(
        id="ONS_OBESITY_ADULT",
        profile="adult",
        domain="Lifestyle",
        method="proportion",
        unit="%",
        multiplier=100,
        age="18+ yrs",
        definition="Percentage of adults aged 18 and over classified as obese (BMI of 30 or "
        "more, from self-reported height and weight; Active Lives survey).",
        numerator="Survey respondents aged 18+ with a BMI of 30 or more (weighted)",
        denominator="Survey respondents aged 18+ with a valid height and weight (weighted)",
    ),
    "els_healthy_life_expectancy": dict(
        id="ONS_HLE",
        profile="adult",
        domain="Life expectancy",
        method="life_expectancy",
        unit="years",
        multiplier=1,
        age="At birth",
        definition="Average number of years a newborn would live in very good or good health, "
        "from the area's death rates and self-reported health over three years "
        "(Sullivan method).",
        numerator="Years lived in good health (life table and Annual Population Survey)",
        denominator="Births of the life table cohort",
    ),
}

HEALTH_INDEX_SCORES = {
    "overall_score": "Health Index: overall score",
    "healthy_people_domain_score": "Health Index: Healthy People domain",
    "healthy_lives_domain_score": "Health Index: Healthy Lives domain",
    "healthy_places_domain_score": "Health Index: Healthy Places domain",
}


def options(cfg) -> dict:
    """The book's ``ons_local`` section (from the file ``data`` names), checked."""
    path = Path(cfg.data)
    if path.suffix not in (".yml", ".yaml") or not path.is_file():
        raise OnsLocalError(
            f"book {cfg.name!r}: with loader 'ons_local', 'data' must name the "
            f"book's own YAML file, got {path}"
        )
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    opts = raw.get("ons_local")
    if not isinstance(opts, dict) or "authority" not in opts:
        raise OnsLocalError(
            f"{path}: 'ons_local: authority' must name an upper-tier local "
            "authority code (E10…, E06…, E08… or E09…)"
        )
    code = str(opts["authority"]).strip()
    if not UPPER_TIER.match(code):
        raise OnsLocalError(
            f"{path}: 'ons_local: authority' is {code!r}; expected the ONS code "
            "of an upper-tier authority: a county (E10) or unitary authority "
            "(E06, E08, E09)"
        )
    region = str(opts.get("region") or REGION_OF_COUNTY.get(code, "")).strip()
    if not REGION.match(region):
        raise OnsLocalError(
            f"{path}: 'ons_local: region' must give the region (E12…) of "
            f"{code}; it is known without it for the two-tier counties only"
        )
    return {"authority": code, "region": region}


def dataset_paths(cfg) -> dict[str, Path]:
    """The book's input files by dataset name (located and checksum-verified by the source
    registry)."""
    return {name: sources.locate(key) for name, key in DATASETS.items()}


# --- periods ---------------------------------------------------------------------------------

_INTERVAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T00:00:00/P(\d+)Y$")
_YEAR = re.compile(r"^\d{4}$")


def period_label(text: str) -> str:
    """The publisher's label of an ELS period: ``2021-01-01T00:00:00/P3Y`` -> ``2021-23``,
    ``2015-11-16T00:00:00/P1Y`` -> ``2015/16``, ``2023-01-01T00:00:00/P1Y`` or ``2023`` ->
    ``2023``.  Raises ValueError for anything else."""
    text = str(text).strip()
    if _YEAR.match(text):
        return text
    m = _INTERVAL.match(text)
    if not m:
        raise ValueError(
            f"period {text!r} is neither a year nor an ISO 8601 interval YYYY-MM-DDT00:00:00/PnY"
        )
    year, month, years = int(m[1]), int(m[2]), int(m[4])
    if years < 1:
        raise ValueError(f"period {text!r}: the interval must be at least one year")
    if years == 1:
        return str(year) if month == 1 else f"{year}/{(year + 1) % 100:02d}"
    return f"{year}-{(year + years - 1) % 100:02d}"


# --- reading ---------------------------------------------------------------------------------


def _read(
    path: Path, required: tuple[str, ...], key: tuple[str, ...], code: str, code_pattern: re.Pattern
) -> pd.DataFrame:
    """A CSV (BOM allowed, gzipped or not) with every cell as text; headers lower-cased with
    spaces as underscores; the index is the file line (header = line 1).  Refuses, naming
    file, line and column: a missing column, a blank key, an area code not of the form
    ``code_pattern`` and a key given twice."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    original = {re.sub(r"\W+", "_", c.strip().lower()).strip("_"): c for c in df.columns}
    df.columns = list(original)
    df.attrs["columns"] = original
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise OnsLocalError(
            f"{path}, line 1 (header): missing column(s) {missing} (found "
            f"{list(original.values())})"
        )
    df.index = df.index + 2
    for col in key:
        blank = df[col].str.strip() == ""
        if blank.any():
            raise OnsLocalError(
                f"{path}, line {int(blank.idxmax())}, column {original[col]!r}: blank key"
            )
    bad = ~df[code].str.strip().str.match(code_pattern)
    if bad.any():
        line = int(bad.idxmax())
        raise OnsLocalError(
            f"{path}, line {line}, column {original[code]!r}: unknown area "
            f"code {df.loc[line, code]!r} (expected {code_pattern.pattern})"
        )
    dup = df.duplicated(list(key), keep=False)
    if dup.any():
        lines = [int(i) for i in df.index[dup][:2]]
        raise OnsLocalError(
            f"{path}, lines {lines[0]} and {lines[1]}: the key "
            f"{[original[c] for c in key]} is given twice"
        )
    return df


def _numbers(df: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """``column`` as numbers (empty -> NaN); text raises naming file, line and column."""
    raw = df[column].str.strip()
    out = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = out.isna() & (raw != "")
    if bad.any():
        line = int(bad.idxmax())
        name = df.attrs.get("columns", {}).get(column, column)
        raise OnsLocalError(f"{path}, line {line}, column {name!r}: {raw[line]!r} is not a number")
    return out


#: Area codes of the ONS series (GSS codes of the entity types they publish: England E92,
#: regions E12, counties E10, unitary / metropolitan / London / district authorities E06-E09,
#: combined authorities E47 and E67, UK K02-K04, and Scotland, Wales and Northern Ireland's
#: areas) and of the Health Index (English lower-tier authorities).
GSS = re.compile(
    r"^(?:E0[6-9]|E1[02]|E47|E67|E92|K0[2-4]|N09|N92|S12|S92|W06|W11|W92)"
    r"[0-9]{6}$"
)
LTLA = re.compile(r"^E0[6-9][0-9]{6}$")
_ELS_COLUMNS = (
    "areacd",
    "areanm",
    "geography",
    "indicator",
    "period",
    "lower_confidence_interval_95",
    "upper_confidence_interval_95",
    "observation_status",
)


def read_series(path: Path, dataset: str) -> pd.DataFrame:
    """One local statistics file as rows of the model (published values with their 95%
    limits), area name and geography kept for the area table."""
    spec = SERIES[dataset]
    value_col = "value" if dataset in ("els_ncmp_reception", "els_ncmp_year6") else "observation"
    polarity = () if dataset == "els_healthy_life_expectancy" else ("polarity",)
    df = _read(
        path,
        (*_ELS_COLUMNS, value_col, *polarity),
        ("areacd", "indicator", "period"),
        "areacd",
        GSS,
    )
    lower, upper = "lower_confidence_interval_95", "upper_confidence_interval_95"
    try:
        periods = df["period"].map(period_label)
    except ValueError as exc:
        bad = next(i for i, p in df["period"].items() if not _period_ok(p))
        raise OnsLocalError(
            f"{path}, line {bad}, column {df.attrs['columns']['period']!r}: {exc}"
        ) from None
    out = pd.DataFrame(
        {
            "area_code": df["areacd"].str.strip(),
            "area_name": df["areanm"].str.strip(),
            "geography": df["geography"],
            "period": periods,
            "value": _numbers(df, value_col, path),
            "lower_95": _numbers(df, lower, path),
            "upper_95": _numbers(df, upper, path),
            "value_note": df["observation_status"].map(_status_note),
        }
    )
    if dataset == "els_healthy_life_expectancy":
        sex = df["indicator"].str.split().str[0]
        out["sex"] = sex
        out["indicator_id"] = spec["id"] + "_" + sex.str[0]
        out["polarity"] = "high_is_good"
    else:
        out["sex"] = "Persons"
        out["indicator_id"] = spec["id"]
        out["polarity"] = (
            df["polarity"].map({"1": "high_is_good", "-1": "low_is_good"}).fillna("no_judgement")
        )
    out["name"] = df["indicator"]
    out["age"] = spec["age"]
    return out


def _period_ok(text: str) -> bool:
    try:
        period_label(text)
        return True
    except ValueError:
        return False


#: ONS observation status codes in words.
STATUS = {
    "x": "Not available (x): not published by ONS",
    "u": "Low reliability (u): ONS marks this estimate unreliable",
    "c": "Confidential (c): suppressed by the publisher",
}


def _status_note(code: str) -> str:
    code = str(code).strip()
    return STATUS.get(code, code)


def read_health_index(indicators: Path, scores: Path) -> pd.DataFrame:
    """The Health Index's underlying indicators (each in its source's own measure) and its
    scores (England 2015 = 100) as rows of the model (values, no limits)."""
    ind = _read(
        indicators,
        ("ltla21_code", "year", "indicator", "value"),
        ("ltla21_code", "year", "indicator"),
        "ltla21_code",
        LTLA,
    )
    a = pd.DataFrame(
        {
            "area_code": ind["ltla21_code"].str.strip(),
            "period": ind["year"].str.strip(),
            "name": "Health Index: " + ind["indicator"],
            "value": _numbers(ind, "value", indicators),
            "kind": "indicator",
        }
    )
    sc = _read(
        scores,
        ("ltla21_code", "year", *HEALTH_INDEX_SCORES),
        ("ltla21_code", "year"),
        "ltla21_code",
        LTLA,
    )
    frames = [a]
    for col, name in HEALTH_INDEX_SCORES.items():
        frames.append(
            pd.DataFrame(
                {
                    "area_code": sc["ltla21_code"].str.strip(),
                    "period": sc["year"].str.strip(),
                    "name": name,
                    "value": _numbers(sc, col, scores),
                    "kind": "score",
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["indicator_id"] = "HI_" + out["name"].str.removeprefix(
        "Health Index: "
    ).str.upper().str.replace(r"[^A-Z0-9]+", "_", regex=True).str.strip("_")
    return out


# --- areas -----------------------------------------------------------------------------------


def districts_of(authority: str) -> pd.DataFrame:
    """The districts (code, name) of a county: the May 2024 districts whose label point lies
    inside the county's December 2023 boundary
    (:func:`nhsbook.io.lsoa21_attributes.read_upper_tier`); empty for a unitary authority."""
    if not authority.startswith("E10"):
        return pd.DataFrame({"area_code": [], "area_name": []}, dtype=str)
    table = upper_tier_table()
    if authority not in set(table["utla_code"]):
        raise OnsLocalError(
            f"{sources_path('ctyua_dec2023_boundaries')}: no county {authority} "
            "(property CTYUA23CD)"
        )
    mine = table[table["utla_code"] == authority]
    return pd.DataFrame(
        {"area_code": mine["ltla24_code"].to_numpy(), "area_name": mine["ltla24_name"].to_numpy()}
    ).sort_values("area_name")


def sources_path(key: str) -> Path:
    return Path(sources.locate(key))


def upper_tier_table() -> pd.DataFrame:
    """England's districts of May 2024 with their upper-tier authority (December 2023), from
    the ONS boundaries of the source registry (``lad_may2024_boundaries``,
    ``ctyua_dec2023_boundaries``)."""
    return read_upper_tier(
        sources_path("lad_may2024_boundaries"), sources_path("ctyua_dec2023_boundaries")
    )


def area_table(
    authority: str, region: str, districts: pd.DataFrame, names: dict[str, str]
) -> pd.DataFrame:
    """England -> region -> authority -> districts; the authority is compared with its region
    (and England on its page), the region and the districts with England, as the national
    profiles compare districts."""
    for code in (authority, region):
        if code not in names:
            raise OnsLocalError(
                f"area {code} has no row in the local statistics files "
                f"(e.g. {DATASETS['els_cigarette_smokers']})"
            )
    kind = "county" if authority.startswith("E10") else "utla"
    rows = [
        (ENGLAND, names.get(ENGLAND, "England"), "england", "", ""),
        (region, names[region], "region", ENGLAND, ENGLAND),
        (authority, names[authority], kind, region, region),
    ]
    rows += [
        (c, n, "district", authority, ENGLAND)
        for c, n in zip(districts["area_code"], districts["area_name"])
    ]
    areas = pd.DataFrame(rows, columns=list(AREA_COLUMNS))
    areas["list_size"] = np.nan
    areas["n_lsoas"] = np.nan
    areas["population_note"] = (
        "No age-sex population: the ONS local series carry rates and percentages only."
    )
    return areas


# --- metadata --------------------------------------------------------------------------------


def metadata(
    series: pd.DataFrame,
    health_index: pd.DataFrame,
    paths: dict[str, Path],
    periods: dict[str, str],
) -> pd.DataFrame:
    """One metadata row per indicator, with the definitions columns
    (:data:`nhsbook.pages.definitions.FIELDS`)."""
    reg = sources.load_registry()
    rows = []
    for dataset, spec in SERIES.items():
        src = reg[DATASETS[dataset]]
        sub = series[series["dataset"] == dataset]
        for ind, g in sub.groupby("indicator_id"):
            sex = str(g["sex"].iloc[0])
            rows.append(
                dict(
                    indicator_id=ind,
                    name=str(g["name"].iloc[0]),
                    domain=spec["domain"],
                    profile=spec["profile"],
                    unit=spec["unit"],
                    multiplier=spec["multiplier"],
                    polarity=str(g["polarity"].iloc[0]),
                    method=spec["method"],
                    period=periods[ind],
                    sex=sex,
                    age=spec["age"],
                    source=src.title,
                    definition=spec["definition"],
                    numerator=spec["numerator"],
                    denominator=spec["denominator"],
                    method_note="Value and 95% confidence limits as published by ONS; nhsbook "
                    "computes neither. Significance against a comparator: the "
                    "comparator's value outside the area's published 95% limits.",
                    polarity_reason=(
                        "ONS polarity column"
                        if dataset != "els_healthy_life_expectancy"
                        else "longer healthy life is better (the file has no polarity column)"
                    ),
                    vintage=f"{src.vintage}; file {Path(paths[dataset]).name}",
                    licence=src.licence,
                    publisher=src.publisher,
                )
            )
    src = reg[DATASETS["ons_health_index_indicators"]]
    for ind, g in health_index.groupby("indicator_id", sort=False):
        label = str(g["name"].iloc[0]).removeprefix("Health Index: ")
        score = str(g["kind"].iloc[0]) == "score"
        common = dict(
            indicator_id=ind,
            name=str(g["name"].iloc[0]),
            domain="Health Index",
            profile="health_index",
            multiplier=1,
            method="score",
            period=periods[ind],
            sex="Persons",
            age="All ages",
            source=src.title,
            vintage=f"{src.vintage}; files "
            f"{Path(paths['ons_health_index_indicators']).name}, "
            f"{Path(paths['ons_health_index_scores']).name}",
            licence=src.licence,
            publisher=src.publisher,
        )
        if score:
            rows.append(
                dict(
                    common,
                    unit="index (England 2015 = 100)",
                    polarity="high_is_good",
                    definition=f"ONS Health Index, {label}: a weighted combination of "
                    "the underlying indicators, scaled so that England in "
                    "2015 is 100; higher is healthier.",
                    numerator="Not applicable (an index)",
                    denominator="Not applicable (an index)",
                    method_note="Index as published by ONS (no confidence limits: not "
                    "compared for significance).",
                    polarity_reason="ONS: a higher Health Index means better health",
                )
            )
        else:
            rows.append(
                dict(
                    common,
                    unit="the source indicator's own measure",
                    polarity="no_judgement",
                    definition=f"ONS Health Index underlying indicator '{label}', in "
                    "its source's own measure (a percentage, a rate per "
                    "100,000, a distance or a survey score), as ONS "
                    "published it before building the index.",
                    numerator="Not published in this file",
                    denominator="Not published in this file",
                    method_note="Value as published by ONS (no confidence limits: not "
                    "compared for significance). ONS carries a value "
                    "forward where its source is not annual.",
                    polarity_reason="the file states no direction (ONS applies one "
                    "when it builds the index), so none is judged "
                    "here",
                )
            )
    return pd.DataFrame(rows)


# --- the book --------------------------------------------------------------------------------


def england_rows(paths: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every area's published rows: the local statistics series (with their dataset) and the
    Health Index, for all of England (the similar-10 values need the peers' rows too)."""
    series = pd.concat(
        [read_series(paths[d], d).assign(dataset=d) for d in SERIES], ignore_index=True
    )
    hi = read_health_index(paths["ons_health_index_indicators"], paths["ons_health_index_scores"])
    return series, hi


def load(cfg) -> Tables:
    """Read the book's inputs into the model's tables (see the module docstring)."""
    opts = options(cfg)
    paths = dataset_paths(cfg)
    series, hi = england_rows(paths)
    names = dict(zip(series["area_code"], series["area_name"]))
    districts = districts_of(opts["authority"])
    areas = area_table(opts["authority"], opts["region"], districts, names)
    codes = set(areas["area_code"])
    series = series[series["area_code"].isin(codes)]
    hi = hi[hi["area_code"].isin(codes)]
    both = pd.concat([series, hi], ignore_index=True)
    periods = both.groupby("indicator_id")["period"].max().to_dict()
    meta = metadata(series, hi, paths, periods)
    values = both.assign(
        area_type=both["area_code"].map(dict(zip(areas["area_code"], areas["area_type"])))
    )
    values["sex"] = values["sex"].fillna("Persons")
    values["age"] = values["indicator_id"].map(meta.set_index("indicator_id")["age"])
    values["value_note"] = values["value_note"].fillna("")
    area_table_ = coerce(areas, AREA_COLUMNS)
    for extra in ("list_size", "n_lsoas", "population_note"):
        area_table_[extra] = areas[extra].to_numpy()
    area_table_["synthetic"] = bool(cfg.synthetic)
    full_meta = coerce(meta, METADATA_COLUMNS)
    full_meta["reference_value"] = np.nan
    for extra in EXTRA_METADATA:
        full_meta[extra] = meta[extra].astype(str).to_numpy()
    return Tables(
        metadata=full_meta,
        areas=area_table_,
        values=empty_frame(VALUE_COLUMNS),
        age_counts=empty_frame(AGE_COUNT_COLUMNS),
        population=empty_frame(POPULATION_COLUMNS),
        published=coerce(values, VALUE_COLUMNS),
    )


#: Metadata columns beyond the model's that this loader fills (the definitions page reads them).
EXTRA_METADATA = (
    "definition",
    "numerator",
    "denominator",
    "method_note",
    "polarity_reason",
    "vintage",
    "licence",
    "publisher",
)


def sources_markdown(cfg) -> list[str]:
    """The Data sources chapter's section for an ``ons_local`` book."""
    reg = sources.load_registry()
    opts = options(cfg)
    rows = [
        f"| `{name}` | `{SUITES[name]}` | {esc(reg[key].title)} | {esc(reg[key].vintage)} |"
        for name, key in DATASETS.items()
    ]
    return [
        "## The ONS local series",
        "",
        f"This book covers the upper-tier local authority `{opts['authority']}`, its region "
        f"`{opts['region']}` and England, and (for a county) its districts: the ONS May 2024 "
        "districts whose label point lies inside the county's December 2023 boundary "
        "(registry entries `ctyua_dec2023_boundaries`, `lad_may2024_boundaries`).",
        "",
        "Every figure is **published** by ONS: nhsbook computes no value and no confidence "
        "limit. An area is significantly better or worse than its comparator when the "
        "comparator's value lies outside the area's *published* 95% limits. The Health Index "
        "has no limits, so its values are not compared. Recent trends use the published "
        "limits (weighted least squares on the latest five periods, nhsbook.stats."
        "recent_trend), since no counts are published. Each file is read through the source "
        "registry and validated by its Great Expectations suite before use:",
        "",
        "| Dataset | Validation suite | Source | Vintage |",
        "|---|---|---|---|",
        *rows,
        "",
        "Periods given as ISO 8601 intervals are shown as the publishers label them: "
        "`2021-01-01T00:00:00/P3Y` is 2021-23, `2015-11-16T00:00:00/P1Y` is 2015/16. "
        "Healthy life expectancy is published for upper-tier authorities only, so districts "
        "have none; the Health Index is published for districts only, so the county has "
        "none. No figure is synthetic.",
        "",
    ]
