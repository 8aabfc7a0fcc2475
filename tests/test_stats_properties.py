"""nhsbook.stats: hypothesis property tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhsbook import stats
from nhsbook.core.model import AGE_BANDS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONFS = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998])


@st.composite
def count_and_denom(draw, max_denom=10**7):
    n = draw(st.integers(min_value=1, max_value=max_denom))
    x = draw(st.integers(min_value=0, max_value=n))
    return x, n


@SETTINGS
@given(count_and_denom(), CONFS)
def test_proportion_limits_bracket(xn, conf):
    x, n = xn
    r = stats.proportion_ci(x, n, conf).iloc[0]
    assert 0 <= r["lower"] <= r["value"] + 1e-9
    assert r["value"] <= r["upper"] + 1e-9 <= 100 + 1e-9


@SETTINGS
@given(count_and_denom(max_denom=10**5), st.integers(min_value=2, max_value=50))
def test_proportion_narrows_with_denominator(xn, k):
    x, n = xn
    small = stats.proportion_ci(x, n).iloc[0]
    big = stats.proportion_ci(x * k, n * k).iloc[0]
    assert big["upper"] - big["lower"] < small["upper"] - small["lower"]


@SETTINGS
@given(st.integers(min_value=0, max_value=10**6), st.floats(min_value=1, max_value=1e8), CONFS)
def test_rate_limits_bracket(x, n, conf):
    r = stats.rate_ci(x, n, conf=conf).iloc[0]
    assert 0 <= r["lower"] <= r["value"] <= r["upper"]
    assert r["upper"] > r["value"] or x > 10**5


@SETTINGS
@given(
    st.integers(min_value=0, max_value=10**4),
    st.floats(min_value=10, max_value=1e7),
    st.integers(min_value=2, max_value=20),
)
def test_rate_narrows_with_denominator(x, n, k):
    """Same rate from k times the events and person-years: a narrower interval."""
    small = stats.rate_ci(x, n).iloc[0]
    big = stats.rate_ci(x * k, n * k).iloc[0]
    assert big["upper"] - big["lower"] < small["upper"] - small["lower"]


@SETTINGS
@given(
    st.lists(st.integers(min_value=0, max_value=5000), min_size=19, max_size=19),
    st.lists(st.integers(min_value=1, max_value=10**6), min_size=19, max_size=19),
    st.integers(min_value=2, max_value=10),
)
def test_dsr_brackets_and_narrows(counts, pops, k):
    pops = [max(p, c) for p, c in zip(pops, counts)]
    df = pd.DataFrame({"age_band": AGE_BANDS, "count": counts, "denominator": pops})
    r = stats.dsr(df).iloc[0]
    if sum(counts) < 10:
        assert np.isnan(r["value"]) and r["value_note"]
        return
    assert r["lower"] <= r["value"] <= r["upper"]
    big = stats.dsr(df.assign(count=df["count"] * k, denominator=df["denominator"] * k)).iloc[0]
    assert big["value"] == np.float64(r["value"]) or abs(big["value"] / r["value"] - 1) < 1e-9
    assert big["upper"] - big["lower"] < r["upper"] - r["lower"]


@SETTINGS
@given(st.integers(min_value=0, max_value=10**5), st.floats(min_value=0.5, max_value=1e5), CONFS)
def test_isratio_brackets(o, e, conf):
    r = stats.isratio(o, e, conf).iloc[0]
    assert 0 <= r["lower"] <= r["value"] <= r["upper"]


@SETTINGS
@given(
    st.lists(st.integers(min_value=5_000, max_value=80_000), min_size=20, max_size=20),
    st.lists(st.floats(min_value=0.0001, max_value=0.3), min_size=20, max_size=20),
)
def test_life_expectancy_brackets(pops, rates):
    deaths = [max(1, round(p * r)) for p, r in zip(pops, rates)]
    df = pd.DataFrame({"age_band": stats.LE_AGE_BANDS, "population": pops, "deaths": deaths})
    r = stats.life_expectancy(df, start_age=[0, 65])
    ok = r["value"].notna()
    assert (r.loc[ok, "lower"] <= r.loc[ok, "value"]).all()
    assert (r.loc[ok, "value"] <= r.loc[ok, "upper"]).all()
    assert (r.loc[ok, "value"] > 0).all()


areas = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3", "c4", "c5"]),
        st.sampled_from(["2019", "2020"]),
        st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),
        st.integers(min_value=1, max_value=10**5),
    ),
    min_size=1,
    max_size=30,
)
MAPPING = {"c1": "P", "c2": "P", "c3": "Q", "c4": "Q", "c5": "R"}


@SETTINGS
@given(areas, st.randoms(use_true_random=False))
def test_aggregate_order_independent_and_exact(rows, rnd):
    df = pd.DataFrame(rows, columns=["area_code", "period", "count", "denominator"])
    df["count"] = df["count"].astype("float64")
    shuffled = df.sample(frac=1, random_state=rnd.randint(0, 10**6)).reset_index(drop=True)
    a = stats.aggregate(df, MAPPING, by=["period"])
    b = stats.aggregate(shuffled, MAPPING, by=["period"])
    pd.testing.assert_frame_equal(a, b)
    # sums are exact and a parent with any missing child count is missing
    for _, row in a.iterrows():
        kids = df[
            (df["area_code"].map(MAPPING) == row["area_code"]) & (df["period"] == row["period"])
        ]
        if kids["count"].isna().any():
            assert np.isnan(row["count"])
        else:
            assert row["count"] == kids["count"].sum()
        assert row["denominator"] == kids["denominator"].sum()


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.none(), st.integers(min_value=0, max_value=50), st.floats(min_value=0, max_value=50)
        ),
        min_size=1,
        max_size=40,
    )
)
def test_suppress_never_leaves_small_counts(counts):
    df = pd.DataFrame({"count": pd.Series(counts, dtype="float64")})
    df["value"] = df["count"] * 2
    out = stats.suppress(df)
    c = out["count"]
    assert not ((c >= 1) & (c <= 4)).any()
    assert not ((c > 0) & (c < 5)).any()
    assert out.loc[out["suppressed"], "value"].isna().all()
    untouched = ~out["suppressed"]
    pd.testing.assert_series_equal(out.loc[untouched, "count"], df.loc[untouched, "count"])
    again = stats.suppress(out)
    assert again["suppressed"].sum() == 0


@SETTINGS
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=12),
    st.booleans(),
)
def test_quantiles_in_range_and_monotone(values, n, invert):
    q = stats.quantile_class(values, n, invert)
    if len(values) < n:
        assert q.isna().all()
        return
    assert q.between(1, n).all()
    order = np.argsort(values, kind="stable")
    seq = q.to_numpy(dtype=float)[order]
    diffs = np.diff(seq)
    assert (diffs <= 0).all() if invert else (diffs >= 0).all()


@SETTINGS
@given(
    st.floats(min_value=1, max_value=1e7),
    st.floats(min_value=0.01, max_value=0.99),
    st.integers(min_value=2, max_value=100),
    st.sampled_from(["proportion", "rate", "ratio"]),
)
def test_funnels_bracket_target_and_narrow(n, p, k, kind):
    target = {"proportion": p * 100, "rate": p * 1000, "ratio": 100.0}[kind]
    f = stats.funnel_limits([n, n * k], target, conf=(0.95, 0.998), kind=kind)
    assert (f["lower_998"] <= f["lower_95"] + 1e-9).all()
    assert (f["lower_95"] <= target + 1e-9).all() and (f["upper_95"] >= target - 1e-9).all()
    assert (f["upper_95"] <= f["upper_998"] + 1e-9).all()
    w = (f["upper_95"] - f["lower_95"]).to_numpy()
    assert w[1] <= w[0] + 1e-9


@SETTINGS
@given(
    st.floats(min_value=-100, max_value=100),
    st.floats(min_value=0, max_value=10),
    st.floats(min_value=0, max_value=10),
    st.floats(min_value=-100, max_value=100),
)
def test_compare_polarity_symmetry(v, dlo, dup, comp):
    hi = stats.compare(v, v - dlo, v + dup, comp, "high_is_good").iloc[0]
    lo = stats.compare(v, v - dlo, v + dup, comp, "low_is_good").iloc[0]
    nj = stats.compare(v, v - dlo, v + dup, comp, "no_judgement").iloc[0]
    swap = {"Better": "Worse", "Worse": "Better", "Similar": "Similar"}
    assert lo == swap[hi]
    assert nj == {"Better": "Higher", "Worse": "Lower", "Similar": "Similar"}[hi]
