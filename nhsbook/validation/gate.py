"""The data-validation gate: Great Expectations suites over every input, before anything runs.

Every input CSV is checked against a declarative Great Expectations (GX 1.x) suite stored as
JSON in ``expectations/<dataset>.json``.  A failed gate stops the build with a report naming the
file, the 1-based line numbers (the header is line 1), the column, the rule and a fix; nothing
is computed or published.

How a file becomes a batch
    Files are read as text (UTF-8, BOM allowed, ``.gz`` allowed) with the :mod:`csv` module, so
    that every row keeps its real line number and no cell is coerced: the DataFrame handed to
    GX holds the cells as strings (empty cell -> null) and its index *is* the file line number.
    Unreadable input (missing or empty file, bad encoding, broken quoting, rows with the wrong
    number of fields) becomes a :class:`Failure` like any other.

Numbers
    A suite checks a number's *format* on the text column (``expect_column_values_to_match_regex``
    on ``count``) and its *range* on the parsed column, which suites name ``<column>:number``
    (``expect_column_values_to_be_between`` on ``count:number``).  The parsed column is added for
    every ``<column>:number`` a suite mentions; text that does not parse becomes null there, so a
    bad cell is reported once, by the format rule.

Dynamic sets and derived columns
    Sets that depend on the data (known area codes, practice codes, indicator ids) and the
    model's vocabularies (:mod:`nhsbook.core.model`) are suite parameters, written
    ``{"$PARAMETER": "area_codes"}`` in the JSON and supplied at run time
    (:func:`derive_parameters` lists them).  Rules that depend on an indicator's method use
    columns derived from ``indicator_id``: ``_method``, ``_count_method`` (method in
    :data:`model.COUNT_METHODS`) and ``_bounded`` (method in :data:`model.BOUNDED_METHODS`),
    used in ``row_condition`` (``"_count_method == True"``, pandas condition parser).

Reconciliations
    Totals that must agree across files are checked by building a small derived DataFrame per
    reconciliation (one row per CCG, practice-year or indicator, indexed by the line of the row
    a human should look at) and validating it with its own suite
    (``expectations/reconcile_*.json``), so those failures read like every other failure.

Everything runs in one ephemeral GX context per call; ``great_expectations`` is imported
lazily (it takes seconds), only when a validation actually runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nhsbook.analysis import finance, performance
from nhsbook.config.book import load_book, project_root
from nhsbook.core import escape, model
from nhsbook.core.textfile import (  # noqa: F401
    LINE,
    MAX_FILE_BYTES,
    MAX_LINES,
    Failure,
    _zip_member,
    geojson_table,
    read_table,
    to_number,
    unreadable,
)
from nhsbook.io.catalogue import OPTIONAL_FILES
from nhsbook.io.embedded import DATASETS as _EMBEDDED_DATASETS
from nhsbook.io.loaders import loader_for
from nhsbook.io.ons_local import SUITES as _ONS_LOCAL_SUITES
from nhsbook.validation.meaning import frames_for as meaning_frames

#: Where the suites live (``expectations/`` at the repository root).
SUITE_DIR = Path(__file__).resolve().parents[2] / "expectations"

#: The default book's datasets, in the order they are validated (name -> path in the data dir);
#: the loader's table, so that the gate and the loader always agree on the files.
BOOK_DATASETS: dict[str, str] = dict(_EMBEDDED_DATASETS)

#: Reconciliation suites run by :func:`validate_book`, in order.
RECONCILIATIONS: tuple[str, ...] = (
    "reconcile_ccg_list_size",
    "reconcile_practice_population",
    "reconcile_ccg_counts",
    "reconcile_practice_coverage",
    "reconcile_seed_coverage",
    # Commissioning for Value (SPOT) files: built by nhsbook.analysis.spot.reconciliation_frames
    "spot_reconcile_spend",
    "spot_reconcile_outcomes",
    "spot_reconcile_indicators",
    "spot_reconcile_coverage",
    # finance and performance tables: built by nhsbook.analysis.finance.reconciliation_frames
    "finance_reconcile_position",
    "finance_reconcile_uplift",
    "finance_reconcile_ccg_baselines",
    "finance_reconcile_plan",
    "finance_reconcile_qipp",
    "finance_reconcile_practices",
    "performance_reconcile_ratings",
    "performance_reconcile_vital_signs",
    # rules by meaning (range, multiplier, comparator scale, periods, published vs computed):
    # built by nhsbook.validation.meaning.frames_for
    "meaning_indicators",
    "meaning_seed_profile",
    "meaning_practice_values",
)

#: The suffix suites use for the parsed-number copy of a text column.
NUMBER_SUFFIX = ":number"

_INTEGER = r"^-?[0-9]+$"
_NUMBER = r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"
_FT_NUMBER = r"^\s*-?(?:[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?\s*$"
#: Regular expressions the suites use, in words.
_REGEX_WORDS: dict[str, str] = {
    _INTEGER: "a whole number",
    _NUMBER: "a number",
    _FT_NUMBER: "a number (thousands separators allowed)",
}

#: Suite parameters that are regular expressions (``"regex": {"$PARAMETER": …}``), defined
#: once in :mod:`nhsbook.core.escape`, with the rule and the fix in words.
_REGEX_PARAMS: dict[str, tuple[str, str, str]] = {
    "name_text": (
        escape.NAME_TEXT,
        "text without control characters (no line break, carriage return, NUL, "
        "escape, zero-width or direction mark: Unicode categories Cc and Cf, tab "
        "excepted)",
        "remove the control characters listed from {col}: names are shown as one "
        "line of text (a line break in a CSV cell usually comes from a cell edited "
        "in a spreadsheet with Alt+Enter)",
    ),
    "code_text": (
        escape.CODE_TEXT,
        "a code of ASCII letters, digits, '.', '-' and '_' only (no spaces, line "
        "breaks or other characters)",
        "correct {col}: codes are ODS or GSS codes (e.g. C81001, E38000115) or local "
        "codes such as DERBYSHIRE-CLUSTER, and hold no spaces or other characters",
    ),
}

_COUNT_WORDS = ", ".join(m for m in model.METHODS if m in model.COUNT_METHODS)
_NONCOUNT_WORDS = ", ".join(m for m in model.METHODS if m not in model.COUNT_METHODS)
_BOUNDED_WORDS = ", ".join(m for m in model.METHODS if m in model.BOUNDED_METHODS)
#: Row conditions on derived columns, in words.
_CONDITION_WORDS: dict[str, str] = {
    "_count_method == True": f"for indicators whose method is count-based ({_COUNT_WORDS})",
    "_count_method == False": f"for indicators whose method is not count-based ({_NONCOUNT_WORDS})",
    "_bounded == True": f"for indicators whose count cannot exceed the denominator "
    f"({_BOUNDED_WORDS})",
}
_DERIVED_NAMES = {"_method": "the indicator's method"}
#: Which dataset each data-derived suite parameter comes from.
_PARAM_SOURCES = {
    "indicator_ids": "indicators",
    "indicator_methods": "indicators",
    "area_codes": "areas",
    "non_practice_area_codes": "areas",
    "locality_codes": "areas",
    "practice_codes": "practices",
}


# --- the report ------------------------------------------------------------------------------


@dataclass
class ExpectationOutcome:
    """One expectation of one suite, as run (``passed`` is None when it could not run)."""

    rule: str
    expectation: str
    columns: tuple[str, ...]
    passed: bool | None
    unexpected: int = 0
    note: str = ""


@dataclass
class DatasetSummary:
    """What was checked in one dataset (or reconciliation) and how it went."""

    name: str
    path: str
    rows: int | None
    expectations: int
    passed: int
    kind: str = "dataset"  #: "dataset" or "reconciliation"
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    problems: int = 0  #: failures found before GX ran (unreadable input)
    note: str = ""

    @property
    def failed(self) -> int:
        return self.expectations - self.passed

    @property
    def ok(self) -> bool:
        return (
            self.failed == 0
            and self.problems == 0
            and not any(o.passed is None for o in self.outcomes)
        )


@dataclass
class ValidationReport:
    """The gate's verdict: ``ok`` and, if not, every :class:`Failure`."""

    ok: bool
    failures: list[Failure]
    datasets: list[DatasetSummary]
    root: str = ""
    seconds: float = 0.0
    gx_version: str = ""

    @property
    def expectations(self) -> int:
        return sum(d.expectations for d in self.datasets)

    @property
    def passed(self) -> int:
        return sum(d.passed for d in self.datasets)

    # -- terminal -----------------------------------------------------------------------
    def to_text(self) -> str:
        n = len(self.failures)
        head = (
            "Validation PASSED"
            if self.ok
            else f"Validation FAILED: {n} failure{'s' if n != 1 else ''}"
        )
        checks = len(self.datasets)
        lines = [
            f"{head} ({self.passed} of {self.expectations} expectations passed, "
            f"{checks} check{'s' if checks != 1 else ''}"
            + (f", data in {self.root}" if self.root else "")
            + ")",
            "",
        ]
        width = max([len(d.name) for d in self.datasets] + [7])
        pwidth = max([len(d.path) for d in self.datasets] + [4])
        for d in self.datasets:
            rows = "-" if d.rows is None else f"{d.rows:,}"
            rows_word = "row " if d.rows == 1 else "rows"
            status = "FAIL" if not d.ok else "ok" if d.outcomes else "skip"
            note = f"  {d.note}" if d.note else ""
            lines.append(
                f"  {status:<4}  {d.name:<{width}}  {d.path:<{pwidth}}  "
                f"{rows:>7} {rows_word}  "
                f"{d.passed:>3}/{d.expectations:<3} expectations passed{note}"
            )
        for i, f in enumerate(self.failures, 1):
            lines += [
                "",
                f"[{i}] {f.where()}",
                f"    rule: {f.rule}" + (f"  [{f.expectation}]" if f.expectation else ""),
            ]
            if f.values:
                shown = len(f.values)
                label = (
                    ("row" if f.count == 1 else "rows")
                    if f.lines
                    else ("item" if f.count == 1 else "items")
                )
                extra = f" (first {shown} shown)" if f.count > shown else ""
                lines.append(f"    {f.count} offending {label}{extra}:")
                for j, vals in enumerate(f.values):
                    where = f"line {f.lines[j]}" if j < len(f.lines) else "-"
                    ctx = f.context[j] if j < len(f.context) else {}
                    ctx_text = f" ({_pairs(ctx, quote=False)})" if ctx else ""
                    lines.append(f"      {where}{ctx_text}: {_pairs(vals)}")
            lines.append(f"    fix: {f.hint}")
        if not self.ok:
            lines += [
                "",
                "Nothing was computed or published: fix the rows above and run "
                "`nhsbook validate` again.",
            ]
        return "\n".join(lines) + "\n"

    # -- book page ----------------------------------------------------------------------
    def to_markdown(self) -> str:
        verdict = "**passed**" if self.ok else f"**failed** ({len(self.failures)} failures)"
        out = [
            f"Input validation {verdict}: {self.passed} of {self.expectations} expectations "
            f"passed over {sum(d.kind == 'dataset' for d in self.datasets)} datasets and "
            f"{sum(d.kind != 'dataset' for d in self.datasets)} reconciliations"
            + (f" (Great Expectations {_md(self.gx_version)}" if self.gx_version else "")
            + (f", {self.seconds:.1f} s)." if self.gx_version else "."),
            "",
            "Every input file is checked against the Great Expectations suite of the same "
            "name in `expectations/` before anything is computed; a failure stops the build "
            "and nothing is published.",
            "",
            "## Summary",
            "",
            "| Check | File | Rows | Expectations | Passed | Result |",
            "|---|---|---:|---:|---:|---|",
        ]
        for d in self.datasets:
            rows = "" if d.rows is None else f"{d.rows:,}"
            result = "**FAIL**" if not d.ok else "pass" if d.outcomes else "not run"
            out.append(
                f"| {_md(d.name)} | {_code(d.path, True)} | {rows} | {d.expectations} | "
                f"{d.passed} | {result} |"
            )
        out += ["", "## Expectations", ""]
        for d in self.datasets:
            out += [
                f"### {_md(d.name)}",
                "",
                f"{_code(d.path)}" + (f": {_md(d.note)}" if d.note else ""),
                "",
            ]
            if not d.outcomes:
                out += ["No expectations ran.", ""]
                continue
            out += ["| # | Rule | Expectation | Result |", "|---:|---|---|---|"]
            for i, o in enumerate(d.outcomes, 1):
                res = (
                    "pass"
                    if o.passed
                    else "not run" + (f": {_md(o.note)}" if o.note else "")
                    if o.passed is None
                    else f"**FAIL** ({o.unexpected:,} rows)"
                    if o.unexpected
                    else "**FAIL**"
                )
                out.append(f"| {i} | {_md(o.rule)} | {_code(o.expectation, True)} | {res} |")
            out.append("")
        out += ["## Failures", ""]
        if not self.failures:
            out.append("None: every expectation passed.")
        for i, f in enumerate(self.failures, 1):
            out += [
                f"### {i}. {_code(f.file)}"
                + (
                    f", column{'s' if len(f.columns) > 1 else ''} "
                    f"{', '.join(f'{_code(c)}' for c in f.columns)}"
                    if f.columns
                    else ""
                ),
                "",
                f"- **Rule:** {_md(f.rule)}"
                + (f" ({_code(f.expectation)})" if f.expectation else ""),
                f"- **Offending rows:** {f.count:,}",
                f"- **Fix:** {_md(f.hint)}",
                "",
            ]
            if f.values:
                cols = list(dict.fromkeys(k for v in f.context + f.values for k in v))
                out += [
                    "| Line | " + " | ".join(_md(c) for c in cols) + " |",
                    "|---:|" + "---|" * len(cols),
                ]
                for j, vals in enumerate(f.values):
                    merged = {**(f.context[j] if j < len(f.context) else {}), **vals}
                    line = str(f.lines[j]) if j < len(f.lines) else ""
                    out.append(
                        f"| {line} | " + " | ".join(_md(_cell(merged.get(c))) for c in cols) + " |"
                    )
                out.append("")
        return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "(empty)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pairs(values: Mapping[str, Any], quote: bool = True) -> str:
    parts = []
    for k, v in values.items():
        if quote and isinstance(v, str):
            text = json.dumps(v, ensure_ascii=False)
        else:
            text = _cell(v)
        parts.append(f"{k} = {text}" if quote else f"{k} {text}")
    return ", ".join(parts)


