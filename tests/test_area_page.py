"""The page facade the thin notebooks call (issue 21): :class:`nhsbook.pages.area.AreaPage`'s
methods for the profile, practice variation, locality pack, inequalities and overview pages,
and the functions they use (:func:`nhsbook.analysis.views.trend_summary`, :func:`~nhsbook.analysis.views.
rug_caption`, :func:`~nhsbook.analysis.views.inequality_indices`, :func:`nhsbook.analysis.variation.
outlier_counts`), against the default book's computed tables."""

from __future__ import annotations

import pandas as pd
import pytest

from nhsbook.analysis import variation, views
from nhsbook.pages.area import AreaPage

CCG = "E38000115"
LOCALITIES = ["ND-CHE", "ND-DRO", "ND-HPK", "ND-NDA", "ND-NEA"]
CCG_NAME = "NHS North Derbyshire CCG"


@pytest.fixture(scope="module")
def pages(default_book, computed):
    return {
        code: AreaPage.from_tables(default_book, computed, code)
        for code in (CCG, "ND-CHE", "SYN05")
    }


@pytest.fixture(scope="module")
def ccg(pages):
    return pages[CCG]


# --- profile ---------------------------------------------------------------------------


def test_profile_tables_are_the_profiles_with_values(ccg, computed):
    tables = ccg.profile_tables()
    assert list(tables) == ["adult", "child"]
    per_profile = computed["metadata"].groupby("profile").size()
    assert {p: len(t) for p, t in tables.items()} == {"adult": 33, "child": 20}
    assert {p: len(t) for p, t in tables.items()} == per_profile.to_dict()
    for profile, rows in tables.items():
        pd.testing.assert_frame_equal(rows, ccg.profile(profile))


def _trends(ids, periods):
    return pd.DataFrame(
        {
            "indicator_id": ids,
            "indicator": [f"Name of {i}" for i in ids],
            "period": periods,
            "trend": ["Increasing"] * len(ids),
            "trend_basis": ["5 points"] * len(ids),
        }
    )


def test_trend_summary_is_one_row_per_indicator(ccg):
    trends = _trends(["A", "A", "B"], ["2019/20", "2020/21", "2021/22"])
    summary = ccg.trend_summary(trends)
    assert summary.to_dict("records") == [
        {"Indicator": "Name of A", "Recent trend": "Increasing", "Based on": "5 points"},
        {"Indicator": "Name of B", "Recent trend": "Increasing", "Based on": "5 points"},
    ]
    pd.testing.assert_frame_equal(summary, views.trend_summary(trends))
    # the default book's indicators have one period each: no trends, an empty table
    assert ccg.trends().empty and ccg.trend_summary().empty
    assert list(ccg.trend_summary().columns) == ["Indicator", "Recent trend", "Based on"]


def test_qof_bridge_note_only_for_qof_trends_across_2020_21(ccg):
    from nhsbook.io.opendata_icb import QOF_BRIDGE_NOTE
    from nhsbook.pages.area import esc

    qof = _trends(["QOF_DM", "QOF_DM"], ["2019/20", "2020/21"])
    assert ccg.qof_bridge_note(qof) == esc(QOF_BRIDGE_NOTE) != ""
    assert ccg.qof_bridge_note(_trends(["QOF_DM", "QOF_DM"], ["2021/22", "2022/23"])) == ""
    assert ccg.qof_bridge_note(_trends(["LE65", "LE65"], ["2019/20", "2020/21"])) == ""
    assert ccg.qof_bridge_note() == ""  # the default book has no trends


def test_peer_comparison_table_formats_the_numbers_only(ccg, monkeypatch):
    from nhsbook.pages.tables import table

    comp = pd.DataFrame(
        {
            "Indicator": ["Smoking 1234.5"],
            "Period": ["2022/23"],
            "Value": [1234.56],
            "Similar 10": [None],
            "Compared with similar 10": ["Worse"],
        }
    )
    monkeypatch.setattr(ccg, "peer_comparison", lambda: comp)
    html = table(ccg.peer_comparison()).data
    assert "1,234.6" in html and "Smoking 1234.5" in html and "Worse" in html
    assert 'class="nhsbook-profile" tabindex="0"' in html
    assert "nan" not in html and "None" not in html


# --- practice variation ----------------------------------------------------------------


