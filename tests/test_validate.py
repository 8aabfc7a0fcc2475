"""The validation gate: the default book passes; broken copies fail naming file, line, column.

Validation runs are the slow part (Great Expectations), so the default book is validated once
(module fixture), one copy carrying several independent breakages is validated once, and the
unreadable-input cases validate one small file each.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhsbook.core import model
from nhsbook.validation import gate
from nhsbook.validation.gate import Failure, ValidationReport, validate_book, validate_datasets

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default"
SUITES = ROOT / "expectations"
DATASET_SUITES = tuple(gate.BOOK_DATASETS)


# --- helpers ---------------------------------------------------------------------------------


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def line_of(df: pd.DataFrame, **key: str) -> int:
    """File line of the row matching ``key`` (header is line 1)."""
    mask = pd.Series(True, index=df.index)
    for col, val in key.items():
        mask &= df[col] == val
    assert mask.sum() == 1, key
    return int(df.index[mask][0]) + 2


def failures_for(
    report: ValidationReport,
    file_end: str,
    column: str | None = None,
    expectation: str | None = None,
) -> list[Failure]:
    return [
        f
        for f in report.failures
        if f.file.endswith(file_end)
        and (column is None or column in f.columns)
        and (expectation is None or f.expectation == expectation)
    ]


def only(
    report: ValidationReport,
    file_end: str,
    column: str | None = None,
    expectation: str | None = None,
) -> Failure:
    found = failures_for(report, file_end, column, expectation)
    assert len(found) == 1, (file_end, column, expectation, report.to_text())
    return found[0]


# --- the untouched default book passes -------------------------------------------------------


@pytest.fixture(scope="module")
def default_report() -> ValidationReport:
    return validate_book(DEFAULT)


def test_the_default_book_passes(default_report):
    assert default_report.ok, default_report.to_text()
    assert default_report.failures == []
    names = [d.name for d in default_report.datasets]
    assert names[: len(DATASET_SUITES)] == list(DATASET_SUITES)
    assert names[len(DATASET_SUITES) :] == list(gate.RECONCILIATIONS)
    for d in default_report.datasets:
        assert d.ok and d.rows and d.expectations == d.passed == len(d.outcomes) > 0, d
    assert default_report.expectations > 150
    assert default_report.to_text().startswith("Validation PASSED")


def test_default_report_paths_are_relative_to_the_repository(default_report):
    paths = {d.name: d.path for d in default_report.datasets}
    assert paths["practice_values"] == "data/default/synthetic/practice_values.csv"
    assert paths["reconcile_ccg_counts"] == "data/default/seed_profile.csv"


def test_markdown_page_lists_every_dataset_and_expectation(default_report):
    md = default_report.to_markdown()
    assert "**passed**" in md and "## Summary" in md and "## Failures" in md
    for d in default_report.datasets:
        assert f"| {gate._md(d.name)} |" in md
    rules = [line for line in md.splitlines() if line.startswith("| ") and "`expect_" in line]
    assert len(rules) == default_report.expectations
    assert all(line.endswith("| pass |") for line in rules)
    assert "None: every expectation passed." in md


# --- one copy, several independent breakages -------------------------------------------------


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A copy of the default data with one breakage per kind; returns (report, lines)."""
    data = tmp_path_factory.mktemp("broken") / "data"
    shutil.copytree(DEFAULT, data)
    lines: dict[str, int] = {}

    pv_path = data / "synthetic" / "practice_values.csv"
    pv = read(pv_path)
    meta = read(data / "indicators.csv").set_index("indicator_id")["method"]
    assert meta["A04"] == "proportion" and meta["A01"] == "life_expectancy"
    # negative count (the case test_build checks too)
    lines["negative"] = line_of(pv, indicator_id="A04", area_code="SYN07")
    pv.loc[lines["negative"] - 2, "count"] = "-12"
    # count > denominator for a proportion
    lines["over"] = line_of(pv, indicator_id="A06", area_code="SYN03")
    pv.loc[lines["over"] - 2, "count"] = str(int(pv.loc[lines["over"] - 2, "denominator"]) + 5)
    # non-numeric value (life expectancy: value is required and numeric)
    lines["text"] = line_of(pv, indicator_id="A01", area_code="SYN05")
    pv.loc[lines["text"] - 2, "value"] = "n/a"
    # a missing (indicator, practice) row: the last row, so no other line moves
    last = pv.iloc[-1]
    lines["missing_pair"] = (last["indicator_id"], last["area_code"])
    pv.iloc[:-1].to_csv(pv_path, index=False)

    pr_path = data / "synthetic" / "practices.csv"
    pr = read(pr_path)
    # unknown area code
    lines["unknown"] = line_of(pr, area_code="SYN12")
    pr.loc[lines["unknown"] - 2, "comparator_code"] = "E99999999"
    # a list size that no longer reconciles
    lines["list_size"] = line_of(pr, area_code="SYN10")
    pr.loc[lines["list_size"] - 2, "list_size"] = str(
        int(pr.loc[lines["list_size"] - 2, "list_size"]) + 100
    )
    pr.to_csv(pr_path, index=False)

    # duplicate key: the first row of population_structure.csv repeated at the end
    ps_path = data / "population_structure.csv"
    ps = read(ps_path)
    pd.concat([ps, ps.iloc[[0]]]).to_csv(ps_path, index=False)
    lines["duplicate"] = len(ps) + 2

    # non-numeric number in a hand-written file
    sp_path = data / "seed_profile.csv"
    sp = read(sp_path)
    lines["comma"] = line_of(sp, indicator_id="A10")
    sp.loc[lines["comma"] - 2, "ccg_value"] = "70,7"
    sp.to_csv(sp_path, index=False)

    areas = read(data / "areas.csv")
    lines["ccg"] = line_of(areas, area_type="ccg")
    return validate_book(data), lines


