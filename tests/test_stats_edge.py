"""nhsbook.stats: edge cases, invalid input and the shape of the results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhsbook import stats
from nhsbook.core.model import AGE_BANDS


def long_table(groups: dict[str, tuple[list[float], list[float]]]) -> pd.DataFrame:
    """Age-specific counts/denominators for groups, bands = the 19 ESP bands."""
    frames = [
        pd.DataFrame({"area_code": g, "age_band": AGE_BANDS, "count": c, "denominator": d})
        for g, (c, d) in groups.items()
    ]
    return pd.concat(frames, ignore_index=True)


# --- basics ------------------------------------------------------------------------------------


def test_esp2013_and_z():
    assert list(stats.ESP2013.index) == list(AGE_BANDS)
    assert stats.ESP2013.sum() == 100_000 and stats.ESP2013["90+"] == 1000
    assert stats.z_value(0.95) == pytest.approx(1.959963985)
    assert stats.z_value(0.998) == pytest.approx(3.090232306)
    for bad in (95, 0, 1, -0.1, "x"):
        with pytest.raises(ValueError, match="conf"):
            stats.z_value(bad)
    assert stats.conf_label(0.95) == "95" and stats.conf_label(0.998) == "998"


def test_inputs_scalar_list_array_series():
    s = pd.Series([5.0, 50.0], index=["a", "b"])
    d = pd.Series([100.0, 100.0], index=["a", "b"])
    r = stats.proportion_ci(s, d)
    assert list(r.index) == ["a", "b"] and list(r.columns) == ["value", "lower", "upper"]
    r_list = stats.proportion_ci([5, 50], [100, 100])
    np.testing.assert_allclose(r_list.to_numpy(), r.to_numpy())
    one = stats.proportion_ci(5, 100)
    assert len(one) == 1 and one["value"].iloc[0] == 5.0
    lo, up = stats.byars_limits(20)
    assert isinstance(lo, float) and lo < 20 < up
    lo, up = stats.byars_limits(s)
    assert isinstance(lo, pd.Series) and list(lo.index) == ["a", "b"]


def test_mismatched_inputs_raise():
    with pytest.raises(ValueError, match="length"):
        stats.rate_ci([1, 2, 3], [10, 20])
    with pytest.raises(ValueError, match="different indexes"):
        stats.rate_ci(pd.Series([1, 2], index=["a", "b"]), pd.Series([1, 2], index=["b", "c"]))
    with pytest.raises(ValueError, match="numeric"):
        stats.rate_ci(["a"], [1])
    with pytest.raises(ValueError, match="DataFrame"):
        stats.rate_ci(pd.DataFrame({"x": [1]}), 1)


# --- proportions and rates ---------------------------------------------------------------------


def test_proportion_edges():
    r = stats.proportion_ci([0, 10, 10, 11, -1, np.nan, 3], [10, 10, 0, 10, 10, 10, np.nan])
    assert r.loc[0, "lower"] == 0 and r.loc[0, "value"] == 0 and r.loc[0, "upper"] > 0
    assert r.loc[1, "upper"] == 100 and r.loc[1, "value"] == 100 and r.loc[1, "lower"] < 100
    assert r.loc[2:].isna().all(axis=None)  # denom 0, count > denom, negative, NaNs
    tiny = stats.proportion_ci(1, 1, multiplier=1)
    assert tiny["upper"].iloc[0] == 1 and 0 < tiny["lower"].iloc[0] < 1


def test_proportion_vector_multiplier():
    r = stats.proportion_ci([1, 1], [4, 4], multiplier=pd.Series([1.0, 100.0]))
    assert r["value"].tolist() == [0.25, 25.0]


def test_rate_edges():
    r = stats.rate_ci(
        [0, 9, 10, 5, -1, 3, np.nan], [1000, 1000, 1000, 0, 1000, -5, 1000], multiplier=1000
    )
    assert r.loc[0, "value"] == 0 and r.loc[0, "lower"] == 0
    assert r.loc[0, "upper"] == pytest.approx(3.688879, rel=1e-6)  # exact 95% upper of 0
    # 9 exact, 10 Byar's: both sensible and ordered
    assert r.loc[1, "lower"] < 9 < r.loc[1, "upper"]
    assert r.loc[2, "lower"] < 10 < r.loc[2, "upper"]
    assert r.loc[3:].isna().all(axis=None)


def test_byars_exact_switch():
    lo_e, up_e = stats.byars_limits(np.array([9.0]))
    lo_b, up_b = stats.byars_limits(np.array([9.0]), exact_below=0)
    assert lo_e[0] != lo_b[0]
    lo10, _ = stats.byars_limits(np.array([10.0]))
    lo10b, _ = stats.byars_limits(np.array([10.0]), exact_below=0)
    assert lo10[0] == lo10b[0]
    assert np.isnan(stats.byars_limits(-1)[0])


def test_isr_isratio_edges():
    r = stats.isratio([0, 5, 12, 3, -1], [10, 10, 10, 0, 10])
    assert r.loc[0, "lower"] == 0 and r.loc[0, "value"] == 0
    assert r.loc[1, "value"] == 50 and r.loc[2, "value"] == 120
    assert r.loc[3:].isna().all(axis=None)
    rate = stats.isr(12, 10, 0.005, multiplier=100_000)
    assert rate["value"].iloc[0] == pytest.approx(1.2 * 500)
    assert stats.isr(12, 10, -1.0)["value"].isna().all()


# --- DSR ---------------------------------------------------------------------------------------


def test_dsr_structure_errors():
    good = long_table({"A": ([10.0] * 19, [1000.0] * 19), "B": ([5.0] * 19, [800.0] * 19)})
    missing = good.drop(
        index=good.index[(good["area_code"] == "B") & good["age_band"].isin(["90+", "0-4"])]
    )
    with pytest.raises(ValueError, match=r"area_code='B'.*missing age band.*'0-4', '90\+'"):
        stats.dsr(missing, groupby=["area_code"])
    unknown = good.replace({"90+": "90-94"})
    with pytest.raises(ValueError, match="not in standard"):
        stats.dsr(unknown, groupby=["area_code"])
    dup = pd.concat([good, good.iloc[[0]]])
    with pytest.raises(ValueError, match="more than once"):
        stats.dsr(dup, groupby=["area_code"])
    with pytest.raises(ValueError, match="no column"):
        stats.dsr(good, groupby=["nope"])
    with pytest.raises(ValueError, match="standard"):
        stats.dsr(good, groupby=["area_code"], standard=np.ones(5))


def test_dsr_zero_bands_small_totals_and_bad_rows():
    c = [0.0] * 19
    c[-1] = 12.0
    t = long_table(
        {
            "ok": (c, [1000.0] * 19),
            "small": ([0.0] * 18 + [9.0], [1000.0] * 19),
            "neg": ([-1.0] + [5.0] * 18, [1000.0] * 19),
            "zero_pop": ([5.0] * 19, [0.0] + [1000.0] * 18),
            "nan": ([np.nan] + [5.0] * 18, [1000.0] * 19),
        }
    )
    r = stats.dsr(t, groupby=["area_code"]).set_index("area_code")
    assert r.loc["ok", "value"] == pytest.approx(12 * 1000 / 1000 / 100_000 * 100_000)
    assert r.loc["ok", "lower"] < r.loc["ok", "value"] < r.loc["ok", "upper"]
    assert np.isnan(r.loc["small", "value"]) and "below 10" in r.loc["small", "value_note"]
    assert r.loc["small", "count"] == 9
    for g in ("neg", "zero_pop"):
        assert r.loc[g, ["count", "value", "lower", "upper"]].isna().all()
        assert r.loc[g, "value_note"].startswith("Not calculated")
    assert r.loc["ok", "value_note"] == ""
    # issue 24: a missing band count counts as 0 (PHEindicatormethods R/DSR.R, na.zero), with
    # a note; it used to blank the whole area
    assert r.loc["nan", "count"] == 90 and np.isfinite(r.loc["nan", "value"])
    assert r.loc["nan", "value_note"] == "1 missing age-band count counted as 0 (national method)"


def test_dsr_subset_of_bands_and_no_groupby():
    t = long_table({"A": ([10.0] * 19, [1000.0] * 19)})
    sub = t[t["age_band"].isin(AGE_BANDS[:5])]
    r = stats.dsr(sub)
    assert list(r.columns) == ["count", "denominator", "value", "lower", "upper", "value_note"]
    assert r["value"].iloc[0] == pytest.approx(1000.0)  # 1% in every band present
    assert r["count"].iloc[0] == 50


def test_dsr_nan_group_keys_kept():
    t = long_table({"A": ([10.0] * 19, [1000.0] * 19), "B": ([10.0] * 19, [1000.0] * 19)})
    t["area_type"] = np.where(t["area_code"] == "A", "ccg", None)
    r = stats.dsr(t, groupby=["area_code", "area_type"])
    assert len(r) == 2


def test_expected_counts_errors():
    t = long_table({"A": ([1.0] * 19, [100.0] * 19)})
    rates = pd.Series(0.01, index=list(AGE_BANDS[:-1]))
    with pytest.raises(ValueError, match="not in ref_rates"):
        stats.expected_counts(t, rates)
    e = stats.expected_counts(t, pd.Series(0.01, index=list(AGE_BANDS)))
    assert e["expected"].iloc[0] == pytest.approx(19.0) and e["observed"].iloc[0] == 19


# --- life expectancy ---------------------------------------------------------------------------

POPS = [
    7060,
    35059,
    46974,
    48489,
    43219,
    38561,
    46009,
    57208,
    61435,
    55601,
    50209,
    56416,
    46411,
    39820,
    37978,
    37039,
    33288,
    23306,
    11936,
    11936,
]
DEATHS = [17, 9, 4, 8, 20, 15, 24, 33, 50, 71, 100, 163, 263, 304, 536, 872, 1390, 1605, 1936, 1937]


def le_df(pops=POPS, deaths=DEATHS, bands=stats.LE_AGE_BANDS):
    return pd.DataFrame({"age_band": bands, "population": pops, "deaths": deaths})


def test_le_invalid_bands_and_values():
    r = stats.life_expectancy(le_df(deaths=[17, 9, 4, -5] + DEATHS[4:]))
    assert r[["value", "lower", "upper"]].isna().all(axis=None)
    assert r["value_note"].iloc[0].startswith("Not calculated")
    r = stats.life_expectancy(le_df(pops=POPS[:5] + [0] + POPS[6:]))
    assert r["value"].isna().all()
    r = stats.life_expectancy(le_df(pops=POPS[:18] + [119] + POPS[19:]))  # deaths > pops
    assert r["value"].isna().all()
    # issue 24: a group missing a band gets NA with the reason (it used to raise)
    r = stats.life_expectancy(le_df().iloc[:19])
    assert r["value"].isna().all() and "missing age band(s) ['90+']" in r["value_note"].iloc[0]
    with pytest.raises(ValueError, match="start_age"):
        stats.life_expectancy(le_df(), start_age=3)
    with pytest.raises(ValueError, match="not life-table bands"):
        stats.life_expectancy(le_df(bands=list(stats.LE_AGE_BANDS[:-1]) + ["90-94"]))


def test_le_small_population_no_deaths_90_and_wide_ci():
    low = stats.life_expectancy(le_df(pops=[200] * 20, deaths=[1] * 20))
    assert low["value"].isna().all() and "5,000" in low["value_note"].iloc[0]
    no90 = stats.life_expectancy(le_df(deaths=DEATHS[:19] + [0]))
    assert no90["value"].isna().all() and "90+" in no90["value_note"].iloc[0]
    # 5,000+ person-years but few deaths in the old ages: CI wider than 20 years
    pops = [400] * 20
    deaths = [0] * 17 + [1, 1, 1]
    wide = stats.life_expectancy(le_df(pops=pops, deaths=deaths), start_age=0)
    assert np.isnan(wide["value"].iloc[0])
    assert np.isfinite(wide["lower"].iloc[0]) and wide["upper"].iloc[0] - wide["lower"].iloc[0] > 20
    assert "20 years" in wide["value_note"].iloc[0]


def test_le_custom_labels_and_5000_over_all_ages():
    labels = [f"b{i}" for i in range(20)]
    r = stats.life_expectancy(le_df(bands=labels), le_age_bands=labels, start_age=65)
    assert r["value"].iloc[0] == pytest.approx(18.76856852, abs=5e-5)
    # issue 24: only 4,000 person-years at 85+, but the 5,000 minimum is on the total
    # population (all ages), so LE at 85 is published (it used to be blanked)
    small_old = POPS[:18] + [2000, 2000]
    r = stats.life_expectancy(
        le_df(pops=small_old, deaths=DEATHS[:18] + [500, 500]), start_age=[0, 85]
    )
    assert np.isfinite(r.loc[r["start_age"] == 0, "value"]).all()
    assert np.isfinite(r.loc[r["start_age"] == 85, "value"]).all()


# --- mean ----------------------------------------------------------------------------------------


def test_mean_edges():
    r = stats.mean_ci([5.0])
    assert r["value"].iloc[0] == 5 and np.isnan(r["lower"].iloc[0])
    # issue 24: missing values are left out and not counted in n (they used to blank it)
    r = stats.mean_ci([1.0, np.nan, 3.0])
    assert r["n"].iloc[0] == 2 and r["missing"].iloc[0] == 1 and r["value"].iloc[0] == 2
    assert r["value_note"].iloc[0] == "1 missing value excluded"
    r = stats.mean_ci([2.0, 2.0, 2.0])
    assert r["lower"].iloc[0] == r["upper"].iloc[0] == 2
    with pytest.raises(ValueError, match="no column"):
        stats.mean_ci(pd.DataFrame({"x": [1.0]}), x="y")


# --- compare -------------------------------------------------------------------------------------


def test_compare_labels():
    v = [10, 10, 10, 10, np.nan, 10]
    lo = [8, 11, 2, 8, 8, 8]
    up = [12, 13, 9, 12, 12, 12]
    comp = [10, 10, 10, np.nan, 10, 10]
    assert stats.compare(v, lo, up, comp, "high_is_good").tolist() == [
        "Similar",
        "Better",
        "Worse",
        "Not compared",
        "Not compared",
        "Similar",
    ]
    assert stats.compare(v, lo, up, comp, "low_is_good").tolist()[:3] == [
        "Similar",
        "Worse",
        "Better",
    ]
    assert stats.compare(v, lo, up, comp, "no_judgement").tolist()[:3] == [
        "Similar",
        "Higher",
        "Lower",
    ]
    # boundary: comparator equal to a limit is inside
    assert stats.compare(10, 10, 12, 10, "high_is_good").iloc[0] == "Similar"


def test_compare_two_levels_and_vector_polarity():
    idx = pd.Index(["a", "b", "c", "d"])
    v = pd.Series([15, 15, 5, 15], index=idx)
    lo95 = pd.Series([11, 14, 2, 11], index=idx)
    up95 = pd.Series([19, 16, 8, 19], index=idx)
    lo998 = pd.Series([9, 12.5, 1, np.nan], index=idx)
    up998 = pd.Series([21, 18, 9.5, 21], index=idx)
    pol = pd.Series(["high_is_good", "high_is_good", "low_is_good", "no_judgement"], index=idx)
    out = stats.compare(v, lo95, up95, 10, pol, lower_998=lo998, upper_998=up998)
    assert out.tolist() == ["Better", "Best", "Best", "Not compared"]
    out = stats.compare(
        v, lo95, up95, 10, ["no_judgement"] * 4, lower_998=lo998, upper_998=up998.fillna(0)
    )
    assert out[["a", "b", "c"]].tolist() == ["Higher", "Higher", "Lower"]
    assert list(out.index) == list(idx)


def test_compare_polarity_errors():
    with pytest.raises(ValueError, match="polarity"):
        stats.compare(1, 0, 2, 1, "High is good")
    with pytest.raises(ValueError, match="polarity"):
        stats.compare([1, 1], [0, 0], [2, 2], 1, pd.Series(["high_is_good", None]))
    with pytest.raises(ValueError, match="polarity"):
        stats.compare([1, 1], [0, 0], [2, 2], 1, pd.Series(["high_is_good", ""]))
    with pytest.raises(ValueError, match="length"):
        stats.compare([1, 1], [0, 0], [2, 2], 1, ["high_is_good"] * 3)
    with pytest.raises(ValueError, match="both"):
        stats.compare(1, 0, 2, 1, "high_is_good", lower_998=0)


# --- zscore, percentile, quantiles -----------------------------------------------------------


def test_zscore():
    z = stats.zscore(pd.Series([1.0, 2.0, 3.0], index=["x", "y", "z"]))
    assert z.tolist() == [-1.0, 0.0, 1.0] and list(z.index) == ["x", "y", "z"]
    z = stats.zscore([10.0], peers=[8.0, 12.0, np.nan])
    assert z.iloc[0] == 0.0
    assert stats.zscore([1.0, 1.0]).isna().all()
    assert stats.zscore([3.0], peers=[1.0]).isna().all()


def test_percentile_excel_inc():
    # Excel: PERCENTILE.INC({1,2,3,4},0.25) = 1.75 ; ({15,20,35,40,50},0.4) = 29
    assert stats.percentile([1, 2, 3, 4], 0.25) == 1.75
    assert stats.percentile([50, 15, 40, 20, 35], 0.4) == 29
    assert np.isnan(stats.percentile([1, 2, 3], 0.5))
    assert np.isnan(stats.percentile([1, 2, 3, np.nan], 0.5))  # only 3 values
    r = stats.percentile([1, 2, 3, 4, 5], [0.25, 0.75])
    assert r.tolist() == [2.0, 4.0]
    with pytest.raises(ValueError):
        stats.percentile([1, 2, 3, 4], 25)


def test_quantile_small_cases():
    q = stats.quantile_class([5, 1, 3, np.nan, 2], n=2)
    assert q.tolist()[:3] == [2, 1, 2] and q.isna().tolist()[3]
    assert q.dtype == "Int64"
    assert stats.quantile_class([1, 2, 3], n=5).isna().all()  # fewer values than quantiles
    inv = stats.quantile_class([1, 2, 3, 4], n=4, high_is_low_rank=True)
    assert inv.tolist() == [4, 3, 2, 1]


# --- SII -----------------------------------------------------------------------------------------


def test_sii_structure():
    d = pd.DataFrame(
        {
            "decile": range(1, 11),
            "value": np.linspace(70, 80, 10),
            "lower": np.linspace(69, 79, 10),
            "upper": np.linspace(71, 81, 10),
            "population": [1000] * 10,
        }
    )
    r = stats.sii(d, reps=2000)
    assert r["sii"].iloc[0] == pytest.approx(10 * 10 / 9)  # slope over relative rank 0.05..0.95
    assert r["sii_lower"].iloc[0] < r["sii"].iloc[0] < r["sii_upper"].iloc[0]
    again = stats.sii(d, reps=2000)
    assert again.equals(r)  # seeded
    with pytest.raises(ValueError, match="more than once"):
        stats.sii(pd.concat([d, d.iloc[[0]]]), reps=1000)
    with pytest.raises(ValueError, match="value_type"):
        stats.sii(d, value_type="odds")
    with pytest.raises(ValueError, match="transform"):
        stats.sii(d, transform=True)
    with pytest.raises(ValueError, match="no column"):
        stats.sii(d, population="pop")


# --- aggregate -------------------------------------------------------------------------------


def test_aggregate_sums_and_nan_propagation():
    df = pd.DataFrame(
        {
            "area_code": ["p1", "p2", "p3", "p4"],
            "period": ["2020"] * 4,
            "count": [1.0, 2.0, np.nan, 4.0],
            "denominator": [10.0, 20.0, 30.0, 40.0],
            "value": [10.0, 10.0, 10.0, 10.0],
        }
    )
    out = stats.aggregate(df, {"p1": "A", "p2": "A", "p3": "B", "p4": "B"}, by=["period"])
    assert list(out.columns) == ["area_code", "period", "count", "denominator"]
    a = out.set_index("area_code")
    assert a.loc["A", "count"] == 3 and a.loc["A", "denominator"] == 30
    assert np.isnan(a.loc["B", "count"]) and a.loc["B", "denominator"] == 70


def test_aggregate_errors():
    df = pd.DataFrame(
        {"area_code": ["p1", "p2", "p9"], "count": [1, 2, 3], "denominator": [1, 2, 3]}
    )
    with pytest.raises(ValueError, match=r"no parent.*'p9'"):
        stats.aggregate(df, {"p1": "A", "p2": "A"})
    with pytest.raises(ValueError, match="no parent"):
        stats.aggregate(df, pd.Series({"p1": "A", "p2": "A", "p9": None}))
    with pytest.raises(ValueError, match="numeric"):
        stats.aggregate(df.assign(count=["a", "b", "c"]), {"p1": "A", "p2": "A", "p9": "B"})
    with pytest.raises(ValueError, match="no column"):
        stats.aggregate(df, {"p1": "A"}, sum_cols=("deaths",))


def test_aggregate_age_specific_columns():
    df = long_table({"p1": ([1.0] * 19, [10.0] * 19), "p2": ([2.0] * 19, [20.0] * 19)})
    out = stats.aggregate(df, {"p1": "A", "p2": "A"}, by=["age_band"])
    assert len(out) == 19 and (out["count"] == 3).all() and (out["denominator"] == 30).all()


# --- suppress ------------------------------------------------------------------------------------


def test_suppress():
    df = pd.DataFrame(
        {
            "count": [0, 1, 4, 5, np.nan, 3],
            "value": [0.0, 1.0, 4.0, 5.0, np.nan, 3.0],
            "lower_95": [0.0] * 6,
            "upper_95": [1.0] * 6,
            "denominator": [100.0] * 6,
            "value_note": ["", "", "old note", "", "", None],
        }
    )
    out = stats.suppress(df)
    assert out["suppressed"].tolist() == [False, True, True, False, False, True]
    assert out.loc[[1, 2, 5], ["count", "value", "lower_95", "upper_95"]].isna().all(axis=None)
    assert out.loc[0, "count"] == 0 and out.loc[3, "value"] == 5
    assert (out["denominator"] == 100).all()
    assert out.loc[1, "value_note"] == stats.SUPPRESSION_NOTE
    assert out.loc[2, "value_note"] == "old note; " + stats.SUPPRESSION_NOTE
    assert out.loc[5, "value_note"] == stats.SUPPRESSION_NOTE
    assert out.loc[0, "value_note"] == ""
    assert df.loc[1, "count"] == 1  # the input is untouched
    assert stats.SUPPRESSION_NOTE == "Supp.: count between 1 and 4 suppressed (disclosure control)"
    no_note = stats.suppress(pd.DataFrame({"count": [2, 7]}))
    assert no_note["value_note"].tolist() == [stats.SUPPRESSION_NOTE, ""]
    with pytest.raises(ValueError, match="count"):
        stats.suppress(pd.DataFrame({"n": [1]}))


# --- funnels -------------------------------------------------------------------------------------


def test_funnel_edges():
    f = stats.funnel_limits([0, -1, np.nan, 100], 50.0, kind="proportion")
    assert f.loc[:2, ["lower", "upper"]].isna().all(axis=None)
    assert f.loc[3, "lower"] < 50 < f.loc[3, "upper"]
    with pytest.raises(ValueError, match="kind"):
        stats.funnel_limits([10], 1.0, kind="odds")
    with pytest.raises(ValueError, match="target"):
        stats.funnel_limits([10], None, kind="rate")
    with pytest.raises(ValueError, match="above the multiplier"):
        stats.funnel_limits([10], 150, kind="proportion")
    r = stats.funnel_limits([1.0, 1e6], 100.0, kind="rate")
    assert r.loc[0, "lower"] == 0  # expected 0.001 events: no lower limit
    assert r.loc[1, "lower"] < 100 < r.loc[1, "upper"]


def test_funnel_agrees_with_rate_ci_duality():
    """A count at a funnel limit has its own CI touching the target (both methods)."""
    n = np.array([5_000.0, 20_000.0, 400_000.0])
    target = 250.0
    for method in ("exact", "byar"):
        f = stats.funnel_limits(n, target, kind="rate", method=method)
        o_low = f["lower"].to_numpy() * n / 1e5
        if method == "byar":
            lo, up = stats.byars_limits(o_low)
        else:
            lo, up = stats.byars_limits(o_low, exact_below=np.inf)
        np.testing.assert_allclose(up / n * 1e5, target, rtol=1e-6)


def test_le_probability_of_dying_above_one():
    """issue 24: M = 0.6 in the 45-49 band sets q = 1 there (R/LifeExpectancy.R: q = 1 where
    deaths > population / n / a), as the national method; it used to be NaN.  Full checks in
    tests/test_stats_national.py."""
    deaths = DEATHS[:10] + [30_000] + DEATHS[11:]
    r = stats.life_expectancy(le_df(deaths=deaths))
    assert 40 < r["value"].iloc[0] < 50 and r["value_note"].iloc[0] == ""
