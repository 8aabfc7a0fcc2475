"""Gate rules by meaning (nhsbook.validation.meaning, expectations/meaning_*.json), issue 24.

Each case copies the embedded default book's data, makes one careless edit that used to pass
the gate and change a published number or significance, and checks that the gate refuses it
naming the file, the line and the column, with what was expected.
"""

from __future__ import annotations

import math

import pytest

from nhsbook.validation import meaning
from nhsbook.validation.gate import validate_book
from test_bad_inputs import PV, _edit, _failure, _set, data  # noqa: F401  (fixture)

SEED = "seed_profile.csv"
IND = "indicators.csv"


def _seed(df, ind: str, col: str, value: str) -> int:
    i = df.index[df["indicator_id"] == ind][0]
    df.loc[i, col] = value
    return i


def _only(report, file: str, column: str, rule_words: str):
    """The failure for ``file`` and ``column`` whose rule mentions ``rule_words``."""
    _failure(report, file, column)
    hits = [
        f
        for f in report.failures
        if f.file == file and column in f.columns and rule_words in f.rule
    ]
    assert hits, [f"{f.where()}: {f.rule}" for f in report.failures]
    assert hits[0].hint
    return hits[0]


# --- the rules, unit by unit ------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit, method, age, name, expected",
    [
        ("%", "proportion", "15+ yrs", "", (0, 100)),
        ("%", "crude_rate", "40-74 yrs", "NHS Health Check take-up", (0, math.inf)),
        ("per 1,000", "proportion", "", "", (0, 1000)),
        ("per 100,000", "isr", "", "", (0, math.inf)),
        ("ratio (%)", "ratio", "", "Excess winter deaths", (-100, math.inf)),
        ("years", "life_expectancy", "65", "Life expectancy at 65", (0, 60)),
        ("years", "life_expectancy", "All ages", "Life expectancy at birth", (0, 125)),
        ("score", "score", "", "Index of Multiple Deprivation (IMD) 2010", (0, 100)),
    ],
)
def test_allowed_range_by_unit_and_method(unit, method, age, name, expected):
    assert meaning.allowed_range(unit, method, age=age, name=name) == expected


@pytest.mark.parametrize(
    "unit, mult",
    [
        ("%", 100),
        ("ratio (%)", 100),
        ("per 100", 100),
        ("per 1,000", 1000),
        ("per 10,000", 10000),
        ("per 100,000", 100000),
        ("years", 1),
        ("score", 1),
        ("furlongs", None),
    ],
)
def test_unit_multiplier(unit, mult):
    assert meaning.unit_multiplier(unit) == mult


# --- careless edits the gate refuses ----------------------------------------------------------


def test_a_percentage_comparator_with_a_decimal_slip_is_refused(data):
    """Cluster smoking in LTC patients 1.62 for 16.2: every CCG significance against it flips."""
    line = _edit(data, SEED, lambda df: _seed(df, "A04", "cluster_value", "1.62"))
    f = _only(validate_book(data), SEED, "cluster_value", "comparator_min")
    assert f.lines == [line] and f.values[0]["cluster_value"] == 1.62
    assert f.values[0]["comparator_min"] == pytest.approx(14.9 / 5, abs=0.01)


def test_a_negative_comparator_is_refused(data):
    line = _edit(data, SEED, lambda df: _seed(df, "A08", "cluster_value", "-74.3"))
    report = validate_book(data)
    f = _only(report, SEED, "cluster_value", "min_allowed")
    assert f.lines == [line] and f.values[0]["min_allowed"] == 0


def test_a_published_ccg_value_ten_times_too_large_is_refused(data):
    """14.9% written 149: within the unit's range it would still be caught by the
    published-against-computed rule; here both refuse it."""
    line = _edit(data, SEED, lambda df: _seed(df, "A04", "ccg_value", "149"))
    report = validate_book(data)
    f = _only(report, SEED, "ccg_value", "computed_ccg_value")
    assert f.lines == [line]
    assert f.values[0]["computed_ccg_value"] == pytest.approx(14.9, abs=0.05)
    _only(report, SEED, "ccg_value", "max_allowed")


def test_a_published_ccg_rate_ten_times_too_large_within_range_is_refused(data):
    """A rate has no upper bound: only the comparison with the computed value catches it."""
    line = _edit(data, SEED, lambda df: _seed(df, "A23", "ccg_value", "26.0"))
    f = _only(validate_book(data), SEED, "ccg_value", "computed_ccg_value")
    assert f.lines == [line] and f.values[0]["ccg_difference"] == pytest.approx(23.4, abs=0.01)


def test_a_multiplier_that_contradicts_the_unit_is_refused(data):
    """1,000 on a % indicator: every value x10, yet count <= denominator still holds."""
    line = _edit(data, IND, lambda df: _seed(df, "A04", "multiplier", "1000"))
    f = _only(validate_book(data), IND, "multiplier", "unit_multiplier")
    assert f.lines == [line]
    assert f.values[0]["multiplier"] == 1000 and f.values[0]["unit_multiplier"] == 100


def test_an_unknown_unit_is_refused(data):
    line = _edit(data, IND, lambda df: _seed(df, "A23", "unit", "per thousand"))
    f = _only(validate_book(data), IND, "unit", "multiplier is known")
    assert f.lines == [line]


def test_one_practice_row_in_another_period_is_refused(data):
    """SYN04's smoking row moved to 2011: the CCG's count would drop from the published
    10,659 to 9,884 and a one-practice CCG value appear for 2011."""
    line = _edit(data, PV, lambda df: _set(df, "A04", "SYN04", "period", "2011"))
    assert line == 119
    report = validate_book(data)
    f = _only(report, PV, "period", "parent_periods")
    assert f.lines == [line] and f.values[0]["parent_periods"] == "2012"
    missing = _only(report, PV, "period", "missing_periods")
    assert missing.lines == [line] and missing.values[0]["missing_periods"] == "2012"


def test_life_expectancy_at_65_of_300_years_is_refused(data):
    line = _edit(data, PV, lambda df: _set(df, "A01", "SYN03", "value", "300"))
    f = _only(validate_book(data), PV, "value", "max_allowed")
    assert f.lines == [line] and f.values[0]["max_allowed"] == 60


def test_a_published_life_expectancy_of_300_is_refused(data):
    line = _edit(data, SEED, lambda df: _seed(df, "A02", "best_practice", "300"))
    f = _only(validate_book(data), SEED, "best_practice", "max_allowed")
    assert f.lines == [line]


def test_an_imd_score_of_250_is_refused(data):
    line = _edit(data, PV, lambda df: _set(df, "C20", "SYN10", "value", "250"))
    report = validate_book(data)
    f = _only(report, PV, "value", "max_allowed")
    assert f.lines == [line] and f.values[0]["max_allowed"] == 100


def test_computed_values_and_limits_lie_within_the_allowed_range(computed):
    """What the gate requires of inputs holds for nhsbook's outputs: every computed value and
    95%/99.8% limit of the default book, for every area, within its indicator's range."""
    values, meta = computed["values"], computed["metadata"].set_index("indicator_id")
    checked = 0
    for ind, rows in values.groupby("indicator_id"):
        m = meta.loc[ind]
        lo, hi = meaning.allowed_range(m["unit"], m["method"], age=m["age"], name=m["name"])
        for col in ("value", "lower_95", "upper_95", "lower_998", "upper_998"):
            if col not in rows:
                continue
            x = rows[col].dropna()
            assert ((x >= lo - 1e-9) & (x <= hi + 1e-9)).all(), (ind, col, x.min(), x.max())
            checked += len(x)
    assert checked > 5000
