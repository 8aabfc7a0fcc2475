"""Financial plans: positions, forecasts, allocations, the plan bridge, QIPP and practice budgets.

The finance chapter is built from the seed's own tables, transcribed into
``data/default/finance/`` in the shape the seed prints them (one CSV per table, every row
citing its seed file and line), so that a finance lead can rerun the pages with next month's
ledger by replacing the rows.

Conventions
    * Money is in **£'000** everywhere (files, tables, charts); :func:`money` is the one
      formatter (thousands separators, no decimals, a minus sign for negatives).
    * A **variance** is budget minus spend, as the seed's Table 11 prints it: negative is an
      overspend, positive an underspend.  A forecast variance is annual budget minus forecast
      outturn, so ``outturn = annual budget − forecast variance``.
    * Tables are trees: a total row's ``row_id`` is the ``parent_id`` of its lines, and every
      money column of a total equals the sum of its lines (blank cells count as 0, as the seed
      prints blanks for nothing).  Row identities (e.g. variance = budget − spend) are listed
      per table in :data:`TABLES`.  :func:`reconciliation_frames` builds what the validation
      gate checks (suites ``expectations/finance_reconcile_*.json``); the only accepted
      differences are those documented, with their reasoning, in ``seed_discrepancies.csv``.

Practice budgets
    Seed 004 (DacCom practice-based commissioning, Dacorum, 2007/08) devolves its indicative
    budget "to practice level on a per capita basis" (lines 716, 746) and monitors spend
    monthly by acute commissioning, prescribing and provider services (line 672).  It publishes
    only DacCom's totals, so the practice list sizes, need weights, the split of the budget by
    category and the practices' spend are **synthetic** (:func:`synth_practices`, seeded),
    calibrated so that practices add up to the published 151,822 patients in 19 practices and
    the published month-10 variances by category.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nhsbook.config.book import load_book
from nhsbook.core import fmt
from nhsbook.core.escape import markdown as esc
from nhsbook.core.escape import markdown_code as esc_code
from nhsbook.core.textfile import LINE, to_number
from nhsbook.io.catalogue import FINANCE_FILES

#: The unit of every money figure.
MONEY_UNIT = "£'000"
#: d3 format of money on chart axes and tooltips (thousands separators, no decimals).
MONEY_FORMAT = ",.0f"
#: Months in a financial year (April to March).
YEAR_MONTHS = 12


def money(value: Any) -> str:
    """A money figure in £'000 as text: ``1,042,468``, ``-4,430``; blank for missing.

    The one formatter of the finance and performance pages (tables and narrative); charts use
    :data:`MONEY_FORMAT`, the same format in d3 notation.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, str):
        return value
    return fmt.thousands(value)


