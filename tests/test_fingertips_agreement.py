"""Agreement with Fingertips: every row of the real export 91547 recomputed (issue 24).

Fingertips 91547 "Smoking prevalence in adults (15+) - current smokers (QOF)", all area types
2013/14-2023/24 (17,627 rows; gp/fingertips_91547_...csv.gz in the mirror).  For each row with a
count and a denominator: value = count / denominator x 100; Wilson 95% and 99.8% limits
(``nhsbook.stats.proportion_ci``); the comparison with England at 95%
(``nhsbook.stats.compare``, low is good: Fingertips labels 91547 Better below England); the
recent trend over the last five points to that period (``nhsbook.stats.recent_trend``, with
the national outlier check).  Each published figure is compared with ours (relative tolerance
1e-6: the export has 10 significant figures).  Agreement is counted over the rows that
publish the figure (a row without the figure is not counted as agreeing).  Every exception is
listed with its reason, and the reason is checked by reproducing the published figure exactly;
docs/methods.md "Agreement with Fingertips" gives the figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhsbook import stats
from nhsbook.io import fingertips

ENGLAND = "E92000001"
FLAG = "Potential underestimate"
MERGED_NOTE = "Aggregated from values for merged local authorities"

#: Areas created after 2017/18, with the date they were created and the areas they were made
#: from (ONS Code History Database): the local-government reorganisation of 1 April 2019 and
#: the combined authorities of 2 November 2018 (the North East combined authority split into
#: CA-North East and CA-North of Tyne).  For the periods before they existed (2013/14-2017/18)
#: Fingertips publishes their rows by summing the predecessors' rows (``predecessor_sums``).
CREATED = {
    "E06000058": "2019-04-01",
    "E06000059": "2019-04-01",
    "E07000244": "2019-04-01",
    "E07000245": "2019-04-01",
    "E07000246": "2019-04-01",
    "E47000010": "2018-11-02",
    "E47000011": "2018-11-02",
}
PREDECESSORS = {
    "E06000058": ("E06000028", "E06000029", "E07000048"),  # Bournemouth, Christchurch, Poole
    "E06000059": ("E07000049", "E07000050", "E07000051", "E07000052", "E07000053"),  # Dorset
    "E07000244": ("E07000205", "E07000206"),  # East Suffolk
    "E07000245": ("E07000201", "E07000204"),  # West Suffolk
    "E07000246": ("E07000190", "E07000191"),  # Somerset West and Taunton
    "E47000010": ("E06000047", "E08000037", "E08000023", "E08000024"),  # CA-North East
    "E47000011": ("E06000057", "E08000021", "E08000022"),  # CA-North of Tyne
}

#: Coventry and Solihull 2016/17: value and limits are those of one practice (1,009 smokers
#: of 4,046 patients aged 15+) counted in Coventry; the Count and Denominator columns count it
#: in Solihull.  (area, period) -> the count and denominator the value was computed from.
VALUE_FROM_OTHER_COUNT = {
    ("E08000026", "2016/17"): (60406, 325540),
    ("E08000029", "2016/17"): (28567, 186368),
}


def _close(a: pd.Series, b: pd.Series, rtol: float = 1e-6) -> pd.Series:
    return pd.Series(np.isclose(a, b, rtol=rtol, atol=1e-6), index=a.index)


def _keys(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["area_code"], frame["period"]))


def _agreement(name: str, agree: pd.Series, published: pd.Series) -> float:
    """Share of the rows publishing the figure where ours agrees (printed for the record)."""
    n, differ = int(published.sum()), int((published & ~agree).sum())
    share = (n - differ) / n
    print(f"{name}: {n:,} rows publish it, {differ} differ; agreement {share:.4%}")
    return share


@pytest.fixture(scope="module")
def rows(shared) -> pd.DataFrame:
    path = shared / "data" / "gp" / "fingertips_91547_smoking_qof_prevalence_all_area_types.csv.gz"
    export = fingertips.read(path)
    v = pd.concat([export.values, export.details], axis=1)
    assert len(v) == 17627
    p95 = stats.proportion_ci(v["count"], v["denominator"], 0.95)
    p998 = stats.proportion_ci(v["count"], v["denominator"], 0.998)
    v["our_value"], v["our_lower_95"], v["our_upper_95"] = p95["value"], p95["lower"], p95["upper"]
    v["our_lower_998"], v["our_upper_998"] = p998["lower"], p998["upper"]
    plain = v["category_type"].eq("")
    england = (
        v[plain & v["area_code"].eq(ENGLAND)].drop_duplicates("period").set_index("period")["value"]
    )
    label = stats.compare(
        v["our_value"],
        v["our_lower_95"],
        v["our_upper_95"],
        v["period"].map(england),
        "low_is_good",
    )
    # Fingertips does not compare the comparator with itself
    v["our_comparison"] = label.where(~(plain & v["area_code"].eq(ENGLAND)), "Not compared")
    # recent trend: the last five points of the area's series (no category) to each period
    trend, reason = {}, {}
    series = (
        v[plain]
        .assign(_na=v["age"].eq("Not applicable"))
        .sort_values(["area_code", "period", "_na"])
        .drop_duplicates(["area_code", "period"])
    )
    for _, g in series.groupby("area_code"):
        for k in np.flatnonzero(g["recent_trend"].ne("").to_numpy()):
            sub = g.iloc[max(0, k - 4) : k + 1]
            res = stats.recent_trend(
                sub["value"], count=sub["count"], denom=sub["denominator"], polarity="low_is_good"
            )
            trend[g.index[k]], reason[g.index[k]] = res["label"], res["reason"]
    v["our_trend"] = pd.Series(trend, dtype=object).reindex(v.index).fillna("")
    v["our_trend_reason"] = pd.Series(reason, dtype=object).reindex(v.index).fillna("")
    return v


def _period_end(period: str) -> str:
    """The last day of a financial year "2017/18" (31 March 2018)."""
    return f"{int(period[:4]) + 1}-03-31"


@pytest.fixture(scope="module")
def predecessor_sums(rows) -> pd.DataFrame:
    """Rows of the areas in PREDECESSORS for periods that ended before the area was created,
    where the predecessor areas' rows for the same period are all present; their count and
    denominator must be the predecessors' sums (Fingertips filled them by aggregation)."""
    plain = rows[rows["category_type"].eq("")]
    own = plain.drop_duplicates(["area_code", "period"]).set_index(["area_code", "period"])
    found = []
    for area, parts in PREDECESSORS.items():
        for period in plain.loc[plain["area_code"].eq(area), "period"].unique():
            keys = [(p, period) for p in parts]
            if _period_end(period) >= CREATED[area]:
                continue
            if not all(k in own.index for k in keys):
                continue
            count = own.loc[keys, "count"].sum()
            denom = own.loc[keys, "denominator"].sum()
            hit = plain[plain["area_code"].eq(area) & plain["period"].eq(period)]
            assert np.allclose(hit["count"], count, rtol=1e-9), (area, period)
            assert np.allclose(hit["denominator"], denom, rtol=1e-9), (area, period)
            found.append(hit)
    return pd.concat(found)


