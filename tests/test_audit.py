"""The attacker (nhsbook.build.audit): differencing and inversion of published tables."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhsbook import stats
from nhsbook.build import audit, publish
from nhsbook.build.audit import Group, Knowledge

KEY = ("X1", "2012")
META = pd.DataFrame(
    {
        "indicator_id": ["X1"],
        "name": ["Admissions"],
        "method": ["crude_rate"],
        "multiplier": [1000.0],
        "reference_value": [np.nan],
        "period": ["2012"],
        "profile": ["adult"],
        "unit": ["per 1,000"],
        "polarity": ["low_is_good"],
    }
)
NOTE = stats.SUPPRESSION_NOTE


def _areas(localities: dict[str, list[str]]) -> pd.DataFrame:
    rows = [("C1", "CCG One", "ccg", "E1"), ("E1", "England", "england", "")]
    for loc, practices in localities.items():
        rows.append((loc, f"Locality {loc}", "locality", "C1"))
        rows += [(p, f"Practice {p}", "practice", loc) for p in practices]
    return pd.DataFrame(rows, columns=["area_code", "area_name", "area_type", "parent_code"])


def _publish_profiles(site: Path, counts: dict[str, int | None]) -> None:
    """One profile.csv per area as build.write_csvs publishes it: count or Supp. + note."""
    for code, n in counts.items():
        folder = site / "data" / code
        folder.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            {
                "Indicator ID": ["X1"],
                "Area code": [code],
                "Period": ["2012"],
                "Count": ["Supp." if n is None else str(n)],
                "Value": ["Supp." if n is None else "1.0"],
                "Value note": [NOTE if n is None else ""],
            }
        ).to_csv(folder / "profile.csv", index=False)


def _knowledge(cells: dict[str, int | None]) -> Knowledge:
    kn = Knowledge()
    for area, n in cells.items():
        c = kn.cell(KEY, area)
        if n is None:
            c.suppressed, c.primary = True, 4
        else:
            c.bound(n, n, f"data/{area}/profile.csv row 0")
    return kn


# --- differencing -------------------------------------------------------------------------------


def test_one_suppressed_child_is_recovered_exactly_from_the_published_site(tmp_path):
    areas = _areas({"L1": ["P1", "P2", "P3"]})
    _publish_profiles(tmp_path, {"C1": 20, "L1": 20, "P1": 10, "P2": 7, "P3": None})
    found = audit.audit_site(tmp_path, META, areas)
    assert [(r.area, r.value) for r in found] == [("P3", 3)]
    assert "P3 = L1 (20) − Σ 2 siblings (17)" in found[0].how
    assert "data/L1/profile.csv" in found[0].files and "data/P1/profile.csv" in found[0].files


def test_the_publish_scan_fails_on_a_recoverable_cell(tmp_path):
    areas = _areas({"L1": ["P1", "P2", "P3"]})
    _publish_profiles(tmp_path, {"C1": 20, "L1": 20, "P1": 10, "P2": 7, "P3": None})
    found = publish.scan(tmp_path, META, areas=areas)
    assert len(found) == 1 and found[0].value == 3
    assert "suppressed count recoverable" in found[0].rule and "area P3" in str(found[0])
    # without the hierarchy there is no attack, and nothing else discloses
    assert publish.scan(tmp_path, META) == []


@pytest.mark.parametrize("total, recovered", [(6, []), (8, [("P2", 4), ("P3", 4)])])
def test_two_suppressed_siblings(total, recovered):
    """P2 + P3 = total − 10: for 6 each lies in 2..4 (safe); for 8 both must be 4."""
    kn = _knowledge({"L1": 10 + total, "P1": 10, "P2": None, "P3": None})
    groups = [Group("L1", ("P1", "P2", "P3"), "L1 = Σ its 3 practices")]
    found = audit.attack(kn, groups)
    assert sorted((r.area, r.value) for r in found) == recovered


def test_a_large_enough_total_protects_two_suppressed_siblings_without_the_rule():
    """A secondary suppression (noted otherwise) may hold any count: P2 + P3 = 12 is safe."""
    kn = _knowledge({"L1": 22, "P1": 10, "P2": None})
    c = kn.cell(KEY, "P3")
    c.suppressed, c.secondary = True, True
    assert audit.attack(kn, [Group("L1", ("P1", "P2", "P3"), "L1")]) == []


@pytest.mark.parametrize(
    "total, recovered",
    [(6, []), (5, [("P2", 1, 4), ("P3", 1, 4)]), (2, [("P2", 1, 1), ("P3", 1, 1)])],
)
def test_secondary_suppression_noted_alike_must_hide_even_smallness(total, recovered):
    """Where every suppressed cell carries the same note (primary or secondary alike), a
    suppressed cell is only known to be >= 1: P2 + P3 = 6 leaves each in 1..5 (safe), 5
    shows both are small, 2 gives both away."""
    kn = _knowledge({"L1": 10 + total, "P1": 10})
    for a in ("P2", "P3"):
        c = kn.cell(KEY, a)
        c.suppressed, c.secondary = True, True
    found = audit.attack(kn, [Group("L1", ("P1", "P2", "P3"), "L1 = Σ its 3 practices")])
    assert sorted((r.area, r.lo, r.hi) for r in found) == recovered
    if recovered and recovered[0][1] != recovered[0][2]:
        assert "shown to be small (1..4)" in str(found[0])


def test_only_the_crossing_of_locality_and_quintile_reveals_a_cell():
    """P1, P2, P3 suppressed in locality L1 (P1 + P2 + P3 = 8); quintile 1 holds P2, P3 and
    P5 (P2 + P3 = 5).  Neither equation alone gives a cell, together P1 = 3."""
    kn = _knowledge(
        {"L1": 18, "P1": None, "P2": None, "P3": None, "P4": 10, "C1 quintile 1": 25, "P5": 20}
    )
    locality = [Group("L1", ("P1", "P2", "P3", "P4"), "L1 = Σ its 4 practices")]
    quintile = [Group("C1 quintile 1", ("P2", "P3", "P5"), "C1 quintile 1 = Σ its 3 practices")]
    assert audit.attack(kn, locality) == []
    assert audit.attack(kn, quintile) == []
    found = audit.attack(kn, locality + quintile)
    assert [(r.area, r.value) for r in found] == [("P1", 3)]
    assert "linear programming" in found[0].how and "C1 quintile 1" in found[0].how


def test_quintile_membership_is_read_as_published(tmp_path):
    """The inequalities page's quintile table (score ranges, practice counts) and the
    practices' published deprivation scores give the quintile groups."""
    areas = _areas({"L1": ["P1", "P2", "P3", "P4"]})
    kn = Knowledge(
        scores={"P1": (30.2, 0.05), "P2": (28.0, 0.05), "P3": (12.5, 0.05), "P4": (11.0, 0.05)}
    )
    kn.quintiles["C1"] = {1: (2, 27.95, 30.25), 5: (2, 10.95, 12.55)}
    groups = audit.quintile_groups(kn, areas)
    assert {(g.parent, g.children) for g in groups} == {
        ("C1 quintile 1", ("P1", "P2")),
        ("C1 quintile 5", ("P3", "P4")),
        ("C1", ("C1 quintile 1", "C1 quintile 5")),
    }
    # a practice whose rounded score fits two quintiles makes both unusable
    kn.quintiles["C1"] = {1: (2, 27.95, 30.25), 2: (1, 11.95, 27.95), 5: (1, 10.95, 12.0)}
    kn.scores["P2"] = (27.95, 0.05)
    assert {g.parent for g in audit.quintile_groups(kn, areas)} == {"C1 quintile 5", "C1"}