def test_negative_count_names_file_line_and_column(broken):
    report, lines = broken
    assert not report.ok
    f = only(report, "synthetic/practice_values.csv", "count", "expect_column_values_to_be_between")
    assert f.file == "synthetic/practice_values.csv"  # relative to the data folder
    assert f.lines == [lines["negative"]] and f.count == 1
    assert f.values == [{"count": "-12"}]
    assert f.context == [{"indicator_id": "A04", "area_code": "SYN07"}]
    assert f.rule == "count must be >= 0, where the indicator's method is not ratio"
    assert "negative" in f.hint
    text = report.to_text()
    assert f"line {lines['negative']} (indicator_id A04, area_code SYN07): count = \"-12\"" in text


def test_count_above_denominator_for_a_proportion(broken):
    report, lines = broken
    f = only(
        report,
        "practice_values.csv",
        "denominator",
        expectation="expect_column_pair_values_a_to_be_greater_than_b",
    )
    assert f.columns == ("count", "denominator")
    assert f.lines == [lines["over"]]
    assert f.rule.startswith("count must be <= denominator")
    assert int(f.values[0]["count"]) == int(f.values[0]["denominator"]) + 5


def test_non_numeric_cells_are_reported_not_coerced(broken):
    report, lines = broken
    f = only(report, "practice_values.csv", "value", "expect_column_values_to_match_regex")
    assert f.lines == [lines["text"]] and f.values == [{"value": "n/a"}]
    assert f.rule == "value must be a number"
    g = only(report, "seed_profile.csv", "ccg_value", "expect_column_values_to_match_regex")
    assert g.lines == [lines["comma"]] and g.values == [{"ccg_value": "70,7"}]


def test_unknown_area_code(broken):
    report, lines = broken
    f = only(report, "synthetic/practices.csv", "comparator_code")
    assert f.expectation == "expect_column_values_to_be_in_set"
    assert f.lines == [lines["unknown"]] and f.values == [{"comparator_code": "E99999999"}]
    assert "areas.csv" in f.rule and "areas.csv" in f.hint


def test_duplicate_key(broken):
    report, lines = broken
    f = only(report, "population_structure.csv", expectation="expect_compound_columns_to_be_unique")
    assert f.columns == ("area_code", "measure")
    assert f.lines == [2, lines["duplicate"]] and f.count == 2


def test_list_size_that_no_longer_reconciles(broken):
    report, lines = broken
    practice = only(
        report, "synthetic/practices.csv", "list_size", "expect_column_pair_values_to_be_equal"
    )
    assert practice.dataset == "reconcile_practice_population"
    assert practice.lines == [lines["list_size"]]
    assert practice.values[0]["area_code"] == "SYN10"
    assert practice.values[0]["difference"] == -100
    assert "synthetic/population.csv" in practice.rule
    ccg = only(report, "areas.csv", "list_size")
    assert ccg.dataset == "reconcile_ccg_list_size" and ccg.lines == [lines["ccg"]]
    assert ccg.values[0]["difference"] == 100


def test_counts_that_no_longer_add_up_to_the_ccg(broken):
    report, _ = broken
    f = only(report, "seed_profile.csv", "ccg_count")
    assert f.dataset == "reconcile_ccg_counts"
    assert sorted(v["indicator_id"] for v in f.values) == ["A04", "A06"]


