"""The one number format (nhsbook.core.fmt) and the key messages (nhsbook.pages.messages) on fixed data:
polarity, no judgement, suppressed values, ties, nothing significant (issue 27)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nhsbook.core import fmt
from nhsbook.pages import messages
from nhsbook.pages.area import key_messages_html

# --- fmt -------------------------------------------------------------------------------


def test_people_and_counts_are_whole_with_separators():
    assert fmt.count(69884.0) == "69,884"
    assert fmt.count(1234567.4) == "1,234,567"
    assert fmt.count(0) == "0"


def test_rates_and_percentages_one_decimal_or_the_indicators_precision():
    assert fmt.rate(415.04) == "415.0"
    assert fmt.percent(12.345) == "12.3%"
    assert fmt.percent(2.06, sign=True) == "+2.1%" and fmt.percent(-2.06, sign=True) == "-2.1%"
    assert fmt.indicator_value(12.345, {"unit": "%"}) == "12.3%"
    assert fmt.indicator_value(512.44, {"unit": "per 100,000"}) == "512.4 per 100,000"
    assert fmt.indicator_value(81.25, {"unit": "years", "decimals": 2}) == "81.25 years"
    assert fmt.indicator_value(19.04, {"unit": "score"}) == "19.0"
    assert fmt.indicator_value(1234.0, {"unit": "count"}) == "1,234"
    assert fmt.precision({"unit": "%", "decimals": float("nan")}) == 1


def test_money_per_head_totals_and_ledger_lines():
    assert fmt.pounds_per_head(54.34) == "£54"
    assert fmt.pounds_per_head(-3.4) == "-£3"
    assert fmt.pounds_m(1630733) == "£1,630.7m"  # £'000 in, £m out
    assert fmt.pounds_m(-2345.0) == "-£2.3m"
    assert fmt.pounds_m(12_500_000, scale=1) == "£12.5m"  # pounds in
    assert fmt.thousands(-4430.2) == "-4,430" and fmt.thousands(-0.2) == "0"
    assert fmt.pounds_k(9269) == "£9,269k" and fmt.pounds_k(-12) == "-£12k"
    assert fmt.header("Budget", "£'000") == "Budget (£'000)" and fmt.header("Rank") == "Rank"


def test_sii_at_the_indicators_precision_rii_two_decimals_and_p():
    assert fmt.sii(-2.8349, {"unit": "%"}) == "-2.8"
    assert fmt.sii(-2.8349, {"unit": "%", "decimals": 2}) == "-2.83"
    assert fmt.rii(1.2345) == "1.23"
    assert fmt.p_value(0.29) == "p = 0.290" and fmt.p_value(1e-6) == "p < 0.001"


def test_missing_and_suppressed_use_the_books_wording():
    for f in (fmt.count, fmt.rate, fmt.percent, fmt.pounds_per_head):
        assert f(float("nan")) == fmt.MISSING == "–"
        assert f(None) == "–"
        assert f(7.0, suppressed=True) == "Supp."
    assert fmt.indicator_value(3.0, {"unit": "%"}, suppressed=True) == "Supp."
    assert fmt.pounds_m(float("nan")) == "–" and fmt.thousands(None) == "–"
    assert fmt.number(-0.04, 1) == "0.0"  # no "-0.0"


def test_d3_formats_match_the_text_formats():
    assert fmt.d3() == ",.1f" and fmt.d3(0) == fmt.D3_COUNT == ",.0f"


# --- key messages: fixed tables -----------------------------------------------------------

META = pd.DataFrame(
    {
        "indicator_id": ["I1", "I2", "I3", "I4", "I5"],
        "name": [
            "Smoking prevalence",
            "Screening coverage",
            "Recorded diabetes",
            "Emergency admissions",
            "Life expectancy",
        ],
        "domain": ["D"] * 5,
        "profile": ["adult"] * 5,
        "unit": ["%", "%", "%", "per 100,000", "years"],
        "multiplier": [100, 100, 100, 100000, 1],
        "polarity": ["low_is_good", "high_is_good", "no_judgement", "low_is_good", "high_is_good"],
        "method": ["proportion", "proportion", "proportion", "crude_rate", "life_expectancy"],
        "period": ["2012"] * 5,
        "sex": ["Persons"] * 5,
        "age": ["All ages"] * 5,
        "source": ["test"] * 5,
    }
)
AREAS = pd.DataFrame(
    {
        "area_code": ["CL", "C1", "L1", "L2"],
        "area_name": ["Cluster", "Test CCG", "North locality", "South locality"],
        "area_type": ["cluster", "ccg", "locality", "locality"],
        "parent_code": [None, "CL", "C1", "C1"],
        "comparator_code": [None, "CL", "C1", "C1"],
    }
)


def _row(ind, code, value, comp, sig, period="2012", count=500.0, denom=2500.0, suppressed=False):
    return {
        "indicator_id": ind,
        "area_code": code,
        "area_type": "locality",
        "period": period,
        "sex": "Persons",
        "age": "All ages",
        "category_type": "",
        "category": "",
        "value": value,
        "lower_95": value - 1,
        "upper_95": value + 1,
        "lower_998": np.nan,
        "upper_998": np.nan,
        "count": count,
        "denominator": denom,
        "value_note": "",
        "comparator_value": comp,
        "significance": sig,
        "suppressed": suppressed,
    }


def tables(rows, **extra):
    values = pd.DataFrame(rows)
    return {"values": values, "metadata": META, "areas": AREAS, **extra}


BASE = [
    _row("I1", "L1", 20.0, 15.0, "Worse"),
    _row("I2", "L1", 80.0, 75.0, "Better"),
    _row("I3", "L1", 7.1, 6.04, "Higher"),
    # suppressed: its count is 3 and the pipeline withheld it (it was "Worse")
    _row("I4", "L1", 987.6, 400.0, "Worse", count=3.0, suppressed=True),
    _row("I5", "L1", 80.2, 79.9, "Not compared"),
]


def test_profile_counts_and_names_worse_and_better_with_values_and_comparator():
    msgs = messages.key_messages(tables(BASE), "L1", "profile")
    text = " ".join(msgs)
    assert msgs[0].startswith(
        "Compared with Test CCG on 3 indicators at 95% confidence, "
        "North locality is significantly worse on 1 and better on 1"
    )
    assert "Worse than Test CCG: Smoking prevalence (20.0% against 15.0%)." in msgs
    assert "Better than Test CCG: Screening coverage (80.0% against 75.0%)." in msgs
    assert "Not compared" not in text


def test_no_judgement_indicators_are_higher_or_lower_never_worse():
    msgs = messages.key_messages(tables(BASE), "L1", "profile")
    diabetes = [m for m in msgs if "Recorded diabetes" in m]
    assert diabetes == [
        "Higher than Test CCG, where neither is better: Recorded diabetes (7.1% against 6.0%)."
    ]
    assert "worse" not in diabetes[0].lower().replace("neither is better", "")


def test_a_profile_of_no_judgement_indicators_only_never_says_worse_or_better():
    rows = [_row("I3", "L1", 7.1, 6.04, "Higher")]
    msgs = messages.key_messages(tables(rows), "L1", "profile")
    assert msgs[0] == (
        "Compared with Test CCG on 1 indicator at 95% confidence, North "
        "locality is significantly higher on 1 and lower on 0, on indicators "
        "where neither is better."
    )
    assert not any("worse" in m.lower() for m in msgs)
    assert messages.headline(tables(rows), "L1") == (
        "Significantly higher than Test CCG on 1 and lower on 0 of 1 indicator compared, "
        "where neither is better."
    )


def test_suppressed_values_are_never_named_nor_their_figures_published():
    msgs = messages.key_messages(tables(BASE), "L1", "profile")
    text = " ".join(msgs)
    assert "Emergency admissions" not in text and "987.6" not in text
    # the counts of the area's rows never appear in a message
    assert " 3 " not in f" {text} ".replace("on 3 indicators", "")
    head = messages.headline(tables(BASE), "L1")
    assert (
        head == "Significantly worse than Test CCG on 1 and better on 1 of 3 indicators compared."
    )


def test_nothing_significant_says_so_in_one_sentence():
    rows = [_row("I1", "L1", 15.2, 15.0, "Similar"), _row("I2", "L1", 75.1, 75.0, "Similar")]
    assert messages.key_messages(tables(rows), "L1", "profile") == [
        "North locality is not significantly different from Test CCG on any of the 2 "
        "indicators compared (95% confidence)."
    ]
    rows = [_row("I1", "L1", np.nan, 15.0, "Not compared", count=2.0, suppressed=True)]
    assert messages.key_messages(tables(rows), "L1", "profile")[0].startswith(
        "None of the 1 indicator of North locality can be compared"
    )


def test_more_than_six_named_then_and_n_more():
    assert messages._listing([f"i{k}" for k in range(8)]) == "i0; i1; i2; i3; i4; i5; and 2 more"
    assert messages._listing(["a", "b", "c"]) == "a, b and c"
    assert messages._listing(["a, x", "b"]) == "a, x and b"


def test_worse_and_getting_worse_when_a_trend_is_significant():
    # smoking rises every year on large denominators: a significant increase, low is good
    rows = [
        _row("I1", "L1", v, 15.0, "Worse", period=str(y), count=v * 100, denom=10000.0)
        for y, v in zip(range(2008, 2013), (12.0, 14.0, 16.0, 18.0, 20.0))
    ]
    rows += BASE[1:]
    msgs = messages.key_messages(tables(rows), "L1", "profile")
    assert "Worse and getting worse: Smoking prevalence (increasing and getting worse)." in msgs


def test_ties_name_every_item_at_the_top():
    pos = pd.DataFrame(
        {
            "org_code": "ORG",
            "month": 8,
            "as_at": "2011-11-30",
            "period": "2011-12",
            "row_id": ["total_revenue", "a", "b", "c", "d"],
            "parent_id": [None, "total_revenue", "total_revenue", "total_revenue", "total_revenue"],
            "line": ["Total", "Acute", "Mental health", "Reserves", "Estates"],
            "annual_budget": [100_000.0, 60_000.0, 20_000.0, 15_000.0, 5_000.0],
            "budget_to_date": [66_000.0, 40_000.0, 13_000.0, 10_000.0, 3_000.0],
            "expenditure_to_date": [66_500.0, 40_500.0, 13_500.0, 9_500.0, 3_000.0],
            "variance_to_date": [-500.0, -500.0, -500.0, 500.0, 0.0],
            "forecast_variance": [-1_000.0, -1_500.0, -1_500.0, 2_000.0, 0.0],
        }
    )
    msgs = messages.key_messages({"finance": {"finance_position": pos}}, "ORG", "finance")
    assert msgs[0] == (
        "At 2011-11-30 (month 8 of 2011-12), spend to date is £66.5m against a "
        "budget to date of £66.0m (an overspend of £0.5m)."
    )
    assert msgs[1] == (
        "Forecast outturn £101.0m against an annual budget of £100.0m (an overspend of £1.0m)."
    )
    assert "Largest forecast overspend: Acute (£1,500k) and Mental health (£1,500k)." in msgs
    assert "Largest forecast underspend: Reserves (£2,000k)." in msgs
    # a variance under £0.1m is written in £k, not as £0.0m
    assert messages._variance_words(12.0) == "an underspend of £12k"
    assert messages._variance_words(0.2) == "on budget"


def test_a_correlation_is_headlined_only_when_supported_with_n_and_p():
    weak = pd.DataFrame(
        {
            "Indicator": ["A", "B"],
            "r": [0.41, -0.2],
            "R²": [0.17, 0.04],
            "Practices": [8, 8],
            "p": [0.29, 0.6],
        }
    )
    text = messages.correlation_sentence(weak, "IMD 2010")
    assert text.startswith("No indicator is significantly correlated with IMD 2010")
    assert "Bonferroni" in text and "2 indicators tested" in text and "strongest" not in text
    strong = pd.DataFrame(
        {
            "Indicator": ["A", "B"],
            "r": [0.81, -0.2],
            "R²": [0.66, 0.04],
            "Practices": [38, 38],
            "p": [1e-9, 0.6],
        }
    )
    text = messages.correlation_sentence(strong, "IMD 2010")
    assert text.startswith(
        "The strongest correlation with IMD 2010 is A: r = 0.81 (38 practices, p < 0.001;"
    )


def test_an_inequality_gap_is_headlined_only_when_its_interval_excludes_zero():
    summary = pd.DataFrame(
        {
            "indicator_id": ["I1", "I2"],
            "indicator": ["Smoking prevalence", "Screening coverage"],
            "sii": [-6.04, 1.0],
            "sii_lower": [-8.0, -0.5],
            "sii_upper": [-4.0, 2.5],
            "rii": [0.7, 1.01],
        }
    )
    msgs = messages.inequality_sentences(summary, META)
    assert msgs == [
        "1 indicator of 2 differ significantly between the most and the least "
        "deprived practices (the SII's 95% interval excludes 0); the largest "
        "relative gaps: Smoking prevalence (SII -6.0 percentage points, 95% CI "
        "-8.0 to -4.0)."
    ]
    none = summary.assign(sii_lower=[-1.0, -0.5], sii_upper=[1.0, 2.5])
    assert messages.inequality_sentences(none, META)[0].startswith("No indicator shows a gap")


def test_a_page_type_with_nothing_to_say_returns_no_messages():
    t = tables(BASE)
    assert messages.key_messages(t, "L1", "spot") == []  # no SPOT data
    assert messages.key_messages(t, "L1", "finance") == []  # no finance
    assert messages.key_messages(t, "L1", "performance") == []
    assert messages.key_messages(t, "NOWHERE", "profile") == []
    with pytest.raises(ValueError, match="unknown page type 'profiles'"):
        messages.key_messages(t, "L1", "profiles")


def test_the_box_escapes_each_sentence_and_is_absent_when_empty():
    html = key_messages_html(["<b>Worse</b> & better"])
    assert 'class="admonition note nhsbook-key-messages"' in html
    assert "&lt;b&gt;Worse&lt;/b&gt; &amp; better" in html and "<b>" not in html
    assert key_messages_html([]) == ""


def test_the_default_books_messages_follow_its_computed_tables(computed, default_book):
    """On the real default tables: the CCG's profile names its worse indicators with their
    values, no suppressed value is named, and every page type answers."""
    t = messages.load_tables(default_book, computed)
    msgs = messages.key_messages(t, "E38000115", "profile")
    assert msgs[0].startswith("Compared with ") and "significantly worse on" in msgs[0]
    worse = [m for m in msgs if m.startswith("Worse than")]
    assert worse and " against " in worse[0]
    from nhsbook.analysis import disclosure, indicators

    for p in dict.fromkeys(computed["metadata"]["profile"]):
        rows = indicators.profile_table(computed["values"], computed["metadata"], "ND-CHE", p)
        for name in rows.loc[disclosure.is_suppressed(rows), "name"]:
            assert not any(
                f"{name} (" in m for m in messages.key_messages(t, "ND-CHE", "profile")
            ), name
    for page in messages.PAGES:
        assert isinstance(messages.key_messages(t, "E38000115", page), list)
    fin = messages.key_messages(t, "DERBYSHIRE-CLUSTER", "finance")
    assert fin[1].startswith("Forecast outturn £1,630.7m against an annual budget of")
    assert not math.isnan(len(messages.headline(t, "DACCOM")))


def test_finance_without_a_position_speaks_of_allocation_plan_and_qipp(default_book):
    """Organisations the seeds publish no financial position for (a CCG, Derby City PCT)
    still open their finance page with its figures: seed 001 Tables 12, 13 and 14 (lines
    1236-1278) and the County PCT's QIPP scheme table (lines 5126-5160)."""
    from nhsbook.analysis import finance

    fin = finance.load(default_book.name)
    ccg = messages.key_messages({"finance": fin}, "E38000115", "finance")
    # Table 13, line 1250: North Derbyshire 368,857 + 10,328 = 379,185 (£'000)
    assert ccg[0] == (
        "Indicative baseline for 2012-13 of £368.9m plus growth of £10.3m "
        "(2.8%): £379.2m in all (Table 13)."
    )
    q = fin["finance_qipp"]
    lines = q[
        q["status"].isin(["transacted", "needs_delivering"]) & ~q["row_id"].str.endswith("_total")
    ]
    delivered = lines.loc[lines["status"] == "transacted", "north_derbyshire"].sum()
    planned = lines["north_derbyshire"].sum()
    assert ccg[1] == (
        f"QIPP 2011-12: {fmt.pounds_m(delivered)} delivered of "
        f"{fmt.pounds_m(planned)} planned ({round(100 * delivered / planned)}%) "
        "in the County PCT's schemes."
    )
    city = messages.key_messages({"finance": fin}, "5N7", "finance")
    # Table 12, City column: 437,613 + 12,253 + 772 = 450,638; Table 14: QIPP 30,637,
    # balance after QIPP 12,041
    assert city == [
        "Allocation for 2012-13 of £450.6m: the 2011-12 baseline of £437.6m plus "
        "£13.0m of growth and re-ablement monies (Table 12).",
        "The draft plan for 2012-13 needs QIPP savings of £30.6m to leave a "
        "balance of £12.0m (Table 14).",
    ]
    # an organisation with a position keeps the position's messages
    assert messages.key_messages({"finance": fin}, "DERBYSHIRE-CLUSTER", "finance")[0].startswith(
        "At 2011-11-30 (month 8"
    )


def test_maps_messages_count_the_most_and_least_deprived_lsoas():
    lsoas = pd.DataFrame({"imd2019_decile": [1, 2, 2, 5, 9, 10, 10, 10, np.nan]})
    msgs = messages.key_messages(
        tables(BASE), "NOWHERE", "maps", lsoa_table=lsoas, area_name="Dacorum"
    )
    assert msgs == [
        "3 of the 8 LSOAs of Dacorum (38%) are among England's 20% most deprived "
        "(IMD 2019 deciles 1 and 2) and 4 (50%) among the 20% least deprived."
    ]
    assert messages.key_messages(tables(BASE), "NOWHERE", "maps") == []
