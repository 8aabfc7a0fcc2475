"""The everyday views (issue 13): overview rug, compare areas, compare indicators, box plots,
inequalities and trends — data against hand-computed examples and the chart specs."""

from __future__ import annotations

import hashlib
import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from nhsbook import charts, stats
from nhsbook.analysis import variation, views
from nhsbook.build.publish import check_table
from nhsbook.charts.layout import fit, row_height, wrap_expr
from nhsbook.charts.theme import FONT, INK, PALETTES, contrast, significance_scale
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


# --- the chart specs stay what they were (issue 26) ------------------------------------


def _frame(columns: str, *rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=columns.split())


def _chart_calls() -> dict:
    """Each chart function built in one constructor call (issue 26), on small fixed frames:
    name -> (function, args, kwargs)."""
    two = ["Screening uptake", "Emergency admissions for acute conditions"]
    compare = _frame(
        "indicator unit area_name value lower_95 upper_95 comparator_value significance highlight",
        (two[0], "%", "The PCN", 50.0, 49.0, 51.0, 49.0, "Similar", True),
        (two[0], "%", "Xenia surgery", 55.0, 52.0, 58.0, 50.0, "Better", False),
        (two[0], "%", "Zed health", 44.0, 40.0, 48.0, 50.0, "Worse", False),
        (two[1], "per 100,000", "The PCN", 1200.0, 1100.0, 1300.0, 1000.0, "Higher", True),
        (two[1], "per 100,000", "Zed health", 900.0, 700.0, 1100.0, 1000.0, "Not compared", False),
    )
    rug_columns = (
        "indicator domain period unit column kind label value significance ind_order "
        "ind_name ind_worse col_order col_worse col_better"
    )
    rug_rows = []
    for n, ind in enumerate(two):
        for c, (col, kind, sig) in enumerate(
            [
                ("Period", "period", ""),
                ("The ICB", "comparator", ""),
                ("Xenia surgery", "area", "Better"),
                ("Zed health", "area", "Worse" if n else "Lower"),
            ]
        ):
            rug_rows.append(
                (
                    ind,
                    "Prevention",
                    "2022/23",
                    "%",
                    col,
                    kind,
                    f"{10 * n + c}.0",
                    10.0 * n + c,
                    sig,
                    n,
                    ind,
                    -n,
                    c,
                    -c,
                    c % 2,
                )
            )
    rug = _frame(rug_columns, *rug_rows)
    scatter_columns = (
        "kind area_code area_name x y own indicator_id indicator unit r r2 n p fit_text "
        "x_indicator x_unit"
    )
    scatter_rows = []
    for i, (ind, unit) in enumerate(zip(two, ["%", "per 100,000"])):
        fit = f"r = {0.5 - i:.2f}, R² = {(0.5 - i) ** 2:.2f}"
        for k, (code, name, x, own) in enumerate(
            [
                ("X", "Xenia surgery", 12.5, True),
                ("Y", "Yew practice", 30.1, False),
                ("Z", "Zed health", 41.0, False),
            ]
        ):
            scatter_rows.append(
                (
                    "point",
                    code,
                    name,
                    x,
                    40.0 + 3 * k + i,
                    own,
                    f"I{i}",
                    ind,
                    unit,
                    0.5 - i,
                    (0.5 - i) ** 2,
                    3,
                    0.2,
                    fit,
                    "IMD",
                    "score",
                )
            )
        for x in (12.5, 41.0):
            scatter_rows.append(
                (
                    "fit",
                    "",
                    "",
                    x,
                    40.0 + x / 10,
                    False,
                    f"I{i}",
                    ind,
                    unit,
                    0.5 - i,
                    (0.5 - i) ** 2,
                    3,
                    0.2,
                    fit,
                    "IMD",
                    "score",
                )
            )
    scatter = _frame(scatter_columns, *scatter_rows)
    box = _frame(
        "indicator unit period practices lowest q1 median q3 highest area_name area_value",
        (two[0], "%", "2021/22", 3, 40.0, 45.0, 50.0, 55.0, 60.0, "The PCN", 51.0),
        (two[0], "%", "2022/23", 3, 41.0, 44.0, 49.0, 56.0, 62.0, "The PCN", 50.0),
        (
            two[1],
            "per 100,000",
            "2022/23",
            2,
            900.0,
            950.0,
            1000.0,
            1050.0,
            1100.0,
            "The PCN",
            990.0,
        ),
    )
    quintiles = _frame(
        "indicator unit quintile quintile_label practices value lower_95 upper_95 area_value "
        "significance sii_text",
        *[
            (
                ind,
                "%",
                q,
                f"Q{q}" + (" (most deprived)" if q == 1 else ""),
                2,
                40.0 + q + i,
                38.0 + q,
                42.0 + q + i,
                43.0,
                ["Worse", "Similar", "Better"][q % 3],
                f"SII {i + 1.5:.1f}; RII 1.1",
            )
            for i, ind in enumerate(two)
            for q in range(1, 6)
        ],
    )
    funnel_data = _frame(
        "i k a c d v f l95 u95 l998 u998",
        ("I0", "p", "X", 55, 100.0, 55.0, "High (0.001)", None, None, None, None),
        ("I0", "p", "Y", 101, 200.0, 50.5, "Not significant", None, None, None, None),
        ("I0", "p", "Z", 132, 300.0, 44.0, "Low (0.001)", None, None, None, None),
        ("I0", "l", None, None, 100.0, None, None, 40.2, 59.8, 35.0, 65.0),
        ("I0", "l", None, None, 300.0, None, None, 44.3, 55.7, 41.1, 58.9),
        ("I1", "p", "X", 12, 80.0, 15.0, "High (0.025)", None, None, None, None),
        ("I1", "p", "Z", 30, 150.0, 20.0, "Low (0.001)", None, None, None, None),
        ("I1", "l", None, None, 80.0, None, None, 10.0, 30.0, 5.0, 35.0),
    )
    practices = _frame(
        "area_code area_name locality",
        ("X", "Xenia surgery", "North"),
        ("Y", "Yew practice", "North"),
        ("Z", "Zed health", "South"),
    )
    indicators = _frame(
        "indicator_id indicator unit order target polarity",
        ("I0", two[0], "%", 0, 50.0, "high_is_good"),
        ("I1", two[1], "", 1, 20.0, "no_judgement"),
    )
    pyramid = _frame(
        "role name sex age_band percent signed_percent",
        *[
            (role, name, sex, band, pct, -pct if sex == "Male" else pct)
            for role, name in (("area", "The PCN"), ("comparator", "England"))
            for sex in ("Male", "Female")
            for band, pct in (("0-4", 2.5), ("40-44", 3.25), ("90+", 0.5))
        ],
    )
    projection = _frame(
        "year group population index",
        (2020, "All ages", 100000, 100.0),
        (2021, "All ages", 101000, 101.0),
        (2020, "Aged 75+", 8000, 100.0),
        (2021, "Aged 75+", 8400, 105.0),
    )
    trend = _frame(
        "indicator unit period value lower_95 upper_95 comparator_value trend",
        *[
            (ind, unit, p, 20.0 + j + i, 18.0 + j, 22.0 + j + i, 21.0, label)
            for i, (ind, unit, label) in enumerate(
                [(two[0], "%", "Increasing"), (two[1], "", "No significant change")]
            )
            for j, p in enumerate(["2020/21", "2021/22", "2022/23"])
        ],
    )
    steps = _frame(
        "order step kind amount start end running",
        (0, "Annual budget", "total", 1000.0, 0.0, 1000.0, 1000.0),
        (1, "Prescribing", "delta", 25.5, 1000.0, 1025.5, 1025.5),
        (2, "Operational Costs", "delta", -10.0, 1025.5, 1015.5, 1015.5),
        (3, "Forecast outturn", "total", 1015.5, 0.0, 1015.5, 1015.5),
    )
    budgets = _frame(
        "practice_name annual_budget forecast_outturn forecast_variance",
        ("Xenia surgery", 500.0, 520.0, -20.0),
        ("Zed health", 800.0, 790.0, 10.0),
    )
    trajectory = _frame(
        "month series amount",
        (0, "Budget", 0.0),
        (12, "Budget", 1200.0),
        (3, "Spend to date", 290.0),
        (0, "Forecast", 0.0),
        (12, "Forecast", 1190.0),
        (12, "Reported forecast outturn", 1185.0),
    )
    money = {"title": "Budget to outturn", "description": "A waterfall."}
    return {
        "compare_bars": (charts.compare_bars, (compare,), {}),
        "compare_bars_colourblind": (charts.compare_bars, (compare,), {"palette": "colourblind"}),
        "rug": (charts.rug, (rug,), {"title": "Overview: QOF"}),
        "scatter": (charts.scatter, (scatter,), {"headline": "Nothing is correlated."}),
        "scatter_no_highlight": (charts.scatter, (scatter.assign(own=False),), {}),
        "box_plot": (charts.box_plot, (box,), {}),
        "inequality_bars": (charts.inequality_bars, (quintiles,), {}),
        "funnel": (charts.funnel, (funnel_data, practices, indicators), {"highlight": "Z"}),
        "pyramid": (charts.pyramid, (pyramid,), {}),
        "pyramid_alone": (charts.pyramid, (pyramid[pyramid["role"] == "area"],), {}),
        "projection": (charts.projection, (projection,), {}),
        "trend": (charts.trend, (trend,), {}),
        "trend_no_units": (charts.trend, (trend.drop(columns="unit"),), {"columns": 1}),
        "waterfall": (charts.waterfall, (steps,), money),
        "waterfall_savings": (charts.waterfall, (steps,), {**money, "increase_is_good": True}),
        "practice_budget_forecast": (charts.practice_budget_forecast, (budgets,), money),
        "spend_trajectory": (charts.spend_trajectory, (trajectory,), money),
    }


