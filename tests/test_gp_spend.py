"""The SPOT page of general practice in the current-data ICB book (nhsbook.analysis.gp_spend,
nhsbook.pages.spend, notebooks/gp_spend.ipynb): 15M's and QJ2's spend per weighted patient and
A&E attendances aged 0-4 recomputed from the raw files with plain pandas, their z-scores
against the similar 10 recomputed by hand, the quadrant, an empty table for a book without the
inputs, and the key messages first on the page.

The ICB book's tables are computed once per session (``load_computed`` reuses them while the
inputs are unchanged, as tests/test_peers.py does); nothing here builds a book."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from nhsbook import stats
from nhsbook.analysis import gp_spend, spot
from nhsbook.config import sources
from nhsbook.config.book import load_book
from nhsbook.pipeline.store import load_computed

SUB_ICB, ICB, BOOK = "E38000261", "E54000058", "derbyshire-icb-2025"
KEYS = (
    "nhs_payments_gp_2022_23",
    "fingertips_93930_ae_0_4_gp_pcn",
    "gp_reg_practice_map_jul2026",
    "fingertips_91547_smoking_qof",
)
TOTAL = "Total NHS Payments to General Practice"
WEIGHTED = "Number of Weighted Patients (Last Known Figure)"
REGISTERED = "Number of Registered Patients (Last Known Figure)"


@pytest.fixture(scope="module")
def raw():
    """The three raw files as published (plain pandas), or a skip when the mirror is missing
    (a failure in CI)."""
    try:
        paths = {k: sources.locate(k) for k in KEYS}
    except sources.MissingSource as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the data mirror is missing in CI: {exc}")
        pytest.skip(f"the data mirror is missing: {exc}")
    payments = pd.read_csv(paths[KEYS[0]], encoding="utf-8-sig", dtype={"CCG Code": str})
    ae = pd.read_csv(paths[KEYS[1]], dtype={"Area Code": str})
    practice_map = pd.read_csv(paths[KEYS[2]], dtype=str, keep_default_na=False)
    return payments, ae, practice_map


@pytest.fixture(scope="module")
def tables(raw):
    return load_computed(load_book(BOOK))


def _practices(practice_map: pd.DataFrame, column: str, code: str) -> set[str]:
    return set(practice_map.loc[practice_map[column] == code, "PRACTICE_CODE"])


def _spend(payments: pd.DataFrame, codes: set[str]) -> tuple[float, float, float]:
    rows = payments[payments["Practice Code"].isin(codes)]
    return (
        rows[TOTAL].sum() / rows[WEIGHTED].sum(),
        rows[TOTAL].sum() / rows[REGISTERED].sum(),
        float(len(rows)),
    )


def _ae(ae: pd.DataFrame, codes: set[str]) -> tuple[float, float, float]:
    gp = ae[
        (ae["Area Type"] == "GPs")
        & (ae["Time period"] == "2021/22")
        & ae["Area Code"].isin(codes)
        & ae["Count"].notna()
    ]
    return (
        1000 * gp["Count"].sum() / gp["Denominator"].sum(),
        gp["Count"].sum(),
        gp["Denominator"].sum(),
    )


def _row(tables, code: str, indicator: str = "93930") -> pd.Series:
    t = tables["gp_spend"]
    return t[(t["area_code"] == code) & (t["indicator_id"] == indicator)].iloc[0]


@pytest.mark.parametrize(
    "code,column", [(SUB_ICB, "ONS_SUB_ICB_LOCATION_CODE"), (ICB, "ONS_ICB_CODE")]
)
def test_spend_and_ae_rate_recomputed_from_the_raw_files(tables, raw, code, column):
    payments, ae, practice_map = raw
    codes = _practices(practice_map, column, code)
    per_weighted, per_registered, n = _spend(payments, codes)
    row = _row(tables, code)
    assert row["spend_per_weighted"] == pytest.approx(per_weighted, rel=1e-12)
    assert row["spend_per_registered"] == pytest.approx(per_registered, rel=1e-12)
    assert row["practices"] == n == 108
    rate, count, denom = _ae(ae, codes)
    assert row["value"] == pytest.approx(rate, rel=1e-12)
    assert (row["count"], row["denominator"]) == (count, denom)
    ci = stats.rate_ci(count, denom, 1000)
    assert (row["lower_95"], row["upper_95"]) == pytest.approx(
        (ci["lower"].iloc[0], ci["upper"].iloc[0])
    )
    assert row["period"] == "2021/22" and row["polarity"] == "low_is_good"
    # 15M's figures as the README states them
    assert round(per_weighted, 2) == 162.64 and round(rate, 1) == 747.5


def test_practices_without_a_july_2026_code_are_left_out(tables, raw):
    payments, _, practice_map = raw
    gone = payments[~payments["Practice Code"].isin(set(practice_map["PRACTICE_CODE"]))]
    row = _row(tables, SUB_ICB)
    assert row["england_dropped_practices"] == len(gone) == 547
    assert row["england_dropped_payments"] == pytest.approx(gone[TOTAL].sum())
    assert row["dropped_practices"] == (gone["CCG Code"] == "15M").sum()
    assert row["dropped_payments"] == pytest.approx(
        gone.loc[gone["CCG Code"] == "15M", TOTAL].sum()
    )
    # the payment line is NHS England's own: it reproduces the published average per
    # registered patient of every practice with a list (to the penny)
    listed = payments[payments[REGISTERED] > 0]
    assert np.allclose(
        listed[TOTAL] / listed[REGISTERED],
        listed["Average payments per registered patient"],
        atol=0.006,
    )


@pytest.mark.parametrize(
    "code,column,family",
    [(SUB_ICB, "ONS_SUB_ICB_LOCATION_CODE", "sub_icb"), (ICB, "ONS_ICB_CODE", "icb")],
)
def test_z_scores_against_the_similar_10_by_hand(tables, raw, code, column, family):
    """Spend and outcome of the area and each of its ten peers from the raw files, then
    ``(x − mean) / sd`` (ddof=1) over the 11: the stored z-scores and quadrant."""
    payments, ae, practice_map = raw
    p = tables["peers"]
    group = [code] + p[(p["family"] == family) & (p["area_code"] == code)].sort_values("rank")[
        "peer_code"
    ].tolist()
    assert len(group) == 11
    spend = np.array([_spend(payments, _practices(practice_map, column, c))[0] for c in group])
    rate = np.array([_ae(ae, _practices(practice_map, column, c))[0] for c in group])
    spend_z = (spend[0] - spend.mean()) / spend.std(ddof=1)
    outcome_z = -(rate[0] - rate.mean()) / rate.std(ddof=1)  # low is good: turned
    row = _row(tables, code)
    assert row["spend_z"] == pytest.approx(spend_z, abs=1e-9)
    assert row["outcome_z"] == pytest.approx(outcome_z, abs=1e-9)
    assert row["n_group"] == 11
    quadrant = (
        ("Higher" if spend_z >= 0 else "Lower")
        + " spend, "
        + ("better" if outcome_z >= 0 else "worse")
        + " outcome"
    )
    assert row["quadrant"] == quadrant
    assert row["spend_band"] == spot.band(pd.Series([spend_z])).iloc[0]
    # the page's group table gives the same z for the area, and each peer's z in the group
    g = gp_spend.group_table(tables["gp_spend"], p, code)
    assert g["area_code"].tolist() == group
    assert g["spend_z_group"].to_numpy() == pytest.approx(
        (spend - spend.mean()) / spend.std(ddof=1)
    )
    assert g["outcome_z_group"].to_numpy() == pytest.approx(
        -(rate - rate.mean()) / rate.std(ddof=1)
    )


def test_15m_figures(tables):
    """The figures the README quotes (and the report back)."""
    row = _row(tables, SUB_ICB)
    assert row["quadrant"] == spot.LOWER_WORSE
    assert round(row["spend_z"], 2) == -0.57 and round(row["outcome_z"], 2) == -0.69


def test_every_area_of_england_is_computed_once(tables):
    t = tables["gp_spend"]
    counts = t.groupby(["family", "indicator_id"])["area_code"].nunique().to_dict()
    assert counts == {
        ("icb", "91547"): 36,
        ("icb", "93930"): 36,
        ("sub_icb", "91547"): 106,
        ("sub_icb", "93930"): 106,
    }
    assert "E38000268" in set(t["area_code"]) and "E38000252" not in set(t["area_code"])
    assert t["spend_per_weighted"].notna().all() and t["value"].notna().all()


def test_polarity_is_read_from_the_export(raw):
    from nhsbook.io import fingertips

    export = fingertips.read(sources.locate(KEYS[1]))
    assert gp_spend.polarity_from_export(export) == "low_is_good"


def test_a_book_without_the_inputs_gets_an_empty_table(computed):
    """The default (embedded) book: the table is stored, empty (the stored tables are keyed
    by the inputs, so its columns are those of the code that last computed them)."""
    assert computed["gp_spend"].empty and "spend_z" in computed["gp_spend"].columns
    empty = gp_spend.for_book({}, pd.DataFrame())["gp_spend"]
    assert empty.empty and list(empty.columns) == list(gp_spend.COLUMNS)


def test_the_page_opens_with_its_key_messages(tables):
    from IPython.display import HTML

    from nhsbook.pages.spend import SpendPage

    page = SpendPage(SUB_ICB, BOOK)
    first = page.header()[0]
    assert isinstance(first, HTML) and "Key messages" in first.data
    messages = page.key_messages()
    assert messages[0].startswith(
        "Spend on general practice per weighted patient £163 in "
        "2022-23, z = -0.57 against its similar 10 (lower spend); "
        "A&E attendances of children aged 0–4: 747.5 per 1,000 in "
        "2021/22, outcome z = -0.69"
    )
    assert "lower spend, worse outcome" in messages[0]
    # the download has whole areas only and no count from 1 to 4
    table = gp_spend.csv_table(page.table, page.peers, SUB_ICB)
    assert len(table) == 22 and not ((table["count"] > 0) & (table["count"] < 5)).any()


def test_the_scatter_turns_the_outcome_axis(tables):
    from nhsbook.charts import spend_outcome_scatter

    g = gp_spend.group_table(tables["gp_spend"], tables["peers"], SUB_ICB)
    data = gp_spend.chart_data(g)
    assert len(data) == 11 and data["this"].sum() == 1
    spec = spend_outcome_scatter(
        data, area_name="15M", spend_title="Spend", outcome_title="A&E"
    ).to_dict()
    text = str(spec)
    assert "'reverse': True" in text and "'fit': 'vconcat'" in text