def test_missing_practice_indicator_row(broken):
    report, lines = broken
    f = only(
        report,
        "synthetic/practice_values.csv",
        expectation="expect_column_values_to_be_between",
        column="area_code",
    )
    assert f.dataset == "reconcile_practice_coverage"
    assert f.lines == [] and f.count == 1
    indicator, practice = lines["missing_pair"]
    assert f.values == [{"indicator_id": indicator, "area_code": practice, "rows": 0}]


def test_every_breakage_and_nothing_else_is_reported(broken):
    report, lines = broken
    # 10 breakages; the negative count and the count above its denominator also make values
    # the measure cannot take (-0.45%, 100.1%) and CCG values and extremes that no longer
    # match the published ones: the rules by meaning (nhsbook.validation.meaning) report those 4 on the
    # same lines.  The decimal comma "70,7" is reported once, by its format rule (never read
    # as 707).
    meaning = [f for f in report.failures if f.dataset.startswith("meaning_")]
    assert sorted((f.dataset, tuple(f.lines)) for f in meaning) == [
        ("meaning_practice_values", (lines["negative"],)),
        ("meaning_practice_values", (lines["over"],)),
        ("meaning_seed_profile", (5, 7)),
        ("meaning_seed_profile", (5, 7)),
    ], report.to_text()
    assert len(report.failures) == 14, report.to_text()
    md = report.to_markdown()
    assert "**failed** (14 failures)" in md and "**FAIL**" in md
    text = report.to_text()
    assert text.startswith("Validation FAILED: 14 failures")
    assert "Nothing was computed or published" in text
    json.dumps(dataclasses.asdict(report))  # plain values throughout


# --- unreadable input -------------------------------------------------------------------------


def _one(tmp_path: Path, name: str, content: bytes | None) -> ValidationReport:
    path = tmp_path / f"{name}.csv"
    if content is not None:
        path.write_bytes(content)
    return validate_datasets({name: path}, root=tmp_path)


def test_missing_header_column(tmp_path):
    df = read(DEFAULT / "indicators.csv").drop(columns=["method"])
    report = _one(tmp_path, "indicators", df.to_csv(index=False).encode())
    f = only(report, "indicators.csv", "method")
    assert f.expectation == "expect_table_columns_to_match_set"
    assert f.file == "indicators.csv" and f.lines == [1]
    assert "method" not in f.values[0]["header"].split(", ")
    # the rules on the missing column did not run, and say so only once
    assert len(report.failures) == 1
    summary = report.datasets[0]
    assert any(o.passed is None and "method" in o.note for o in summary.outcomes)


def test_empty_file(tmp_path):
    report = _one(tmp_path, "areas", b"")
    f = only(report, "areas.csv")
    assert f.lines == [1] and f.expectation == "read" and "header" in f.rule
    assert report.datasets[0].rows is None and not report.ok


def test_header_only_file(tmp_path):
    report = _one(
        tmp_path,
        "areas",
        b"area_code,area_name,area_type,parent_code,comparator_code,list_size,source\n",
    )
    f = only(report, "areas.csv", expectation="expect_table_row_count_to_be_between")
    assert "at least 1 data row" in f.rule


def test_missing_file(tmp_path):
    report = _one(tmp_path, "population_growth", None)
    f = only(report, "population_growth.csv")
    assert f.rule == "the file must exist" and not report.ok


def test_row_with_extra_field_and_bad_encoding(tmp_path):
    text = (DEFAULT / "population_growth.csv").read_text(encoding="utf-8").splitlines()
    text[2] += ",surplus"
    report = _one(tmp_path, "population_growth", ("\n".join(text) + "\n").encode())
    f = only(report, "population_growth.csv", expectation="read")
    assert f.lines == [3] and f.values == [{"fields": "7"}]

    raw = (DEFAULT / "population_growth.csv").read_bytes().replace(b"2011-2020", b"2011\xe92020")
    report = _one(tmp_path, "population_growth", raw)
    f = only(report, "population_growth.csv")
    assert f.rule == "the file must be UTF-8 text" and f.lines == [2]


