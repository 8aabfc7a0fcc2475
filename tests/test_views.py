"""The everyday views (issue 13): overview rug, compare areas, compare indicators, box plots,
inequalities and trends — data against hand-computed examples and the chart specs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nhsbook import charts, stats
from nhsbook.analysis import variation, views
from nhsbook.build.publish import check_table
from nhsbook.charts.theme import PALETTES, contrast
from nhsbook.pages.area import AreaPage, disclosive_cells
from nhsbook.pages.renderer import chart_table
from test_charts_profile import _marks  # every unit spec (with a mark) inside a chart

CCG = "E38000115"
LOCALITIES = ["ND-CHE", "ND-DRO", "ND-HPK", "ND-NDA", "ND-NEA"]


@pytest.fixture(scope="module")
def tables(computed):
    return computed["values"], computed["metadata"], computed["areas"]


# --- a tiny hand-made book -------------------------------------------------------------


def _tiny() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A PCN "P" (compared with "ICB") with three practices compared with P; one
    proportion indicator (high is good) whose significance is fixed by hand from the
    limits against the comparator value 50: X better (52-58), Y similar (45-55), Z worse
    (40-48), W a count of 3 (suppressed)."""
    areas = pd.DataFrame(
        {
            "area_code": ["ICB", "P", "X", "Y", "Z", "W"],
            "area_name": [
                "The ICB",
                "The PCN",
                "Xenia surgery",
                "Yew practice",
                "Zed health",
                "Wee practice",
            ],
            "area_type": ["ccg", "pcn", "practice", "practice", "practice", "practice"],
            "parent_code": ["", "ICB", "P", "P", "P", "P"],
            "comparator_code": ["", "ICB", "P", "P", "P", "P"],
            "list_size": [np.nan, np.nan, 1000.0, 2000.0, 3000.0, 500.0],
        }
    )
    metadata = pd.DataFrame(
        {
            "indicator_id": ["I1"],
            "name": ["Screening uptake"],
            "domain": ["Prevention"],
            "profile": ["qof"],
            "unit": ["%"],
            "multiplier": [100.0],
            "polarity": ["high_is_good"],
            "method": ["proportion"],
            "period": ["2022/23"],
            "sex": ["Persons"],
            "age": ["All ages"],
            "source": ["test"],
            "reference_value": [np.nan],
        }
    )
    rows = [
        ("ICB", 49.0, 48, 50, np.nan),
        ("P", 50.0, 49, 51, "ICB"),
        ("X", 55.0, 52, 58, "P"),
        ("Y", 50.5, 45, 55, "P"),
        ("Z", 44.0, 40, 48, "P"),
        ("W", 60.0, 20, 90, "P"),
    ]
    values = pd.DataFrame(
        {
            "indicator_id": "I1",
            "area_code": [r[0] for r in rows],
            "area_type": ["ccg", "pcn", "practice", "practice", "practice", "practice"],
            "period": "2022/23",
            "sex": "Persons",
            "age": "All ages",
            "category_type": "",
            "category": "",
            "value": [r[1] for r in rows],
            "lower_95": [r[2] for r in rows],
            "upper_95": [r[3] for r in rows],
            "count": [490.0, 500, 55, 101, 132, 3],
            "denominator": [1000.0, 1000, 100, 200, 300, 5],
            "value_note": "",
            "comparator_code": [r[4] for r in rows],
        }
    )
    comp = dict(zip(values["area_code"], values["value"]))
    values["comparator_value"] = values["comparator_code"].map(comp)
    values["significance"] = stats.compare(
        values["value"],
        values["lower_95"],
        values["upper_95"],
        values["comparator_value"],
        "high_is_good",
    )
    return values, metadata, areas


