"""The ``fingertips`` loader: a book from an analyst's own Fingertips CSV exports.

A book names its exports (registry keys of ``data/sources.yml``, files, or folders of
``*.csv`` / ``*.csv.gz`` exports) and its area in its own YAML file::

    loader: fingertips
    data: books/fingertips-15m.yml
    fingertips:
      exports: [fingertips_91547_smoking_qof, fingertips_93930_ae_0_4_gp_pcn]
      area: 15M              # a sub-ICB location (ODS 15M or ONS E38…) or an ICB (QJ2, E54…)
      area_types: [ccg, pcn, practice]   # optional: the area types that get pages
      indicators:            # optional, per indicator ID: what the export cannot say
        "91547": {definition: "…", polarity: low_is_good}

Every export is read by :func:`nhsbook.io.fingertips.read` (the layout as published:
``Time period range``, ``Column not used`` or any benchmark column; a malformed file is
refused naming file, line and column) after its Great Expectations suite
(``expectations/fingertips.json``) passed in the build's gate.

Areas
    Fingertips exports carry a parent per row, but not the practice → PCN → sub-ICB location
    tree of a place (91547's GP rows name England or nothing as parent; 93930's PCNs name
    England).  The tree comes from the NHS England practice map (registry
    ``gp_reg_practice_map_jul2026``): England → NHS region → ICB (type ``stp``) → sub-ICB
    locations (``ccg``) → PCNs → practices, as in the opendata ICB mode
    (:func:`nhsbook.io.opendata_icb.hierarchy`).  Comparators: practices and PCNs against
    their sub-ICB location, the rest against England; every page also compares with England.

Codes
    Fingertips prefixes the codes of areas new in a period with ``n`` (``nE38000261`` for
    sub-ICB location 15M in 2022/23, ``nE54000058`` for the ICB): these are read as the code
    without the prefix.  Older codes (``E38000229``, NHS Derby and Derbyshire CCG 2019/20–
    2020/21, which did not include Glossop) are other areas and are not joined to their
    successor.

Values (:func:`compute`)
    The export's own value, 95% and 99.8% limits are used as published.  Computed only where
    the export has no figure: an area of the tree with no row for an indicator and period
    gets the sum of the counts and denominators of the export's practices the map puts in it
    (England: every practice of the export), and a row with count and denominator but no
    limits gets them by the indicator's method (Wilson for proportions, Byar's / exact
    Poisson for rates); such rows say so in ``value_note``.  Significance against the
    comparator and against England, at 95% and at 99.8%, by :func:`nhsbook.stats.compare`
    (the comparator inside the limits: Similar).

Indicator metadata
    A Fingertips export has no unit, multiplier, method or polarity column; they are read from
    the export itself (:func:`infer_metadata`): the multiplier is the power of ten relating
    ``Value`` to ``Count / Denominator``; a multiplier of 100 with no count above its
    denominator is a proportion (``%``), otherwise a crude rate (``per <multiplier>``); the
    polarity follows the export's own ``Compared to England`` labels (``Worse`` above
    England: low is good; ``Better`` above: high is good; only ``Higher``/``Lower``: no
    judgement).  The book's ``indicators:`` section overrides any of them and adds the
    definition, numerator and denominator wording.  Source, publisher page, licence and
    vintage come from the registry entry of the export.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.config import sources
from nhsbook.config.book import ALLOWED, _allowed_roots
from nhsbook.core import escape
from nhsbook.core.model import (
    AGE_COUNT_COLUMNS,
    AREA_COLUMNS,
    METADATA_COLUMNS,
    POPULATION_COLUMNS,
    Tables,
    coerce,
    empty_frame,
)
from nhsbook.core.safepath import check_path
from nhsbook.io import current, fingertips
from nhsbook.io.opendata import book_file
from nhsbook.io.opendata_icb import ENGLAND, IcbSelectionError, hierarchy, select

OPTION_KEYS = ("exports", "area", "area_types", "indicators", "profile", "map")
#: Dataset name prefix of the exports (validated by the ``fingertips`` suite).
EXPORT_PREFIX = "fingertips_export_"
MAP_KEY = "gp_reg_practice_map_jul2026"
#: Fingertips area types -> the model's, for the rows the book keeps.
AREA_TYPES = {"GPs": "practice", "England": "england"}
#: Book options for an indicator (``fingertips: indicators: <id>:``).
INDICATOR_KEYS = (
    "name",
    "definition",
    "numerator",
    "denominator",
    "unit",
    "multiplier",
    "method",
    "polarity",
    "domain",
    "rationale",
)
#: Extra metadata columns the loader fills (the Definitions page reads them).
DEFINITION_COLUMNS = (
    "definition",
    "numerator",
    "denominator",
    "periods",
    "publisher_url",
    "licence",
    "vintage",
    "polarity_reason",
    "method_reason",
)
NEW_CODE = re.compile(r"^n(E[0-9]{8})$")
COMPUTED_NOTE = (
    "Not published in the export for this area and period: the sum of the counts "
    "and denominators of its practices in the export (practices placed by the "
    "NHS England map of July 2026)"
)
LIMITS_NOTE = "Limits computed by nhsbook from the export's count and denominator"


class FingertipsBookError(ValueError):
    """The book's ``fingertips:`` section or its exports cannot make a book."""