def test_a_quintile_bar_left_out_is_the_area_minus_the_others():
    """An inequalities page leaves out a quintile whose count is small; the area's count
    minus the published quintiles gives it (an unpublished cell: a finding when small)."""
    kn = _knowledge({"C1": 30, "C1 quintile 1": 12, "C1 quintile 2": 15})
    groups = [
        Group("C1", ("C1 quintile 1", "C1 quintile 2", "C1 quintile 3"), "C1 = Σ its 3 quintiles")
    ]
    found = audit.attack(kn, groups)
    assert [(r.area, r.value) for r in found] == [("C1 quintile 3", 3)]


# --- inversion -------------------------------------------------------------------------------------


def _rounded(x: float, digits: int) -> tuple[float, float]:
    return round(float(x), digits), 0.5 * 10.0**-digits


@pytest.mark.parametrize("count", [1, 2, 3, 4, 9, 10, 57, 312])
def test_poisson_limits_give_the_count_back(count):
    """lower ÷ value and upper ÷ value of exact/Byar's limits depend on the count alone."""
    r = stats.rate_ci(count, 23_456.0, multiplier=100_000.0).iloc[0]
    v, dv = _rounded(r["value"], 3)
    lo, dl = _rounded(r["lower"], 3)
    up, du = _rounded(r["upper"], 3)
    assert audit.invert_poisson(v, dv, lo, dl, up, du) == (count, count)


