"""The page facades of the finance and performance notebooks (issue 21, thin notebooks):
:class:`nhsbook.pages.finance.FinancePage` and :class:`nhsbook.pages.performance.PerformancePage`
give each section as what it shows, leave empty sections out, and derive a cluster's
organisations from the data."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.display import Markdown

from nhsbook.analysis import finance, performance
from nhsbook.pages import finance as finance_page
from nhsbook.pages import performance as performance_page
from nhsbook.pages.finance import FinancePage, Section
from nhsbook.pages.performance import PerformancePage

FINANCE_SECTIONS = (
    "position",
    "position_charts",
    "forecast",
    "allocation",
    "ccg_baselines",
    "plan",
    "qipp",
    "practices",
)


@pytest.fixture()
def published(monkeypatch):
    """The CSVs the sections would publish, ``(area_code, name, table)``, instead of writing
    them into the site."""
    calls: list[tuple[str, str, pd.DataFrame]] = []

    def fake(table, area_code, name, book="default", label=None):
        calls.append((area_code, name, table))
        return f"<csv {name}>"

    monkeypatch.setattr(finance_page, "publish_csv", fake)
    monkeypatch.setattr(performance_page, "publish_csv", fake)
    return calls


def _texts(section: Section) -> list[str]:
    return [item.data for item in section if isinstance(item, Markdown)]


def _shown(page: FinancePage) -> dict[str, Section]:
    return {name: getattr(page, name)() for name in FINANCE_SECTIONS}


def test_the_cluster_gets_position_allocation_and_plan(published):
    page = FinancePage("DERBYSHIRE-CLUSTER", "default")
    shown = _shown(page)
    assert [n for n, s in shown.items() if s] == [
        "position",
        "position_charts",
        "forecast",
        "allocation",
        "ccg_baselines",
        "plan",
    ]
    assert page.missing == ["QIPP scheme table", "practice budget"]
    assert [name for _, name, _ in published] == [
        "financial_position",
        "forecasts",
        "baseline_uplift",
        "ccg_baselines",
        "financial_plan",
    ]
    assert all(code == "DERBYSHIRE-CLUSTER" for code, _, _ in published)
    assert _texts(shown["position"])[0].startswith("## Financial position and forecast")
    assert _texts(shown["allocation"])[0].startswith("## Allocation and growth 2012-13")
    # the published position's CSV leaves out the tree's parent column
    position_csv = published[0][2]
    assert "parent_id" not in position_csv.columns and len(position_csv) == len(page.pos)
    note = page.missing_note()
    assert len(note) == 1 and note[0].data == (
        "The seed documents publish no QIPP scheme table, practice budget for NHS Derbyshire "
        "cluster, so this page has no section for them."
    )


def test_forecast_methods_of_the_cluster():
    page = FinancePage("DERBYSHIRE-CLUSTER")
    methods = page.forecast_methods().set_index("Method")
    assert list(methods.index) == [
        "run rate",
        "profile",
        "budget rest",
        "reported by the organisation",
    ]
    total = page.pos[page.pos["row_id"] == "total_revenue"].iloc[0]
    reported = methods.loc["reported by the organisation"]
    assert reported["Forecast outturn"] == total["annual_budget"] - total["forecast_variance"]
    assert round(reported["Forecast outturn"] / 1000, 1) == 1630.7  # £1,630.7m
    # run rate: spend to date × 12 / month
    assert methods.loc["run rate", "Forecast outturn"] == pytest.approx(
        total["expenditure_to_date"] * 12 / page.month
    )


def test_a_ccg_gets_its_baseline_and_qipp_and_the_rest_is_left_out(published):
    page = FinancePage("HIGH-PEAK")
    shown = _shown(page)
    assert not page.has_position
    assert [n for n, s in shown.items() if s] == ["allocation", "ccg_baselines", "qipp"]
    # the section heading is shown (the CCG has Table 13) but not Table 12
    assert len(shown["allocation"]) == 1
    assert page.missing == [
        "financial position",
        "PCT baseline uplift (Table 12)",
        "draft financial plan (Table 14)",
        "practice budget",
    ]
    assert [name for _, name, _ in published] == ["ccg_baselines", "qipp_tracking"]
    assert "publish no financial position" in page.missing_note()[0].data


def test_growth_by_historic_share_differs_by_rounding_only():
    page = FinancePage("DERBYSHIRE-CLUSTER")
    assert page.share_differences() == [("Erewash", 4221, 4220), ("High Peak", 2502, 2503)]


def test_qipp_totals_of_the_county_pct(published):
    page = FinancePage("5N6")
    track = page.qipp_tracking()
    assert track[["planned", "delivered"]].sum().tolist() == [25825.0, 13730.0]
    assert set(track["rag"]) <= set(finance.RAG)
    texts = _texts(page.qipp())
    assert texts[0].startswith("## QIPP delivery 2011-12")
    assert "Total planned **£25,825k**" in texts[1]
    assert FinancePage("5N7").qipp_tracking().empty


def test_daccom_gets_its_practices_only(published):
    page = FinancePage("DACCOM")
    shown = _shown(page)
    assert [n for n, s in shown.items() if s] == ["practices"]
    assert [name for _, name, _ in published] == [
        "practice_budgets",
        "practice_budgets_by_category",
    ]
    cats = page.practice_categories(finance.practice_position(page.fin, "DACCOM"))
    assert list(cats["Category"]) == [
        "Acute commissioning",
        "Prescribing",
        "Provider services",
        "Other",
    ]
    assert cats["Published variance to date"].tolist()[:3] == [-2400.0, 952.0, 898.0]
    assert "Synthetic data" in finance.header_markdown(page.fin, "DACCOM")


def test_a_section_displays_its_items_in_order(monkeypatch):
    shown = []
    monkeypatch.setattr(finance_page, "display", shown.append)
    Section(["a", "b", "c"])._ipython_display_()
    Section()._ipython_display_()
    assert shown == ["a", "b", "c"]


# --- performance ---------------------------------------------------------------------------


def test_the_cluster_shows_its_pcts_from_the_data():
    page = PerformancePage("DERBYSHIRE-CLUSTER", "default")
    assert page.organisations == ["5N6", "5N7"]
    assert page.covered
    assert PerformancePage("5N7").organisations == ["5N7"]
    ccg = PerformancePage("E38000058")
    assert ccg.organisations == ["E38000058"] and not ccg.covered


def test_page_organisations_follow_organisations_csv():
    fin, perf = finance.load("default"), performance.load("default")
    orgs = fin.organisations
    assert performance.page_organisations(orgs, perf, "DERBYSHIRE-CLUSTER") == ["5N6", "5N7"]
    # a PCT that is no longer below the cluster is not on the cluster's page
    moved = orgs.assign(parent_code=orgs["parent_code"].where(orgs["org_code"] != "5N7", ""))
    assert performance.page_organisations(moved, perf, "DERBYSHIRE-CLUSTER") == ["5N6"]
    # an organisation with nothing below it reports on itself
    assert performance.page_organisations(orgs, perf, "DACCOM") == ["DACCOM"]


def test_performance_sections_of_the_cluster(monkeypatch, published):
    monkeypatch.setattr(performance_page, "key_messages_box", lambda *a, **k: "<box>")
    page = PerformancePage("DERBYSHIRE-CLUSTER")
    header = page.header()
    assert len(header) == 2  # covered: no "publish no performance results" sentence
    assert header[0].data.startswith("**Organisation:** NHS Derbyshire cluster")
    for name in ("health_check", "ratings", "change", "targets"):
        assert getattr(page, name)(), name
    assert [name for _, name, _ in published] == [
        "health_check",
        "ratings_existing_commitments",
        "ratings_national_priorities",
        "vital_signs",
        "ratings_change",
        "sop_targets",
    ]
    ratings_csv = dict((n, t) for _, n, t in published)["ratings_national_priorities"]
    assert set(ratings_csv["org_code"]) == {"5N6", "5N7"} and "rag" in ratings_csv.columns
    wide = page.ratings_wide("national_priorities")
    assert list(wide.columns) == [
        "indicator",
        "2007/08 NHS Derbyshire County PCT",
        "2007/08 NHS Derby City PCT",
        "2008/09 NHS Derbyshire County PCT",
        "2008/09 NHS Derby City PCT",
    ]
    sop = page.sop()
    assert len(sop) == 88 and list(dict.fromkeys(sop["org_code"])) == ["5N6", "5N7"]
    assert page.targets()[0].data == (
        "No 2011/12 results are published for these 88 targets; their targets are in the download."
    )
    counts = page.rating_counts()
    assert set(counts["PCT"]) == {"NHS Derbyshire County PCT", "NHS Derby City PCT"}


def test_an_uncovered_organisation_shows_nothing_but_says_so(monkeypatch, published):
    monkeypatch.setattr(performance_page, "key_messages_box", lambda *a, **k: "<box>")
    page = PerformancePage("E38000058")
    header = page.header()
    assert "publish no performance results for NHS Erewash CCG" in header[-1].data
    assert not page.health_check() and not page.ratings() and not page.change()
    assert page.targets()[0].data == "> No SOP targets are published for NHS Erewash CCG."
    assert published == []