def test_rug_data_on_a_hand_made_pcn():
    values, metadata, areas = _tiny()
    coloured, comparators = views.rug_columns(areas, "P")
    # the PCN is compared with the ICB, its practices with the PCN: the PCN is the comparator
    assert comparators == ["P"] and coloured == ["W", "X", "Y", "Z"]
    rug = views.rug_data(values, metadata, areas, "P").set_index("column")
    assert rug.at["Xenia surgery", "significance"] == "Better"
    assert rug.at["Yew practice", "significance"] == "Similar"
    assert rug.at["Zed health", "significance"] == "Worse"
    # count of 3: value suppressed, not compared, nothing derived from it in the data
    assert rug.at["Wee practice", "label"] == "Supp."
    assert rug.at["Wee practice", "significance"] == "Not compared"
    assert pd.isna(rug.at["Wee practice", "value"])
    assert rug.at["The PCN (comparator)", "kind"] == "comparator"
    assert rug.at["The PCN (comparator)", "label"] == "50.0"
    assert rug.at["Period", "label"] == "2022/23"
    # sort keys: fixed columns first; one worse indicator puts Zed first when sorting so
    assert rug.at["Period", "col_order"] == 0 and rug.at["The PCN (comparator)", "col_order"] == 1
    assert rug["col_worse"].idxmin() == "Period"
    assert rug.loc[rug["kind"] == "area", "col_worse"].idxmin() == "Zed health"
    assert rug.loc[rug["kind"] == "area", "col_better"].idxmin() == "Xenia surgery"
    assert rug.loc[rug["kind"] == "area", "col_order"].idxmin() == "Wee practice"
    assert not any(c in rug.columns for c in ("count", "denominator"))


def test_rug_chart_colours_cells_by_significance_and_sorts_by_choice(tables):
    values, metadata, areas = tables
    data = views.rug_data(values, metadata, areas, "ND-CHE", "adult")
    for palette in ("standard", "colourblind"):
        spec = charts.rug(data, palette=palette).to_dict()
        rect = [
            m
            for m in _marks(spec)
            if m["mark"] == "rect"
            or (isinstance(m["mark"], dict) and m["mark"].get("type") == "rect")
        ][0]
        scale = rect["encoding"]["color"]["scale"]
        colours = dict(zip(scale["domain"], scale["range"]))
        for label in set(data["significance"]) - {""}:
            assert colours[label] == PALETTES[palette][label]
        assert colours["comparator"] != colours["Not compared"]
        # every label is readable on its cell (WCAG 2 AA, 4.5:1): white on "Best" green was 2.8:1
        text = [
            m
            for m in _marks(spec)
            if m["mark"] == "text"
            or (isinstance(m["mark"], dict) and m["mark"].get("type") == "text")
        ][0]
        cond = text["encoding"]["color"]["condition"]
        white = set(cond["test"]["oneOf"]) if "test" in cond else set(cond["oneOf"])
        for label, fill in PALETTES[palette].items():
            ink = "#FFFFFF" if label in white else text["encoding"]["color"]["value"]
            assert contrast(fill, ink) >= 4.5, (palette, label, fill, ink)
    params = {p["name"]: p for p in spec["params"]}
    assert params["sort_rows"]["bind"]["options"] == list(charts.views.RUG_ROW_SORTS)
    assert params["sort_columns"]["bind"]["options"] == list(charts.views.RUG_COLUMN_SORTS)
    calc = {
        t["as"]: t["calculate"]
        for m in _marks(spec)
        for t in m.get("transform", [])
        if "calculate" in t
    }
    assert "sort_columns === 'Most indicators worse first'" in calc["col_key"]
    assert rect["encoding"]["x"]["sort"] == {"field": "col_key", "op": "min"}
    # a worked cell: SYN03 alcohol admissions 2,803.0 per 100,000 vs the CCG: Worse, red
    row = data[
        (data["column"] == "Synthetic practice 03 (Chesterfield)")
        & (data["indicator"] == "Alcohol related admissions to hospital")
    ].iloc[0]
    assert row["label"] == "2,803.0" and row["significance"] == "Worse"
    assert PALETTES["standard"]["Worse"] == "#C00000"
    # every cell of the Chesterfield rug: 11 practices, the locality, the CCG and the period
    assert data["column"].nunique() == 14 and data["indicator"].nunique() == 33