def test_practice_outliers_and_their_summary(pages, ccg, computed):
    out = ccg.practice_outliers()
    assert len(out) == 253
    points = ccg.practice_points()[0]
    assert len(out) == int((points["outlier"] != "").sum())
    practices = set(variation.practices_below(computed["areas"], CCG))
    assert len(practices) == 38 and set(out["Practice code"]) <= practices
    summary = ccg.outlier_summary(out)
    assert list(summary.columns) == ["Locality", "Practice", "better", "higher", "lower", "worse"]
    assert len(summary) == out["Practice code"].nunique()
    assert int(summary[["better", "higher", "lower", "worse"]].to_numpy().sum()) == len(out)
    first = summary.iloc[0]
    assert (first["Locality"], first["Practice"]) == (
        "Chesterfield",
        "Synthetic practice 01 (Chesterfield)",
    )
    assert first[["better", "higher", "lower", "worse"]].tolist() == [3, 0, 2, 3]
    # a practice's page: the practice's own outliers only
    mine = pages["SYN05"].practice_outliers()
    assert len(mine) == 11 and set(mine["Practice code"]) == {"SYN05"}
    assert len(mine) == int(((points["area_code"] == "SYN05") & (points["outlier"] != "")).sum())


def test_funnel_points_and_suppressed_values(pages, ccg, computed):
    points = ccg.practice_points()[0]
    pd.testing.assert_frame_equal(ccg.funnel_points(), points)
    practice = pages["SYN05"]
    shown = practice.funnel_points()
    assert shown["indicator_id"].nunique() == 18
    own = shown[shown["area_code"] == "SYN05"]
    assert (own["funnel"] != "Not significant").all()
    assert set(own["indicator_id"]) == set(shown["indicator_id"])
    # suppressed practice values: counted against the published values of the practices
    assert ccg.suppressed_practice_values() == 271
    practices = variation.practices_below(computed["areas"], CCG)
    values = ccg.values
    published = values[
        values["area_code"].isin(practices)
        & values["indicator_id"].isin(set(points["indicator_id"]))
        & (values["category_type"].fillna("") == "")
    ]
    assert int(published["suppressed"].sum()) == 271


# --- locality pack ---------------------------------------------------------------------


def test_ccg_differences_without_england(pages):
    page = pages["ND-CHE"]
    pack = page.locality_pack()
    assert not pack.england
    text, table = page.ccg_differences(pack)
    col = "CCG vs Cluster (JSNA 2012 comparator)"
    assert list(table.columns) == [
        "Domain",
        "Indicator",
        "CCG value",
        col,
        "Locality value",
        "Locality vs CCG",
    ]
    assert len(table) == 25
    assert len(table) == int(pack.rows[col].isin(["Worse", "Worst", "Better", "Best"]).sum())
    assert text.startswith(
        "England values are not in this book's data, so the CCG is shown "
        "against its own comparator, Cluster \\(JSNA 2012 comparator\\): "
        f"{CCG_NAME} differs significantly on 25 indicators."
    )
    by = page.outlier_summary(pack.practice_outliers, by=("Practice",))
    assert list(by.columns[:1]) == ["Practice"]
    assert len(by) == pack.practice_outliers["Practice code"].nunique()
    assert int(by.drop(columns=["Practice"]).to_numpy().sum()) == len(pack.practice_outliers)


def test_locality_pack_is_a_locality_page_only(ccg):
    with pytest.raises(KeyError):
        ccg.locality_pack()


# --- inequalities ----------------------------------------------------------------------


def test_inequality_and_quintile_members(ccg):
    dep, bars, summary = ccg.inequality()
    assert dep == "C20" == ccg.deprivation_indicator()
    assert (len(bars), len(summary)) == (232, 52)
    assert summary["indicator"].is_unique and dep not in set(summary["indicator_id"])
    members = ccg.quintile_members(dep)
    assert members.to_dict("list") == {
        "Quintile": ["1 (most deprived)", "2", "3", "4", "5 (least deprived)"],
        "Practices": [9, 7, 7, 8, 7],
        "Registered population": [69884.0, 59459.0, 56549.0, 46735.0, 55373.0],
        "Lowest score": [22.58, 19.96, 18.37, 15.15, 7.1],
        "Highest score": [31.2, 21.79, 19.22, 18.33, 14.2],
    }
    # every practice of the CCG with a deprivation score is in a quintile
    values = ccg.values
    scored = values[
        (values["indicator_id"] == dep)
        & values["value"].notna()
        & values["area_code"].isin(variation.practices_below(ccg.areas, CCG))
    ]
    assert members["Practices"].sum() == len(scored) == 38


