"""Performance against targets: ratings with RAG status, year-on-year change, SOP targets and
trajectories.

Inputs (``data/default/performance/``, transcribed from seed ``001_cdf91f15abb1e217.txt``,
every row citing its line): the Annual Health Check ratings (Table 6), the existing
commitments and national priorities by year and PCT (Tables 7 and 8), the seed's text
summaries of those tables, the Vital Signs year-on-year counts by tier (lines 1106–1124) and
the Strategic & Operating Plan (SOP) targets for 2011/12 (Tables 9 and 10).

The seed publishes **no results against the SOP targets and no monthly figures**: the pages
show the targets, and RAG statuses only where results exist.  Monthly results can be added in
``performance/sop_actuals.csv`` (columns ``org_code, ref, measure, period, month, actual``,
validated by ``expectations/performance_sop_actuals.json`` when present); nothing is invented.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.analysis.finance import YEAR_MONTHS, _read, documented_differences
from nhsbook.config.book import load_book
from nhsbook.core.textfile import to_number
from nhsbook.io.catalogue import ACTUALS_FILE, PERFORMANCE_FILES

#: Dataset name -> file under the book's data folder (registered in ``io.embedded.DATASETS``).
FILES: dict[str, str] = PERFORMANCE_FILES  # the catalogue (nhsbook.io.catalogue)
#: Optional monthly results against the SOP targets (not in the seed).

#: Healthcare Commission ratings (Tables 7 and 8) -> RAG.  ``N/A`` (not assessed) and
#: ``SATISFACTORY`` (experience of patients, scored on a different scale) are not RAG-rated.
RATING_RAG: dict[str, str] = {
    "ACHIEVED": "Green",
    "UNDER ACHIEVED": "Amber",
    "FAIL": "Red",
    "N/A": "Grey",
    "SATISFACTORY": "Grey",
}
#: Order of the ratings for year-on-year change (higher is better).
RATING_ORDER: dict[str, int] = {"FAIL": 0, "UNDER ACHIEVED": 1, "ACHIEVED": 2}
TABLE_NAMES = {
    "existing_commitments": "Existing commitments",
    "national_priorities": "National priorities",
}


@dataclass
class Performance:
    """A book's performance tables."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    actuals: pd.DataFrame | None = None

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def load(book: str = "default") -> Performance:
    """Read the performance tables of ``book`` (its data folder's ``performance/``)."""
    return load_dir(load_book(book).data)


def load_dir(data_dir: Path) -> Performance:
    """Read the performance tables, and the optional monthly results.  In a build the gate
    has validated every file (``performance_sop_actuals`` among the book's datasets when the
    file exists, :func:`nhsbook.io.embedded.dataset_paths`); read on its own, a results file
    is still refused if a month is not 1-12 or a result not a number
    (:func:`read_actuals`)."""
    data_dir = Path(data_dir)
    tables = {name: _read(data_dir / rel) for name, rel in FILES.items()}
    path = data_dir / ACTUALS_FILE
    return Performance(tables=tables, actuals=read_actuals(path) if path.is_file() else None)


#: Columns of the optional monthly results.
ACTUALS_COLUMNS = ("org_code", "ref", "measure", "period", "month", "actual")


def read_actuals(path: Path) -> pd.DataFrame:
    """The monthly results (``performance/sop_actuals.csv``): ValueError naming the file,
    line and column for a missing column, a blank cell, a month that is not a whole number
    from 1 to 12, a result that is not a number, or a result given twice for the same
    organisation, indicator, period and month (the rules of
    ``expectations/performance_sop_actuals.json``)."""
    frame = _read(path)
    missing = [c for c in ACTUALS_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: line 1: no column {', '.join(map(repr, missing))}; "
            f"expected {', '.join(ACTUALS_COLUMNS)}"
        )
    lines = pd.Series(range(2, len(frame) + 2), index=frame.index)

    def refuse(mask: pd.Series, column: str, expected: str) -> None:
        if mask.any():
            i = mask[mask].index[0]
            raise ValueError(
                f"{path}: line {int(lines[i])}, column {column!r}: expected "
                f"{expected}, found {frame.loc[i, column]!r}"
            )

    for col in ("org_code", "ref", "measure", "period"):
        refuse(frame[col].astype(str).str.strip().eq(""), col, "a value")
    month = pd.to_numeric(frame["month"], errors="coerce")
    refuse(
        month.isna() | (month % 1 != 0) | ~month.between(1, 12),
        "month",
        "a month number from 1 to 12",
    )
    refuse(pd.to_numeric(frame["actual"], errors="coerce").isna(), "actual", "a number")
    refuse(
        frame.duplicated(["org_code", "ref", "measure", "period", "month"]),
        "month",
        "one result per organisation, indicator, period and month",
    )
    return frame