def test_values_agree_in_999_per_mille_of_rows(rows):
    published = rows["value"].notna() & rows["count"].notna()
    agree = _close(rows["our_value"], rows["value"])
    assert _agreement("value", agree, published) >= 0.999
    differ = rows[published & ~agree]
    assert _keys(differ) == set(VALUE_FROM_OTHER_COUNT)
    # the reason: the value is another count over another denominator, the pair's totals kept
    for (code, period), (x, n) in VALUE_FROM_OTHER_COUNT.items():
        row = differ[(differ["area_code"] == code) & (differ["period"] == period)].iloc[0]
        assert row["value"] == pytest.approx(x / n * 100, rel=1e-9)
        assert abs(x - row["count"]) == 1009 and abs(n - row["denominator"]) == 4046
    assert differ["count"].sum() == sum(x for x, _ in VALUE_FROM_OTHER_COUNT.values())
    assert differ["denominator"].sum() == sum(n for _, n in VALUE_FROM_OTHER_COUNT.values())


def test_95_limits_agree_where_fingertips_computed_them_from_the_row(rows, predecessor_sums):
    """95% limits.  Of 11,354 rows publishing them, 37 differ:

    * 35 rows of the seven areas in PREDECESSORS for 2013/14-2017/18, before the areas
      existed, which Fingertips aggregated from the predecessor areas without a value note.
      Their published limits are exactly (to 1e-9) Wilson's formula with the (1 - p) term
      written (1 - p/100) — the proportion taken for a percentage — so they are not a method
      nhsbook should reproduce: for 2015/16 the same export also carries each merged area's
      row noted "Aggregated from values for merged local authorities", with the same count
      and denominator and the Wilson limits, and those agree with nhsbook.
    * the two Coventry/Solihull rows whose value is not count / denominator: their limits
      are the Wilson limits of the value's count and denominator (VALUE_FROM_OTHER_COUNT).

    The comparison population is every row whose limits Fingertips computed from the row's
    own count and denominator (all but the 35); agreement is asserted on it and reported for
    all rows as well."""
    published = rows["lower_95"].notna() & rows["upper_95"].notna()
    agree = _close(rows["our_lower_95"], rows["lower_95"]) & _close(
        rows["our_upper_95"], rows["upper_95"]
    )
    all_rows = _agreement("95% limits, every row", agree, published)
    assert published.sum() == 11354 and (published & ~agree).sum() == 37
    assert round(all_rows, 4) == 0.9967

    aggregated = predecessor_sums[predecessor_sums["value_note"].ne(MERGED_NOTE)]
    noted = predecessor_sums[predecessor_sums["value_note"].eq(MERGED_NOTE)]
    assert len(aggregated) == 35 and len(noted) == 5
    differ = rows[published & ~agree]
    assert _keys(differ) == _keys(aggregated) | set(VALUE_FROM_OTHER_COUNT)
    assert set(aggregated.index) <= set(differ.index)

    # the reason, reproduced exactly: Wilson with (1 - p/100) in place of (1 - p)
    x, n = aggregated["count"], aggregated["denominator"]
    z = stats.z_value(0.95)
    root = z * np.sqrt(z**2 + 4 * x * (1 - x / n / 100))
    assert _close(
        (2 * x + z**2 - root) / (2 * (n + z**2)) * 100, aggregated["lower_95"], rtol=1e-8
    ).all()
    assert _close(
        (2 * x + z**2 + root) / (2 * (n + z**2)) * 100, aggregated["upper_95"], rtol=1e-8
    ).all()
    # ... and Fingertips' own noted rows for the same areas, count and denominator agree
    assert agree[noted.index].all()
    assert _keys(noted) <= _keys(aggregated)

    # the Coventry/Solihull rows: the limits follow the value's count and denominator
    for (code, period), (cx, cn) in VALUE_FROM_OTHER_COUNT.items():
        row = rows[(rows["area_code"] == code) & (rows["period"] == period)].iloc[0]
        ci = stats.proportion_ci(cx, cn, 0.95)
        assert row["lower_95"] == pytest.approx(float(ci["lower"].iloc[0]), rel=1e-8)
        assert row["upper_95"] == pytest.approx(float(ci["upper"].iloc[0]), rel=1e-8)

    population = published & ~rows.index.isin(aggregated.index)
    assert population.sum() == 11319
    assert _agreement("95% limits, limits from the row's own count", agree, population) >= 0.999