def _md(text: object) -> str:
    """Text as literal MyST markdown (a table cell, heading or paragraph):
    :func:`nhsbook.core.escape.markdown`."""
    return escape.markdown(text)


def _code(text: object, table: bool = False) -> str:
    """Text as an inline code span of MyST markdown, backticks included:
    :func:`nhsbook.core.escape.markdown_code`."""
    return escape.markdown_code(text, table)


# --- reading ---------------------------------------------------------------------------------


@dataclass
class _Check:
    """One frame to validate with one suite."""

    name: str
    suite_name: str
    file: str  # relative path shown to humans
    frame: pd.DataFrame | None  # index = file line numbers (or 0..n-1 when lines=False)
    kind: str = "dataset"
    lines: bool = True  # whether the index holds file line numbers
    problems: list[Failure] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    note: str = ""
    suite: dict | None = None
    rows: int | None = None


def _rel(path: Path, root: Path | None) -> str:
    path = Path(path)
    for base in ([Path(root)] if root else []) + [Path.cwd()]:
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


# --- suites and parameters -------------------------------------------------------------------


def load_suite(name: str, suite_dir: Path | None = None) -> dict:
    """The suite ``expectations/<name>.json`` as a dict (GX 1.x ExpectationSuite JSON)."""
    path = Path(suite_dir or SUITE_DIR) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _columns_of(kwargs: Mapping[str, Any]) -> list[str]:
    """Columns an expectation reads, in the order its rule names them."""
    cols: list[str] = []
    for key in (
        ("column", "column_B", "column_A")
        if "or_equal" in kwargs
        else ("column", "column_A", "column_B")
    ):
        if isinstance(kwargs.get(key), str):
            cols.append(kwargs[key])
    cols += list(kwargs.get("column_list") or [])
    return cols