#: SHA-256 of each spec of :func:`_chart_calls` (sorted JSON, ``$schema`` left out), as the
#: charts were built before issue 26 by chaining Altair's methods (``.mark_*().encode()``,
#: ``+``, ``.properties()``, shorthand strings).  A chart function written faster must give
#: the same spec; a change meant to change a chart updates its hash here.
SPEC_HASHES = {
    "box_plot": "b260dec268afcfd1029400e5dfbc7ecc353d18673867c65df6874a3801948d7f",
    "compare_bars": "b74224f39f5fad87b9ff2e22cdd602690ee49996111e4f80c2e5429a7782ea16",
    "compare_bars_colourblind": "5f65633c2d6ee43560ef764628c8ce86133dd46aa31c8dd8e3751f709b003598",
    "funnel": "b17f137953d45b4a0f78bf3c4516a22597412811314fb2ab65b822d08a7d3a86",
    "inequality_bars": "9a9ff13df4b1a1df4db83575d4301a039ea1b758073944e4867d1c6e9cd7ac50",
    "practice_budget_forecast": "610bd9eaec697da7bea99e6230fbda2c19560562e24f56326a5e74f62b5f7233",
    "projection": "50b06cb56ab99fc1d8273403f30738008c6ed01911bd3f2e9e8b9233ea111b7b",
    "pyramid": "c55c7c638aea3bf210f01c87467f15eb96d725753076f362f6c7438a996e03e9",
    "pyramid_alone": "e5e4b5b0b653579668ee58da2973ddcbc823fbeb9b7129b5e8510d3586d0859e",
    "rug": "6485e204c0921d7426e1be4ea46da7d9734cdc918b6580a3e4ff18bd8ad26dc1",
    "scatter": "78caddfaf206a1dccd7526f1367549fde4dab52340eae4a410cd70bd9fb55a6d",
    "scatter_no_highlight": "ec7429ae1a681e57685a5500a4a607cf3c11af28f63734ae2b9e1c2edd57c857",
    "spend_trajectory": "c157e3c97a07f7a8ca425fc4acd0790b760efcc6d2ffb2b00d3319c458184ffe",
    "trend": "a2cd79b4b3112aed6b006e2cdd21eb0feb1c74c3e3504656858c9cfb733fca07",
    "trend_no_units": "b767ac5b1f011a2392dfb623e74e901b52f0c71e0186859df24f325412a85f43",
    "waterfall": "34e55d46ad2ef794fccd80b6aa0d9dd3b7aac89064396e8b35b0690575371d4b",
    "waterfall_savings": "7e217213def34ae56072cc9ba299c8c6634c3031bead1bd603d5d6b0091ffc50",
}