@pytest.mark.parametrize("count, denom", [(1, 40), (2, 150), (3, 150), (4, 2_000), (37, 420)])
def test_wilson_limits_give_count_and_denominator_back(count, denom):
    r = stats.proportion_ci(count, denom).iloc[0]
    v, dv = _rounded(r["value"], 3)
    lo, dl = _rounded(r["lower"], 3)
    up, du = _rounded(r["upper"], 3)
    assert audit.invert_wilson(v, dv, lo, dl, up, du, multiplier=100.0) == (count, count)


def test_rounding_to_one_decimal_still_gives_a_small_count_away():
    """Value and limits at one decimal (as the profile tables show them) pin 3 of 150; a
    large count only gets bounds."""

    def invert(x, n):
        r = stats.proportion_ci(x, n).iloc[0]
        return audit.invert_wilson(
            *_rounded(r["value"], 1),
            *_rounded(r["lower"], 1),
            *_rounded(r["upper"], 1),
            multiplier=100.0,
        )

    assert invert(3, 150) == (3, 3)
    lo, hi = invert(300, 2_000)
    assert lo <= 300 <= hi and hi - lo > 10


def test_dobson_limits_give_the_total_count_back():
    bands = list(stats.ESP2013.index)
    rng = np.random.default_rng(4)
    data = pd.DataFrame(
        {
            "age_band": bands,
            "count": rng.integers(0, 4, len(bands)),
            "denominator": rng.integers(500, 3_000, len(bands)),
        }
    )
    r = stats.dsr(data).iloc[0]
    total = int(data["count"].sum())
    assert total >= 10
    found = audit.invert_dobson(
        *_rounded(r["value"], 2), *_rounded(r["lower"], 2), *_rounded(r["upper"], 2)
    )
    assert found[0] <= total <= found[1] and found[1] - found[0] <= 2
    exact = audit.invert_dobson(r["value"], 1e-9, r["lower"], 1e-9, r["upper"], 1e-9)
    assert exact == (total, total)


def test_an_inverted_suppressed_cell_is_a_finding(tmp_path):
    """A bar that publishes value and limits of a suppressed count gives it away."""
    areas = _areas({"L1": ["P1"]})
    _publish_profiles(tmp_path, {"P1": None})
    r = stats.rate_ci(2, 1_500.0, multiplier=1000.0).iloc[0]
    folder = tmp_path / "charts" / "L1"
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "indicator_id": ["X1"],
            "area_code": ["P1"],
            "value": [round(r["value"], 3)],
            "lower_95": [round(r["lower"], 3)],
            "upper_95": [round(r["upper"], 3)],
        }
    ).to_csv(folder / "bars.csv", index=False)
    found = publish.scan(tmp_path, META, areas=areas)
    assert any(f.value == 2 and "Byar's/exact Poisson inverted" in f.rule for f in found)


def test_parse_column_reads_the_rounding():
    vals, delta = audit.parse_column(["1,752.0", "84.3", "0.1234"])
    assert list(vals) == [1752.0, 84.3, 0.1234]
    assert delta[0] == pytest.approx(0.5) and delta[2] == pytest.approx(5e-5)
    # a whole number's trailing zeros are not significant: 4 significant figures here
    assert audit.parse_column(["12340.0", "84.3"])[1][0] == pytest.approx(5.0)
    vals, delta = audit.parse_column(["1836.02", "1923.579", "Supp."])
    assert delta[0] == pytest.approx(5e-4) and np.isnan(vals[2])


