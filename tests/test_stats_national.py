"""Issue 24: the rules *around* the formulas follow the national package.

Each test names the rule of PHEindicatormethods 2.1.0 (ukhsa-collaboration/PHEindicatormethods,
commit 093fd28) it checks: the R file and function, and where the case comes from the
package's own test suite (tests/testthat/*.R), the test and its expected values.  The
independent reference implementations below are written from the documented rules (scalar
Python, one step per line of the method), not from nhsbook.stats.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nhsbook import stats

BANDS = list(stats.LE_AGE_BANDS)
# phe_life_expectancy help-page example (tests/testthat/testLifeExpectancy.R, df1)
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


def le(pops, deaths, **kw):
    return stats.life_expectancy(
        pd.DataFrame({"age_band": BANDS, "population": pops, "deaths": deaths}), **kw
    )


def ref_life_table(pops, deaths, z=1.959963984540054):
    """Scalar Chiang II / Silcocks life table, step by step as R/LifeExpectancy.R documents it
    (q = 1 where deaths > population / n / a; e = 0 where l = 0; S²(q) = 0 where d = 0)."""
    starts = stats.LE_START_AGES
    k = 20
    n = [starts[i + 1] - starts[i] for i in range(k - 1)]
    a = [0.1] + [0.5] * (k - 1)
    M = [d / p for d, p in zip(deaths, pops)]
    q = []
    for i in range(k - 1):
        if deaths[i] <= pops[i] / n[i] / a[i]:
            q.append(M[i] * n[i] / (1 + M[i] * n[i] * (1 - a[i])))
        else:
            q.append(1.0)
    q.append(1.0)
    l = [1e5]
    for i in range(1, k):
        l.append(l[-1] * (1 - q[i - 1]))
    d = [l[i] - (l[i + 1] if i + 1 < k else 0.0) for i in range(k)]
    L = [n[i] * (l[i + 1] + a[i] * d[i]) for i in range(k - 1)] + [l[-1] / M[-1]]
    T = [sum(L[i:]) for i in range(k)]
    e = [T[i] / l[i] if l[i] > 0 else 0.0 for i in range(k)]
    spi = [0.0 if d[i] == 0 else q[i] ** 2 * (1 - q[i]) / deaths[i] for i in range(k - 1)]
    W = [spi[i] * l[i] ** 2 * ((1 - a[i]) * n[i] + e[i + 1]) ** 2 for i in range(k - 1)]
    W.append((l[-1] / 2) ** 2 * 4 / (deaths[-1] * M[-1] ** 2))
    out = []
    for i in range(k):
        se = math.sqrt(sum(W[i:]) / l[i] ** 2) if l[i] > 0 else float("nan")
        out.append((e[i], e[i] - z * se, e[i] + z * se))
    return out


# --- life expectancy (R/LifeExpectancy.R, phe_life_expectancy) --------------------------------


def test_le_total_population_exactly_5000_is_not_calculated():
    """phe_life_expectancy: ``filter(total_pop <= 5000)`` -> NA, so at exactly 5,000 (all ages)
    it is suppressed and at 5,001 computed."""
    deaths = [1, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 4, 6, 8, 12, 18, 25, 30, 40]
    r = le([250] * 20, deaths, start_age=[0, 65])
    assert r[["value", "lower", "upper"]].isna().all(axis=None)
    assert (
        r["value_note"] == "Not calculated: total population (all ages) of 5,000 or fewer"
    ).all()
    r = le([250] * 19 + [251], deaths, start_age=[0, 65])
    assert np.isfinite(r[["lower", "upper"]]).all(axis=None)
    assert not r["value_note"].str.startswith("Not calculated").any()


def test_le_at_85_and_90_published_for_an_ordinary_local_authority():
    """A district of ~95,000 (the help-page population × 0.12): only 2,864 person-years at 85+
    and 1,432 at 90+, but the national minimum is on the total population, so LE at 85 and 90
    is published (nhsbook used to blank both), and equals the reference life table."""
    pops = [round(p * 0.12) for p in POPS]
    deaths = [round(d * 0.12) for d in DEATHS]
    assert sum(pops[18:]) < 5000 < sum(pops)
    r = le(pops, deaths, start_age=[85, 90]).set_index("start_age")
    ref = ref_life_table(pops, deaths)
    for age, i in ((85, 18), (90, 19)):
        assert r.loc[age, "value_note"] == ""
        np.testing.assert_allclose(
            r.loc[age, ["value", "lower", "upper"]].to_numpy(float), ref[i], rtol=1e-10
        )
    assert r.loc[85, "value"] == pytest.approx(6.1724, abs=5e-5)


# tests/testthat/testLifeExpectancy.R: df_widecis_plus and answer_widecis (4 dp)
WIDE_POPS = [
    270,
    235,
    246,
    248,
    243,
    238,
    246,
    257,
    261,
    355,
    350,
    356,
    346,
    339,
    337,
    337,
    333,
    323,
    311,
    311,
]
WIDE_DEATHS = [17, 9, 4, 8, 20, 15, 24, 33, 50, 51, 10, 16, 26, 30, 36, 22, 13, 5, 6, 1]
WIDE_VALUE = [
    19.22914685,
    19.44120610,
    18.33467808,
    14.67659995,
    11.81284556,
    11.63815414,
    10.05641628,
    9.93152356,
    11.95846561,
] + [np.nan] * 11
WIDE_LOWER = [
    16.43900644,
    16.53437505,
    15.62922550,
    12.08108630,
    9.21823373,
    8.68414661,
    6.54020385,
    4.71570153,
    2.37762283,
    -1.60695210,
    -10.33328815,
    -17.16409724,
    -26.91715103,
    -45.04820928,
    -76.27067271,
    -137.12203187,
    -195.39453664,
    -242.37480291,
    -266.74198466,
    -298.54880400,
]
WIDE_UPPER = [
    22.01928726,
    22.34803716,
    21.04013066,
    17.27211361,
    14.40745738,
    14.59216167,
    13.57262872,
    15.14734559,
    21.53930839,
    50.29765396,
    97.99598549,
    107.54413263,
    128.91238524,
    181.91668353,
    278.06441642,
    472.32822039,
    649.40455756,
    783.50845564,
    841.04259816,
    920.54880400,
]


def test_le_wide_ci_blanks_the_value_but_keeps_its_limits():
    """testLifeExpectancy.R "suppress wide CI > 20": Area 2 (5,942 people) is computed at every
    age -- the old person-years-above-start-age rule blanked most -- its values blanked from
    age 40 where 1.96 × SE > 10, with the (unclipped, even negative) limits still given; Area 1
    has 312 deaths at 90+ in 311 people (deaths > population) and is NA throughout."""
    d = pd.DataFrame(
        {
            "area": ["Area 1"] * 20 + ["Area 2"] * 20,
            "age_band": BANDS * 2,
            "population": WIDE_POPS * 2,
            "deaths": WIDE_DEATHS[:19] + [312] + WIDE_DEATHS,
        }
    )
    r = stats.life_expectancy(d, groupby=["area"], start_age=list(stats.LE_START_AGES))
    a2 = r[r["area"] == "Area 2"]
    np.testing.assert_allclose(a2["value"], WIDE_VALUE, atol=5e-5)
    np.testing.assert_allclose(a2["lower"], WIDE_LOWER, atol=5e-5)
    np.testing.assert_allclose(a2["upper"], WIDE_UPPER, atol=5e-5)
    assert (
        a2["value_note"].iloc[9:] == "Value suppressed: 95% confidence interval wider than 20 years"
    ).all()
    assert (a2["value_note"].iloc[:9] == "").all()
    a1 = r[r["area"] == "Area 1"]
    assert a1[["value", "lower", "upper"]].isna().all(axis=None)
    assert a1["value_note"].str.contains("deaths above population").all()


def test_le_grouped_problems_each_give_their_own_group_na():
    """testLifeExpectancy.R df_grouped_with_warnings: a good area and areas with negative
    deaths, a negative population, deaths above population, a total population of 2,000 and a
    missing 90+ band in one call -- every problem group NA with its reason, the good one
    computed (a missing band used to make the whole call raise)."""
    good_p = POPS[:5] + [43219] + POPS[6:]
    groups = {
        "Good data": (good_p, DEATHS),
        "Negative deaths": (good_p, DEATHS[:2] + [-2] + DEATHS[3:]),
        "Negative pops": (good_p[:3] + [-10] + good_p[4:], DEATHS),
        "Deaths more than pops": (good_p, DEATHS[:5] + [50000] + DEATHS[6:]),
        "Low pops": ([100] * 20, DEATHS[:10] + [80] * 10),
    }
    frames = [
        pd.DataFrame({"area": k, "age_band": BANDS, "population": p, "deaths": d})
        for k, (p, d) in groups.items()
    ]
    frames.append(
        pd.DataFrame(
            {
                "area": "Missing age band",
                "age_band": BANDS[:19],
                "population": good_p[:19],
                "deaths": DEATHS[:19],
            }
        )
    )
    r = stats.life_expectancy(pd.concat(frames), groupby=["area"], start_age=[0, 65])
    r = r.set_index(["area", "start_age"])
    assert np.isfinite(r.loc["Good data", ["value", "lower", "upper"]]).all(axis=None)
    reasons = {
        "Negative deaths": "deaths or population missing or negative",
        "Negative pops": "deaths or population missing or negative",
        "Deaths more than pops": "deaths above population",
        "Low pops": "5,000 or fewer",
        "Missing age band": "missing age band(s) ['90+']",
    }
    for area, why in reasons.items():
        assert r.loc[area, ["value", "lower", "upper"]].isna().all(axis=None), area
        assert r.loc[area, "value_note"].str.contains(why, regex=False).all(), area


def test_le_death_rate_of_04_or_more_sets_q_to_one():
    """R/LifeExpectancy.R: ``qi = 1`` where ``deaths > population / ni / ai`` (M > 0.4 in a
    5-year band).  M = 0.6 in 45-49: everyone alive at 45 dies in the band, LE at birth is the
    mean age at death of the table (the reference table), LE at 45 is 2.5 years, LE at 50 is
    0 (no survivors, no limits); nhsbook used to return NaN."""
    deaths = DEATHS[:10] + [30_000] + DEATHS[11:]
    r = le(POPS, deaths, start_age=[0, 45, 50]).set_index("start_age")
    ref = ref_life_table(POPS, deaths)
    np.testing.assert_allclose(
        r.loc[0, ["value", "lower", "upper"]].to_numpy(float), ref[0], rtol=1e-10
    )
    assert r.loc[45, "value"] == pytest.approx(2.5)
    assert r.loc[50, "value"] == 0 and np.isnan(r.loc[50, "lower"])
    assert r.loc[50, "value_note"].startswith("Limits not calculated: no survivors")
    # at exactly M = 0.4 the formula itself gives q = 1: the same table
    at = DEATHS[:10] + [0.4 * POPS[10]] + DEATHS[11:]
    assert le(POPS, at)["value"].iloc[0] == pytest.approx(r.loc[0, "value"], rel=1e-12)


@pytest.mark.parametrize("start", [0, 25, 65, 85, 90])
def test_le_matches_the_reference_life_table(start):
    i = stats.LE_START_AGES.index(start)
    r = le(POPS, DEATHS, start_age=start)
    np.testing.assert_allclose(
        r[["value", "lower", "upper"]].iloc[0].to_numpy(float),
        ref_life_table(POPS, DEATHS)[i],
        rtol=1e-10,
    )


# --- DSR (R/DSR.R, dsr_inner / calculate_dsr) -------------------------------------------------


def _areas(order_b):
    counts = dict(
        zip(
            stats.ESP2013.index, [3, 1, 0, 2, 5, 4, 6, 8, 9, 11, 14, 20, 26, 35, 48, 60, 70, 66, 50]
        )
    )
    pops = dict(
        zip(
            stats.ESP2013.index,
            [
                5200,
                5800,
                6100,
                6000,
                6500,
                7100,
                7600,
                7400,
                7300,
                7200,
                7000,
                6600,
                6200,
                5400,
                4700,
                3600,
                2300,
                1400,
                700,
            ],
        )
    )
    a = pd.DataFrame({"area": "A", "age_band": list(stats.ESP2013.index)})
    b = pd.DataFrame({"area": "B", "age_band": order_b})
    d = pd.concat([a, b], ignore_index=True)
    d["count"] = d["age_band"].map(counts)
    d["denominator"] = d["age_band"].map(pops)
    return d


def test_dsr_array_standard_is_matched_by_band_not_row_position():
    """Two identical areas, B listing its bands in reverse: with ``standard=`` an array (ESP
    2013 in ascending band order) both get the DSR of the Series form; matched by row
    position the two used to differ."""
    d = _areas(list(stats.ESP2013.index[::-1]))
    by_series = stats.dsr(d, groupby=["area"]).set_index("area")
    by_array = stats.dsr(d, groupby=["area"], standard=stats.ESP2013.to_numpy()).set_index("area")
    assert by_array.loc["A", "value"] == pytest.approx(by_array.loc["B", "value"], rel=1e-13)
    np.testing.assert_allclose(
        by_array[["value", "lower", "upper"]], by_series[["value", "lower", "upper"]], rtol=1e-13
    )
    # shuffled rows, shuffled groups: the same
    shuffled = d.sample(frac=1, random_state=7)
    again = stats.dsr(shuffled, groupby=["area"], standard=stats.ESP2013.to_numpy())
    np.testing.assert_allclose(again.set_index("area")["value"], by_series["value"], rtol=1e-13)
    with pytest.raises(ValueError, match="19 distinct age bands"):
        stats.dsr(d, groupby=["area"], standard=np.ones(18))


def test_dsr_missing_band_count_counts_as_zero():
    """dsr_inner: ``wt_rate = na.zero(x) * stdpop / n`` and ``sum(x, na.rm = TRUE)``: a
    missing band count is a zero count (one missing count used to blank the area)."""
    d = _areas(list(stats.ESP2013.index))
    zero = d.copy()
    zero.loc[(zero["area"] == "B") & (zero["age_band"] == "10-14"), "count"] = 0
    miss = d.copy()
    miss["count"] = miss["count"].astype(float)
    miss.loc[(miss["area"] == "B") & (miss["age_band"].isin(["10-14", "40-44"])), "count"] = np.nan
    zero.loc[(zero["area"] == "B") & (zero["age_band"] == "40-44"), "count"] = 0
    rz = stats.dsr(zero, groupby=["area"]).set_index("area")
    rm = stats.dsr(miss, groupby=["area"]).set_index("area")
    np.testing.assert_allclose(
        rm[["count", "denominator", "value", "lower", "upper"]],
        rz[["count", "denominator", "value", "lower", "upper"]],
        rtol=1e-14,
    )
    assert rm.loc["B", "value_note"] == "2 missing age-band counts counted as 0 (national method)"
    assert rm.loc["A", "value_note"] == ""


# --- funnels (R/Funnels.R, R/utils.R) --------------------------------------------------------


def ref_funnel_ratio_label(obs: float, expected: float) -> str:
    """assign_funnel_significance for ratios, with funnel_ratio_significance of R/utils.R:
    the lower limit of obs (0 for obs 0; exact χ² below 10; Byar's from 10) over expected
    above 1 -> High, the upper limit over expected below 1 -> Low; 99.8% before 95%."""

    def limit(p, side):
        if obs == 0 and side == "low":
            return 0.0
        if obs < 10:
            if side == "low":
                return sps.chi2.isf(0.5 + p / 2, 2 * obs) / 2 / expected
            return sps.chi2.ppf(0.5 + p / 2, 2 * obs + 2) / 2 / expected
        zz = sps.norm.ppf(0.5 + p / 2)
        if side == "low":
            o = obs
            return o * (1 - 1 / (9 * o) - zz / 3 / math.sqrt(o)) ** 3 / expected
        o = obs + 1
        return o * (1 - 1 / (9 * o) + zz / 3 / math.sqrt(o)) ** 3 / expected

    if 1 < limit(0.998, "low"):
        return "High (0.001)"
    if 1 < limit(0.95, "low"):
        return "High (0.025)"
    if 1 > limit(0.998, "high"):
        return "Low (0.001)"
    if 1 > limit(0.95, "high"):
        return "Low (0.025)"
    return "Not significant"


def _grid():
    rng = np.random.default_rng(24)
    obs = np.concatenate([np.arange(0, 60), rng.integers(0, 400, 600)]).astype(float)
    expected = np.concatenate([np.linspace(0.5, 60, 60), rng.uniform(0.5, 420, 600)])
    return obs, expected


def test_funnel_labels_match_assign_funnel_significance_on_a_grid():
    """660 (observed, expected) pairs from 0 to 400 events, ratios and crude rates: the
    default labels (and method="byar") are those of the national function."""
    obs, expected = _grid()
    want = [ref_funnel_ratio_label(o, e) for o, e in zip(obs, expected)]
    for method in ("national", "byar"):
        got = stats.funnel_significance(
            obs, expected, None, kind="ratio", multiplier=100, method=method
        )
        assert got.tolist() == want, method
    # rates: the same test with E = person-years × rate (here 250 per 100,000)
    py = expected / 250 * 1e5
    got = stats.funnel_significance(obs, py, 250.0, kind="rate")
    assert got.tolist() == want
    # where the two methods part: 10 events against 2.94 expected -- Byar's 99.8% lower limit
    # of 10 is 2.916 (below 2.94), the exact one 2.961 (above)
    assert ref_funnel_ratio_label(10, 2.94) == "High (0.025)"
    assert stats.funnel_significance([10], [2.94], None, kind="ratio").iloc[0] == "High (0.025)"
    assert (
        stats.funnel_significance([10], [2.94], None, kind="ratio", method="exact").iloc[0]
        == "High (0.001)"
    )


@pytest.mark.parametrize("method", ["exact", "byar"])
def test_funnel_one_switch_labels_agree_with_curves(method):
    """With the same ``method`` in both functions the labels of integer counts are exactly
    their side of the drawn limits (ratio and rate funnels)."""
    obs, expected = _grid()
    lab = stats.funnel_significance(
        obs, expected, None, kind="ratio", multiplier=100, method=method
    ).to_numpy()
    lim = stats.funnel_limits(
        expected, None, conf=(0.95, 0.998), kind="ratio", multiplier=100, method=method
    )
    v = obs / expected * 100
    pos = np.select(
        [v > lim["upper_998"], v > lim["upper_95"], v < lim["lower_998"], v < lim["lower_95"]],
        ["High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)"],
        "Not significant",
    )
    assert (lab == pos).all(), list(zip(obs[lab != pos], expected[lab != pos]))


def test_funnel_defaults_are_the_national_jobs():
    """One switch, each job its own national method: limits exact Poisson (what
    calculate_funnel_limits plots), labels Byar's from 10 (assign_funnel_significance)."""
    e = np.geomspace(1, 500, 50)
    np.testing.assert_array_equal(
        stats.funnel_limits(e, None, conf=(0.95, 0.998), kind="ratio").to_numpy(),
        stats.funnel_limits(e, None, conf=(0.95, 0.998), kind="ratio", method="exact").to_numpy(),
    )
    obs, expected = _grid()
    assert stats.funnel_significance(obs, expected, None, kind="ratio").equals(
        stats.funnel_significance(obs, expected, None, kind="ratio", method="byar")
    )
    assert stats.FUNNEL_METHODS == ("national", "exact", "byar")
    for fn in (
        lambda: stats.funnel_limits([10], None, kind="ratio", method="wilson"),
        lambda: stats.funnel_significance([1], [10], None, kind="ratio", method="x"),
    ):
        with pytest.raises(ValueError, match="method must be one of"):
            fn()


@pytest.mark.parametrize("conf", [0.95, 0.998])
def test_byar_funnel_is_monotone_near_the_switch_at_10_events(conf):
    """The 99.8% lower Byar's curve used to step backwards at expected 24.134 (the exact upper
    limit of 10 events; Byar's upper limit of 10 is 24.194).  Lower limits must not fall and
    upper limits not rise with the expected count, at every expected count."""
    e = np.concatenate(
        [np.linspace(20, 30, 20001), np.linspace(1, 8, 20001), np.geomspace(0.5, 5000, 5001)]
    )
    e.sort()
    f = stats.funnel_limits(e, None, conf=conf, kind="ratio", multiplier=1, method="byar")
    lo, up = f["lower"].to_numpy(), f["upper"].to_numpy()
    assert (np.diff(lo) >= -1e-12 * lo[1:]).all()
    assert (np.diff(up) <= 1e-12 * up[1:]).all()
    # away from the switch the curve is the count's own interval (Byar's from 10 events)
    far = (e > 40) & (e < 4000)
    o_low = lo[far] * e[far]
    np.testing.assert_allclose(stats.byars_limits(o_low, conf)[1], e[far], rtol=1e-9)


def test_proportion_target_given_as_a_fraction_is_refused():
    """A 20% indicator (multiplier 100) with target 0.2: read as 0.2% every practice would be
    "High (0.001)"; it is refused, naming both readings.  A genuine 0.5% target passes."""
    x = np.array([180, 210, 95, 400])
    n = np.array([1000, 1000, 500, 2000])
    with pytest.raises(ValueError, match=r"target 0.2 looks like a fraction.*\(e.g. 20\)"):
        stats.funnel_significance(x, n, 0.2, kind="proportion", multiplier=100)
    ok = stats.funnel_significance(x, n, 20.0, kind="proportion", multiplier=100)
    assert ok.notna().all()
    small = stats.funnel_significance([5, 4, 7], [1000, 900, 1100], 0.5, kind="proportion")
    assert small.notna().all()
    # a fraction with multiplier 1 is the right scale
    assert stats.funnel_significance(x, n, 0.2, kind="proportion", multiplier=1).notna().all()


def test_dsr_funnel_labels_fewer_than_10_events_not_applicable():
    """assign_funnel_significance, rate_type = "dsr": fewer than 10 events -> "Not applicable
    for events less than 10 for dsrs"."""
    lab = stats.funnel_significance([4, 40], [1000, 10_000], 300.0, kind="rate", rate_type="dsr")
    assert lab.iloc[0] == "Not applicable for events less than 10 for dsrs"
    assert lab.iloc[1] != lab.iloc[0]


# --- SII (R/SII_function.R, SimulationFunc in R/utils.R) -------------------------------------


def _sii_area(code, shift):
    return pd.DataFrame(
        {
            "area": code,
            "decile": range(1, 11),
            "value": np.linspace(70, 80, 10) + shift,
            "lower": np.linspace(69, 79, 10) + shift,
            "upper": np.linspace(71, 81, 10) + shift,
            "population": [1000 + 10 * i for i in range(10)],
        }
    )


def test_sii_limits_of_an_area_do_not_change_with_the_other_areas():
    a, b, c = _sii_area("A", 0), _sii_area("B", 3), _sii_area("C", -2)
    kw = dict(groupby=["area"], reps=5000, seed=11, rii=True)
    alone = stats.sii(a, **kw).set_index("area").loc["A"]
    with_b = stats.sii(pd.concat([a, b]), **kw).set_index("area").loc["A"]
    reordered = stats.sii(pd.concat([c, b, a]), **kw).set_index("area").loc["A"]
    cols = ["sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"]
    assert alone[cols].equals(with_b[cols]) and alone[cols].equals(reordered[cols])
    # another seed: other limits; the same data under another key: other draws
    other = stats.sii(a, **{**kw, "seed": 12}).set_index("area").loc["A"]
    assert other["sii_lower"] != alone["sii_lower"]
    renamed = stats.sii(a.assign(area="Z"), **kw).set_index("area").loc["Z"]
    assert renamed["sii"] == alone["sii"] and renamed["sii_lower"] != alone["sii_lower"]


# --- compare, recent_trend, mean_ci, quantiles ----------------------------------------------


def test_comparator_compared_with_itself_is_not_compared():
    """Fingertips shows the benchmark's own row as "Not compared", never "Similar"."""
    r = stats.compare(
        [16.2, 14.9],
        [15.9, 13.1],
        [16.5, 16.7],
        16.2,
        "high_is_good",
        area_code=["E92000001", "E38000115"],
        comparator_code="E92000001",
    )
    assert r.tolist() == ["Not compared", "Similar"]
    assert stats.compare(16.2, 15.9, 16.5, 16.2, "no_judgement").iloc[0] == "Similar"
    with pytest.raises(ValueError, match="both area_code and comparator_code"):
        stats.compare(1, 0, 2, 1, "high_is_good", area_code="X")


def test_recent_trend_rejects_negative_counts_and_mismatched_lengths():
    ok = dict(count=[10, 12, 14, 16, 18], denom=[100] * 5)
    with pytest.raises(ValueError, match=r"count must not be negative.*\[-3\.0\].*\[2\]"):
        stats.recent_trend([0] * 5, count=[10, 12, -3, 16, 18], denom=[100] * 5)
    with pytest.raises(ValueError, match="denom must not be negative"):
        stats.recent_trend([0] * 5, count=ok["count"], denom=[100, 100, 100, -1, 100])
    with pytest.raises(ValueError, match="denom has length 4 but values has length 5"):
        stats.recent_trend([0] * 5, count=ok["count"], denom=[100] * 4)
    with pytest.raises(ValueError, match="upper has length 6"):
        stats.recent_trend([1] * 5, lower=[0] * 5, upper=[2] * 6)
    with pytest.raises(ValueError, match="count is above denom"):
        stats.recent_trend([0] * 5, count=[10, 12, 140, 16, 18], denom=[100] * 5)
    assert stats.recent_trend([0] * 5, **ok)["label"] != "Cannot be calculated"
    with pytest.raises(ValueError, match="at least 3"):
        stats.recent_trend([1, 2], lower=[0, 1], upper=[2, 3], points=2)


def _logodds_slope(x, n, t):
    """Ordinary least-squares slope of ln(x / (n - x)) on t (Fingertips' direction)."""
    return np.polyfit(
        t, np.log(np.asarray(x, float) / (np.asarray(n, float) - np.asarray(x, float))), 1
    )[0]


def test_recent_trend_outlier_rule_proportions():
    """The national outlier rule (PHEindicatormethods R/assign_trend_markers.R: "Outlier
    found" when the slope with one point left out changes sign; Fingertips
    TrendMarkerCalculator.NoOutliersCheckForProportion: the log-odds slopes of all five points
    and of each four, all of one sign).  A low first point (13.0% then 15.5% falling to
    14.0%, 150,000 each year): the χ² for trend is significant and the five-point slope is
    upward, but without the first point it is downward -> "No significant change"."""
    n = [150000] * 5
    x = [19500, 23250, 22650, 22050, 21000]
    t = np.arange(1, 6)
    assert _logodds_slope(x, n, t) > 0 > _logodds_slope(x[1:], n[1:], t[1:])
    res = stats.recent_trend([0] * 5, count=x, denom=n, polarity="low_is_good")
    assert res["chi2"] > stats.TREND_THRESHOLD
    assert (res["label"], res["reason"]) == ("No significant change", "Outlier found")
    # a steady fall: every leave-one-out slope is downward, the trend stands
    steady = [23250, 22650, 22050, 21000, 20400]
    assert all(
        _logodds_slope(np.delete(steady, j), np.delete(n, j), np.delete(t, j)) < 0 for j in range(5)
    )
    res = stats.recent_trend([0] * 5, count=steady, denom=n, polarity="low_is_good")
    assert (res["label"], res["reason"]) == (
        "Decreasing and getting better",
        "No outliers and significant trend",
    )
    # not significant: no outlier check, the reason says so
    flat = stats.recent_trend([0] * 5, count=[100, 101, 99, 100, 102], denom=[1000] * 5)
    assert (flat["label"], flat["reason"]) == ("No significant change", "No significant trend")


def test_recent_trend_outlier_rule_with_a_zero_count_uses_the_proportions():
    """A count of 0 makes its log odds infinite; the direction is then the n-weighted slope of
    the proportions (the χ² test's own β), so a clean rise from 0 is still "Increasing"."""
    res = stats.recent_trend(
        [0] * 5, count=[0, 50, 100, 150, 200], denom=[1000] * 5, polarity="high_is_good"
    )
    assert (res["label"], res["reason"]) == (
        "Increasing and getting better",
        "No outliers and significant trend",
    )
    # 0 then 20% falling to 14%: upward over five points only because of the 0 -> outlier
    res = stats.recent_trend([0] * 5, count=[0, 200, 180, 160, 140], denom=[1000] * 5)
    assert res["slope"] > 0
    assert res["chi2"] > stats.TREND_THRESHOLD and res["reason"] == "Outlier found"


def test_recent_trend_outlier_rule_other_values():
    """Other indicator types: the leave-one-out slopes are the weighted least-squares slopes
    with w = 1/SE² (numpy.polyfit with weights 1/SE as the independent oracle).  A value that
    jumps in the first year only (10 then 14 falling to 12.5, SE 0.2): significant, upward over
    five points, downward without the first -> outlier."""
    y = np.array([10.0, 14.0, 13.5, 13.0, 12.5])
    se = np.full(5, 0.2)
    t = np.arange(1.0, 6.0)
    z = stats.z_value(0.95)
    full = np.polyfit(t, y, 1, w=1 / se)[0]
    without_first = np.polyfit(t[1:], y[1:], 1, w=1 / se[1:])[0]
    assert full > 0 > without_first
    res = stats.recent_trend(y, lower=y - z * se, upper=y + z * se, polarity="high_is_good")
    assert res["slope"] == pytest.approx(full)
    assert res["chi2"] > stats.TREND_THRESHOLD
    assert (res["label"], res["reason"]) == ("No significant change", "Outlier found")


def test_mean_ci_leaves_missing_values_out_of_n(tmp_path):
    """phe_mean's Student's t on the values present: Area1 of testdata_Mean with missing
    values added gives the published Area1 results and n = the published value_count."""
    from test_stats_reference import REF, require_reference

    require_reference()
    data = pd.read_excel(REF / "testdata_Mean.xlsx", sheet_name="testdata_Mean")
    res = pd.read_excel(REF / "testdata_Mean.xlsx", sheet_name="testdata_Mean_results")
    res = res.set_index("area")
    a1 = data[data["area"] == "Area1"]
    with_nan = pd.concat([a1, pd.DataFrame({"area": ["Area1"] * 3, "values": [np.nan] * 3})])
    r = stats.mean_ci(with_nan, 0.95, x="values", groupby=["area"]).iloc[0]
    assert r["n"] == res.loc["Area1", "value_count"] and r["missing"] == 3
    np.testing.assert_allclose(
        [r["value"], r["lower"], r["upper"]],
        res.loc["Area1", ["value", "lower95_0cl", "upper95_0cl"]].to_numpy(float),
        rtol=1e-9,
    )
    assert r["value_note"] == "3 missing values excluded"


def ref_quantile(n_values: int, rank: int, nq: int) -> int:
    """R/Quantiles.R, evaluated in double precision in R's order."""
    q = math.floor((nq + 1) - math.ceil(((n_values + 1) - rank) / (n_values / nq)))
    return 1 if q == 0 else q


@pytest.mark.parametrize("nq", [3, 4, 5, 7, 10, 20])
def test_quantiles_match_the_national_floating_point_formula_for_every_n(nq):
    """phe_quantile: floor((nq + 1) - ceiling(((N + 1) - rank) / (N / nq))), 0 -> 1, for
    N = nq ... 200 distinct values (fewer than nq: NA)."""
    for big_n in range(1, 201):
        got = stats.quantile_class(np.arange(big_n, dtype=float) * 1.5, n=nq)
        if big_n < nq:
            assert got.isna().all()
            continue
        want = [ref_quantile(big_n, r, nq) for r in range(1, big_n + 1)]
        assert got.tolist() == want, big_n


def test_vigintiles_differ_from_the_reordered_formula():
    """The reordered ((N + 1) - rank) × nq / N (nhsbook's old formula) differs from the
    national one for some N: the test above would catch a return to it."""
    diffs = [
        (n, r)
        for n in range(20, 201)
        for r in range(1, n + 1)
        if math.floor(21 - math.ceil(((n + 1) - r) * 20 / n)) != ref_quantile(n, r, 20)
    ]
    assert diffs