def _spec_text(chart) -> str:
    spec = chart.to_dict(validate=False, context={"pre_transform": False})
    spec.pop("$schema", None)
    return json.dumps(spec, sort_keys=True, default=str)


@pytest.mark.parametrize("name", sorted(_chart_calls()))
def test_a_chart_built_in_one_call_keeps_its_spec(name):
    """The chart functions build each chart in one constructor call, their parts as
    Vega-Lite dicts (issue 26: chaining Altair's methods copied and validated the whole
    chart at every step); the spec is the one the chained calls gave, and valid."""
    fn, args, kwargs = _chart_calls()[name]
    chart = fn(*args, **kwargs)
    chart.to_dict()  # valid against the Vega-Lite schema (the page renderer does not check)
    text = _spec_text(chart)
    assert hashlib.sha256(text.encode()).hexdigest() == SPEC_HASHES[name], text


def test_compare_bars_equals_the_chart_chained_the_slow_way():
    """The compare-areas chart against the same chart built with Altair's chained methods
    (shorthand encodings, ``alt.layer``, ``.add_params``, ``.properties``)."""
    fn, (data,), _ = _chart_calls()["compare_bars"]
    inds = list(dict.fromkeys(data["indicator"]))
    units = data.drop_duplicates("indicator").set_index("indicator")["unit"]
    pick = alt.param(
        name="indicator_choice",
        value=inds[0],
        bind=alt.binding_select(
            options=inds, labels=[f"{i} ({units[i]})" for i in inds], name="Indicator: "
        ),
    )
    base = alt.Chart(data).transform_filter(alt.datum.indicator == pick)
    y = alt.Y(
        "area_name:N",
        title=None,
        sort="-x",
        axis=alt.Axis(labelLimit=0, labelExpr=wrap_expr(30), labelFont=FONT),
    )
    bars = base.mark_bar().encode(
        x=alt.X(
            "value:Q",
            title="Value, in the unit of the chosen indicator",
            axis=alt.Axis(tickCount=5, labelOverlap=True),
        ),
        y=y,
        color=alt.Color(
            "significance:N",
            title="Compared with comparator",
            scale=significance_scale("standard", tuple(data["significance"].unique())),
            legend=alt.Legend(orient="bottom"),
        ),
        stroke=alt.condition(alt.datum.highlight, alt.value("#000000"), alt.value(None)),
        tooltip=[
            alt.Tooltip("area_name:N", title="Area"),
            alt.Tooltip("value:Q", title="Value", format=",.1f"),
            alt.Tooltip("lower_95:Q", title="Lower 95% CI", format=",.1f"),
            alt.Tooltip("upper_95:Q", title="Upper 95% CI", format=",.1f"),
            alt.Tooltip("comparator_value:Q", title="Comparator", format=",.1f"),
            alt.Tooltip("significance:N", title="Significance"),
        ],
    )
    errors = base.mark_rule(color=INK).encode(x="lower_95:Q", x2="upper_95:Q", y=y)
    comp = base.mark_rule(color="#2A6EBB", strokeWidth=2, strokeDash=[6, 3]).encode(
        x="mean(comparator_value):Q"
    )
    slow = fit(
        alt.layer(bars, errors, comp)
        .add_params(pick)
        .properties(
            width=420,
            height=max(row_height(data["area_name"], 30) * 3, 120),
            description=(
                "Compare areas: 3 areas on 2 indicators (choose one), bars coloured by "
                "significance against the comparator, with 95% confidence intervals."
            ),
            title=alt.TitleParams(
                "Compare areas",
                subtitle="95% confidence intervals; dashed line: comparator value",
                anchor="start",
                font=FONT,
            ),
        )
    )
    assert json.loads(_spec_text(fn(data))) == json.loads(_spec_text(slow))