def test_deprivation_markdown(ccg):
    text = ccg.deprivation_markdown("C20")
    assert text.startswith(
        "Deprivation: *Index of Multiple Deprivation \\(IMD\\) 2010* "
        "(2012) of each practice (registered population)."
    )
    assert "**synthetic** practices" in text  # the default book is synthetic


def test_inequality_indices(ccg):
    _, _, summary = ccg.inequality()
    table, shown = ccg.inequality_indices(summary)
    assert list(table.columns) == [
        "Indicator",
        "Period",
        "SII",
        "SII lower 95% CI",
        "SII upper 95% CI",
        "RII",
        "RII lower 95% CI",
        "RII upper 95% CI",
        "Note",
    ]
    assert list(shown.columns) == list(table.columns) and len(table) == len(summary) == 52
    assert table["SII"].tolist() == pytest.approx(summary["sii"].tolist(), nan_ok=True)
    alcohol = shown[shown["Indicator"] == "Alcohol related admissions to hospital"].iloc[0]
    assert alcohol[
        [
            "SII",
            "SII lower 95% CI",
            "SII upper 95% CI",
            "RII",
            "RII lower 95% CI",
            "RII upper 95% CI",
        ]
    ].tolist() == ["-340.5", "-491.7", "-188.7", "0.83", "0.77", "0.90"]
    male = shown[shown["Indicator"] == "Life expectancy at 65 - Male"].iloc[0]
    assert male["SII"] == "–" and male["Note"].startswith("Not calculated")


def test_sex_age_and_single_sex(ccg):
    by_sex = ccg.sex_age_table()
    assert by_sex[["Indicator", "Sex"]].values.tolist() == [
        ["Life expectancy at 65", "Female"],
        ["Life expectancy at 65", "Male"],
    ]
    single = ccg.single_sex_indicators()
    assert single["Indicator"].tolist() == [
        "Life expectancy at 65 - Male",
        "Life expectancy at 65 - Female",
        "Cancer screening coverage: Cervical",
        "Cancer screening coverage: Breast",
        "Births to women <20 yrs",
    ]


# --- overview --------------------------------------------------------------------------


def test_rugs_and_caption(pages, ccg, computed):
    assert ccg.rug_caption() == f"5 areas (locality), compared with {CCG_NAME}."
    assert (
        pages["ND-CHE"].rug_caption()
        == f"12 areas (locality\\, practice), compared with {CCG_NAME}."
    )
    rugs = ccg.rugs()
    assert list(rugs) == ccg.profiles() == ["adult", "child"]
    assert {p: r.shape for p, r in rugs.items()} == {"adult": (231, 15), "child": (140, 15)}
    pd.testing.assert_frame_equal(
        rugs["adult"],
        views.rug_data(computed["values"], computed["metadata"], computed["areas"], CCG, "adult"),
    )
    assert pages["SYN05"].rugs() == {}  # nothing lies below a practice


def test_compare_areas_scatter_and_box(ccg):
    bars = ccg.compare_areas()
    assert sorted(bars["area_code"].unique()) == LOCALITIES
    assert len(bars) == 233 and not bars["highlight"].any()
    scatter = ccg.scatter_data()
    assert len(scatter) == 1684 and scatter["indicator_id"].nunique() == 51
    assert scatter["x_indicator"].iloc[0] is not None
    box = ccg.box_data()
    assert len(box) == 53 and box["indicator"].nunique() == 53


def test_the_scatter_chart_ends_its_description_with_the_supported_headline(ccg):
    """The chart takes its headline from the page (charts import nothing of the analysis):
    the correlation sentence of nhsbook.pages.messages, with its n and p."""
    from nhsbook.pages.messages import correlation_sentence

    data = ccg.scatter_data()
    said = correlation_sentence(views.correlation_table(data), str(data["x_indicator"].iloc[0]))
    description = ccg.scatter_chart(data).to_dict()["description"]
    assert said and description.endswith(" " + said)
    assert "practices" in said and "p" in said