def test_unparsable_numbers_and_bom(tmp_path):
    df = read(DEFAULT / "population_projection.csv")
    df.loc[1, "population"] = "292 740"
    df.loc[2, "population_75plus"] = "40000000"  # more than the population
    body = "\ufeff" + df.to_csv(index=False)
    report = validate_datasets(
        {"population_projection": _write(tmp_path, body)},
        params={"area_codes": ["E38000115"]},
        root=tmp_path,
    )
    fmt = only(
        report, "population_projection.csv", "population", "expect_column_values_to_match_regex"
    )
    assert fmt.lines == [3] and fmt.values == [{"population": "292 740"}]
    pair = only(
        report,
        "population_projection.csv",
        "population_75plus",
        "expect_column_pair_values_a_to_be_greater_than_b",
    )
    assert pair.lines == [4]
    assert len(report.failures) == 2, report.to_text()


def _write(tmp_path: Path, text: str, name: str = "population_projection.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rules_that_cannot_run_fail_the_gate(tmp_path):
    """A dataset validated alone, without the parameters its suite needs, does not pass."""
    df = read(DEFAULT / "population_projection.csv")
    report = validate_datasets(
        {"population_projection": _write(tmp_path, df.to_csv(index=False))}, root=tmp_path
    )
    assert not report.ok
    f = only(report, "population_projection.csv", "area_code")
    assert "area_codes" in f.hint and "areas" in f.hint


# --- Fingertips exports -----------------------------------------------------------------------


def _fingertips_frame() -> pd.DataFrame:
    from nhsbook.io.fingertips import REQUIRED

    rows = []
    for i, (value, lo, hi) in enumerate(
        [("10.5", "9.1", "12.0"), ("20", "18", "22"), ("", "", "")]
    ):
        row = {c: "" for c in REQUIRED}
        row.update(
            {
                "Indicator ID": "91547",
                "Area Code": f"A8100{i}",
                "Time period": "2019/20",
                "Value": value,
                "Lower CI 95.0 limit": lo,
                "Upper CI 95.0 limit": hi,
                "Lower CI 99.8 limit": lo and str(float(lo) - 1),
                "Upper CI 99.8 limit": hi and str(float(hi) + 1),
                "Count": "1,234" if value else "",
                "Denominator": "11750" if value else "",
                "Time period Sortable": "20190000",
                "Compared to goal": "",
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def test_fingertips_export_passes_and_limits_must_bracket_the_value(tmp_path):
    good = _fingertips_frame()
    path = _write(tmp_path, good.to_csv(index=False), "export.csv")
    assert validate_datasets({"fingertips": path}).ok
    bad = good.copy()
    bad.loc[1, "Value"] = "25"  # above its upper 95% limit (22)
    bad.loc[0, "Count"] = "12 (est.)"
    bad.loc[2, "Denominator"] = "5"  # Count > Denominator is allowed
    report = validate_datasets(
        {"fingertips": _write(tmp_path, bad.to_csv(index=False), "export.csv")}
    )
    count = only(report, "export.csv", "Count")
    assert count.lines == [2] and count.values == [{"Count": "12 (est.)"}]
    upper = only(report, "export.csv", "Upper CI 95.0 limit")
    assert upper.lines == [3] and upper.rule == "Value must be <= Upper CI 95.0 limit"
    assert {f.columns for f in report.failures} == {
        ("Count",),
        ("Value", "Upper CI 95.0 limit"),
        ("Value", "Upper CI 99.8 limit"),
    }


def test_a_real_fingertips_export_passes():
    shared = (
        ROOT.parent / "shared" / "data" / "gp" / "fingertips_93553_imd2019_score_gp_england.csv"
    )
    if not shared.is_file():
        pytest.skip("the shared data mirror is not available")
    report = validate_datasets({"fingertips": shared})
    assert report.ok, report.to_text()
    assert report.datasets[0].rows == 6547


# --- the suites themselves -------------------------------------------------------------------


def test_every_suite_is_gx_expectation_suite_json_with_builtin_expectations():
    import great_expectations as gx
    from great_expectations.expectations.registry import get_expectation_impl

    names = sorted(p.stem for p in SUITES.glob("*.json"))
    from nhsbook.io import opendata, opendata_icb

    icb = {gate.suite_for(n) for n in opendata_icb.DATASETS} | {opendata_icb.SELECTION}
    from nhsbook.io import ons_local

    icb |= {gate.suite_for(n) for n in ons_local.DATASETS}  # the ONS local layouts
    # the exports of a Fingertips book (nhsbook.io.fingertips_book)
    icb |= {gate.suite_for("fingertips_export_any")}
    assert set(DATASET_SUITES) | set(gate.RECONCILIATIONS) | {
        "fingertips",
        "performance_sop_actuals",
    } | {gate.suite_for(n) for n in opendata.KNOWN_DATASETS} | {opendata.SELECTION} | icb == set(
        names
    )
    for name in names:
        raw = json.loads((SUITES / f"{name}.json").read_text(encoding="utf-8"))
        suite = gx.ExpectationSuite(**raw)
        assert suite.name == name and len(suite.expectations) >= 1
        for exp in raw["expectations"]:
            assert get_expectation_impl(exp["type"]).__module__.startswith(
                "great_expectations.expectations.core"
            ), exp["type"]
        if (
            name in DATASET_SUITES
            or name in ("fingertips", "performance_sop_actuals")
            or name in map(gate.suite_for, opendata.KNOWN_DATASETS)
            or name == opendata.SELECTION
            or name in icb
        ):
            assert raw["expectations"][0]["type"] == "expect_table_columns_to_match_set"


def test_fingertips_suite_uses_the_importers_column_names():
    from nhsbook.io.fingertips import REQUIRED

    suite = gate.load_suite("fingertips")
    assert suite["expectations"][0]["kwargs"]["column_set"] == list(REQUIRED)
    assert not any(
        e["type"] == "expect_column_pair_values_a_to_be_greater_than_b"
        and {"Count", "Denominator"}
        <= {e["kwargs"]["column_A"].split(":")[0], e["kwargs"]["column_B"].split(":")[0]}
        for e in suite["expectations"]
    )


def test_vocabularies_come_from_the_model():
    params = gate.derive_parameters({})
    assert params["methods"] == list(model.METHODS)
    assert params["age_bands"] == list(model.AGE_BANDS)
    text = json.dumps([gate.load_suite(n) for n in DATASET_SUITES])
    assert '"life_expectancy"' not in text and '"90+"' not in text


def test_rules_in_plain_words():
    words = gate.rule_words
    assert (
        words("expect_column_values_to_be_between", {"column": "count:number", "min_value": 0})
        == "count must be >= 0"
    )
    assert (
        words(
            "expect_column_values_to_be_between",
            {"column": "year:number", "min_value": 2000, "max_value": 2050},
        )
        == "year must be between 2000 and 2050"
    )
    assert (
        words(
            "expect_column_values_to_be_between",
            {"column": "denominator:number", "min_value": 0, "strict_min": True},
        )
        == "denominator must be > 0"
    )
    assert (
        words(
            "expect_column_values_to_not_be_null",
            {
                "column": "reference_value",
                "row_condition": 'method == "isr"',
                "condition_parser": "pandas",
            },
        )
        == "reference_value is required (must not be empty), where method is isr"
    )
    assert "proportion" in words(
        "expect_column_values_to_be_null",
        {"column": "value", "row_condition": "_count_method == True"},
    )


# --- reading with real line numbers -----------------------------------------------------------


def test_line_numbers_survive_blank_lines_and_quoted_newlines(tmp_path):
    path = _write(tmp_path, 'a,b\n1,"two\nlines"\n\n3,x\n', "t.csv")
    frame, header, problems = gate.read_table(path)
    assert header == ["a", "b"] and problems == []
    assert list(frame.index) == [2, 5]
    assert frame.loc[2, "b"] == "two\nlines" and frame.loc[5, "a"] == "3"


cell = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\r\x00"),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cell, cell), min_size=1, max_size=8))
def test_read_table_round_trips_cells_and_lines(rows):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["a", "b"])
    starts = []
    for row in rows:
        starts.append(buf.getvalue().count("\n") + 1)
        writer.writerow(row)
    path = Path(__import__("tempfile").mkdtemp()) / "t.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    frame, _, problems = gate.read_table(path)
    kept = list(zip(starts, rows))
    assert problems == []
    assert list(frame.index) == [s for s, _ in kept]
    for s, (a, b) in kept:
        assert frame.loc[s, "a"] == (a or None) and frame.loc[s, "b"] == (b or None)


# --- command line -----------------------------------------------------------------------------


def test_main_prints_the_report_and_sets_the_exit_status(tmp_path, capsys):
    good = DEFAULT / "indicators.csv"
    assert gate.main(["--dataset", f"indicators={good}"]) == 0
    assert capsys.readouterr().out.startswith("Validation PASSED")
    df = read(good)
    df.loc[3, "multiplier"] = "-1"
    bad = _write(tmp_path, df.to_csv(index=False), "indicators.csv")
    md = tmp_path / "report.md"
    assert gate.main(["--dataset", f"indicators={bad}", "--markdown", str(md)]) == 1
    out = capsys.readouterr().out
    assert "line 5" in out and "multiplier must be > 0" in out
    assert md.read_text(encoding="utf-8").startswith("# Validation report")
