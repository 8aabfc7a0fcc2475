"""Spine charts, population and practice variation (issue 5): data and chart specs."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from nhsbook import stats
from nhsbook.analysis import population as pop
from nhsbook.analysis import spine, variation
from nhsbook.charts import compare_bars, funnel, layout, projection, pyramid
from nhsbook.charts import spine as spine_chart
from nhsbook.charts.theme import PALETTES, significance_scale

CCG = "E38000115"


@pytest.fixture(scope="module")
def tables(computed):
    return computed["values"], computed["metadata"], computed["areas"]


@pytest.fixture(scope="module")
def ccg_spine(tables):
    values, metadata, areas = tables
    localities = areas.loc[areas["area_type"] == "locality", "area_code"].tolist()
    return spine.spine_data(values, metadata, areas, CCG, "adult", markers=localities)


def _datasets(chart) -> list[list[dict]]:
    return list(chart.to_dict()["datasets"].values())


def _marks(spec) -> list[dict]:
    """Every unit spec (with a mark) inside a chart dict."""
    out = []
    if isinstance(spec, dict):
        if "mark" in spec:
            out.append(spec)
        for v in spec.values():
            out += _marks(v)
    elif isinstance(spec, list):
        for v in spec:
            out += _marks(v)
    return out


# --- spine data ---------------------------------------------------------------------------


def test_spine_has_every_adult_indicator_and_the_localities(ccg_spine):
    area = ccg_spine[ccg_spine["role"] == "area"]
    assert len(area) == 33
    assert ccg_spine.loc[ccg_spine["role"] == "marker", "area_code"].nunique() == 5
    assert area["order"].tolist() == list(range(33))


def test_spine_scale_centres_the_comparator_and_puts_best_right(ccg_spine):
    area = ccg_spine[ccg_spine["role"] == "area"].set_index("indicator")
    # Alcohol admissions: low is good, worst practice 2803.0 on the left, best 1136.7 right
    row = area.loc["Alcohol related admissions to hospital"]
    assert row["x_worst"] < 0.5 < row["x_best"]
    c, h = (
        row["comparator_value"],
        max(
            abs(row["worst"] - row["comparator_value"]), abs(row["best"] - row["comparator_value"])
        ),
    )
    assert row["x_value"] == pytest.approx(0.5 - (row["value"] - c) / (2 * h), abs=1e-4)
    # every position on [0, 1]; the quartile band lies between worst and best
    shown = area[area["x_worst"].notna()]
    for col in ("x_worst", "x_q_left", "x_q_right", "x_best"):
        assert shown[col].between(0, 1).all(), col
    assert (shown["x_q_left"] <= shown["x_q_right"]).all()
    assert (shown["x_worst"] <= shown["x_q_left"] + 1e-9).all()
    assert (shown["x_q_right"] <= shown["x_best"] + 1e-9).all()


def test_high_is_good_is_not_flipped(ccg_spine):
    row = ccg_spine[
        (ccg_spine["role"] == "area")
        & (ccg_spine["indicator"] == "Flu Vaccine Uptake in 65+ years")
    ].iloc[0]
    assert row["worst"] < row["best"] and row["x_worst"] < row["x_best"]


def test_spine_hides_the_range_when_a_quarter_of_practices_have_no_value(tables):
    values, metadata, areas = tables
    data = spine.spine_data(values, metadata, areas, CCG, "adult")
    practices = (areas["area_type"] == "practice").sum()
    share = 1 - data["n_practices"].fillna(0) / practices
    hidden = data["x_worst"].isna()
    assert hidden.any() and (~hidden).any()
    assert (hidden == ((share >= spine.HIDE_SHARE) | data["p25"].isna())).all()


def test_spine_suppresses_small_counts(tables):
    values, metadata, areas = tables
    small = values[(values["area_type"] == "practice") & values["count"].between(1, 4)]
    assert not small.empty, "the synthetic data have small counts to suppress"
    code, ind = small.iloc[0][["area_code", "indicator_id"]]
    profile = metadata.set_index("indicator_id").at[ind, "profile"]
    data = spine.spine_data(values, metadata, areas, code, profile)
    row = data[data["indicator_id"] == ind].iloc[0]
    assert row["count_text"] == "Supp." and row["value_text"] == "Supp."
    assert pd.isna(row["value"]) and pd.isna(row["count"]) and pd.isna(row["x_value"])
    chart_rows = [r for d in _datasets(spine_chart(data)) for r in d]
    assert all(
        r.get("count_text") in ("", "Supp.")
        or int(r["count_text"].replace(",", "")) == 0
        or int(r["count_text"].replace(",", "")) >= 5
        for r in chart_rows
        if "count_text" in r
    )


def test_practice_spine_uses_the_ccg_practices_as_range(tables):
    values, metadata, areas = tables
    data = spine.spine_data(values, metadata, areas, "SYN05", "adult")
    ccg = values[(values["area_code"] == CCG)].set_index("indicator_id")
    row = data.iloc[2]
    assert row["worst"] == ccg.at[row["indicator_id"], "worst"]


# --- spine chart spec ------------------------------------------------------------------


def test_spine_chart_encodes_significance_colours_and_tooltips(ccg_spine):
    chart = spine_chart(ccg_spine)
    spec = chart.to_dict()
    # the compact spine drawn on phones rides along in usermeta: one circle and one
    # diamond mark of its own
    narrow = spec["usermeta"]["nhsbook"].pop("narrow")
    for compact in (_marks(narrow),):
        assert (
            sum(isinstance(m["mark"], dict) and m["mark"].get("shape") == "circle" for m in compact)
            == 1
        )
        assert (
            sum(
                isinstance(m["mark"], dict) and m["mark"].get("shape") == "diamond" for m in compact
            )
            == 1
        )
    marks = _marks(spec)
    circles = [
        m for m in marks if isinstance(m["mark"], dict) and m["mark"].get("shape") == "circle"
    ]
    assert len(circles) == 1
    colour = circles[0]["encoding"]["color"]
    assert colour["field"] == "significance"
    mapping = dict(zip(colour["scale"]["domain"], colour["scale"]["range"]))
    for label in ccg_spine["significance"].dropna().unique():
        assert mapping[label] == PALETTES["standard"][label]
    tips = {t["title"] for t in circles[0]["encoding"]["tooltip"]}
    assert {"Value", "Lower 95% CI", "Upper 95% CI", "Count", "Period"} <= tips
    diamonds = [
        m for m in marks if isinstance(m["mark"], dict) and m["mark"].get("shape") == "diamond"
    ]
    assert len(diamonds) == 1
    greys = {
        m["mark"].get("color")
        for m in marks
        if isinstance(m["mark"], dict) and m["mark"].get("type") == "bar"
    }
    assert greys == {"#C9C9C9", "#8B8B8B"}
    rows = [r for d in _datasets(chart) for r in d]
    assert sum(r.get("role") == "area" for r in rows) == 33


# The spine functions build their specs from plain Vega-Lite fragments in one constructor
# each (issue 26: Altair's chained construction cost half a second a page).  The reference
# below is that chained construction, as it was: the specs must stay identical.


def _reference_spine(data, *, palette="standard", title=None, width=360):
    """:func:`spine` built the straightforward (slow) way, Altair method chaining."""
    from nhsbook.charts import profile as pr
    from nhsbook.charts.theme import BAND_DARK, BAND_LIGHT, FONT, INK

    data = data[list(pr.SPINE_FIELDS)].copy()
    order = sorted(data["order"].unique().tolist())
    data["row"] = data["order"].map({o: i for i, o in enumerate(order)})
    height = pr.ROW_HEIGHT * data["order"].nunique()
    named, datasets = pr._named(data)
    base = alt.Chart(named)
    y = alt.Y("order:O", axis=None, sort="ascending", scale=alt.Scale(domain=order))
    x = alt.Scale(domain=[0, 1], nice=False)
    area = base.transform_filter(alt.datum.role == "area")
    bands = [
        area.mark_bar(color=c, height=pr.ROW_HEIGHT - 14).encode(
            x=alt.X(f"{a}:Q", scale=x, axis=None), x2=f"{b}:Q", y=y
        )
        for a, b, c in (
            ("x_worst", "x_q_left", BAND_LIGHT),
            ("x_q_left", "x_q_right", BAND_DARK),
            ("x_q_right", "x_best", BAND_LIGHT),
        )
    ]
    centre = (
        alt.Chart(pd.DataFrame({"x": [0.5]}))
        .mark_rule(color=INK, strokeWidth=1.5)
        .encode(x=alt.X("x:Q", scale=x, axis=None))
    )
    tips = [
        alt.Tooltip(f, title=t, format=fmt) if fmt else alt.Tooltip(f, title=t)
        for f, t, fmt in pr._TIPS
    ]
    colour = alt.Color(
        "significance:N",
        scale=significance_scale(palette, tuple(data["significance"].dropna().unique())),
        legend=alt.Legend(
            title="Compared with comparator", orient="bottom", direction="horizontal", columns=3
        ),
    )
    markers = (
        base.transform_filter(alt.datum.role == "marker")
        .mark_point(
            shape="diamond",
            size=70,
            filled=True,
            fill="#FFFFFF",
            stroke=INK,
            strokeWidth=1.2,
            opacity=1,
        )
        .encode(x=alt.X("x_value:Q", scale=x, axis=None), y=y, tooltip=tips)
    )
    peer = (
        base.transform_filter(alt.datum.role == "peer")
        .mark_point(shape="triangle-down", size=60, filled=True, fill=INK, stroke=INK, opacity=1)
        .encode(x=alt.X("x_value:Q", scale=x, axis=None), y=y, tooltip=tips)
    )
    dot = area.mark_point(
        shape="circle", size=110, filled=True, stroke=INK, strokeWidth=0.8, opacity=1
    ).encode(x=alt.X("x_value:Q", scale=x, axis=None), y=y, color=colour, tooltip=tips)
    peers = [peer] if (data["role"] == "peer").any() else []
    spine_layer = alt.layer(*bands, centre, markers, *peers, dot).properties(
        width=width,
        height=height,
        title=alt.TitleParams(
            "Worst ← range of practices → Best", anchor="middle", fontSize=11, font=FONT
        ),
    )

    def column(text, title, width, *calculate):
        chart = area
        for name, expr in calculate:
            chart = chart.transform_calculate(**{name: expr})
        mark = dict(align="left", baseline="middle", font=FONT, fontSize=11, color=INK)
        if calculate:
            mark["lineHeight"] = 12
        return (
            chart.mark_text(**mark)
            .encode(y=y, text=text, x=alt.value(0))
            .properties(
                width=width,
                height=height,
                title=alt.TitleParams(title, anchor="start", fontSize=11, font=FONT),
            )
        )

    chars = pr._wrap_width(data, 34)
    columns = [
        column(
            "name_lines:N",
            "Indicator",
            int(chars * pr.CHAR_PX) + 6,
            ("name_lines", layout.wrap_expr(chars, pr._NAME)),
        )
    ] + [column(f"{f}:N", t, w) for f, t, w in pr._TABLE]
    chart = (
        alt.hconcat(*columns, spine_layer, spacing=6)
        .resolve_scale(y="shared", color="independent")
        .properties(datasets=datasets)
        .configure_view(stroke=None)
        .configure_concat(spacing=6)
    )
    area_rows = data.loc[data["role"] == "area"]
    counts = area_rows["significance"].value_counts()
    summary = ", ".join(f"{counts[s]} {s.lower()}" for s in counts.index)
    chart = chart.properties(
        description=(
            f"Spine chart of {len(area_rows)} indicators for {area_rows['area_name'].iloc[0]} "
            f"against the comparator ({summary}); grey bars show the range of practices, best "
            "on the right"
            + (
                "; the black triangle is its similar 10 (the mean or pooled value of the ten "
                "most similar areas)"
                if peers
                else ""
            )
            + "."
        )
    )
    if title:
        chart = chart.properties(title=alt.TitleParams(title, anchor="start", font=FONT))
    meta = {"nhsbook": {"fit": "hconcat", "flex": 3, "spacing": 6, "min": 140, "chrome": 8}}
    narrow = _reference_compact(data, palette=palette, title=title).to_dict(validate=False)
    narrow["description"] = chart.description
    meta["nhsbook"]["narrow"] = narrow
    return chart.properties(usermeta=meta)


def _reference_compact(data, *, palette="standard", title=None, width=320):
    """:func:`compact_spine` built the straightforward (slow) way, Altair method chaining."""
    from nhsbook.charts import profile as pr
    from nhsbook.charts.theme import BAND_DARK, BAND_LIGHT, FONT, INK

    if "row" not in data.columns:
        order = sorted(data["order"].unique().tolist())
        data = data.assign(row=data["order"].map({o: i for i, o in enumerate(order)}))
    n = int(data["row"].max()) + 1 if len(data) else 0
    named, datasets = pr._named(data)
    base = alt.Chart(named)
    area = base.transform_filter(alt.datum.role == "area")
    x = alt.Scale(domain=[-0.32, 1], nice=False)
    y = alt.Scale(domain=[n, 0], nice=False, zero=False)

    def xq(field):
        return alt.X(f"{field}:Q", scale=x, axis=None)

    def yq(field):
        return alt.Y(f"{field}:Q", scale=y, axis=None)

    tips = [
        alt.Tooltip(f, title=t, format=fmt) if fmt else alt.Tooltip(f, title=t)
        for f, t, fmt in pr._TIPS
    ]
    chars = pr._wrap_width(data, 44)
    names = (
        area.transform_calculate(
            name_lines=layout.wrap_expr(chars, pr._NAME), y_name="datum.row + 0.06"
        )
        .mark_text(align="left", baseline="top", font=FONT, fontSize=10.5, lineHeight=12, color=INK)
        .encode(x=alt.value(0), y=yq("y_name"), text="name_lines:N")
    )
    bands = [
        area.transform_calculate(y0="datum.row + 0.62", y1="datum.row + 0.9")
        .mark_rect(color=c)
        .encode(x=xq(a), x2=f"{b}:Q", y=yq("y0"), y2="y1:Q")
        for a, b, c in (
            ("x_worst", "x_q_left", BAND_LIGHT),
            ("x_q_left", "x_q_right", BAND_DARK),
            ("x_q_right", "x_best", BAND_LIGHT),
        )
    ]
    centre = (
        area.transform_calculate(y0="datum.row + 0.56", y1="datum.row + 0.96", xc="0.5")
        .mark_rule(color=INK, strokeWidth=1.5)
        .encode(x=xq("xc"), y=yq("y0"), y2="y1:Q")
    )
    value = (
        area.transform_calculate(ym="datum.row + 0.76", xv="-0.32")
        .mark_text(
            align="left", baseline="middle", font=FONT, fontSize=11, fontWeight="bold", color=INK
        )
        .encode(x=xq("xv"), y=yq("ym"), text="value_text:N")
    )
    markers = (
        base.transform_filter(alt.datum.role == "marker")
        .transform_calculate(ym="datum.row + 0.76")
        .mark_point(
            shape="diamond",
            size=50,
            filled=True,
            fill="#FFFFFF",
            stroke=INK,
            strokeWidth=1.1,
            opacity=1,
        )
        .encode(x=xq("x_value"), y=yq("ym"), tooltip=tips)
    )
    colour = alt.Color(
        "significance:N",
        scale=significance_scale(palette, tuple(data["significance"].dropna().unique())),
        legend=alt.Legend(
            title="Compared with comparator", orient="bottom", direction="horizontal", columns=3
        ),
    )
    dot = (
        area.transform_calculate(ym="datum.row + 0.76")
        .mark_point(shape="circle", size=90, filled=True, stroke=INK, strokeWidth=0.8, opacity=1)
        .encode(x=xq("x_value"), y=yq("ym"), color=colour, tooltip=tips)
    )
    return (
        alt.layer(names, *bands, centre, value, markers, dot)
        .properties(
            datasets=datasets,
            width=width,
            height=pr.COMPACT_ROW_HEIGHT * n,
            title=alt.TitleParams(
                title or "Spine chart",
                anchor="start",
                font=FONT,
                subtitle=[
                    "Value, then the area (circle) on the range of",
                    "practices: worst left, best right; line: comparator",
                ],
                fontSize=13,
                subtitleFontSize=11,
            ),
        )
        .configure_view(stroke=None)
        .properties(usermeta={"nhsbook": {"fit": "x"}})
    )


def _small_spine_data(peer: bool = True) -> pd.DataFrame:
    """A fixed spine table: three indicators (orders with gaps), two markers, a similar 10,
    a suppressed count, a missing unit, an indicator not compared and one with no range."""
    from nhsbook.charts.profile import SPINE_FIELDS

    area = pd.DataFrame(
        {
            "order": [2, 5, 9],
            "domain_label": ["Behaviours", "Behaviours", "Outcomes"],
            "indicator": [
                "Smoking prevalence in adults aged 18 and over (current smokers)",
                "Alcohol related admissions to hospital",
                "Life expectancy at 65 - Male",
            ],
            "period": ["2023/24", "2023/24", "2021-23"],
            "unit": ["%", None, "years"],
            "role": "area",
            "area_name": "Example CCG",
            "count_text": ["1,204", "Supp.", ""],
            "value_text": ["14.2", "1,136.7", "17.3"],
            "comparator_text": ["12.9", "1,863.7", ""],
            "worst_text": ["19.0", "2,803.0", "16.2"],
            "best_text": ["8.1", "1,136.7", "22.4"],
            "significance": ["Worse", "Better", "Not compared"],
            "lower_95": [13.1, 890.95, np.nan],
            "upper_95": [15.3, 1429.25, np.nan],
            "x_worst": [0.0, 0.0, np.nan],
            "x_q_left": [0.4, 0.44, np.nan],
            "x_q_right": [0.6, 0.62, np.nan],
            "x_best": [1.0, 0.887, np.nan],
            "x_value": [0.31, 0.887, 0.3625],
            "p25": [12.0, 1640.49, np.nan],
            "p75": [13.5, 1977.3, np.nan],
        }
    )
    markers = area.iloc[[0, 0, 1]].assign(
        role="marker", area_name=["North", "South", "North"], x_value=[0.2, 0.7, 0.5]
    )
    parts = [area, markers]
    if peer:
        parts.append(area.iloc[[0, 2]].assign(role="peer", area_name="Similar 10", x_value=0.45))
    return pd.concat(parts, ignore_index=True)[list(SPINE_FIELDS)]


def _spec(chart) -> dict:
    return json.loads(json.dumps(chart.to_dict(validate=False, context={"pre_transform": False})))


@pytest.mark.parametrize(
    "options", [{}, {"palette": "colourblind", "title": "Adult profile", "width": 480}]
)
def test_spine_specs_match_the_chained_altair_reference(ccg_spine, options):
    from nhsbook.charts.profile import compact_spine

    for data in (_small_spine_data(), _small_spine_data(peer=False), ccg_spine):
        chart = spine_chart(data, **options)
        assert isinstance(chart, alt.HConcatChart)
        assert _spec(chart) == _spec(_reference_spine(data, **options))
        small = {**options, "width": options.get("width", 320) - 40}
        compact = compact_spine(data, **small)
        assert isinstance(compact, alt.LayerChart)
        assert _spec(compact) == _spec(_reference_compact(data, **small))
    # the charts are ordinary Altair charts: validated, restyled, and never sharing state
    data = _small_spine_data()
    first, second = spine_chart(data), spine_chart(data)
    assert first.to_dict() == second.to_dict()  # validates against the Vega-Lite schema
    assert _spec(first.properties(title="Restyled"))["title"] == "Restyled"
    first.hconcat[0].encoding.y["scale"]["domain"].append(99)
    first.hconcat[-1].layer[0].mark["color"] = "red"
    assert _spec(second) == _spec(_reference_spine(data))
    assert compact_spine(data).to_dict() == _reference_compact(data).to_dict()


def test_colourblind_palette_differs_and_covers_every_label():
    std, cb = PALETTES["standard"], PALETTES["colourblind"]
    assert set(std) == set(cb)
    assert std["Better"] != cb["Better"] and std["Worse"] != cb["Worse"]
    scale = significance_scale("colourblind", ("Worse", "Better"))
    assert scale.to_dict()["domain"] == ["Better", "Worse"]
    with pytest.raises(ValueError, match="unknown palette"):
        significance_scale("rainbow")


# --- population ---------------------------------------------------------------------------


def test_cagr_reproduces_the_seed_projection_growth(default_book):
    proj = pd.read_csv(default_book.data / "population_projection.csv", dtype={"area_code": str})
    g = pop.growth_between(proj, CCG, 2011, 2020)
    assert round(g["all_ages"], 1) == 0.5 and round(g["over_75"], 1) == 2.9
    table = pop.projection_table(proj, CCG)
    assert table["population"].tolist() == [287697, 292740, 299744, 307959]
    assert table["population_75plus"].tolist() == [26129, 28919, 33852, 41074]
    assert table["share_75plus_pct"].iloc[0] == pytest.approx(100 * 26129 / 287697)
    assert pop.cagr(100, 121, 2) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        pop.cagr(0, 10, 1)


def test_area_population_sums_practices_and_matches_the_seed_shares(computed):
    p = pop.area_population(computed["population"], computed["areas"], CCG)
    assert p["population"].sum() == 288000
    s = pop.structure(p)
    assert round(s["under_15_pct"], 1) == 15.4 and round(s["over_75_pct"], 1) == 9.1


def test_structure_measures_on_a_hand_computed_example():
    bands = ["0-4", "15-19", "65-69", "75-79"]
    df = pd.DataFrame({"sex": "Male", "age_band": bands, "population": [10, 40, 30, 20]})
    s = pop.structure(df)
    assert s["under_15_pct"] == 10 and s["over_65_pct"] == 50 and s["over_75_pct"] == 20
    assert s["old_age_dependency_ratio"] == pytest.approx(100 * 50 / 40)


def test_pyramid_data_and_chart(computed):
    area = pop.area_population(computed["population"], computed["areas"], "ND-DRO")
    ccg = pop.area_population(computed["population"], computed["areas"], CCG)
    data = pop.pyramid_data(area, "Dronfield", ccg, "CCG")
    for role in ("area", "comparator"):
        assert data.loc[data["role"] == role, "percent"].sum() == pytest.approx(100, abs=0.05)
    assert (data.loc[data["sex"] == "Male", "signed_percent"] <= 0).all()
    spec = pyramid(data).to_dict()
    marks = _marks(spec)
    assert {m["mark"]["type"] if isinstance(m["mark"], dict) else m["mark"] for m in marks} == {
        "bar",
        "tick",
    }
    bar = next(
        m
        for m in marks
        if (m["mark"]["type"] if isinstance(m["mark"], dict) else m["mark"]) == "bar"
    )
    assert bar["encoding"]["x"]["field"] == "signed_percent"
    assert len(bar["encoding"]["y"]["sort"]) == 19


def test_reference_population_reads_ons_sape(shared):
    path = shared / "data" / "population" / "sape_mid2019_lsoa11_single_year_by_sex_derbyshire.csv"
    ref = pop.reference_population(path, ["E07000035"])
    raw = pd.read_csv(path)
    assert ref["population"].sum() == raw.loc[raw["la_code"] == "E07000035", "all_ages"].sum()
    assert len(ref) == 38


def test_projection_chart_indexes_to_the_first_year(default_book):
    proj = pd.read_csv(default_book.data / "population_projection.csv", dtype={"area_code": str})
    long = pop.projection_long(pop.projection_table(proj, CCG))
    first = long[long["year"] == 2011]
    assert (first["index"] == 100).all()
    assert long.loc[(long["year"] == 2025) & (long["group"] == "Aged 75+"), "index"].iloc[
        0
    ] == pytest.approx(100 * 41074 / 26129, abs=0.01)
    spec = projection(long).to_dict()
    assert {m["encoding"]["y"]["field"] for m in _marks(spec)} == {"index"}


# --- practice variation ----------------------------------------------------------------


@pytest.fixture(scope="module")
def ccg_points(tables):
    values, metadata, areas = tables
    target, practices = variation.peer_group(areas, CCG)
    return variation.practice_points(values, metadata, areas, practices, target)


def test_peer_groups(tables):
    _, _, areas = tables
    target, practices = variation.peer_group(areas, "ND-DRO")
    assert target == CCG and len(practices) == 4
    target, practices = variation.peer_group(areas, "SYN05")
    assert target == CCG and len(practices) == 38


def test_funnel_points_follow_stats_funnel_limits(ccg_points, tables):
    _, metadata, _ = tables
    assert not ccg_points["count"].between(1, 4).any()
    meta = metadata.set_index("indicator_id")
    for ind, sub in ccg_points.groupby("indicator_id"):
        m = meta.loc[ind]
        kind = variation.FUNNEL_KINDS[m["method"]]
        mult = m["reference_value"] if kind == "ratio" else m["multiplier"]
        lim = stats.funnel_limits(
            sub["denominator"].to_numpy(),
            sub["target"].iloc[0],
            conf=(0.95, 0.998),
            kind=kind,
            multiplier=mult,
        )
        above = sub["value"].to_numpy() > lim["upper_998"].to_numpy() + 1e-9
        assert (sub.loc[above, "funnel"] == "High (0.001)").all(), ind


def test_outliers_are_outside_998_with_direction_by_polarity(ccg_points):
    out = variation.outliers(ccg_points)
    assert len(out) == (ccg_points["outlier"] != "").sum() > 0
    pts = ccg_points[ccg_points["outlier"] != ""]
    high_good = pts["polarity"].eq("high_is_good")
    above = pts["funnel"].eq("High (0.001)")
    expected = np.where(
        pts["polarity"].eq("no_judgement"),
        np.where(above, "higher", "lower"),
        np.where(above == high_good, "better", "worse"),
    )
    assert (pts["direction"].to_numpy() == expected).all()


def test_hand_computed_funnel_outlier():
    """Two practices of 1,000 patients against a CCG value of 10%: 160 cases (16%) is
    above the 99.8% limit 10 + 3.09·√(10·90/1000) ≈ 12.9; 110 (11%) is not significant."""
    metadata = pd.DataFrame(
        {
            "indicator_id": ["X1"],
            "name": ["Test"],
            "unit": ["%"],
            "polarity": ["low_is_good"],
            "method": ["proportion"],
            "multiplier": [100.0],
            "reference_value": [np.nan],
        }
    )
    areas = pd.DataFrame(
        {
            "area_code": ["C", "P1", "P2"],
            "area_name": ["C", "P1", "P2"],
            "area_type": ["ccg", "practice", "practice"],
            "parent_code": ["", "C", "C"],
            "comparator_code": ["", "C", "C"],
        }
    )
    values = pd.DataFrame(
        {
            "indicator_id": "X1",
            "area_code": ["C", "P1", "P2"],
            "count": [270.0, 160.0, 110.0],
            "denominator": [2700.0, 1000, 1000],
            "value": [10.0, 16.0, 11.0],
            "lower_95": np.nan,
            "upper_95": np.nan,
        }
    )
    pts = variation.practice_points(values, metadata, areas, ["P1", "P2"], "C")
    got = dict(zip(pts["area_code"], pts["funnel"]))
    assert got == {"P1": "High (0.001)", "P2": "Not significant"}
    assert pts.set_index("area_code").at["P1", "direction"] == "worse"


def test_funnel_chart_spec(ccg_points, tables):
    _, metadata, _ = tables
    limits = variation.funnel_limits(ccg_points, metadata)
    frame = variation.funnel_frame(ccg_points, limits)
    practices, inds = variation.funnel_labels(ccg_points)
    chart = funnel(frame, practices, inds, highlight="SYN05")
    spec = chart.to_dict()
    assert spec["facet"]["field"] == "panel"  # the indicator with its unit
    assert spec["columns"] == 2 and spec["usermeta"]["nhsbook"]["fit"] == "grid"
    marks = _marks(spec)
    ys = {m["encoding"]["y"]["field"] for m in marks}
    assert {"l95", "u95", "l998", "u998", "target", "v"} <= ys
    pts = next(m for m in marks if m["encoding"]["y"]["field"] == "v")
    assert pts["encoding"]["color"]["field"] == "f"
    rows = [r for d in _datasets(chart) for r in d]
    counts = [int(r["c"].replace(",", "")) for r in rows if r.get("c")]
    assert counts and not any(1 <= c <= 4 for c in counts)
    assert sum(r.get("k") == "p" for r in rows) == len(ccg_points)


def test_compare_bars_spec(tables):
    values, metadata, areas = tables
    localities = areas.loc[areas["area_type"] == "locality", "area_code"]
    data = variation.compare_areas(values, metadata, areas, localities)
    assert set(data["area_code"]) == set(localities)
    chart = compare_bars(data)
    spec = json.loads(chart.to_json())
    assert spec["params"][0]["bind"]["input"] == "select"
    bar = next(
        m
        for m in _marks(spec)
        if m["mark"] == "bar" or (isinstance(m["mark"], dict) and m["mark"].get("type") == "bar")
    )
    assert bar["encoding"]["color"]["field"] == "significance"


# --- trends ---------------------------------------------------------------------------------


def test_recent_trend_proportions_match_r_prop_trend_test():
    """R: prop.trend.test(c(83, 90, 129, 70), c(86, 93, 136, 82)) gives X-squared = 8.2249."""
    res = stats.recent_trend(
        [0] * 4, count=[83, 90, 129, 70], denom=[86, 93, 136, 82], points=4, polarity="high_is_good"
    )
    assert res["chi2"] == pytest.approx(8.2249, abs=5e-4)
    assert res["label"] == "No significant change"  # below 9.5495


def test_recent_trend_weighted_least_squares_hand_example():
    """Values 10, 12, 14, 16, 18 with SE 1 (95% limits ±1.96): β = 2, χ² = 4 · Σ(t − 3)² =
    40 > 9.5495; increasing, and getting worse when low is good."""
    y = np.array([10, 12, 14, 16, 18.0])
    z = stats.z_value(0.95)
    res = stats.recent_trend(y, lower=y - z, upper=y + z, polarity="low_is_good")
    assert res["slope"] == pytest.approx(2.0) and res["chi2"] == pytest.approx(40.0)
    assert res["label"] == "Increasing and getting worse"
    flat = stats.recent_trend([5, 5.2, 4.9, 5.1, 5.0], lower=[4] * 5, upper=[6] * 5)
    assert flat["label"] == "No significant change"
    assert (
        stats.recent_trend([1, 2, 3], lower=[0] * 3, upper=[4] * 3)["label"]
        == "Cannot be calculated"
    )


def test_trend_chart_spec():
    from nhsbook.charts import trend

    data = pd.DataFrame(
        {
            "indicator": "X",
            "period": ["2015", "2016", "2017"],
            "value": [1.0, 2, 3],
            "lower_95": [0.5, 1.5, 2.5],
            "upper_95": [1.5, 2.5, 3.5],
            "comparator_value": 2.0,
            "trend": "Increasing",
        }
    )
    spec = trend(data).to_dict()
    ys = {m["encoding"]["y"]["field"] for m in _marks(spec)}
    assert ys == {"lower_95", "value", "comparator_value"}