# --- options and inputs --------------------------------------------------------------------


def options(cfg) -> dict:
    """The ``fingertips:`` section of the book file ``data:`` names, checked."""
    path, raw = book_file(
        cfg, "fingertips", FingertipsBookError, "'fingertips: exports: …' and 'area: …'"
    )
    opts = raw.get("fingertips")
    if not isinstance(opts, dict):
        raise FingertipsBookError(
            f"{path}: a 'fingertips:' section with 'exports' and 'area' is needed"
        )
    unknown = sorted(set(opts) - set(OPTION_KEYS))
    if unknown:
        raise FingertipsBookError(
            f"{path}: unknown 'fingertips:' option(s) {unknown}; expected {', '.join(OPTION_KEYS)}"
        )
    exports = opts.get("exports")
    if isinstance(exports, str):
        exports = [exports]
    if not exports or not isinstance(exports, list):
        raise FingertipsBookError(
            f"{path}: 'fingertips: exports' lists registry keys, files "
            "or folders of Fingertips CSV exports"
        )
    area = str(opts.get("area") or "").strip()
    if not area:
        raise FingertipsBookError(
            f"{path}: 'fingertips: area' gives the code of the book's "
            "sub-ICB location (e.g. 15M or E38000261) or ICB (QJ2)"
        )
    inds = opts.get("indicators") or {}
    if not isinstance(inds, dict):
        raise FingertipsBookError(
            f"{path}: 'fingertips: indicators' maps indicator IDs to {', '.join(INDICATOR_KEYS)}"
        )
    for ind, o in inds.items():
        bad = sorted(set(o or {}) - set(INDICATOR_KEYS)) if isinstance(o, dict) else ["?"]
        if bad:
            raise FingertipsBookError(
                f"{path}: 'fingertips: indicators: {ind}': unknown "
                f"key(s) {bad}; expected {', '.join(INDICATOR_KEYS)}"
            )
    return {
        "exports": [str(e) for e in exports],
        "area": area,
        "path": path,
        "indicators": {str(k): dict(v or {}) for k, v in inds.items()},
        "profile": str(opts.get("profile") or "fingertips"),
        "map": str(opts.get("map") or MAP_KEY),
    }