# --- the tables and their reconciliation rules -----------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """How one finance table reconciles.

    ``money``: the money columns (each total row equals the sum of its lines in each);
    ``group``: columns that separate independent tables in one file (organisation, period);
    ``identities``: ``(target, plus, minus)``: ``target = Σ plus − Σ minus`` on every row;
    ``increase_over``: ``(pct column, amount column, base row_id)``: the printed percentage is
    the row's increase over the base row, to the printed decimals.
    """

    file: str
    money: tuple[str, ...]
    group: tuple[str, ...] = ()
    identities: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    increase_over: tuple[str, str, str] | None = None
    #: Half the unit the seed printed the table in, in £'000 (0 for tables printed in
    #: £'000; 0.5 for the QIPP table, printed in £m to 3 decimals).  A sum of ``n`` printed
    #: figures may then differ from its printed total by rounding alone, by at most
    #: ``rounding × (n + 1)``: such differences are accepted, larger ones fail.
    rounding: float = 0.0


#: Dataset name -> file of the finance chapter (the catalogue, :mod:`nhsbook.io.catalogue`).
FILES: dict[str, str] = FINANCE_FILES

#: Dataset name (as in :data:`nhsbook.io.embedded.DATASETS`) -> reconciliation rules.
TABLES: dict[str, TableSpec] = {
    "finance_position": TableSpec(
        FILES["finance_position"],
        (
            "annual_budget",
            "budget_to_date",
            "expenditure_to_date",
            "variance_to_date",
            "forecast_variance",
        ),
        group=("org_code", "period", "month"),
        identities=(("variance_to_date", ("budget_to_date",), ("expenditure_to_date",)),),
    ),
    "finance_uplift": TableSpec(
        FILES["finance_uplift"],
        ("city", "county", "total"),
        identities=(("total", ("city", "county"), ()),),
        increase_over=("increase_pct", "total", "baseline"),
    ),
    "finance_ccg_baselines": TableSpec(
        FILES["finance_ccg_baselines"],
        ("baseline", "growth", "reablement", "total"),
        identities=(("total", ("baseline", "growth", "reablement"), ()),),
    ),
    "finance_plan": TableSpec(
        FILES["finance_plan"],
        ("city", "county", "total"),
        identities=(("total", ("city", "county"), ()),),
    ),
    "finance_qipp": TableSpec(
        FILES["finance_qipp"],
        ("total", "erewash", "high_peak", "hardwick", "north_derbyshire", "southern_derbyshire"),
        group=("org_code", "period"),
        identities=(
            (
                "total",
                ("erewash", "high_peak", "hardwick", "north_derbyshire", "southern_derbyshire"),
                (),
            ),
        ),
        rounding=0.5,
    ),
}

#: The organisation each organisation column of the PCT tables (Tables 12 and 14) stands for.
PCT_COLUMNS: dict[str, str] = {"city": "5N7", "county": "5N6", "total": "DERBYSHIRE-CLUSTER"}
#: The CCG each column of the County QIPP table stands for (line 5124).
QIPP_COLUMNS: dict[str, str] = {
    "erewash": "E38000058",
    "high_peak": "HIGH-PEAK",
    "hardwick": "E38000071",
    "north_derbyshire": "E38000115",
    "southern_derbyshire": "E38000169",
}


def _amount(cells: pd.Series) -> pd.Series:
    """Money cells as numbers: blank is 0 (the seed prints blanks for nothing); text that is
    not a number is NaN (the dataset's own suite reports it)."""
    blank = cells.isna() | (cells.astype(str).str.strip() == "")
    nums = to_number(cells.where(~blank, "0"))
    return nums


def _cell(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame.columns:
        return frame[column]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def documented_differences(
    discrepancies: pd.DataFrame | None, dataset: str
) -> dict[tuple[str, str, str], float]:
    """``(org_code, row_id, column) -> total − sum of lines`` accepted for ``dataset``."""
    if discrepancies is None or "dataset" not in discrepancies.columns:
        return {}
    sel = discrepancies[discrepancies["dataset"] == dataset]
    diffs = to_number(_cell(sel, "difference"))
    return {
        (str(o or ""), str(r or ""), str(c or "")): float(d)
        for o, r, c, d in zip(
            _cell(sel, "org_code"), _cell(sel, "row_id"), _cell(sel, "column"), diffs
        )
    }


def reconcile_table(
    frame: pd.DataFrame,
    spec: TableSpec,
    documented: Mapping[tuple[str, str, str], float] | None = None,
    org_codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The reconciliation frame of one table: every row (indexed as ``frame``, i.e. by file
    line) with, per money column, the printed value and ``<column>_expected``: the sum of the
    row's lines (rows of the same group whose ``parent_id`` is its ``row_id``) plus any
    documented difference (NaN for rows without lines), or the printed value when it lies
    within rounding of the sum (:attr:`TableSpec.rounding`); per
    identity ``<target>_identity`` (``Σ plus − Σ minus``, likewise within rounding);
    ``<pct>_expected`` for a printed increase; and ``org_known`` when the table names
    organisations and ``org_codes`` are given.

    Formulae: ``total_sum = Σ_{lines} value + documented difference``; accepted when
    ``|total − total_sum| ≤ rounding × (lines + 1)``; ``identity = Σ plus − Σ minus``;
    ``pct_expected = round(100 × (amount − base·[row is the base's parent]) / base, d)`` with
    ``d`` the printed decimals.
    """
    documented = documented or {}
    out = pd.DataFrame(index=frame.index)
    out["row_id"] = _cell(frame, "row_id")
    out["line"] = _cell(frame, "line") if "line" in frame.columns else _cell(frame, "scheme")
    nums = {c: _amount(_cell(frame, c)) for c in spec.money}
    group_cols = [c for c in spec.group if c in frame.columns]
    groups = (
        frame[group_cols].fillna("").astype(str).agg("|".join, axis=1)
        if group_cols
        else pd.Series("", index=frame.index)
    )
    parents = _cell(frame, "parent_id").fillna("").astype(str)
    rows = _cell(frame, "row_id").fillna("").astype(str)
    orgs = _cell(frame, "org_code").fillna("").astype(str)
    for col in spec.money:
        # a printed cell that is not a number ("1,088,97") stays as printed, so that the
        # equality check fails on it and shows the total its lines give
        raw = _cell(frame, col)
        unreadable = nums[col].isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        out[col] = nums[col].astype(object).where(~unreadable, raw)
        expected = []
        for idx in frame.index:
            kids = (groups == groups[idx]) & (parents == rows[idx]) & (rows[idx] != "")
            if not kids.any():
                expected.append(float("nan"))
                continue
            extra = documented.get((orgs[idx], rows[idx], col), 0.0)
            total = float(nums[col][kids].sum()) + extra
            expected.append(_within(nums[col][idx], total, spec.rounding * (kids.sum() + 1)))
        out[f"{col}_expected"] = expected
    for target, plus, minus in spec.identities:
        value = sum((nums[c] for c in plus), pd.Series(0.0, index=frame.index))
        value = value - sum((nums[c] for c in minus), pd.Series(0.0, index=frame.index))
        tol = spec.rounding * (len(plus) + len(minus) + 1)
        identity = pd.Series(
            [_within(p, v, tol) for p, v in zip(nums[target], value)],
            index=frame.index,
            dtype=object,
        )
        for c in (*plus, *minus):  # an operand that is not a number: the identity fails
            raw = _cell(frame, c)
            bad = nums[c].isna() & raw.notna() & (raw.astype(str).str.strip() != "")
            identity[bad] = f"not computable: {c} is not a number"
        out[f"{target}_identity"] = identity
    if spec.increase_over:
        pct_col, amount_col, base_id = spec.increase_over
        printed = _cell(frame, pct_col)
        out[pct_col] = to_number(printed)
        base = nums[amount_col][rows == base_id]
        expected = []
        for idx in frame.index:
            text = printed[idx]
            if text is None or str(text).strip() == "" or base.empty or base.iloc[0] == 0:
                expected.append(float("nan"))
                continue
            decimals = len(str(text).split(".")[1]) if "." in str(text) else 0
            amount = nums[amount_col][idx]
            if parents[rows == base_id].iloc[0] == rows[idx]:  # the total row
                amount = amount - base.iloc[0]
            expected.append(round(100 * amount / base.iloc[0], decimals))
        out[f"{pct_col}_expected"] = expected
    if org_codes is not None and "org_code" in frame.columns:
        out["org_known"] = [o in set(org_codes) for o in orgs]
    return out


def _within(printed: float, computed: float, tolerance: float) -> float:
    """``printed`` when it is within ``tolerance`` of ``computed`` (rounding), else
    ``computed`` (so that the gate's equality check fails and shows the computed value)."""
    if (
        not math.isnan(printed)
        and not math.isnan(computed)
        and abs(printed - computed) <= tolerance + 1e-9
    ):
        return float(printed)
    return float(computed)


def reconciliation_frames(
    frames: Mapping[str, pd.DataFrame | None],
) -> dict[str, tuple[pd.DataFrame | None, str]]:
    """The finance reconciliation frames the gate validates: suite name -> (frame, note); a
    frame is None (and the note says why) when its input could not be read.  Called by
    :func:`nhsbook.validation.gate.reconciliation_frames` (beside
    :func:`nhsbook.analysis.performance.reconciliation_frames`)."""
    out: dict[str, tuple[pd.DataFrame | None, str]] = {}
    org_codes = organisation_codes(frames)
    disc = frames.get("finance_discrepancies")
    for dataset, spec in TABLES.items():
        name = f"finance_reconcile_{dataset.removeprefix('finance_')}"
        frame = frames.get(dataset)
        if frame is None:
            out[name] = (None, f"not run: {dataset} could not be read")
            continue
        missing = [c for c in ("row_id", "parent_id", *spec.money) if c not in frame.columns]
        if missing:
            out[name] = (None, f"not run: {dataset} has no column {', '.join(missing)}")
            continue
        out[name] = (
            reconcile_table(frame, spec, documented_differences(disc, dataset), org_codes),
            "",
        )
    out["finance_reconcile_practices"] = practice_reconciliation(frames)
    return out


def organisation_codes(frames: Mapping[str, pd.DataFrame | None]) -> list[str] | None:
    """The organisation codes of ``finance_organisations`` (None when it could not be read):
    the organisations the finance and performance reconciliations check."""
    orgs = frames.get("finance_organisations")
    return (
        list(orgs["org_code"].dropna()) if orgs is not None and "org_code" in orgs.columns else None
    )


# --- loading -----------------------------------------------------------------------------------

#: Dataset name -> file under the book's data folder (registered in ``io.embedded.DATASETS``).

#: Columns read as numbers (every other column stays text).
_NUMERIC = {
    "annual_budget",
    "budget_to_date",
    "expenditure_to_date",
    "variance_to_date",
    "forecast_variance",
    "month",
    "city",
    "county",
    "total",
    "increase_pct",
    "baseline",
    "growth",
    "reablement",
    "erewash",
    "high_peak",
    "hardwick",
    "north_derbyshire",
    "southern_derbyshire",
    "printed_total",
    "sum_of_parts",
    "difference",
    "value",
    "list_size",
    "need_weight",
    "actual_to_date",
    "seed_line",
    "tier",
    "comparable",
    "improved",
    "declined",
    "unchanged",
    "indicators",
    "achieved",
    "under_achieved",
    "failed",
    "actual",
}


def _read(path: Path) -> pd.DataFrame:
    """A finance or performance CSV: the columns of :data:`_NUMERIC` as numbers (blank is
    missing, thousands commas allowed), the rest as text.  A number that does not parse is a
    ``ValueError`` naming the file, line and column (the gate reports it first in a build)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for col in raw.columns:
        if col not in _NUMERIC:
            continue
        text = raw[col].str.replace(",", "", regex=False).str.strip()
        nums = pd.to_numeric(text.replace("", None), errors="coerce")
        bad = nums.isna() & (text != "")
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise ValueError(
                f"{path}: line {i + 2}, column {col}: expected a number, found {raw[col].iloc[i]!r}"
            )
        raw[col] = nums
    return raw


@dataclass
class Finance:
    """A book's finance tables (``data/<book>/finance/``), read after the validation gate."""

    organisations: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def org(self, code: str) -> pd.Series:
        hit = self.organisations[self.organisations["org_code"] == code]
        if hit.empty:
            raise KeyError(
                f"organisation {code!r} is not in finance/organisations.csv; known: "
                f"{sorted(self.organisations['org_code'])}"
            )
        return hit.iloc[0]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def load(book: str = "default") -> Finance:
    """Read the finance tables of ``book`` (its data folder's ``finance/``)."""
    cfg = load_book(book)
    return load_dir(cfg.data)


def load_dir(data_dir: Path) -> Finance:
    """Read the finance tables from a data folder in the default book's layout."""
    data_dir = Path(data_dir)
    tables = {name: _read(data_dir / rel) for name, rel in FILES.items()}
    return Finance(organisations=tables.pop("finance_organisations"), tables=tables)


# --- positions and forecasts -------------------------------------------------------------------


def position(fin: Finance, org_code: str) -> pd.DataFrame:
    """The organisation's latest financial position (Table 11 shape) with the derived forecast
    outturn (``annual_budget − forecast_variance``); empty if none is published."""
    pos = fin["finance_position"]
    pos = pos[pos["org_code"] == org_code]
    if pos.empty:
        return pos
    latest = pos[pos["month"] == pos["month"].max()].copy()
    latest["forecast_outturn"] = latest["annual_budget"] - latest["forecast_variance"]
    return latest.reset_index(drop=True)


def variance(budget: pd.Series | float, actual: pd.Series | float) -> pd.Series | float:
    """Variance = budget − actual (positive: underspend; negative: overspend), the sign of the
    seed's Table 11."""
    return budget - actual


FORECAST_METHODS = ("run_rate", "profile", "budget_rest")


def forecast_outturn(
    annual_budget: pd.Series | float,
    budget_to_date: pd.Series | float,
    actual_to_date: pd.Series | float,
    month: int,
    method: str = "run_rate",
) -> pd.Series | float:
    """Forecast full-year outturn from the position at the end of month ``month`` (1–11).

    * ``run_rate``: spend continues at its average monthly rate so far,
      ``outturn = actual_to_date × 12 / month``;
    * ``profile``: spend keeps its ratio to the budget profile,
      ``outturn = actual_to_date × annual_budget / budget_to_date``;
    * ``budget_rest``: the rest of the year is spent exactly as budgeted,
      ``outturn = actual_to_date + (annual_budget − budget_to_date)`` (the variance to date
      is carried to the year end unchanged).

    These are the standard extrapolations of management accounting (e.g. HFMA, *Introductory
    guide to NHS finance*, chapter on financial management and reporting).  The run rate
    ignores seasonal or phased budgets; the profile method needs ``budget_to_date ≠ 0``.
    """
    if not 1 <= int(month) < YEAR_MONTHS:
        raise ValueError(f"month must be from 1 to {YEAR_MONTHS - 1} (April = 1), got {month}")
    if method == "run_rate":
        return actual_to_date * YEAR_MONTHS / month
    if method == "profile":
        bud = pd.Series(budget_to_date) if not np.isscalar(budget_to_date) else budget_to_date
        if np.any(np.asarray(bud) == 0):
            raise ValueError("the profile method needs a non-zero budget to date on every line")
        return actual_to_date * annual_budget / budget_to_date
    if method == "budget_rest":
        return actual_to_date + (annual_budget - budget_to_date)
    raise ValueError(f"unknown forecast method {method!r}: use one of {FORECAST_METHODS}")


def forecast_table(pos: pd.DataFrame, method: str = "run_rate") -> pd.DataFrame:
    """Each line of a position with the forecast outturn and forecast variance by ``method``
    next to the organisation's own forecast."""
    month = int(pos["month"].iloc[0])
    out = pos[["row_id", "line", "annual_budget", "budget_to_date", "expenditure_to_date"]].copy()
    out["reported_outturn"] = pos["annual_budget"] - pos["forecast_variance"]
    out["method_outturn"] = forecast_outturn(
        pos["annual_budget"], pos["budget_to_date"], pos["expenditure_to_date"], month, method
    )
    out["method_variance"] = variance(out["annual_budget"], out["method_outturn"])
    out["reported_variance"] = pos["forecast_variance"]
    return out


def trajectory(
    annual_budget: float,
    budget_to_date: float,
    actual_to_date: float,
    month: int,
    reported_outturn: float | None = None,
    method: str = "run_rate",
) -> pd.DataFrame:
    """Cumulative spend by month against the budget: tidy rows ``month, series, amount``.

    Budget: straight from 0 to ``budget_to_date`` at month ``month``, then straight to the
    annual budget at month 12 (the published figures fix only those two points); actual: the
    spend to date at ``month``; forecast: straight from the actual to the outturn of
    :func:`forecast_outturn` (``method``) at month 12; reported: the organisation's own
    forecast outturn at month 12.
    """
    rows = []
    for m in range(0, YEAR_MONTHS + 1):
        if m <= month:
            b = budget_to_date * m / month
        else:
            b = budget_to_date + (annual_budget - budget_to_date) * (m - month) / (
                YEAR_MONTHS - month
            )
        rows.append({"month": m, "series": "Budget (cumulative)", "amount": b})
    rows.append({"month": month, "series": "Spend to date", "amount": actual_to_date})
    outturn = float(forecast_outturn(annual_budget, budget_to_date, actual_to_date, month, method))
    for m in range(month, YEAR_MONTHS + 1):
        rows.append(
            {
                "month": m,
                "series": f"Forecast ({method.replace('_', ' ')})",
                "amount": actual_to_date
                + (outturn - actual_to_date) * (m - month) / (YEAR_MONTHS - month),
            }
        )
    if reported_outturn is not None:
        rows.append(
            {
                "month": YEAR_MONTHS,
                "series": "Reported forecast outturn",
                "amount": float(reported_outturn),
            }
        )
    return pd.DataFrame(rows)


def budget_to_forecast_steps(pos: pd.DataFrame, total_row: str = "total_revenue") -> pd.DataFrame:
    """Waterfall steps from the annual budget of ``total_row`` to its forecast outturn: the
    start, one step per line (its forecast overspend adds to spend: ``−forecast_variance``),
    and the end.  The end is the printed total's outturn; if the lines do not sum to the
    printed total's variance (a documented seed discrepancy) a step "Unreconciled difference
    in the seed" closes the gap, so the chart never hides it."""
    total = pos[pos["row_id"] == total_row].iloc[0]
    lines = pos[pos["parent_id"] == total_row]
    steps = [{"step": "Annual budget", "amount": float(total["annual_budget"]), "kind": "start"}]
    for _, r in lines.iterrows():
        steps.append(
            {"step": str(r["line"]), "amount": float(-r["forecast_variance"]), "kind": "delta"}
        )
    gap = float(lines["forecast_variance"].sum() - total["forecast_variance"])
    if gap:
        steps.append(
            {"step": "Unreconciled difference in the seed", "amount": gap, "kind": "delta"}
        )
    steps.append(
        {
            "step": "Forecast outturn",
            "amount": float(total["annual_budget"] - total["forecast_variance"]),
            "kind": "total",
        }
    )
    return waterfall_frame(pd.DataFrame(steps))


def waterfall_frame(steps: pd.DataFrame) -> pd.DataFrame:
    """Running totals for a waterfall: ``steps`` has ``step, amount, kind`` (``start`` and
    ``total`` bars stand on zero at their amount; a ``delta`` moves the running total).
    Adds ``start``/``end`` (bar ends), ``running`` and ``order``.  A ``total`` step must
    equal the running total: otherwise the bridge does not add up and ``ValueError`` says by
    how much."""
    running = 0.0
    rows = []
    for i, r in enumerate(steps.itertuples(index=False)):
        amount = float(r.amount)
        if r.kind == "start":
            start, end, running = 0.0, amount, amount
        elif r.kind == "total":
            if abs(amount - running) > 1e-6:
                raise ValueError(
                    f"waterfall step {r.step!r}: total {money(amount)} does not "
                    f"equal the running total {money(running)} (difference "
                    f"{money(amount - running)})"
                )
            start, end = 0.0, amount
        elif r.kind == "delta":
            start, end = running, running + amount
            running = end
        else:
            raise ValueError(f"waterfall step {r.step!r}: kind must be start, delta or total")
        rows.append(
            {
                "order": i,
                "step": r.step,
                "kind": r.kind,
                "amount": amount,
                "start": start,
                "end": end,
                "running": running,
            }
        )
    return pd.DataFrame(rows)


# --- allocations and the plan bridge ---------------------------------------------------------


def allocation_uplift(
    baselines: pd.Series, rate_pct: float, total: float | None = None
) -> pd.Series:
    """Growth by organisation in whole £'000: ``growth_i = baseline_i × rate / 100``.

    Without ``total`` each organisation's growth is rounded half up on its own (Table 12:
    2.80% of 437,613 and 1,118,446 gives 12,253 and 31,316, total 43,569, as printed).  With
    ``total`` the parts are made to add up to it by the largest-remainder (Hamilton) method
    (:func:`largest_remainder`).
    """
    exact = baselines.astype(float) * rate_pct / 100
    if total is None:
        return np.floor(exact + 0.5).astype("int64")
    return largest_remainder(exact, int(round(total)))


def largest_remainder(exact: pd.Series, total: int) -> pd.Series:
    """Integers that sum to ``total``, each the floor of ``exact`` plus one for the largest
    fractional parts (Hamilton's method); ``exact`` is first scaled to ``total``."""
    if exact.sum() == 0:
        raise ValueError("cannot apportion a total over shares that sum to zero")
    scaled = exact.astype(float) * total / float(exact.sum())
    floors = np.floor(scaled)
    left = int(round(total - floors.sum()))
    order = np.argsort(-(scaled - floors).to_numpy(), kind="stable")
    out = floors.to_numpy().copy()
    out[order[:left]] += 1
    return pd.Series(out.astype("int64"), index=exact.index)


def share_uplift(baselines: pd.Series, growth_total: float) -> pd.Series:
    """Growth by historic share, as Table 13 does it for the CCGs ("uplift by CCG historic
    share", line 1241): ``growth_total × baseline_i / Σ baseline``, in whole £'000 that add up
    to ``growth_total`` (:func:`largest_remainder`)."""
    return largest_remainder(baselines.astype(float), int(round(growth_total)))


def plan_bridge(plan: pd.DataFrame, column: str = "total") -> pd.DataFrame:
    """The plan bridge of Table 14 as waterfall steps: growth, each commitment (negative),
    the QIPP requirement, and the balance after QIPP; see :func:`qipp_requirement`."""
    steps = []
    for _, r in plan.iterrows():
        amount = 0.0 if pd.isna(r[column]) else float(r[column])
        kind = {"growth": "start", "balance": "total"}.get(r["kind"], "delta")
        steps.append({"step": str(r["line"]), "amount": amount, "kind": kind})
    return waterfall_frame(pd.DataFrame(steps))


def qipp_requirement(plan: pd.DataFrame, column: str = "total") -> float:
    """The QIPP (savings) requirement that closes the plan: what the balance after QIPP needs
    once growth has met the commitments,

    ``QIPP = balance − (growth + Σ commitments)`` (commitments are negative).

    For Table 14: ``32,532 − (46,315 − 78,920) = 65,137`` (City 30,637, County 34,500).
    """
    val = plan[column].fillna(0.0)
    growth = float(val[plan["kind"] == "growth"].sum())
    commitments = float(val[plan["kind"] == "commitment"].sum())
    balance = float(val[plan["kind"] == "balance"].sum())
    return balance - (growth + commitments)


# --- QIPP scheme tracking ----------------------------------------------------------------------

#: RAG labels, in order.
RAG = ("Green", "Amber", "Red", "Grey")
#: Their fills in tables (the text on each is black or white, whichever contrasts more:
#: :func:`nhsbook.pages.tables.table`).
RAG_COLOURS = {"Green": "#00A651", "Amber": "#FFBF00", "Red": "#C00000", "Grey": "#C9C9C9"}


def rag(ratio: float | None, green: float = 1.0, amber: float = 0.5) -> str:
    """RAG status of a delivery ratio (delivered ÷ planned): Green at or above ``green``,
    Amber at or above ``amber``, Red below, Grey when there is nothing to judge (no plan)."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "Grey"
    return "Green" if ratio >= green else "Amber" if ratio >= amber else "Red"


def qipp_tracking(
    qipp: pd.DataFrame, column: str = "total", green: float = 1.0, amber: float = 0.5
) -> pd.DataFrame:
    """Planned against delivered savings by scheme for one column (the PCT total or a CCG).

    Planned = contracted and transacted + contracted and needs delivering; delivered = the
    contracted and transacted savings (achieved: line 5118); outstanding = planned −
    delivered; ``delivery_pct = 100 × delivered / planned``; RAG by :func:`rag` on
    delivered ÷ planned (Green fully delivered, Amber at least half, Red under half; Grey
    where nothing is planned for this organisation).
    """
    lines = qipp[
        qipp["status"].isin(["transacted", "needs_delivering"])
        & ~qipp["row_id"].str.endswith("_total")
    ]
    wide = lines.pivot_table(
        index="scheme", columns="status", values=column, aggfunc="sum", fill_value=0.0, sort=False
    )
    for status in ("transacted", "needs_delivering"):
        if status not in wide.columns:
            wide[status] = 0.0
    out = pd.DataFrame(
        {
            "scheme": wide.index,
            "planned": (wide["transacted"] + wide["needs_delivering"]).to_numpy(),
            "delivered": wide["transacted"].to_numpy(),
        }
    )
    out["outstanding"] = out["planned"] - out["delivered"]
    ratio = out["delivered"] / out["planned"].where(out["planned"] != 0)
    out["delivery_pct"] = 100 * ratio
    out["rag"] = [rag(r, green, amber) for r in ratio]
    return out.reset_index(drop=True)


# --- practice indicative budgets (seed 004) -------------------------------------------------

#: Spending categories of a practice's indicative budget (seed 004 line 672), in order.
CATEGORIES = ("acute", "prescribing", "provider_services", "other")
CATEGORY_NAMES = {
    "acute": "Acute commissioning",
    "prescribing": "Prescribing",
    "provider_services": "Provider services",
    "other": "Other",
}


def practice_budgets(practices: pd.DataFrame, total: float, weighted: bool = True) -> pd.Series:
    """Indicative budgets per practice: the organisation's budget ``total`` shared per head
    ("devolved down to practice level on a per capita basis", seed 004 lines 716 and 746),

    ``budget_i = total × n_i·w_i / Σ_j n_j·w_j``

    with ``n`` the list size and ``w`` the practice's need weight (``need_weight``, 1 when
    ``weighted`` is False: plain per capita).  Weighted capitation is how the NHS sets
    allocations (Department of Health, *Resource allocation: weighted capitation formula*,
    7th edition, 2011).
    """
    heads = practices["list_size"].astype(float)
    if weighted:
        heads = heads * practices["need_weight"].astype(float)
    if heads.sum() <= 0:
        raise ValueError("practice list sizes (times weights) must add up to more than 0")
    return total * heads / heads.sum()


def practice_position(
    fin: Finance, org_code: str, weighted: bool = True, method: str = "run_rate"
) -> pd.DataFrame:
    """Each practice's indicative budget, spend to date, variance, forecast outturn and
    forecast over/underspend by category (tidy: one row per practice × category).

    Budgets: :func:`practice_budgets` of the organisation's annual budget per category;
    budget to date: ``annual × month / 12`` (a flat monthly profile: the seed publishes none);
    forecast: :func:`forecast_outturn` by ``method`` from the ledger's month; freed-up
    resources: the forecast underspend, ``max(0, annual − outturn)``, the money a practice
    releases for reinvestment ("resources that could be released", seed 004 line 361).
    """
    practices = fin["finance_practices"]
    practices = practices[practices["org_code"] == org_code]
    if practices.empty:
        return pd.DataFrame()
    budget = fin["finance_pbc_budget"]
    budget = budget[budget["org_code"] == org_code].set_index("category")["annual_budget"]
    ledger = fin["finance_practice_ledger"]
    ledger = ledger[ledger["practice_code"].isin(practices["practice_code"])]
    month = int(ledger["month"].iloc[0])
    rows = []
    for cat in [c for c in CATEGORIES if c in budget.index]:
        shares = practice_budgets(practices, float(budget[cat]), weighted)
        part = practices[["practice_code", "practice_name", "list_size"]].copy()
        part["category"] = cat
        part["annual_budget"] = shares.to_numpy()
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    spend = ledger.set_index(["practice_code", "category"])["actual_to_date"]
    out["actual_to_date"] = [
        float(spend.get((p, c), 0.0)) for p, c in zip(out["practice_code"], out["category"])
    ]
    out["month"] = month
    out["budget_to_date"] = out["annual_budget"] * month / YEAR_MONTHS
    out["variance_to_date"] = variance(out["budget_to_date"], out["actual_to_date"])
    out["forecast_outturn"] = forecast_outturn(
        out["annual_budget"], out["budget_to_date"], out["actual_to_date"], month, method
    )
    out["forecast_variance"] = variance(out["annual_budget"], out["forecast_outturn"])
    out["freed_up"] = out["forecast_variance"].clip(lower=0.0)
    return out


def practice_summary(position_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per practice: budget, spend to date, forecast outturn and forecast variance
    summed over categories; freed-up resources of the practice as a whole,
    ``max(0, Σ forecast variance)`` (an underspend in one category first offsets an overspend
    in another); and budget per head in £."""
    cols = [
        "annual_budget",
        "budget_to_date",
        "actual_to_date",
        "variance_to_date",
        "forecast_outturn",
        "forecast_variance",
    ]
    out = position_rows.groupby(
        ["practice_code", "practice_name", "list_size"], as_index=False, sort=True
    )[cols].sum()
    out["freed_up"] = out["forecast_variance"].clip(lower=0.0)
    out["budget_per_head_pounds"] = 1000 * out["annual_budget"] / out["list_size"]
    return out


# --- the synthetic practices of DacCom -------------------------------------------------------

#: Generator seed of the synthetic DacCom practices.
SYNTH_SEED = 20080331
#: The budget split assumed by the generator (shares of the annual budget; not published).
SYNTH_SHARES = {"acute": 0.55, "prescribing": 0.17, "provider_services": 0.20, "other": 0.08}


def implied_budget(published: pd.DataFrame) -> float:
    """DacCom's annual budget implied by its forecast overspend and its percentage (seed 004
    line 672): ``budget = forecast variance / (forecast variance % / 100)`` = −998 / −0.008 =
    124,750 (£'000).  The percentage is printed to one decimal, so the budget is only known
    to lie between 998/0.0085 and 998/0.0075 (117,412 to 133,067)."""
    get = published.set_index(["measure", "category"])["value"]
    return round(
        float(get[("forecast_variance", "all")])
        / (float(get[("forecast_variance_pct", "all")]) / 100)
    )


def synth_practices(
    published: pd.DataFrame, seed: int = SYNTH_SEED
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Synthetic DacCom practices, category budgets and month-10 ledger (all £'000).

    Calibration (what the gate re-checks): list sizes add up to the published registered
    patients over the published number of practices; the category budgets add up to
    :func:`implied_budget` in the shares :data:`SYNTH_SHARES` (assumed); in every category the
    practices' spend adds up to the budget to date less the published variance to date
    (``other`` takes the rest of the published total variance).  Spend is given to the whole
    pound (3 decimals of £'000).  Returns (practices, budgets, ledger).
    """
    rng = np.random.default_rng(seed)
    pub = published.set_index(["measure", "category"])["value"]
    org = str(published["org_code"].iloc[0])
    period = str(published["period"].iloc[0])
    month = int(published["month"].iloc[0])
    n = int(pub[("practices", "all")])
    patients = int(pub[("registered_patients", "all")])
    sizes = largest_remainder(pd.Series(rng.lognormal(0.0, 0.45, n)), patients)
    weights = rng.normal(1.0, 0.08, n).clip(0.8, 1.25)
    weights = np.round(weights * sizes.sum() / float((sizes * weights).sum()), 4)
    practices = pd.DataFrame(
        {
            "practice_code": [f"DAC{i + 1:02d}" for i in range(n)],
            "practice_name": [f"Synthetic Dacorum practice {i + 1:02d}" for i in range(n)],
            "org_code": org,
            "list_size": sizes.to_numpy(),
            "need_weight": weights,
        }
    )
    total = implied_budget(published)
    split = largest_remainder(pd.Series(SYNTH_SHARES), int(total))
    budgets = pd.DataFrame(
        {
            "org_code": org,
            "period": period,
            "category": list(split.index),
            "annual_budget": split.to_numpy(),
            "basis": "synthetic: the implied budget split in assumed shares",
        }
    )
    var = {c: float(pub[("variance_to_date", c)]) for c in CATEGORIES if c != "other"}
    var["other"] = float(pub[("variance_to_date", "all")]) - sum(var.values())
    ledger_rows = []
    for cat in CATEGORIES:
        annual = practice_budgets(practices, float(split[cat]))
        to_date = annual * month / YEAR_MONTHS
        noise = rng.normal(0.0, 0.03, n) * to_date
        noise -= noise.sum() * to_date / to_date.sum()  # keeps the category total
        spend = to_date - var[cat] * to_date / to_date.sum() + noise
        pounds = largest_remainder(spend * 1000, int(round((to_date.sum() - var[cat]) * 1000)))
        for code, v in zip(practices["practice_code"], pounds):
            ledger_rows.append(
                {
                    "practice_code": code,
                    "period": period,
                    "month": month,
                    "category": cat,
                    "actual_to_date": round(v / 1000, 3),
                }
            )
    return practices, budgets, pd.DataFrame(ledger_rows)


def write_synthetic(data_dir: Path, seed: int = SYNTH_SEED) -> list[Path]:
    """(Re)write the synthetic DacCom files from ``finance/pbc_published.csv`` (byte for
    byte for the same seed)."""
    folder = Path(data_dir) / "finance"
    published = _read(folder / "pbc_published.csv")
    practices, budgets, ledger = synth_practices(published, seed)
    paths = []
    for frame, name in (
        (practices, "practices_synthetic.csv"),
        (budgets, "pbc_budget_synthetic.csv"),
        (ledger, "practice_ledger_synthetic.csv"),
    ):
        path = folder / name
        frame.to_csv(
            path,
            index=False,
            lineterminator="\n",
            float_format="%.4f" if name == "practices_synthetic.csv" else None,
        )
        paths.append(path)
    return paths


def practice_reconciliation(
    frames: Mapping[str, pd.DataFrame | None],
) -> tuple[pd.DataFrame | None, str]:
    """The frame of suite ``finance_reconcile_practices``: one row per published DacCom
    figure the practices must reproduce (indexed by its line in ``pbc_published.csv``):
    ``published`` against ``practices`` (the practices' sum: list sizes, practice count,
    or budget to date − spend by category, in £'000 rounded to whole thousands)."""
    pub, prac = frames.get("finance_pbc_published"), frames.get("finance_practices")
    bud, led = frames.get("finance_pbc_budget"), frames.get("finance_practice_ledger")
    for name, f in (
        ("finance_pbc_published", pub),
        ("finance_practices", prac),
        ("finance_pbc_budget", bud),
        ("finance_practice_ledger", led),
    ):
        if f is None:
            return None, f"not run: {name} could not be read"
    need = {
        "finance_pbc_published": (pub, ("org_code", "measure", "category", "value")),
        "finance_practices": (prac, ("practice_code", "org_code", "list_size", "need_weight")),
        "finance_pbc_budget": (bud, ("org_code", "category", "annual_budget")),
        "finance_practice_ledger": (led, ("practice_code", "month", "category", "actual_to_date")),
    }
    for name, (f, cols) in need.items():
        missing = [c for c in cols if c not in f.columns]
        if missing:
            return None, f"not run: {name} has no column {', '.join(missing)}"
    p = prac.assign(n=to_number(prac["list_size"]), w=to_number(prac["need_weight"]))
    b = bud.assign(a=to_number(bud["annual_budget"]))
    led_n = led.assign(s=to_number(led["actual_to_date"]), m=to_number(led["month"]))
    org_of = dict(zip(p["practice_code"], p["org_code"]))
    led_n["org_code"] = led_n["practice_code"].map(org_of)
    rows = []
    for line, org, measure, cat, value in zip(
        pub.index, pub["org_code"], pub["measure"], pub["category"], to_number(pub["value"])
    ):
        mine = p[p["org_code"] == org]
        if measure == "registered_patients":
            got = float(mine["n"].sum())
        elif measure == "practices":
            got = float(len(mine))
        elif measure == "variance_to_date":
            cats = [c for c in CATEGORIES] if cat == "all" else [cat]
            spend = led_n[(led_n["org_code"] == org) & led_n["category"].isin(cats)]
            if mine.empty or spend.empty:
                got = float("nan")
            else:
                month = float(spend["m"].iloc[0])
                annual = float(b[(b["org_code"] == org) & b["category"].isin(cats)]["a"].sum())
                got = round(annual * month / YEAR_MONTHS - float(spend["s"].sum()))
        else:
            continue
        rows.append(
            {
                "org_code": org,
                "measure": measure,
                "category": cat,
                "published": value,
                "practices": got,
                LINE: line,
            }
        )
    frame = pd.DataFrame(
        rows, columns=["org_code", "measure", "category", "published", "practices", LINE]
    )
    frame[LINE] = frame[LINE].astype("int64")
    return frame.set_index(LINE), ""


# --- what the finance page shows for one organisation ----------------------------------------


def header_markdown(fin: Finance, org_code: str) -> str:
    """The page's opening: organisation, type, where its code comes from, and the
    synthetic-data notice when the page shows synthetic practices."""
    org = fin.org(org_code)
    lines = [
        f"**Organisation:** {esc(org['org_name'])} ({esc_code(org_code)}, "
        f"{esc(org['org_type'])}). **Code:** {esc(org['code_note'])}.",
        "",
        f"All money is in **{MONEY_UNIT}**. A variance is budget minus spend: negative is "
        "an overspend, positive an underspend.",
    ]
    if not practice_rows(fin, org_code).empty:
        lines += [
            "",
            "> **Synthetic data.** The practices on this page, their list sizes, need "
            "weights, budget split by category and spend are **synthetic**: made by "
            "nhsbook's seeded generator (`python -m nhsbook.analysis.finance synth`) so that they "
            "add up to DacCom's published totals (seed 004: 151,822 patients in 19 "
            "practices; month-10 variances by category). DacCom's own figures are "
            "published.",
        ]
    return "\n".join(lines)


def practice_rows(fin: Finance, org_code: str) -> pd.DataFrame:
    """The organisation's (synthetic) practices, empty if it has none."""
    prac = fin["finance_practices"]
    return prac[prac["org_code"] == org_code]


POSITION_COLUMNS = {
    "line": "Line",
    "annual_budget": "Annual budget",
    "budget_to_date": "Budget to date",
    "expenditure_to_date": "Expenditure to date",
    "variance_to_date": "Variance to date",
    "forecast_variance": "Forecast variance",
    "forecast_outturn": "Forecast outturn",
}


def position_display(pos: pd.DataFrame) -> pd.DataFrame:
    """A position with the seed's column headings (and the derived forecast outturn)."""
    return pos[list(POSITION_COLUMNS)].rename(columns=POSITION_COLUMNS)


def variance_long(pos: pd.DataFrame) -> pd.DataFrame:
    """Variance to date and forecast variance of each line (not totals) as tidy rows for
    :func:`nhsbook.charts.variance_bars`."""
    lines = pos[pos["parent_id"] == "total_revenue"]
    month = int(pos["month"].iloc[0])
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "line": lines["line"],
                    "measure": f"To month {month}",
                    "variance": lines["variance_to_date"],
                }
            ),
            pd.DataFrame(
                {
                    "line": lines["line"],
                    "measure": "Forecast year end",
                    "variance": lines["forecast_variance"],
                }
            ),
        ],
        ignore_index=True,
    )


def corrections(fin: Finance, org_code: str) -> pd.DataFrame:
    """Corrections made in transcription and unresolved seed discrepancies for the
    organisation's tables: ``table, line, column, note``."""
    rows = []
    pos = fin["finance_position"]
    for _, r in pos[(pos["org_code"] == org_code) & (pos["correction"] != "")].iterrows():
        rows.append(
            {
                "table": "Financial position",
                "line": r["line"],
                "column": "budget_to_date",
                "note": r["correction"],
            }
        )
    disc = fin["finance_discrepancies"]
    for _, r in disc[disc["org_code"] == org_code].iterrows():
        rows.append(
            {
                "table": r["dataset"],
                "line": r["row_id"],
                "column": r["column"],
                "note": r["reasoning"],
            }
        )
    return pd.DataFrame(rows, columns=["table", "line", "column", "note"])


def org_column(org_code: str) -> str | None:
    """The column of Tables 12 and 14 that holds ``org_code`` (None if neither)."""
    return next((c for c, o in PCT_COLUMNS.items() if o == org_code), None)


def uplift_for(fin: Finance, org_code: str) -> pd.DataFrame:
    """Table 12 as printed for the cluster; the PCT's column for a PCT; empty otherwise."""
    t = fin["finance_uplift"]
    col = org_column(org_code)
    if col is None:
        return pd.DataFrame()
    if col == "total":
        return t[["line", "city", "county", "total", "increase_pct"]].rename(
            columns={
                "line": "Line",
                "city": "City",
                "county": "County",
                "total": "Total",
                "increase_pct": "Increase %",
            }
        )
    return t[["line", col]].rename(columns={"line": "Line", col: MONEY_UNIT})


def ccg_baselines_for(fin: Finance, org_code: str) -> pd.DataFrame:
    """Table 13 as printed for the cluster; the CCG's row for a CCG; empty otherwise."""
    t = fin["finance_ccg_baselines"]
    sel = t if org_code == "DERBYSHIRE-CLUSTER" else t[(t["org_code"] == org_code)]
    if sel.empty:
        return pd.DataFrame()
    return sel[["line", "baseline", "growth", "reablement", "total"]].rename(
        columns={
            "line": "CCG",
            "baseline": "Baseline",
            "growth": "Growth",
            "reablement": "Re-ablement",
            "total": "Total",
        }
    )


def plan_for(fin: Finance, org_code: str) -> tuple[pd.DataFrame, str | None]:
    """Table 14 (the cluster's three columns, or the PCT's own) and the column that the
    organisation's bridge uses; empty and None for organisations it does not cover."""
    t = fin["finance_plan"]
    col = org_column(org_code)
    if col is None:
        return pd.DataFrame(), None
    cols = ["line", "city", "county", "total"] if col == "total" else ["line", col]
    return t[cols].rename(
        columns={
            "line": "Line",
            "city": "City",
            "county": "County",
            "total": "Total",
            col: MONEY_UNIT,
        }
        if col != "total"
        else {"line": "Line", "city": "City", "county": "County", "total": "Total"}
    ), col


def qipp_for(fin: Finance, org_code: str) -> tuple[pd.DataFrame, str | None]:
    """The County QIPP table and the column for ``org_code``: ``total`` for the County PCT,
    the CCG's column for a CCG; None for organisations it does not cover."""
    q = fin["finance_qipp"]
    if org_code in set(q["org_code"]):
        return q[q["org_code"] == org_code], "total"
    col = next((c for c, o in QIPP_COLUMNS.items() if o == org_code), None)
    return (q, col) if col else (pd.DataFrame(), None)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nhsbook.analysis.finance synth [--seed N]``: rewrite the synthetic DacCom files."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m nhsbook.analysis.finance")
    parser.add_argument("command", choices=["synth"])
    parser.add_argument("--seed", type=int, default=SYNTH_SEED)
    parser.add_argument("--book", default="default")
    args = parser.parse_args(list(argv) if argv is not None else None)
    for path in write_synthetic(load_book(args.book).data, args.seed):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