_QUERY_WORDS = {"and", "or", "not", "in", "True", "False", "None", "is"}


def _condition_columns(condition: Any) -> list[str]:
    """Columns a pandas row_condition string refers to (names outside quotes, or
    backticked)."""
    if not isinstance(condition, str):
        return []
    backticked = re.findall(r"`([^`]+)`", condition)
    rest = re.sub(r"`[^`]*`|\"[^\"]*\"|'[^']*'", " ", condition)
    names = [
        w
        for w in re.findall(r"\b[A-Za-z_]\w*\b", rest)
        if w not in _QUERY_WORDS and not w[0].isdigit()
    ]
    return list(dict.fromkeys(backticked + names))


def _params_of(kwargs: Mapping[str, Any]) -> list[str]:
    return [v["$PARAMETER"] for v in kwargs.values() if isinstance(v, dict) and "$PARAMETER" in v]


def _base(column: str) -> str:
    return column[: -len(NUMBER_SUFFIX)] if column.endswith(NUMBER_SUFFIX) else column


def _values(
    frame: pd.DataFrame | None, column: str, where: tuple[str, str] | None = None
) -> list[str]:
    if frame is None or column not in frame.columns:
        return []
    sel = frame
    if where and where[0] in frame.columns:
        sel = frame[frame[where[0]] == where[1]]
    return list(dict.fromkeys(v for v in sel[column] if v is not None))


def derive_parameters(frames: Mapping[str, pd.DataFrame | None]) -> dict[str, Any]:
    """Suite parameters from the model's vocabularies and the datasets at hand.

    Vocabularies: ``area_types, polarities, methods, profiles, sexes, age_bands``.  From the
    data (when the dataset is present): ``indicator_ids``, ``indicator_methods`` (id -> method),
    ``area_codes`` (areas and practices), ``non_practice_area_codes`` (areas), ``locality_codes``
    (areas of type locality) and ``practice_codes``.
    """
    params: dict[str, Any] = {
        "area_types": list(model.AREA_TYPES),
        "polarities": list(model.POLARITIES),
        "methods": list(model.METHODS),
        "profiles": list(model.PROFILES),
        "sexes": list(model.SEXES),
        "age_bands": list(model.AGE_BANDS),
        **{name: rx for name, (rx, _, _) in _REGEX_PARAMS.items()},
    }
    ind, areas, prac = frames.get("indicators"), frames.get("areas"), frames.get("practices")
    if ind is not None and "indicator_id" in ind.columns:
        params["indicator_ids"] = _values(ind, "indicator_id")
        if "method" in ind.columns:
            methods: dict[str, str] = {}
            for i, m in zip(ind["indicator_id"], ind["method"]):
                if i is not None and i not in methods:
                    methods[i] = m
            params["indicator_methods"] = methods
    if areas is not None and "area_code" in areas.columns:
        params["non_practice_area_codes"] = _values(areas, "area_code")
        params["locality_codes"] = _values(areas, "area_code", ("area_type", "locality"))
    if prac is not None and "area_code" in prac.columns:
        params["practice_codes"] = _values(prac, "area_code")
    if "non_practice_area_codes" in params or "practice_codes" in params:
        params["area_codes"] = list(
            dict.fromkeys(
                params.get("non_practice_area_codes", []) + params.get("practice_codes", [])
            )
        )
    return params