def test_rug_embeds_no_small_count(tables):
    values, metadata, areas = tables
    for code in [CCG, *LOCALITIES]:
        for profile in ("adult", "child"):
            data = views.rug_data(values, metadata, areas, code, profile)
            spec = charts.rug(data).to_dict()
            table = chart_table(spec)
            assert not disclosive_cells(table)
            assert not check_table(table, "rug", code, metadata)
            small = values[
                values["area_code"].isin(views.rug_columns(areas, code)[0])
                & values["count"].between(1, 4)
            ]
            names = areas.set_index("area_code")["area_name"]
            for _, s in small[
                small["indicator_id"].isin(
                    metadata.loc[metadata["profile"] == profile, "indicator_id"]
                )
            ].iterrows():
                cell = data[
                    (data["column"] == names[s["area_code"]])
                    & (
                        data["indicator"]
                        == metadata.set_index("indicator_id").at[s["indicator_id"], "name"]
                    )
                ].iloc[0]
                assert cell["label"] == "Supp." and pd.isna(cell["value"])


# --- compare areas ---------------------------------------------------------------------


def test_compare_areas_shows_siblings_or_children(tables):
    values, metadata, areas = tables
    assert views.compare_codes(areas, "ND-HPK") == LOCALITIES  # siblings, in name order
    assert views.compare_codes(areas, CCG) == LOCALITIES  # alone in its cluster: children
    bars = variation.compare_areas(
        values, metadata, areas, views.compare_codes(areas, "ND-HPK"), highlight="ND-HPK"
    )
    assert set(bars.loc[bars["highlight"], "area_code"]) == {"ND-HPK"}
    spec = charts.compare_bars(bars).to_dict()
    bar = [m for m in _marks(spec) if m["mark"] in ("bar", {"type": "bar"})][0]
    assert bar["encoding"]["y"]["sort"] == "-x"


# --- compare indicators ----------------------------------------------------------------


def test_correlation_on_a_hand_computed_example():
    # x̄ = 3, ȳ = 4, Sxy = 6, Sxx = 10, Syy = 6: r = 6/√60, R² = 0.6, y = 2.2 + 0.6x
    fit = views.correlation(pd.Series([1, 2, 3, 4, 5.0]), pd.Series([2, 4, 5, 4, 5.0]))
    assert fit["r"] == pytest.approx(6 / np.sqrt(60))
    assert fit["r2"] == pytest.approx(0.6)
    assert fit["slope"] == pytest.approx(0.6) and fit["intercept"] == pytest.approx(2.2)
    assert fit["n"] == 5
    none = views.correlation(pd.Series([1, 2, np.nan]), pd.Series([1, 2, 3.0]))
    assert none["n"] == 2 and np.isnan(none["r"])


def test_scatter_data_and_chart(tables):
    values, metadata, areas = tables
    dep = views.deprivation_indicator(metadata)
    assert dep == "C20"
    data = views.scatter_data(values, metadata, areas, "ND-DRO", dep)
    pts = data[data["kind"] == "point"]
    # Dronfield's four practices highlighted among the CCG's 38
    own = set(pts.loc[pts["own"], "area_name"])
    assert own == {f"Synthetic practice {n} (Dronfield)" for n in (35, 36, 37, 38)}
    # r recomputed by hand for one pair; suppressed practices are left out
    smoke = pts[pts["indicator"] == "Patients with a Long Term Condition who smoke"]
    prac = values[(values["area_type"] == "practice")]
    x = prac[prac["indicator_id"] == "C20"].set_index("area_code")["value"]
    y = prac[(prac["indicator_id"] == "A04") & ~prac["suppressed"]].set_index("area_code")["value"]
    x, y = x.align(y, join="inner")
    r = np.corrcoef(x, y)[0, 1]
    assert smoke["r"].iloc[0] == pytest.approx(r, abs=1e-3) and len(smoke) == len(x)
    asthma = pts[pts["indicator"] == "Admissions: Asthma (<5 Years)"]
    # suppressed: counts 1-4 and their complementary cells (nhsbook.analysis.disclosure)
    small = prac[(prac["indicator_id"] == "C11") & prac["suppressed"]]
    assert small["count"].between(1, 4).sum() < len(small)
    assert (
        len(asthma)
        == 38
        - len(small)
        - prac[(prac["indicator_id"] == "C11") & ~prac["suppressed"] & prac["value"].isna()].shape[
            0
        ]
    )
    # the fitted line's ends lie on y = a + b x
    fit = data[(data["kind"] == "fit") & (data["indicator"] == smoke["indicator"].iloc[0])]
    slope = np.diff(fit["y"])[0] / np.diff(fit["x"])[0]
    assert slope == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-3)
    spec = charts.scatter(data).to_dict()
    assert "r = 0.41, R² = 0.17" in json.dumps(spec, ensure_ascii=False)
    assert {p["name"] for p in spec["params"]} == {"y_choice"}
    assert not disclosive_cells(chart_table(spec))
    table = views.correlation_table(data)
    # (r is missing where secondary suppression leaves too few varying practices)
    assert table["r"].dropna().abs().is_monotonic_decreasing