# --- the default book's published site ---------------------------------------------------------------


def test_no_suppressed_count_is_recoverable_from_the_default_site(site, computed):
    """The issue's attack over the default site: counts 1-4 worked back as parent − siblings
    (practices → locality → CCG), through the deprivation quintiles, and from published
    limits.  Needs secondary suppression (the suppress branch)."""
    start = time.perf_counter()
    found = audit.audit_site(site, computed["metadata"], computed["areas"])
    took = time.perf_counter() - start
    values = computed["values"]
    truth = {(r.indicator_id, r.period, r.area_code): r.count for r in values.itertuples()}
    wrong = [
        r
        for r in found
        if (r.indicator_id, r.period, r.area) in truth
        and not r.lo <= truth[(r.indicator_id, r.period, r.area)] <= r.hi
    ]
    assert not wrong, f"the attack recovered wrong values: {wrong[:3]}"
    assert not found, (
        f"{len(found)} suppressed counts are recoverable from the published "
        f"site ({took:.0f} s):\n" + "\n".join(map(str, found[:10]))
    )


def test_the_book_and_indicator_thresholds_are_read():
    class Book:
        disclosure = "nhs_digital"

    assert publish.book_threshold(Book()) == 8 and publish.book_rounding(Book()) == 5
    assert publish.book_threshold(object()) == 5 and publish.book_rounding(object()) == 1
    meta = META.assign(suppress_below=[10])
    assert publish.indicator_thresholds(meta, 5) == {"X1": 10}
    # under a threshold of 10, a recovered 7 is a finding
    kn = _knowledge({"L1": 17, "P1": 10, "P2": None})
    kn.cell(KEY, "P2").primary = 9
    groups = [Group("L1", ("P1", "P2"), "L1")]
    assert audit.attack(kn, groups, 5) == []
    assert [r.value for r in audit.attack(kn, groups, 5, {"X1": 10})] == [7]


def test_rounded_counts_are_bounds_not_values(tmp_path):
    """Exact counts give P3 = 22 − 10 − 10 = 2; counts rounded to the nearest 5
    (nhs_digital) only bound it (each published count ± 2)."""
    areas = _areas({"L1": ["P1", "P2", "P3"]})
    _publish_profiles(tmp_path, {"L1": 22, "P1": 10, "P2": 10, "P3": None})
    assert [r.value for r in audit.audit_site(tmp_path, META, areas, threshold=8)] == [2]
    assert audit.audit_site(tmp_path, META, areas, threshold=8, rounding=5) == []
    # figures computed from a rounded count invert to the rounded count only
    r = stats.rate_ci(10, 1_500.0, multiplier=1000.0).iloc[0]
    nums = tuple(
        sorted(
            (k, float(round(r[c], 3)), 5e-4)
            for k, c in (("value", "value"), ("lower_95", "lower"), ("upper_95", "upper"))
        )
    )
    bounds = audit._count_bounds(nums, ("crude_rate", 1000.0, np.nan), 5)
    assert [(lo, hi) for lo, hi, _ in bounds] == [(7.5, 12.5)]


def test_every_published_figure_bounds_the_true_count(site, computed):
    """Soundness of the reading and inversion over the default site: the bounds that every
    published count, value × denominator and inverted interval put on a cell hold its true
    count, and most published intervals of a small group pin the count exactly."""
    kn = audit.read_site(site, computed["metadata"], computed["areas"])
    truth = {
        (r.indicator_id, r.period, r.area_code): r.count
        for r in computed["values"].itertuples()
        if np.isfinite(r.count)
    }
    checked = exact = 0
    for key, cells in kn.cells.items():
        for area, cell in cells.items():
            true = truth.get((*key, area))
            if true is None or not np.isfinite(cell.hi):
                continue
            checked += 1
            exact += cell.exact
            assert cell.lo - 1e-6 <= true <= cell.hi + 1e-6, (key, area, cell, true)
    assert checked > 1000 and exact > 0.9 * checked