def _param_words(files: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Parameter -> (what the set is, how to fix a value outside it)."""
    f = {k: files.get(k, f"{k}.csv") for k in ("areas", "practices", "indicators")}
    return {
        "area_codes": (
            f"an area_code listed in {f['areas']} or {f['practices']}",
            f"use a code listed in {f['areas']} or {f['practices']} (or add the "
            "area there); codes are case-sensitive",
        ),
        "non_practice_area_codes": (
            f"an area_code listed in {f['areas']}",
            f"give the practice a code not already used in {f['areas']}",
        ),
        "locality_codes": (
            f"the code of a locality (area_type locality) in {f['areas']}",
            f"set parent_code to the code of the practice's locality in {f['areas']}",
        ),
        "practice_codes": (
            f"a practice code listed in {f['practices']}",
            f"use a practice code listed in {f['practices']} (or add the practice there)",
        ),
        "indicator_ids": (
            f"an indicator_id listed in {f['indicators']}",
            f"use an indicator_id listed in {f['indicators']} (or add the indicator there)",
        ),
    }


# --- rules and hints in words ----------------------------------------------------------------


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def condition_words(condition: Any) -> str:
    """A row_condition in words ("" when there is none)."""
    if condition is None:
        return ""
    if isinstance(condition, dict):
        condition = condition.get("pass_through_filter", str(condition))
    text = str(condition).strip()
    if text in _CONDITION_WORDS:
        return _CONDITION_WORDS[text]
    m = re.fullmatch(r"`?([\w: .]+?)`?\s*(==|!=)\s*[\"'](.*)[\"']", text)
    if m:
        name = _DERIVED_NAMES.get(m.group(1), m.group(1))
        verb = "is" if m.group(2) == "==" else "is not"
        return f"where {name} {verb} {m.group(3)}"
    return f"where {text}"


def rule_words(
    etype: str,
    kwargs: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
) -> str:
    """An expectation and its arguments in plain words, e.g. ``count must be >= 0``."""
    meta = meta or {}
    files = files or {}
    if meta.get("rule"):
        return _template(meta["rule"], files)
    col = _base(kwargs.get("column", "") or "")
    words = _param_words(files)

    def value_set(v: Any) -> str:
        if isinstance(v, dict) and "$PARAMETER" in v:
            p = v["$PARAMETER"]
            if p in words:
                return words[p][0]
            return f"one of the {p.replace('_', ' ')} ({_vocab_text(p)})"
        values = list(v or [])
        return "one of " + ", ".join(map(str, values)) if len(values) != 1 else str(values[0])

    if etype == "expect_column_values_to_not_be_null":
        text = f"{col} is required (must not be empty)"
    elif etype == "expect_column_values_to_be_null":
        text = f"{col} must be empty"
    elif etype == "expect_column_values_to_be_in_set":
        text = f"{col} must be {value_set(kwargs.get('value_set'))}"
    elif etype == "expect_column_values_to_not_be_in_set":
        text = f"{col} must not be {value_set(kwargs.get('value_set'))}"
    elif etype == "expect_column_values_to_match_regex":
        rx = kwargs.get("regex", "")
        if isinstance(rx, dict) and rx.get("$PARAMETER") in _REGEX_PARAMS:
            text = f"{col} must be {_REGEX_PARAMS[rx['$PARAMETER']][1]}"
        else:
            text = f"{col} must be {_REGEX_WORDS.get(str(rx), f'text matching {rx}')}"
    elif etype == "expect_column_values_to_be_between":
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        smin, smax = kwargs.get("strict_min", False), kwargs.get("strict_max", False)
        if lo is not None and hi is not None and not smin and not smax:
            text = f"{col} must be between {_fmt(lo)} and {_fmt(hi)}"
        else:
            parts = []
            if lo is not None:
                parts.append(f"{'>' if smin else '>='} {_fmt(lo)}")
            if hi is not None:
                parts.append(f"{'<' if smax else '<='} {_fmt(hi)}")
            text = f"{col} must be " + " and ".join(parts)
    elif etype == "expect_column_values_to_be_unique":
        text = f"{col} must be unique (no two rows with the same {col})"
    elif etype in (
        "expect_compound_columns_to_be_unique",
        "expect_select_column_values_to_be_unique_within_record",
        "expect_multicolumn_values_to_be_unique",
    ):
        text = (
            "each combination of "
            + ", ".join(map(_base, kwargs.get("column_list", [])))
            + " must appear on one row only"
        )
    elif etype == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = _base(kwargs["column_A"]), _base(kwargs["column_B"])
        text = f"{b} must be {'<=' if kwargs.get('or_equal') else '<'} {a}"
    elif etype == "expect_column_pair_values_to_be_equal":
        text = f"{_base(kwargs['column_A'])} must equal {_base(kwargs['column_B'])}"
    elif etype in ("expect_table_columns_to_match_set", "expect_table_columns_to_contain_set"):
        text = "the header must include the columns " + ", ".join(kwargs.get("column_set", []))
    elif etype == "expect_table_row_count_to_be_between":
        least = kwargs.get("min_value") or 0
        text = f"the file must have at least {least} data row{'' if least == 1 else 's'}"
    else:
        shown = {
            k: v
            for k, v in kwargs.items()
            if k not in ("row_condition", "condition_parser", "batch_id")
        }
        text = f"{etype.removeprefix('expect_').replace('_', ' ')} {shown}"
    cond = condition_words(kwargs.get("row_condition"))
    return f"{text}, {cond}" if cond else text


def _vocab_text(param: str) -> str:
    vocab = {
        "area_types": model.AREA_TYPES,
        "polarities": model.POLARITIES,
        "methods": model.METHODS,
        "profiles": model.PROFILES,
        "sexes": model.SEXES,
        "age_bands": model.AGE_BANDS,
    }.get(param)
    return ", ".join(vocab) if vocab else "supplied at run time"


def hint_words(
    etype: str,
    kwargs: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
) -> str:
    """A one-line fix for a failed expectation."""
    meta = meta or {}
    files = files or {}
    if meta.get("hint"):
        return _template(meta["hint"], files)
    col = _base(kwargs.get("column", "") or "")
    if etype == "expect_column_values_to_not_be_null":
        return f"fill in {col} on the lines listed"
    if etype == "expect_column_values_to_be_null":
        return f"leave {col} empty on the lines listed"
    if etype in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        v = kwargs.get("value_set")
        if isinstance(v, dict) and v.get("$PARAMETER") in _param_words(files):
            return _param_words(files)[v["$PARAMETER"]][1]
        return f"correct {col}: use one of the allowed values exactly (spelling and case matter)"
    if etype == "expect_column_values_to_match_regex":
        rx = kwargs.get("regex")
        if isinstance(rx, dict) and rx.get("$PARAMETER") in _REGEX_PARAMS:
            return _REGEX_PARAMS[rx["$PARAMETER"]][2].format(col=col)
        if rx == _INTEGER:
            return (
                f"write {col} as a whole number: digits only, no decimal point, spaces, "
                "thousands separators or text"
            )
        if rx in (_NUMBER, _FT_NUMBER):
            return (
                f"write {col} as a plain number (e.g. 12 or 12.5): no spaces, units, "
                "symbols or text; leave the cell empty if there is no value"
            )
        return f"correct {col} so that it has the expected format"
    if etype == "expect_column_values_to_be_between":
        return f"correct {col} on the lines listed: the value is outside the allowed range"
    if etype == "expect_column_values_to_be_unique":
        return f"remove the duplicate rows, or correct {col} so that each value appears once"
    if etype in (
        "expect_compound_columns_to_be_unique",
        "expect_select_column_values_to_be_unique_within_record",
        "expect_multicolumn_values_to_be_unique",
    ):
        cols = ", ".join(map(_base, kwargs.get("column_list", [])))
        return f"remove the duplicate rows, or correct {cols} so that no combination repeats"
    if etype in (
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
    ):
        return (
            f"check {_base(kwargs['column_B'])} and {_base(kwargs['column_A'])} on the lines listed"
        )
    if etype in ("expect_table_columns_to_match_set", "expect_table_columns_to_contain_set"):
        return (
            "restore the missing column(s) in the header row (line 1); names must match "
            "exactly, including case"
        )
    if etype == "expect_table_row_count_to_be_between":
        return "the file has no data rows: restore its contents"
    return "correct the lines listed"


def _template(text: str, files: Mapping[str, str]) -> str:
    for key, value in files.items():
        text = text.replace("{" + key + "}", value)
    return text


# --- running GX ------------------------------------------------------------------------------


def _prepare(
    check: _Check, params: Mapping[str, Any], files: Mapping[str, str]
) -> tuple[list[dict], list[tuple[int, dict, str, str]]]:
    """Add parsed-number and derived columns to the frame; split the suite's expectations
    into those that can run and those that cannot (with the reason and the missing column)."""
    frame = check.frame
    assert frame is not None and check.suite is not None
    runnable: list[dict] = []
    skipped: list[tuple[int, dict, str, str]] = []
    present = set(frame.columns)
    for i, exp in enumerate(check.suite.get("expectations", [])):
        kwargs = exp.get("kwargs", {})
        reason = missing_column = ""
        for col in _columns_of(kwargs):
            base = _base(col)
            if base not in present:
                reason, missing_column = f"column {base} is missing", base
                break
            if col.endswith(NUMBER_SUFFIX) and col not in frame.columns:
                frame[col] = to_number(frame[base])
        if not reason:
            for col in _condition_columns(kwargs.get("row_condition")):
                if col in frame.columns:
                    continue
                if not col.startswith("_"):
                    reason, missing_column = f"column {col} is missing", col
                    break
                if (
                    col in ("_method", "_count_method", "_bounded")
                    and "indicator_id" in present
                    and "indicator_methods" in params
                ):
                    _add_method_columns(frame, params["indicator_methods"])
                else:
                    reason = (
                        f"column {col} is derived from the indicators' methods: validate "
                        "the indicators dataset alongside, or pass the suite parameter "
                        "indicator_methods"
                    )
                    break
        if not reason:
            missing = [p for p in _params_of(kwargs) if p not in params]
            if missing:
                sources = sorted({_PARAM_SOURCES.get(p, "") for p in missing} - {""})
                reason = (
                    f"suite parameter {', '.join(missing)} was not supplied: validate "
                    f"the {' and '.join(sources) or 'source'} dataset alongside, or pass "
                    "it in params"
                )
        if reason:
            skipped.append((i, exp, reason, missing_column))
        else:
            runnable.append({**exp, "meta": {**exp.get("meta", {}), "nhsbook_index": i}})
    return runnable, skipped


def _add_method_columns(frame: pd.DataFrame, methods: Mapping[str, str]) -> None:
    method = [methods.get(i) if i is not None else None for i in frame["indicator_id"]]
    known = [m if m in model.METHODS else None for m in method]
    frame["_method"] = pd.Series(method, index=frame.index, dtype=object)
    frame["_count_method"] = pd.Series(
        [None if m is None else m in model.COUNT_METHODS for m in known],
        index=frame.index,
        dtype=object,
    )
    frame["_bounded"] = pd.Series(
        [None if m is None else m in model.BOUNDED_METHODS for m in known],
        index=frame.index,
        dtype=object,
    )


def _index_lines(items: Sequence[Any]) -> list[Any]:
    out = []
    for item in items:
        out.append(item.get(LINE) if isinstance(item, dict) else item)
    return out


def _failure_from_result(
    check: _Check, exp: dict, result: dict, files: Mapping[str, str], key: Sequence[str]
) -> Failure:
    etype = exp["type"]
    kwargs = exp.get("kwargs", {})
    meta = exp.get("meta", {})
    frame = check.frame
    assert frame is not None
    report_cols = meta.get("columns") or (check.suite or {}).get("meta", {}).get("nhsbook", {}).get(
        "columns"
    )
    cols = tuple(dict.fromkeys(_base(c) for c in (report_cols or _columns_of(kwargs))))
    base = dict(
        file=check.file,
        rule=rule_words(etype, kwargs, meta, files),
        hint=hint_words(etype, kwargs, meta, files),
        dataset=check.name,
        expectation=etype,
    )
    if etype in ("expect_table_columns_to_match_set", "expect_table_columns_to_contain_set"):
        missing = [c for c in kwargs.get("column_set", []) if c not in check.header]
        return Failure(
            columns=tuple(missing),
            lines=[1] if check.lines else [],
            values=[{"header": ", ".join(check.header)}],
            count=len(missing) or 1,
            **base,
        )
    if etype.startswith("expect_table_"):
        observed = result.get("observed_value")
        return Failure(columns=(), lines=[], values=[{"observed": observed}], count=1, **base)
    index = _index_lines(result.get("unexpected_index_list") or [])
    count = int(result.get("unexpected_count") or len(index))
    shown = list(dict.fromkeys(index))[:MAX_LINES]
    show_cols = (
        [c for c in frame.columns if not c.startswith("_")]
        if check.kind != "dataset"
        else [c for c in _columns_of(kwargs)]
    )
    values, context = [], []
    for idx in shown:
        row = frame.loc[idx]
        if isinstance(row, pd.DataFrame):  # repeated index (reconciliation frames)
            row = row.iloc[0]
        if check.kind == "dataset":
            values.append({_base(c): _raw(frame, row, c) for c in dict.fromkeys(show_cols)})
            if etype == "expect_column_values_to_match_regex" and isinstance(
                kwargs.get("regex"), dict
            ):  # name the invisible characters refused
                refused = escape.control_characters(str(_raw(frame, row, kwargs["column"])))
                if refused:
                    values[-1]["characters"] = ", ".join(refused)
            context.append({k: row[k] for k in key if k in row.index and k not in cols})
        else:
            values.append({c: _native(row[c]) for c in show_cols})
    return Failure(
        columns=cols,
        lines=[int(i) for i in shown] if check.lines else [],
        values=values,
        count=count,
        context=context,
        **base,
    )


def _native(value: Any) -> Any:
    """numpy scalars as plain Python values (so that a report serialises to JSON)."""
    return value.item() if hasattr(value, "item") else value


def _raw(frame: pd.DataFrame, row: pd.Series, column: str) -> Any:
    """The cell as written in the file (the text column behind a parsed-number column)."""
    return row[_base(column)] if _base(column) in frame.columns else row[column]


def _run_gx(
    checks: list[_Check], params: Mapping[str, Any], files: Mapping[str, str]
) -> tuple[list[Failure], list[DatasetSummary], str]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("nhsbook_inputs")
    failures: list[Failure] = []
    unchecked: list[Failure] = []  # rules that could not run for want of another input
    summaries: list[DatasetSummary] = []
    for n, check in enumerate(checks):
        failures += check.problems
        summary = DatasetSummary(
            name=check.name,
            path=check.file,
            rows=check.rows,
            expectations=0,
            passed=0,
            kind=check.kind,
            problems=len(check.problems),
            note=check.note,
        )
        summaries.append(summary)
        if check.frame is None or check.suite is None:
            continue
        runnable, skipped = _prepare(check, params, files)
        outcomes: dict[int, ExpectationOutcome] = {}
        for i, exp, reason, _ in skipped:
            outcomes[i] = ExpectationOutcome(
                rule=rule_words(exp["type"], exp.get("kwargs", {}), exp.get("meta"), files),
                expectation=exp["type"],
                columns=tuple(map(_base, _columns_of(exp["kwargs"]))),
                passed=None,
                note=reason,
            )
        key = check.suite.get("meta", {}).get("nhsbook", {}).get("key") or []
        found: list[tuple[int, Failure]] = []
        if runnable:
            asset = source.add_dataframe_asset(f"{n:02d}_{check.name}")
            batch_def = asset.add_batch_definition_whole_dataframe(check.name)
            suite = context.suites.add(
                gx.ExpectationSuite(name=f"{n:02d}_{check.suite_name}", expectations=runnable)
            )
            batch = batch_def.get_batch(batch_parameters={"dataframe": check.frame})
            used = {p for exp in runnable for p in _params_of(exp.get("kwargs", {}))}
            try:
                result = batch.validate(
                    suite,
                    result_format={"result_format": "COMPLETE"},
                    expectation_parameters={p: params[p] for p in used},
                )
                results = result.results
            except Exception as exc:  # noqa: BLE001 - a broken suite must fail the gate
                failures.append(
                    Failure(
                        file=check.file,
                        columns=(),
                        rule=f"the suite {check.suite_name} must run",
                        lines=[],
                        values=[],
                        count=1,
                        dataset=check.name,
                        expectation="suite",
                        hint=f"Great Expectations could not run the suite ({exc}); fix the "
                        f"suite file expectations/{check.suite_name}.json",
                    )
                )
                results = []
            by_id = {e.id: int(e.meta["nhsbook_index"]) for e in suite.expectations}
            for res in results:
                i = by_id[res.expectation_config.id]
                exp = check.suite["expectations"][i]
                rule = rule_words(exp["type"], exp.get("kwargs", {}), exp.get("meta"), files)
                cols = tuple(dict.fromkeys(map(_base, _columns_of(exp.get("kwargs", {})))))
                info = res.exception_info or {}
                raised = (
                    info.get("raised_exception")
                    if "raised_exception" in info
                    else any(
                        v.get("raised_exception") for v in info.values() if isinstance(v, dict)
                    )
                )
                if raised:
                    message = info.get("exception_message") or next(
                        (v.get("exception_message") for v in info.values() if isinstance(v, dict)),
                        "",
                    )
                    outcomes[i] = ExpectationOutcome(
                        rule, exp["type"], cols, None, note=str(message)[:200]
                    )
                    found.append(
                        (
                            i,
                            Failure(
                                file=check.file,
                                columns=cols,
                                rule=rule,
                                lines=[],
                                values=[],
                                count=1,
                                dataset=check.name,
                                expectation=exp["type"],
                                hint=f"the rule could not be checked ({str(message)[:200]}); fix the "
                                f"suite file expectations/{check.suite_name}.json",
                            ),
                        )
                    )
                    continue
                r = res.result or {}
                outcomes[i] = ExpectationOutcome(
                    rule, exp["type"], cols, bool(res.success), int(r.get("unexpected_count") or 0)
                )
                if not res.success:
                    found.append((i, _failure_from_result(check, exp, r, files, key)))
        header_failed = {
            c
            for _, f in found
            if f.expectation.startswith("expect_table_columns")
            for c in f.columns
        }
        for i, exp, reason, missing_column in skipped:
            if missing_column and missing_column in header_failed:
                continue  # the header failure already says it
            skip = Failure(
                file=check.file,
                columns=outcomes[i].columns,
                rule=outcomes[i].rule,
                lines=[],
                values=[],
                count=1,
                dataset=check.name,
                expectation=exp["type"],
                hint=f"the rule could not be checked: {reason}",
            )
            if missing_column:
                found.append((i, skip))
            else:
                unchecked.append(skip)
        failures += [f for _, f in sorted(found, key=lambda item: item[0])]
        summary.outcomes = [outcomes[i] for i in sorted(outcomes)]
        summary.expectations = sum(o.passed is not None for o in summary.outcomes)
        summary.passed = sum(bool(o.passed) for o in summary.outcomes)
        if skipped:
            summary.note = (summary.note + "; " if summary.note else "") + f"{len(skipped)} not run"
    if not failures:
        # Nothing else failed, yet some rules could not run (e.g. a parameter was not
        # supplied): the gate must not pass without them.
        failures = unchecked
    return failures, summaries, gx.__version__


# --- public API ------------------------------------------------------------------------------

#: Datasets validated by another dataset's suite (the same published layout, other areas).
SHARED_SUITES: dict[str, str] = {
    "ons_sape_single_year_derbyshire": "ons_sape_single_year",
    "ons_sape_single_year_holdout": "ons_sape_single_year",
    # the ICB book's smoking series is a Fingertips export like any other
    "fingertips_91547": "fingertips",
    # the ICB book's SPOT outcome (nhsbook.analysis.gp_spend): the export as published has a line
    # break in one Parent Name, which the fingertips_export suite does not check
    "fingertips_93930": "fingertips_export",
    # the ONS local series (loader ons_local): one suite per published layout
    **{name: suite for name, suite in _ONS_LOCAL_SUITES.items() if name != suite},
}


def suite_for(dataset: str) -> str:
    """The name of the suite (``expectations/<name>.json``) that validates ``dataset``."""
    if dataset.startswith("fingertips_export_"):  # the exports of a Fingertips book
        return "fingertips_export"
    return SHARED_SUITES.get(dataset, dataset)


def _dataset_checks(
    datasets: Mapping[str, Path], root: Path | None, suite_dir: Path | None
) -> tuple[list[_Check], dict[str, str]]:
    checks: list[_Check] = []
    files: dict[str, str] = {}
    for name, path in datasets.items():
        path = Path(path)
        if not path.is_absolute() and root is not None and not path.exists():
            path = Path(root) / path
        file = _rel(path, root)
        files[name] = file
        suite = suite_for(name)
        check = _Check(name=name, suite_name=suite, file=file, frame=None)
        try:
            check.suite = load_suite(suite, suite_dir)
        except (OSError, ValueError) as exc:
            check.problems.append(
                Failure(
                    file=file,
                    columns=(),
                    rule=f"a suite expectations/{suite}.json must exist",
                    lines=[],
                    values=[],
                    count=1,
                    dataset=name,
                    expectation="suite",
                    hint=f"no usable suite for dataset {name!r} ({exc}); add "
                    f"expectations/{suite}.json or use a known dataset name",
                )
            )
        layout = (check.suite or {}).get("meta", {}).get("nhsbook", {})
        frame, header, problems = read_table(
            path,
            name,
            file,
            preamble=int(layout.get("preamble", 0)),
            layout=str(layout.get("layout", "csv")),
        )
        check.frame, check.header, check.rows = (
            frame,
            header,
            (None if frame is None else len(frame)),
        )
        check.problems += problems
        checks.append(check)
    return checks, files


def _run(
    checks: list[_Check],
    params: Mapping[str, Any],
    files: Mapping[str, str],
    shown_root: Path | None,
    started: float,
) -> ValidationReport:
    failures, summaries, version = _run_gx(checks, params, files)
    return ValidationReport(
        ok=not failures,
        failures=failures,
        datasets=summaries,
        root=_rel(shown_root, None) if shown_root else "",
        seconds=time.perf_counter() - started,
        gx_version=version,
    )


def validate_datasets(
    datasets: Mapping[str, Path],
    params: Mapping[str, Any] | None = None,
    *,
    root: Path | None = None,
    suite_dir: Path | None = None,
) -> ValidationReport:
    """Validate CSV files, each against the suite of its dataset name.

    ``datasets`` maps dataset (suite) name -> CSV path.  ``params`` supplies suite parameters;
    any not given are derived from the datasets at hand (:func:`derive_parameters`).  ``root``
    is the folder paths in the report are relative to (default: the working directory).
    """
    started = time.perf_counter()
    checks, files = _dataset_checks(datasets, root, suite_dir)
    merged = derive_parameters({c.name: c.frame for c in checks})
    merged.update(params or {})
    return _run(checks, merged, files, root, started)


def validate_book(
    data_dir: Path, *, root: Path | None = None, suite_dir: Path | None = None
) -> ValidationReport:
    """Validate the default book's layout in ``data_dir`` (:data:`BOOK_DATASETS`), then the
    reconciliations between its files, in one run."""
    started = time.perf_counter()
    data_dir = Path(data_dir)
    if root is None:
        repo = project_root()
        root = repo if data_dir.resolve().is_relative_to(repo.resolve()) else data_dir
    paths = {name: data_dir / rel for name, rel in BOOK_DATASETS.items()}
    # optional files (the performance chapter's monthly results) when the folder has them
    paths.update(
        {name: data_dir / rel for name, rel in OPTIONAL_FILES.items() if (data_dir / rel).is_file()}
    )
    checks, files = _dataset_checks(paths, root, suite_dir)
    frames = {c.name: c.frame for c in checks}
    params = derive_parameters(frames)
    checks += reconciliation_checks(frames, params, files, suite_dir)
    return _run(checks, params, files, data_dir, started)


# --- reconciliations -------------------------------------------------------------------------


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    return to_number(frame[column])


def _sum(values: pd.Series) -> float:
    """Sum that is NaN when any value is (a cell that did not parse is reported elsewhere)."""
    return float("nan") if values.isna().any() else float(values.sum())


def reconciliation_frames(
    frames: Mapping[str, pd.DataFrame | None], params: Mapping[str, Any]
) -> dict[str, tuple[pd.DataFrame | None, str]]:
    """The derived frames the reconciliation suites validate: name -> (frame, note).

    A frame is None (with a note saying why) when its inputs could not be read.
    """
    out: dict[str, tuple[pd.DataFrame | None, str]] = {}

    def need(*specs: tuple[str, tuple[str, ...]]) -> str:
        return unreadable(frames, *specs)

    areas, prac = frames.get("areas"), frames.get("practices")
    pop, values = frames.get("population"), frames.get("practice_values")
    seed = frames.get("seed_profile")
    methods: Mapping[str, str] = params.get("indicator_methods", {})

    # 1. practices' list sizes add up to each CCG's list size
    why = need(
        ("areas", ("area_code", "area_type", "parent_code", "list_size")),
        ("practices", ("area_code", "parent_code", "list_size")),
    )
    if why:
        out["reconcile_ccg_list_size"] = (None, why)
    else:
        cols = ["area_code", "area_type", "parent_code"]
        allareas = pd.concat(
            [areas[cols], prac[["area_code", "parent_code"]].assign(area_type="practice")[cols]],
            ignore_index=True,
        ).fillna("")
        ccg_of = model.ancestor_of_type(allareas, "ccg").to_numpy()[len(areas) :]
        sizes = _numbers(prac, "list_size").to_numpy()
        rows = []
        for line, code, kind, size in zip(
            areas.index, areas["area_code"], areas["area_type"], _numbers(areas, "list_size")
        ):
            if kind != "ccg":
                continue
            mine = pd.Series(sizes[ccg_of == code], dtype="float64")
            total = _sum(mine)
            rows.append(
                {
                    "area_code": code,
                    "list_size": size,
                    "practices": len(mine),
                    "practices_list_size": total,
                    "difference": total - size,
                    LINE: line,
                }
            )
        out["reconcile_ccg_list_size"] = (
            _frame(
                rows, ["area_code", "list_size", "practices", "practices_list_size", "difference"]
            ),
            "",
        )

    # 2. each practice's registered population (estimates) adds up to its list size
    why = need(
        ("practices", ("area_code", "list_size")),
        ("population", ("area_code", "year", "population", "kind")),
    )
    if why:
        out["reconcile_practice_population"] = (None, why)
    else:
        est = pop[pop["kind"] == "estimate"]
        est = est.assign(_n=_numbers(est, "population"))
        totals = {k: _sum(g["_n"]) for k, g in est.groupby(["area_code", "year"], sort=False)}
        years = list(dict.fromkeys(y for y in est["year"] if y is not None)) or [None]
        rows = []
        for line, code, size in zip(prac.index, prac["area_code"], _numbers(prac, "list_size")):
            for year in years:
                total = totals.get((code, year), 0.0)
                rows.append(
                    {
                        "area_code": code,
                        "year": year,
                        "list_size": size,
                        "population_estimate": total,
                        "difference": total - size,
                        LINE: line,
                    }
                )
        out["reconcile_practice_population"] = (
            _frame(rows, ["area_code", "year", "list_size", "population_estimate", "difference"]),
            "",
        )

    # 3. practices' counts add up to the CCG's published count
    why = need(
        ("seed_profile", ("indicator_id", "ccg_count")),
        ("practice_values", ("indicator_id", "count")),
    )
    if why or not methods:
        out["reconcile_ccg_counts"] = (None, why or "not run: indicators could not be read")
    else:
        counts = values.assign(_n=_numbers(values, "count"))
        sums = {k: _sum(g["_n"]) for k, g in counts.groupby("indicator_id", sort=False)}
        rows = []
        for line, ind, ccg in zip(seed.index, seed["indicator_id"], _numbers(seed, "ccg_count")):
            if methods.get(ind) not in model.COUNT_METHODS:
                continue
            total = sums.get(ind, 0.0)
            rows.append(
                {
                    "indicator_id": ind,
                    "ccg_count": ccg,
                    "practices_count": total,
                    "difference": total - ccg,
                    LINE: line,
                }
            )
        out["reconcile_ccg_counts"] = (
            _frame(rows, ["indicator_id", "ccg_count", "practices_count", "difference"]),
            "",
        )

    # 4. every practice has a row for every indicator
    why = need(("practice_values", ("indicator_id", "area_code")))
    if why or "indicator_ids" not in params or "practice_codes" not in params:
        out["reconcile_practice_coverage"] = (
            None,
            why or "not run: indicators or practices could not be read",
        )
    else:
        have = values.groupby(["indicator_id", "area_code"], sort=False).size().to_dict()
        rows = [
            {"indicator_id": i, "area_code": p, "rows": int(have.get((i, p), 0))}
            for i in params["indicator_ids"]
            for p in params["practice_codes"]
        ]
        out["reconcile_practice_coverage"] = (
            pd.DataFrame(rows, columns=["indicator_id", "area_code", "rows"]),
            "",
        )

    # 5. every indicator has a seed_profile row
    why = need(("seed_profile", ("indicator_id",)))
    if why or "indicator_ids" not in params:
        out["reconcile_seed_coverage"] = (None, why or "not run: indicators could not be read")
    else:
        have = seed.groupby("indicator_id", sort=False).size().to_dict()
        rows = [{"indicator_id": i, "rows": int(have.get(i, 0))} for i in params["indicator_ids"]]
        out["reconcile_seed_coverage"] = (pd.DataFrame(rows, columns=["indicator_id", "rows"]), "")

    # 6. the Commissioning for Value (SPOT) files agree with each other
    # lazy: keeps scipy off this module's import
    from nhsbook.analysis.spot import reconciliation_frames as spot_frames

    out.update(spot_frames(frames))

    # 7. the finance and performance tables reconcile
    out.update(finance.reconciliation_frames(frames))
    out.update(performance.reconciliation_frames(frames, finance.organisation_codes(frames)))

    # 8. rules by meaning: what each indicator's unit and method allow, across files
    out.update(meaning_frames(frames, params))
    return out


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns + [LINE])
    frame[LINE] = frame[LINE].astype("int64")
    return frame.set_index(LINE)


def reconciliation_checks(
    frames: Mapping[str, pd.DataFrame | None],
    params: Mapping[str, Any],
    files: Mapping[str, str],
    suite_dir: Path | None = None,
) -> list[_Check]:
    checks = []
    derived = reconciliation_frames(frames, params)
    for name in RECONCILIATIONS:
        suite = load_suite(name, suite_dir)
        meta = suite.get("meta", {}).get("nhsbook", {})
        anchor = meta.get("anchor", "")
        frame, note = derived[name]
        checks.append(
            _Check(
                name=name,
                suite_name=name,
                file=files.get(anchor, anchor),
                frame=frame,
                kind="reconciliation",
                lines=bool(meta.get("lines", True)),
                suite=suite,
                header=[] if frame is None else list(frame.columns),
                note=note,
                rows=None if frame is None else len(frame),
            )
        )
    return checks


# --- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``nhsbook validate``: print the text report; exit status 0 if the gate passed, else 1."""
    parser = argparse.ArgumentParser(
        prog="nhsbook validate",
        description="Run the Great Expectations gate over a book's input files.",
    )
    parser.add_argument(
        "data_dir",
        nargs="?",
        default=None,
        help="a folder in the default book's layout (default: the book's data)",
    )
    parser.add_argument(
        "--book", default=None, help="book name in books/ or a .yml path (default: default)"
    )
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="validate one CSV against expectations/NAME.json (repeatable)",
    )
    parser.add_argument(
        "--markdown", default=None, metavar="PATH", help="also write the Markdown report here"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        if args.dataset:
            pairs = [d.split("=", 1) for d in args.dataset]
            bad = [d for d, p in zip(args.dataset, pairs) if len(p) != 2]
            if bad:
                parser.error(f"--dataset expects NAME=PATH, got {bad[0]!r}")
            report = validate_datasets({n: Path(p) for n, p in pairs})
        elif args.data_dir:
            report = validate_book(Path(args.data_dir))
        else:
            cfg = load_book(args.book or "default")
            if not loader_for(cfg).whole_book_gate:
                print(
                    f"nhsbook validate: book {cfg.name!r} uses loader {cfg.loader!r}; "
                    "validate its files with --dataset NAME=PATH",
                    file=sys.stderr,
                )
                return 2
            report = validate_book(cfg.data)
    except (FileNotFoundError, ValueError) as exc:
        print(f"nhsbook validate: {exc}", file=sys.stderr)
        return 2
    print(report.to_text(), end="")
    if args.markdown:
        Path(args.markdown).write_text(
            "# Validation report\n\n" + report.to_markdown(), encoding="utf-8"
        )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