# --- box plots -------------------------------------------------------------------------


def test_box_plot_quartiles_match_the_profile_spread(tables):
    values, metadata, areas = tables
    box = views.box_data(values, metadata, areas, CCG).set_index("indicator")
    ccg = (
        values[values["area_code"] == CCG]
        .merge(metadata[["indicator_id", "name", "polarity"]], on="indicator_id")
        .set_index("name")
    )
    for name, row in box.iterrows():
        spread = ccg.loc[name]
        # the profile's 25th/75th percentiles (Excel PERCENTILE.INC) over the same practices
        for mine, theirs in ((row["q1"], spread["p25"]), (row["q3"], spread["p75"])):
            assert (np.isnan(mine) and np.isnan(theirs)) or mine == pytest.approx(theirs, abs=1e-3)
        lo, hi = sorted([spread["worst"], spread["best"]])
        assert row["lowest"] == pytest.approx(lo, abs=1e-3)
        assert row["highest"] == pytest.approx(hi, abs=1e-3)
        assert row["practices"] == spread["n_practices"]


def test_box_plot_on_a_hand_made_series():
    values, metadata, areas = _tiny()
    more = values[values["area_code"].isin(["X", "Y", "Z"])].assign(period="2023/24")
    more["value"] = [10.0, 20.0, 30.0]
    extra = more.iloc[[0]].assign(area_code="W", value=40.0, count=50.0)
    values = pd.concat([values, more, extra], ignore_index=True)
    box = views.box_data(values, metadata, areas, "P").set_index("period")
    # 2022/23: W suppressed, three practices left -> no percentiles (Fingertips needs > 3)
    assert box.at["2022/23", "practices"] == 3 and np.isnan(box.at["2022/23", "median"])
    # 2023/24: 10, 20, 30, 40: h = 3·p + 1 -> 17.5, 25, 32.5
    assert box.loc["2023/24", ["lowest", "q1", "median", "q3", "highest"]].tolist() == [
        10,
        17.5,
        25,
        32.5,
        40,
    ]
    spec = charts.box_plot(views.box_data(values, metadata, areas, "P")).to_dict()
    assert {
        m["mark"]["type"] if isinstance(m["mark"], dict) else m["mark"] for m in _marks(spec)
    } == {"rule", "bar", "tick", "point"}


# --- inequalities ----------------------------------------------------------------------