# --- ratings -----------------------------------------------------------------------------------


def ratings_table(ratings: pd.DataFrame, table: str, org_codes: Sequence[str]) -> pd.DataFrame:
    """One of Tables 7/8 as printed (indicator × year × organisation), for ``org_codes``,
    with each cell's RAG alongside in ``<year> <org> RAG`` columns."""
    sel = ratings[(ratings["table"] == table) & ratings["org_code"].isin(org_codes)]
    if sel.empty:
        return pd.DataFrame()
    sel = sel.assign(column=sel["year"] + " " + sel["org_code"])
    order = list(dict.fromkeys(sel["column"]))
    wide = sel.pivot_table(
        index="indicator", columns="column", values="rating", aggfunc="first", sort=False
    )[order]
    return wide.reset_index()


def rag_of(rating: str) -> str:
    """The RAG status of a Healthcare Commission rating (:data:`RATING_RAG`)."""
    if rating not in RATING_RAG:
        raise ValueError(f"unknown rating {rating!r}: expected one of {sorted(RATING_RAG)}")
    return RATING_RAG[rating]


def rating_counts(ratings: pd.DataFrame) -> pd.DataFrame:
    """Counts of each rating by table, year and organisation (``achieved``,
    ``under_achieved``, ``failed``, ``not_applicable``, ``satisfactory``)."""
    names = {
        "ACHIEVED": "achieved",
        "UNDER ACHIEVED": "under_achieved",
        "FAIL": "failed",
        "N/A": "not_applicable",
        "SATISFACTORY": "satisfactory",
    }
    out = ratings.assign(r=ratings["rating"].map(names)).pivot_table(
        index=["table", "year", "org_code"],
        columns="r",
        values="indicator",
        aggfunc="count",
        fill_value=0,
    )
    for col in names.values():
        if col not in out.columns:
            out[col] = 0
    return out[list(names.values())].reset_index()


def year_on_year(ratings: pd.DataFrame, before: str, after: str) -> pd.DataFrame:
    """Change of each indicator's rating between two years, per table and organisation:
    ``Improved`` (rating rose on FAIL < UNDER ACHIEVED < ACHIEVED), ``Declined``, ``Unchanged``,
    or ``Not comparable`` (not rated on that scale in one of the years)."""
    a = ratings[ratings["year"] == before].set_index(["table", "indicator", "org_code"])["rating"]
    b = ratings[ratings["year"] == after].set_index(["table", "indicator", "org_code"])["rating"]
    both = pd.concat([a.rename("before"), b.rename("after")], axis=1).reset_index()

    def change(x: str, y: str) -> str:
        if x not in RATING_ORDER or y not in RATING_ORDER:
            return "Not comparable"
        d = RATING_ORDER[y] - RATING_ORDER[x]
        return "Improved" if d > 0 else "Declined" if d < 0 else "Unchanged"

    both["change"] = [change(x, y) for x, y in zip(both["before"], both["after"])]
    return both


def change_counts(changes: pd.DataFrame, tier: str = "table") -> pd.DataFrame:
    """Improved / declined / unchanged counts by tier and organisation, with the number of
    comparable indicators (those rated in both years)."""
    comp = changes[changes["change"] != "Not comparable"]
    out = comp.pivot_table(
        index=[tier, "org_code"],
        columns="change",
        values="indicator",
        aggfunc="count",
        fill_value=0,
    )
    for col in ("Improved", "Declined", "Unchanged"):
        if col not in out.columns:
            out[col] = 0
    out = out[["Improved", "Declined", "Unchanged"]].rename(columns=str.lower)
    out["comparable"] = out.sum(axis=1)
    return out.reset_index()


def tier_counts_long(counts: pd.DataFrame, tier: str = "tier_name") -> pd.DataFrame:
    """Improved / declined / unchanged counts as tidy rows for a chart:
    ``tier, org_code, change, indicators``."""
    long = counts.melt(
        id_vars=[tier, "org_code"],
        value_vars=["improved", "declined", "unchanged"],
        var_name="change",
        value_name="indicators",
    )
    long["change"] = long["change"].str.capitalize()
    return long.rename(columns={tier: "tier"})