def test_998_limits_agree_in_every_row(rows):
    published = rows["lower_998"].notna() & rows["upper_998"].notna()
    agree = _close(rows["our_lower_998"], rows["lower_998"]) & _close(
        rows["our_upper_998"], rows["upper_998"]
    )
    assert published.sum() == 6856
    assert _agreement("99.8% limits", agree, published) == 1.0


def test_comparison_with_england_agrees_in_every_row(rows):
    published = rows["england_comparison"].ne("")
    agree = rows["our_comparison"].eq(rows["england_comparison"])
    assert published.sum() == 11360
    assert _agreement("compared with England", agree, published) == 1.0


def test_recent_trend_agrees_in_every_row(rows):
    published = rows["recent_trend"].ne("")
    agree = rows["our_trend"].eq(rows["recent_trend"])
    assert published.sum() == 6851
    assert _agreement("recent trend", agree, published) == 1.0


def test_outlier_rule_decides_the_three_flagged_districts(rows):
    """E07000084, E07000117 and E07000123, trend to 2022/23: the χ² test for trend over
    their last five points (2018/19-2022/23) is significant (28.3, 9.7, 14.6 > 9.5495), but
    each series starts with the 2018/19 value Fingertips flags "Potential underestimate of
    the value due to double counting of patients in QOF", and with one point left out the
    direction of the slope changes: the national outlier rule gives "No significant change",
    as Fingertips publishes.  These are the only trends in the export the rule decides."""
    found = rows[rows["our_trend_reason"].eq("Outlier found")]
    assert set(found["area_code"]) == {"E07000084", "E07000117", "E07000123"}
    assert found["period"].eq("2022/23").all()
    assert found["recent_trend"].eq("No significant change").all()
    for code in found["area_code"]:
        g = (
            rows[(rows["area_code"] == code) & rows["category_type"].eq("")]
            .drop_duplicates("period")
            .sort_values("period")
            .tail(5)
        )
        assert g["value_note"].str.contains(FLAG).tolist() == [True] + [False] * 4
        res = stats.recent_trend(
            g["value"], count=g["count"], denom=g["denominator"], polarity="low_is_good"
        )
        assert res["chi2"] > stats.TREND_THRESHOLD and res["reason"] == "Outlier found"