def _quintile_frame(
    values: list[float], pops: list[float], method: str, mult: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    by_q = pd.DataFrame(
        {
            "indicator_id": "I",
            "quintile": [1, 2, 3, 4, 5],
            "population": pops,
            "value": values,
            "lower_95": [v * 0.95 for v in values],
            "upper_95": [v * 1.05 for v in values],
            "suppressed": False,
        }
    )
    meta = pd.DataFrame({"indicator_id": ["I"], "method": [method], "multiplier": [mult]})
    return by_q, meta


@pytest.mark.parametrize(
    "method,mult", [("crude_rate", 1000.0), ("proportion", 100.0), ("mean", 1.0)]
)
def test_sii_on_a_worked_example(method, mult):
    # equal populations: midpoints 0.1, 0.3, 0.5, 0.7, 0.9 (quintile 1 most deprived);
    # y = 10 + 5b exactly, so SII = 5 (least minus most deprived) and RII = 15/10
    vals = [10 + 5 * b for b in (0.1, 0.3, 0.5, 0.7, 0.9)]
    by_q, meta = _quintile_frame(vals, [100.0] * 5, method, mult)
    res = views.inequality(by_q, meta, reps=2000).iloc[0]
    assert res["sii"] == pytest.approx(5.0) and res["rii"] == pytest.approx(1.5)
    assert res["sii_lower"] < 5 < res["sii_upper"]
    # unequal populations move the midpoints: shares 1/8 ×4 and 1/2 -> b = 1/16 … 3/4
    b = [1 / 16, 3 / 16, 5 / 16, 7 / 16, 3 / 4]
    by_q, meta = _quintile_frame([20 - 8 * x for x in b], [1.0, 1, 1, 1, 4], method, mult)
    res = views.inequality(by_q, meta, reps=2000).iloc[0]
    assert res["sii"] == pytest.approx(-8.0) and res["rii"] == pytest.approx(12 / 20)


def test_sii_not_calculated_without_limits_or_with_a_suppressed_quintile():
    by_q, meta = _quintile_frame([1, 2, 3, 4, 5.0], [1.0] * 5, "score", 1.0)
    assert "no confidence limits" in views.inequality(by_q, meta).iloc[0]["value_note"]
    by_q, meta = _quintile_frame([1, 2, 3, 4, 5.0], [1.0] * 5, "crude_rate", 1.0)
    by_q.loc[2, ["value", "suppressed"]] = [np.nan, True]
    res = views.inequality(by_q, meta).iloc[0]
    assert np.isnan(res["sii"]) and "suppressed" in res["value_note"]


def test_practice_quintiles_rank_the_most_deprived_first():
    areas = pd.DataFrame({"area_code": [f"G{i}" for i in range(10)], "list_size": [1000.0] * 10})
    values = pd.DataFrame(
        {
            "indicator_id": "D",
            "area_code": areas["area_code"],
            "period": "2019",
            "value": [float(i) for i in range(10)],
        }
    )
    q = views.practice_quintiles(values, areas, areas["area_code"], "D").set_index("area_code")[
        "quintile"
    ]
    assert q[["G9", "G8"]].tolist() == [1, 1] and q[["G0", "G1"]].tolist() == [5, 5]
    assert q.value_counts().eq(2).all()
    few = views.practice_quintiles(values, areas, ["G1", "G2", "G3", "G4"], "D")
    assert few["quintile"].isna().all()  # fewer practices than quintiles: none


def test_quintile_values_sum_practice_counts(tables):
    values, metadata, areas = tables
    _, group, own = views.peer_practices(areas, CCG)
    quint = views.practice_quintiles(values, areas, group, "C20")
    by_q = views.by_quintile(values, metadata, quint, own)
    q1 = quint.loc[quint["quintile"] == 1, "area_code"]
    prac = values[values["area_code"].isin(q1) & (values["indicator_id"] == "A04")]
    row = by_q[(by_q["indicator_id"] == "A04") & (by_q["quintile"] == 1)].iloc[0]
    assert row["count"] == prac["count"].sum()
    assert row["denominator"] == prac["denominator"].sum()
    wilson = stats.proportion_ci(row["count"], row["denominator"], multiplier=100)
    assert row["value"] == pytest.approx(wilson["value"])
    assert row["lower_95"] == pytest.approx(wilson["lower"])
    assert row["population"] == areas.set_index("area_code").loc[q1, "list_size"].sum()


def test_inequality_view_colours_quintiles_against_the_area_value(tables):
    values, metadata, areas = tables
    bars, summary = views.inequality_data(values, metadata, areas, CCG, "C20", reps=2000)
    assert "Index of Multiple Deprivation (IMD) 2010" not in set(bars["indicator"])
    smoke = bars[bars["indicator"] == "Patients with a Long Term Condition who smoke"]
    for _, r in smoke.iterrows():  # low is good: the whole interval above the area is worse
        expect = (
            "Worse"
            if r["lower_95"] > r["area_value"]
            else "Better"
            if r["upper_95"] < r["area_value"]
            else "Similar"
        )
        assert r["significance"] == expect
    assert smoke["quintile_label"].tolist()[0] == "1 (most deprived)"
    assert (
        smoke["sii_text"].iloc[0].startswith("SII -2.8")
        and "percentage points" in smoke["sii_text"].iloc[0]
    )
    assert summary["indicator"].is_unique and len(summary) == 52
    spec = charts.inequality_bars(bars).to_dict()
    bar = [m for m in _marks(spec) if m["mark"] == {"type": "bar", "size": 46}][0]
    scale = bar["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"]))["Worse"] == PALETTES["standard"]["Worse"]
    assert not disclosive_cells(chart_table(spec))
    assert not check_table(chart_table(spec), "inequality", CCG, metadata)