# --- SOP targets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A parsed target: ``operator`` (``>=``, ``<=``, ``<``, ``>``; ``improvement`` for a
    target of improvement with no level), ``value`` and ``unit`` as printed."""

    operator: str
    value: float
    unit: str


_TARGET = re.compile(
    r"^\s*(?P<op><=|>=|<|>)?\s*(?P<num>[0-9][0-9,]*(?:\.[0-9]+)?)\s*"
    r"(?P<unit>%|weeks?|hours?|mins?)?\s*$",
    re.IGNORECASE,
)


def parse_target(text: str, polarity: str) -> Target | None:
    """Parse a target as the SOP tables print it (``17``, ``75%``, ``23 weeks``, ``<5%``,
    ``<4 hours``, ``411,766``, ``Improvement``); ``None`` for ``n/a``.  Without an explicit
    operator the target is a ceiling (``<=``) when low is good and a floor (``>=``) when
    high is good.  Anything else is a ``ValueError`` naming the text."""
    t = str(text).strip()
    if t.lower() in ("n/a", "na", ""):
        return None
    if t.lower() == "improvement":
        return Target("improvement", float("nan"), "")
    m = _TARGET.match(t)
    if not m:
        raise ValueError(
            f"target {text!r} is not a number with an optional <, <=, >, >= "
            "and unit (%, weeks, hours, mins), 'Improvement' or 'n/a'"
        )
    if polarity not in ("low_is_good", "high_is_good"):
        raise ValueError(f"polarity must be low_is_good or high_is_good, got {polarity!r}")
    op = m.group("op") or ("<=" if polarity == "low_is_good" else ">=")
    unit = (m.group("unit") or "").lower()
    unit = {"week": "weeks", "hour": "hours", "min": "mins"}.get(unit, unit)
    return Target(op, float(m.group("num").replace(",", "")), unit)


def target_status(actual: float | None, target: Target | None, tolerance: float = 0.05) -> str:
    """RAG of a result against a target: Green when the target is met; Amber when missed by
    no more than ``tolerance`` of the target (relative: ``|actual − target| ≤ tolerance ×
    |target|``); Red otherwise; Grey when there is no result or no level to judge against
    (``n/a``, ``Improvement``)."""
    if target is None or actual is None or (isinstance(actual, float) and math.isnan(actual)):
        return "Grey"
    if target.operator == "improvement" or math.isnan(target.value):
        return "Grey"
    ops = {
        ">=": actual >= target.value,
        ">": actual > target.value,
        "<=": actual <= target.value,
        "<": actual < target.value,
    }
    if ops[target.operator]:
        return "Green"
    return "Amber" if abs(actual - target.value) <= tolerance * abs(target.value) else "Red"


def sop_table(perf: Performance, org_code: str) -> pd.DataFrame:
    """The SOP targets of one organisation with the parsed target and, where monthly results
    exist (``sop_actuals.csv``), the latest result and its RAG; ``Grey`` / "no result
    published" otherwise."""
    sop = perf["performance_sop_targets"]
    sop = sop[sop["org_code"] == org_code].copy()
    if sop.empty:
        return sop
    parsed = [parse_target(t, p) for t, p in zip(sop["target"], sop["polarity"])]
    sop["operator"] = [p.operator if p else "" for p in parsed]
    sop["target_value"] = [p.value if p else np.nan for p in parsed]
    sop["unit"] = [p.unit if p else "" for p in parsed]
    latest: dict[tuple[str, str], float] = {}
    if perf.actuals is not None and not perf.actuals.empty:
        act = perf.actuals[perf.actuals["org_code"] == org_code].sort_values("month")
        latest = {(r, m): float(a) for r, m, a in zip(act["ref"], act["measure"], act["actual"])}
    sop["latest_result"] = [latest.get((r, m), np.nan) for r, m in zip(sop["ref"], sop["measure"])]
    sop["rag"] = [
        target_status(None if pd.isna(a) else a, p) for a, p in zip(sop["latest_result"], parsed)
    ]
    return sop.reset_index(drop=True)


def target_trajectory(
    annual_target: float, months: int = YEAR_MONTHS, profile: Sequence[float] | None = None
) -> pd.DataFrame:
    """The cumulative monthly trajectory of an annual count target (e.g. no more than 17
    MRSA bacteraemias in the year): ``trajectory_m = target × Σ_{k≤m} p_k / Σ p`` with a flat
    profile ``p`` unless given (a seasonal profile, e.g. for C. difficile)."""
    p = np.ones(months) if profile is None else np.asarray(profile, dtype=float)
    if len(p) != months or (p < 0).any() or p.sum() == 0:
        raise ValueError(f"profile must have {months} non-negative weights, not all zero")
    cum = annual_target * np.cumsum(p) / p.sum()
    return pd.DataFrame({"month": np.arange(1, months + 1), "trajectory": cum})