def export_files(cfg, opts: dict | None = None) -> dict[str, tuple[Path, str]]:
    """Each export as ``dataset name -> (file, registry key or "")``: registry keys are
    located (mirror or cache, checksum verified), folders list their ``*.csv``/``*.csv.gz``."""
    opts = opts or options(cfg)
    root = Path(cfg.root)
    registry = sources.load_registry()
    found: list[tuple[Path, str]] = []
    for item in opts["exports"]:
        if item in registry:
            found.append((sources.locate(item), item))
            continue
        path = check_path(
            item,
            "'fingertips: exports'",
            base=root,
            roots=_allowed_roots(root, opts["path"]),
            file=opts["path"],
            allowed=ALLOWED,
        )
        if path.is_dir():
            files = sorted([*path.glob("*.csv"), *path.glob("*.csv.gz")])
            if not files:
                raise FingertipsBookError(
                    f"{opts['path']}: 'fingertips: exports': folder "
                    f"{path} holds no .csv or .csv.gz file"
                )
            found += [(f, "") for f in files]
        elif path.is_file():
            found.append((path, ""))
        else:
            raise FingertipsBookError(
                f"{opts['path']}: 'fingertips: exports': {item!r} is neither a registry key "
                f"(data/sources.yml) nor an existing file or folder"
            )
    out: dict[str, tuple[Path, str]] = {}
    for path, key in found:
        stem = re.sub(
            r"[^a-z0-9]+", "_", path.name.lower().removesuffix(".gz").removesuffix(".csv")
        ).strip("_")
        name = EXPORT_PREFIX + stem
        if name in out and out[name][0] != path:
            name = f"{name}_{len(out)}"
        out[name] = (path, key)
    return out


def dataset_paths(cfg) -> dict[str, Path]:
    """Every input by dataset name: the exports and the practice map."""
    opts = options(cfg)
    paths = {name: p for name, (p, _) in export_files(cfg, opts).items()}
    paths["gp_practice_map"] = sources.locate(opts["map"])
    return paths


# --- reading -------------------------------------------------------------------------------


def normalise_code(code: pd.Series) -> pd.Series:
    """Fingertips' ``n``-prefixed codes of new areas (``nE38000261``) as the plain code."""
    return code.str.replace(NEW_CODE, r"\1", regex=True)