def test_views_work_for_every_page_area(tables):
    values, metadata, areas = tables
    for code in [CCG, *LOCALITIES]:
        for fn in (views.box_data,):
            assert not fn(values, metadata, areas, code).empty
        bars, summary = views.inequality_data(values, metadata, areas, code, "C20", reps=200)
        assert not bars.empty and summary["sii"].notna().sum() > 10
        json.dumps(charts.inequality_bars(bars).to_dict())


def test_views_are_generic_over_area_types(tables):
    values, metadata, areas = tables
    pcn = areas.assign(area_type=areas["area_type"].replace("locality", "pcn"))
    vals = values.assign(area_type=values["area_type"].replace("locality", "pcn"))
    assert views.compare_codes(pcn, "ND-NEA") == LOCALITIES
    rug = views.rug_data(vals, metadata, pcn, "ND-NEA", "child")
    assert rug["column"].nunique() == 9 + 1 + 1 + 1  # practices, the PCN, the CCG, period
    assert not views.scatter_data(vals, metadata, pcn, "ND-NEA", "C20").empty


# --- by sex and age --------------------------------------------------------------------


def test_sex_table_pairs_indicators_that_differ_by_sex(tables):
    values, metadata, areas = tables
    table = views.sex_age_table(values, metadata, CCG)
    assert set(table["Indicator"]) == {"Life expectancy at 65"}
    assert dict(zip(table["Sex"], table["Value"])) == {"Male": "18.4", "Female": "20.9"}
    single = views.single_sex_indicators(metadata)
    assert {"Cancer screening coverage: Cervical", "Births to women <20 yrs"} <= set(
        single["Indicator"]
    )
    values2, metadata2, _ = _tiny()
    assert views.sex_age_table(values2, metadata2, "P").empty


# --- trends: a known real series -------------------------------------------------------


@pytest.fixture(scope="module")
def smoking(shared):
    from nhsbook.config import sources
    from nhsbook.io import fingertips

    path = sources.locate("fingertips_91547_smoking_qof", mirror=shared / "data")
    return path, fingertips.read(path)


@pytest.mark.parametrize("code", ["E06000015", "E07000142", "E92000001"])
def test_trend_view_reproduces_the_published_fingertips_trend(smoking, default_book, code):
    """QOF smoking prevalence (Fingertips 91547): the recent trend the page computes for
    the last five periods to 2022/23 (χ² test for trend at 99.8%) equals the label
    Fingertips published — Derby 'Decreasing and getting better', West Lindsey 'No
    significant change'."""
    path, export = smoking
    raw = pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
    raw = raw[
        (raw["Area Code"] == code) & raw["Category Type"].isna() & raw["Recent Trend"].notna()
    ]
    published = raw.sort_values("Time period Sortable").iloc[-1]
    last = published["Time period"]
    vals = export.values
    vals = vals[(vals["category_type"] == "") & (vals["period"] <= last)]
    vals = vals.drop_duplicates(["area_code", "period"])
    england = vals[vals["area_code"] == "E92000001"].set_index("period")["value"]
    vals = vals.assign(comparator_value=vals["period"].map(england))
    meta = export.metadata.drop_duplicates("indicator_id").assign(
        method="proportion", polarity="low_is_good", multiplier=100.0
    )
    area = export.areas[export.areas["area_code"] == code].iloc[0]
    page = AreaPage(default_book, area, vals, meta, export.areas)
    trends = page.trends()
    assert trends["trend"].iloc[0] == published["Recent Trend"]
    sub = trends.tail(5)
    res = stats.recent_trend(
        sub["value"], count=sub["count"], denom=sub["denominator"], polarity="low_is_good"
    )
    assert (res["chi2"] > stats.TREND_THRESHOLD) == (
        published["Recent Trend"] != "No significant change"
    )
    spec = charts.trend(trends).to_dict()
    assert published["Recent Trend"] in spec["description"]