def against_trajectory(
    actuals: pd.DataFrame,
    annual_target: float,
    polarity: str,
    months: int = YEAR_MONTHS,
    tolerance: float = 0.05,
) -> pd.DataFrame:
    """Monthly results (``month, actual``; counts in the month) against the cumulative
    trajectory: cumulative actual, trajectory, RAG per month (:func:`target_status` against
    the month's trajectory) and the run-rate forecast for the year,
    ``forecast = cumulative actual × months / month``."""
    traj = target_trajectory(annual_target, months)
    df = actuals.sort_values("month")[["month", "actual"]].merge(traj, on="month", how="left")
    df["cumulative"] = df["actual"].cumsum()
    op = "<=" if polarity == "low_is_good" else ">="
    df["rag"] = [
        target_status(c, Target(op, t, "")) for c, t in zip(df["cumulative"], df["trajectory"])
    ]
    df["forecast_year"] = df["cumulative"] * months / df["month"]
    return df


# --- reconciliation ------------------------------------------------------------------------


def reconciliation_frames(
    frames: Mapping[str, pd.DataFrame | None], org_codes: Sequence[str] | None
) -> dict[str, tuple[pd.DataFrame | None, str]]:
    """Frames of the performance reconciliation suites (see :func:`nhsbook.analysis.finance.
    reconciliation_frames`): the text summaries against Table 7/8 counts, and the Vital Signs
    counts against their comparable indicators."""
    out: dict[str, tuple[pd.DataFrame | None, str]] = {}
    summ, ratings = frames.get("performance_rating_summary"), frames.get("performance_ratings")
    cols = (
        "row_id",
        "table",
        "year",
        "org_code",
        "indicators",
        "achieved",
        "under_achieved",
        "failed",
        "in_table",
    )
    if summ is None or ratings is None:
        out["performance_reconcile_ratings"] = (
            None,
            "not run: the ratings or their summary could not be read",
        )
    elif [c for c in cols if c not in summ.columns] or [
        c for c in ("table", "year", "org_code", "rating") if c not in ratings.columns
    ]:
        out["performance_reconcile_ratings"] = (
            None,
            "not run: a column of the ratings or their summary is missing",
        )
    else:
        counts = ratings.groupby(["table", "year", "org_code", "rating"]).size().to_dict()
        doc = documented_differences(
            frames.get("finance_discrepancies"), "performance_rating_summary"
        )
        frame = pd.DataFrame(index=summ.index)
        for c in ("row_id", "table", "year", "org_code"):
            frame[c] = summ[c]
        nums = {
            c: to_number(summ[c]) for c in ("indicators", "achieved", "under_achieved", "failed")
        }
        for c, v in nums.items():
            frame[c] = v
        frame["indicators_identity"] = nums["achieved"] + nums["under_achieved"] + nums["failed"]
        in_table = summ["in_table"].astype(str).str.lower() == "true"
        for col, rating in (
            ("achieved", "ACHIEVED"),
            ("under_achieved", "UNDER ACHIEVED"),
            ("failed", "FAIL"),
        ):
            frame[f"{col}_expected"] = [
                float(counts.get((t, y, o, rating), 0)) + doc.get((o, r, col), 0.0)
                if it
                else float("nan")
                for t, y, o, r, it in zip(
                    summ["table"], summ["year"], summ["org_code"], summ["row_id"], in_table
                )
            ]
        if org_codes is not None:
            frame["org_known"] = summ["org_code"].isin(org_codes)
        out["performance_reconcile_ratings"] = (frame, "")
    vs = frames.get("performance_vital_signs")
    need = ("tier", "org_code", "comparable", "improved", "declined", "unchanged")
    if vs is None or [c for c in need if c not in vs.columns]:
        out["performance_reconcile_vital_signs"] = (
            None,
            "not run: vital_signs could not be read or lacks a column",
        )
    else:
        frame = pd.DataFrame(index=vs.index)
        frame["tier"], frame["org_code"] = vs["tier"], vs["org_code"]
        frame["comparable"] = to_number(vs["comparable"])
        frame["comparable_identity"] = sum(
            to_number(vs[c]) for c in ("improved", "declined", "unchanged")
        )
        if org_codes is not None:
            frame["org_known"] = vs["org_code"].isin(org_codes)
        out["performance_reconcile_vital_signs"] = (frame, "")
    return out


# --- the organisations of a page ---------------------------------------------------------------


def page_organisations(organisations: pd.DataFrame, perf: Performance, org_code: str) -> list[str]:
    """The organisations whose results the performance page of ``org_code`` shows: those
    below it in ``finance/organisations.csv`` (``parent_code``) that the performance tables
    report on, in the order the tables first list them (a cluster: its PCTs); else
    ``org_code`` itself."""
    below = set(organisations.loc[organisations["parent_code"] == org_code, "org_code"])
    reported = [
        code
        for name in FILES
        if name in perf.tables and "org_code" in perf[name].columns
        for code in perf[name]["org_code"]
    ]
    mine = [code for code in dict.fromkeys(reported) if code in below]
    return mine or [org_code]