def read_exports(files: dict[str, tuple[Path, str]]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows of every export, one table: the model's value columns plus ``fingertips_type``
    (the export's area type), ``parent_code``, ``area_name``, ``indicator_name``,
    ``england_comparison``, ``recent_trend_published``, ``time_period_range``, ``file`` and
    ``line``; and the registry key of each indicator's export.

    Refused (:class:`~nhsbook.io.fingertips.FingertipsFormatError`, naming file and lines):
    a key (indicator, area, period, sex, age, category) given twice with different figures,
    within one export or across two.  Rows repeated with the same figures (91547 repeats its
    2015/16 rows and some 2021/22 county rows) are read once."""
    frames, keys = [], {}
    for path, key in files.values():
        exp = fingertips.read(path)
        v = exp.values.copy()
        d = exp.details
        v["area_code"] = normalise_code(v["area_code"])
        raw_parent = exp.areas.set_index("area_code")["parent_code"]
        v["fingertips_type"] = v["area_type"]
        v["indicator_name"] = d["indicator_name"].to_numpy()
        v["england_comparison"] = d["england_comparison"].to_numpy()
        v["recent_trend_published"] = d["recent_trend"].to_numpy()
        v["time_period_range"] = d["time_period_range"].to_numpy()
        v["file"] = str(path)
        v["line"] = d["line"].to_numpy()
        names = dict(zip(normalise_code(exp.areas["area_code"]), exp.areas["area_name"]))
        v["area_name"] = v["area_code"].map(names).fillna("")
        v["parent_code"] = normalise_code(v["area_code"].map(raw_parent).fillna(""))
        for ind in v["indicator_id"].unique():
            keys.setdefault(ind, key)
        frames.append(v)
    rows = pd.concat(frames, ignore_index=True)
    key = ["indicator_id", "area_code", "period", "sex", "age", "category_type", "category"]
    figures = ["value", "lower_95", "upper_95", "lower_998", "upper_998", "count", "denominator"]
    rows = rows.drop_duplicates(key + figures)
    # 91547 repeats England's 2015/16 row with Age "Not applicable" beside "15+ yrs": the
    # same figures under a placeholder age are one row (the real age kept)
    rows = rows.sort_values("age", key=lambda a: a.eq("Not applicable"), kind="stable")
    rows = rows.drop_duplicates([k for k in key if k != "age"] + figures).sort_index()
    dup = rows.duplicated(key, keep=False)
    if dup.any():
        first = rows[dup].sort_values(key).head(2)
        where = "; ".join(f"{r.file}: line {r.line}" for r in first.itertuples())
        raise fingertips.FingertipsFormatError(
            f"{where}: the key (Indicator ID, Area Code, Time period, Sex, Age, Category Type, "
            f"Category) = {tuple(first.iloc[0][key])} is given twice with different figures "
            f"({int(dup.sum())} rows in all): a Fingertips export has one row per key; export "
            "the data again or remove one of the rows"
        )
    return rows.reset_index(drop=True), keys


def infer_metadata(
    rows: pd.DataFrame,
    overrides: dict[str, dict],
    keys: dict[str, str],
    profile: str = "fingertips",
) -> pd.DataFrame:
    """One metadata row per indicator, read from the export's own figures (module docstring)
    with the book's ``indicators:`` overrides; the extra :data:`DEFINITION_COLUMNS` carry
    what the Definitions page shows."""
    registry = sources.load_registry()
    out = []
    for ind, g in rows.groupby("indicator_id", sort=True):
        o = overrides.get(ind, {})
        ok = g[g["count"].gt(0) & g["denominator"].gt(0) & g["value"].gt(0)]
        ratio = (ok["value"] / (ok["count"] / ok["denominator"])).median() if len(ok) else 100
        mult = float(10 ** round(math.log10(ratio))) if ratio and ratio > 0 else 1.0
        mult = float(o.get("multiplier", mult))
        bounded = not (ok["count"] > ok["denominator"]).any()
        if "method" in o:
            method, method_reason = str(o["method"]), "given by the book"
        elif mult == 100 and bounded:
            method, method_reason = (
                "proportion",
                ("Value = Count / Denominator × 100 in the export, no count above its denominator"),
            )
        else:
            method, method_reason = (
                "crude_rate",
                (f"Value = Count / Denominator × {mult:,.0f} in the export"),
            )
        unit = str(
            o.get("unit") or ("%" if mult == 100 and method == "proportion" else f"per {mult:,.0f}")
        )
        polarity, why = _polarity(rows, g)
        if "polarity" in o:
            polarity, why = str(o["polarity"]), "given by the book"
        plain = g[g["category_type"] == ""]
        main = plain if not plain.empty else g
        sexage = main.groupby(["sex", "age"]).size().sort_values(ascending=False).index[0]
        periods = sorted(g["period"].unique(), key=_period_key)
        src = registry.get(keys.get(ind, ""))
        name = str(o.get("name") or g["indicator_name"].iloc[0])
        out.append(
            {
                "indicator_id": ind,
                "name": name,
                "domain": str(o.get("domain") or "Fingertips"),
                "profile": profile,
                "unit": unit,
                "multiplier": mult,
                "polarity": polarity,
                "method": method,
                "period": periods[-1],
                "sex": sexage[0],
                "age": sexage[1],
                "source": (
                    f"OHID Fingertips indicator {ind} ({src.title})"
                    if src
                    else f"OHID Fingertips indicator {ind}, export {Path(g['file'].iloc[0]).name}"
                ),
                "definition": str(o.get("definition") or ""),
                "numerator": str(o.get("numerator") or "Count (the export's Count column)"),
                "denominator": str(
                    o.get("denominator") or "Denominator (the export's Denominator column)"
                ),
                "periods": f"{periods[0]} to {periods[-1]}" if len(periods) > 1 else periods[0],
                "publisher_url": src.publisher_url
                if src
                else f"https://fingertips.phe.org.uk/search/{ind}",
                "licence": src.licence if src else "OGL-3.0",
                "vintage": src.vintage if src else "",
                "polarity_reason": why,
                "method_reason": method_reason,
            }
        )
    meta = pd.DataFrame(out)
    base = coerce(meta, METADATA_COLUMNS)
    for c in DEFINITION_COLUMNS:
        base[c] = meta[c].astype(str).to_numpy()
    return base


def _period_key(period: str) -> tuple:
    digits = re.findall(r"[0-9]+", str(period))
    return (int(digits[0]) if digits else 0, str(period))


def _polarity(rows: pd.DataFrame, g: pd.DataFrame) -> tuple[str, str]:
    """Polarity from the export's ``Compared to England`` labels: a ``Worse`` (or ``Better``)
    row whose value is above England's in the same period, sex, age says low (high) is good."""
    labels = set(g["england_comparison"].str.strip())
    if not labels & {"Better", "Worse"}:
        return "no_judgement", (
            "the export compares it with England as Higher / Lower only"
            if labels & {"Higher", "Lower"}
            else "the export gives no judgement against England"
        )
    eng = g[g["area_code"] == ENGLAND[0]].drop_duplicates(
        ["period", "sex", "age", "category_type", "category"]
    )
    eng = eng.set_index(["period", "sex", "age", "category_type", "category"])["value"]
    judged = g[g["england_comparison"].isin(["Better", "Worse"])]
    ref = pd.Series(
        [eng.get((r.period, r.sex, r.age, "", ""), np.nan) for r in judged.itertuples()],
        index=judged.index,
    )
    above = judged["value"] > ref
    worse_above = int(
        (above & judged["england_comparison"].eq("Worse")).sum()
        + (~above & ref.notna() & judged["england_comparison"].eq("Better")).sum()
    )
    better_above = int(
        (above & judged["england_comparison"].eq("Better")).sum()
        + (~above & ref.notna() & judged["england_comparison"].eq("Worse")).sum()
    )
    if worse_above == better_above:
        return "no_judgement", "the export's Better / Worse labels do not show a direction"
    if worse_above > better_above:
        return "low_is_good", (
            f"the export labels values above England 'Worse' "
            f"({worse_above} of {worse_above + better_above} rows)"
        )
    return "high_is_good", (
        f"the export labels values above England 'Better' "
        f"({better_above} of {worse_above + better_above} rows)"
    )


# --- loading -------------------------------------------------------------------------------


def load(cfg) -> Tables:
    """The model's tables for the book's area (module docstring); the values are the export's
    rows of the areas of the tree, as published (:func:`compute` completes them)."""
    opts = options(cfg)
    files = export_files(cfg, opts)
    rows, keys = read_exports(files)
    map_path = sources.locate(opts["map"])
    m = current.read_practice_map(map_path)
    code = opts["area"].upper()
    sel = (
        {"icb_code": code}
        if (code.startswith("E54") or re.fullmatch(r"Q[A-Z0-9]{2}", code))
        else {"sub_icb_code": code}
    )
    try:
        mine, icb = select(m, sel, map_path)
    except IcbSelectionError as exc:
        raise FingertipsBookError(f"{opts['path']}: 'fingertips: area': {exc}") from None
    areas = hierarchy(m, mine, icb, pd.Series(dtype=float))
    areas["list_size"] = np.nan
    areas.loc[areas["area_type"] == "ccg", "population_note"] = ""
    meta = infer_metadata(rows, opts["indicators"], keys, opts["profile"])
    # the whole map, to place every practice of the export (for roll-ups of any area)
    rows = rows.assign(map_pcn=rows["area_code"].map(m.set_index("PRACTICE_CODE")["PCN_CODE"]))
    table = coerce(areas, AREA_COLUMNS)
    for extra in ("list_size", "n_lsoas", "population_note"):
        table[extra] = areas[extra].to_numpy()
    table["synthetic"] = False
    meta["reference_value"] = np.nan
    values = rows.copy()
    values["published_comparison"] = values["england_comparison"]
    return Tables(
        metadata=meta,
        areas=table,
        values=values,
        age_counts=empty_frame(AGE_COUNT_COLUMNS),
        population=empty_frame(POPULATION_COLUMNS),
        published=_map_frame(m),
    )


def _map_frame(m: pd.DataFrame) -> pd.DataFrame:
    """The practice map as a ``published`` frame: practice → PCN, sub-ICB, ICB, region (the
    roll-ups of :func:`compute` place the export's practices with it)."""
    return pd.DataFrame(
        {
            "practice": m["PRACTICE_CODE"],
            "pcn": m["PCN_CODE"],
            "ccg": m["ONS_SUB_ICB_LOCATION_CODE"],
            "stp": m["ONS_ICB_CODE"],
            "region": m["ONS_COMM_REGION_CODE"],
        }
    )


# --- computing -----------------------------------------------------------------------------


def sources_markdown(cfg) -> list[str]:
    """The Data sources chapter of a Fingertips book: each export and the practice map, with
    publisher, licence and checksum, and how the loader reads them."""
    opts = options(cfg)
    registry = sources.load_registry()
    lines = [
        "## Fingertips exports",
        "",
        "This book is built from Fingertips CSV exports, read as published (each passes "
        "the `fingertips_export` Great Expectations suite first (the `fingertips` suite without its Parent Name rule: the loader never reads Parent Name), see the Validation report):",
        "",
        "| Export | Source | Licence | sha256 |",
        "|---|---|---|---|",
    ]
    for name, (path, key) in export_files(cfg, opts).items():
        src = registry.get(key)
        what = (
            f"[{escape.markdown(src.title)}]({src.publisher_url})"
            if src
            else escape.markdown(path.name)
        )
        lic = escape.markdown(src.licence) if src else "see the export"
        lines.append(
            f"| `{escape.markdown_code(path.name)[1:-1]}` | {what} | {lic} | "
            f"`{sources.file_sha256(path)[:16]}…` |"
        )
    lines += [
        "",
        f"Areas: the sub-ICB location or ICB `{escape.markdown(opts['area'])}`, its "
        "primary care networks and practices as the NHS England practice map of July "
        "2026 (registry `gp_reg_practice_map_jul2026`) places them; England, the NHS "
        "region and the ICB above it.",
        "",
        "How the export is read: its own values and 95% / 99.8% limits are used as "
        "published. Where the export has no row for an area and period (91547 has no "
        "PCN rows, no 2023/24 rows above practices; 93930 has no sub-ICB rows) the "
        "area's value is the sum of the counts and denominators of its practices in the "
        "export, and where it has no limits they are computed by the indicator's method "
        "(Wilson for proportions, Byar's for rates); such rows say so in their value "
        "note. Codes Fingertips marks as new (`nE38000261`) are read without the `n`. "
        "Rows for predecessor areas (e.g. NHS Derby and Derbyshire CCG, E38000229, "
        "2019/20-2020/21, without Glossop) are other areas and are not joined to the "
        "sub-ICB location, so its trend starts with its own first period.",
        "",
        "Indicator metadata the export does not carry (unit, multiplier, method, "
        "polarity) are read from its figures and its own England comparisons; each "
        "indicator's reason is in the downloadable indicator table.",
        "",
    ]
    return lines


def worse_and_worsening(
    values: pd.DataFrame, metadata: pd.DataFrame, area_code: str, trends: pd.DataFrame
) -> pd.DataFrame:
    """Indicators of ``area_code`` significantly worse than England (95%) in their latest
    period *and* getting worse by the recent trend (:meth:`nhsbook.pages.area.AreaPage.trends`).

    Returns ``Indicator, Period, Value, England, Compared with England, Recent trend``
    (empty when none)."""
    cols = ["Indicator", "Period", "Value", "England", "Compared with England", "Recent trend"]
    if trends.empty:
        return pd.DataFrame(columns=cols)
    if "england_significance" not in values.columns:  # other books: their comparator
        values = values.assign(
            england_significance=values["significance"], england_value=values["comparator_value"]
        )
    rows = values[
        (values["area_code"] == area_code)
        & values["category_type"].eq("")
        & values["value"].notna()
    ]
    rows = rows[~rows.get("suppressed", pd.Series(False, index=rows.index)).astype(bool)]
    latest = (
        rows.sort_values("period", key=lambda s: s.map(_period_key)).groupby("indicator_id").tail(1)
    )
    trend = trends.drop_duplicates("indicator_id").set_index("indicator_id")["trend"]
    latest = latest.assign(trend=latest["indicator_id"].map(trend).fillna(""))
    hit = latest[
        latest["england_significance"].isin(["Worse", "Worst"])
        & latest["trend"].str.endswith("getting worse")
    ]
    names = metadata.set_index("indicator_id")["name"]
    return pd.DataFrame(
        {
            "Indicator": hit["indicator_id"].map(names),
            "Period": hit["period"],
            "Value": hit["value"],
            "England": hit["england_value"],
            "Compared with England": hit["england_significance"],
            "Recent trend": hit["trend"],
        }
    ).reset_index(drop=True)


def significance_table(
    values: pd.DataFrame, metadata: pd.DataFrame, area_code: str, comparator_name: str
) -> pd.DataFrame:
    """The area's latest value of each indicator against its comparator and England, at 95%
    and 99.8% as Fingertips compares (empty for a book without these columns)."""
    if "significance_998" not in values.columns:
        return pd.DataFrame()
    rows = values[(values["area_code"] == area_code) & values["category_type"].eq("")]
    rows = (
        rows.sort_values("period", key=lambda s: s.map(_period_key)).groupby("indicator_id").tail(1)
    )
    names = metadata.set_index("indicator_id")["name"]
    columns = {
        "Indicator": rows["indicator_id"].map(names),
        "Period": rows["period"],
        "Value": rows["value"],
        "Lower 95% CI": rows["lower_95"],
        "Upper 95% CI": rows["upper_95"],
        "Lower 99.8% CI": rows["lower_998"],
        "Upper 99.8% CI": rows["upper_998"],
    }
    if not rows["comparator_code"].eq(ENGLAND[0]).all():  # else compared with England below
        columns |= {
            comparator_name: rows["comparator_value"],
            f"vs {comparator_name} (95%)": rows["significance"],
            f"vs {comparator_name} (99.8%)": rows["significance_998"],
        }
    columns |= {
        "England": rows["england_value"],
        "vs England (95%)": rows["england_significance"],
        "vs England (99.8%)": rows["england_significance_998"],
    }
    out = pd.DataFrame(columns)
    if "suppressed" in rows.columns:
        sup = rows["suppressed"].astype(bool).to_numpy()
        out.loc[
            sup, ["Value", "Lower 95% CI", "Upper 95% CI", "Lower 99.8% CI", "Upper 99.8% CI"]
        ] = np.nan
    return out.reset_index(drop=True)


def category_table(values: pd.DataFrame, metadata: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """The area's inequality breakdowns (``Category Type`` / ``Category`` rows of the
    exports), latest period of each indicator and category type, each category against the
    area's overall value (95%) as Fingertips' inequalities view does."""
    rows = values[(values["area_code"] == area_code) & values["category_type"].ne("")]
    if rows.empty:
        return pd.DataFrame()
    latest = rows.groupby(["indicator_id", "category_type"])["period"].transform(
        lambda s: max(s, key=_period_key)
    )
    rows = rows[rows["period"] == latest]
    if "suppressed" in rows.columns:
        rows = rows[~rows["suppressed"].astype(bool)]
    names = metadata.set_index("indicator_id")["name"]
    return pd.DataFrame(
        {
            "Indicator": rows["indicator_id"].map(names),
            "Period": rows["period"],
            "Sex": rows["sex"],
            "Age": rows["age"],
            "Category type": rows["category_type"],
            "Category": rows["category"],
            "Value": rows["value"],
            "Lower 95% CI": rows["lower_95"],
            "Upper 95% CI": rows["upper_95"],
            "Overall": rows["england_value"] if area_code == ENGLAND[0] else np.nan,
            "Compared with overall": rows["england_significance"]
            if area_code == ENGLAND[0]
            else "",
        }
    ).reset_index(drop=True)
