"""Books from Fingertips exports (loader ``fingertips``, nhsbook/io/fingertips_book.py): the
real 91547 + 93930 exports for sub-ICB location 15M, the export's own figures, roll-ups only
where it has none, comparisons at 95% and 99.8%, inequality rows, malformed exports refused
naming file, line and column, and ``nhsbook new`` for a second area.

The book is built once for the module (``built`` fixture, ``nhsbook build --book
fingertips-15m``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nhsbook import stats
from nhsbook.config.book import load_book
from nhsbook.io import fingertips
from nhsbook.io import fingertips_book as fb
from nhsbook.pipeline.store import compute_and_store

BOOK = "fingertips-15m"
SUB_ICB, ENGLAND = "E38000261", "E92000001"
SMOKING = "gp/fingertips_91547_smoking_qof_prevalence_all_area_types.csv.gz"
AE = "current/fingertips/fingertips_93930_ae_attendances_0-4_gp_pcn_england.csv.gz"
INEQ = (
    "current/fingertips/fingertips_93014_93015_93088_93881_93982_activity_obesity_diet_"
    "england_inequalities.csv.gz"
)


@pytest.fixture(scope="module")
def data(shared) -> Path:
    return shared / "data"


@pytest.fixture(scope="module")
def book():
    return load_book(BOOK)


@pytest.fixture(scope="module")
def tables(book):
    return compute_and_store(book)


@pytest.fixture(scope="module")
def built(book, shared):
    """The whole book built once (pages and site) in its own project root
    (:func:`conftest.scratch_root`), so the default book's site is untouched; the seconds it
    took are printed."""
    from conftest import scratch_root

    scratch = scratch_root(BOOK)
    started = time.perf_counter()
    env = {
        **os.environ,
        "NHSBOOK_ROOT": str(scratch),
        "NHSBOOK_MIRROR": os.environ.get("NHSBOOK_MIRROR", str(shared / "data")),
    }
    run = subprocess.run(
        [sys.executable, "-m", "nhsbook", "build", "--book", BOOK],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    print(f"fingertips-15m built in {time.perf_counter() - started:.0f} s")
    return scratch / "book" / "_build" / "html"


def _raw(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# --- the real exports ---------------------------------------------------------------------


def test_areas_are_15m_its_pcns_and_practices(tables):
    areas = tables["areas"]
    counts = areas["area_type"].value_counts()
    assert counts["practice"] == 108 and counts["ccg"] == 1 and counts["england"] == 1
    assert areas.loc[areas["area_type"] == "ccg", "area_code"].tolist() == [SUB_ICB]
    assert counts["pcn"] >= 15


def test_metadata_is_read_from_the_export(tables):
    meta = tables["metadata"].set_index("indicator_id")
    s, a = meta.loc["91547"], meta.loc["93930"]
    assert (s["method"], s["unit"], s["multiplier"], s["polarity"]) == (
        "proportion",
        "%",
        100.0,
        "low_is_good",
    )
    assert (a["method"], a["unit"], a["multiplier"]) == ("crude_rate", "per 1,000", 1000.0)
    assert s["periods"] == "2013/14 to 2023/24" and s["licence"] == "OGL-3.0"
    assert "QOF smoking register" in s["definition"]  # the book's own wording
    assert s["publisher_url"].endswith("/91547") and "Worse" in s["polarity_reason"]
    for col in fb.DEFINITION_COLUMNS:  # the Definitions page's fields
        assert col in meta.columns


def test_the_exports_own_figures_are_used_as_published(tables, data):
    """15M 2022/23 (Fingertips code nE38000261) is the export's row, value and limits as
    published; 2023/24 (no row above practices) is the sum of its 108 practices with Wilson
    limits; the comparison with England at 95% and 99.8% follows the limits."""
    raw = _raw(data / SMOKING)
    pub = raw[(raw["Area Code"] == "nE38000261") & (raw["Time period"] == "2022/23")].iloc[0]
    v = tables["values"]
    row = v[(v["area_code"] == SUB_ICB) & (v["indicator_id"] == "91547")].set_index("period")
    assert row.loc["2022/23", "value"] == pytest.approx(float(pub["Value"]))
    assert row.loc["2022/23", "lower_998"] == pytest.approx(float(pub["Lower CI 99.8 limit"]))
    assert row.loc["2022/23", "value_note"] == ""
    gp = raw[(raw["Area Type"] == "GPs") & (raw["Time period"] == "2023/24")]
    mine = gp[gp["Area Code"].isin(tables["areas"].query("area_type == 'practice'")["area_code"])]
    count, denom = mine["Count"].astype(float).sum(), mine["Denominator"].astype(float).sum()
    assert row.loc["2023/24", "count"] == count
    w = stats.proportion_ci(count, denom, conf=0.998)
    assert row.loc["2023/24", "upper_998"] == pytest.approx(w["upper"].iloc[0])
    assert row.loc["2023/24", "value_note"] == fb.COMPUTED_NOTE
    eng = v[
        (v["area_code"] == ENGLAND) & (v["indicator_id"] == "91547") & (v["category_type"] == "")
    ]
    assert eng["period"].is_unique  # 2015/16's repeated 'Not applicable' row read once
    latest = row.loc["2023/24"]
    assert (
        latest["england_significance"]
        == stats.compare(
            latest["value"],
            latest["lower_95"],
            latest["upper_95"],
            latest["england_value"],
            "low_is_good",
        ).iloc[0]
    )
    assert latest["england_significance_998"] in ("Worse", "Similar", "Better")


def test_export_comparisons_agree_with_ours_where_published(tables):
    """Where the export gives its own England comparison for a row the book keeps (15M and
    England-compared practices), nhsbook's label from the same limits agrees."""
    v = tables["values"]
    pub = v[
        v["published_comparison"].isin(["Better", "Similar", "Worse"])
        & (v["category_type"] == "")
        & ~v["suppressed"].astype(bool)
    ]
    assert len(pub) > 100
    agree = (pub["published_comparison"] == pub["england_significance"]).mean()
    assert agree >= 0.99, pub.loc[
        pub["published_comparison"] != pub["england_significance"],
        ["area_code", "period", "published_comparison", "england_significance"],
    ].head()


def test_trends_worse_and_getting_worse_and_fingertips_table(book, tables):
    from nhsbook.pages.area import AreaPage

    page = AreaPage.load(SUB_ICB, BOOK)
    trends = page.trends()
    assert set(trends["indicator_id"]) == {"91547"}  # 93930 has one practice period
    # 15M has two periods (2022/23, 2023/24): the points are drawn, no trend is computed
    assert trends["trend"].iloc[0].startswith("No trend computed: 2 periods (2022/23, 2023/24)")
    table = page.significance_table()
    assert {"vs England (95%)", "vs England (99.8%)"} <= set(table.columns)
    assert len(table) == 2
    fake = trends.assign(trend="Increasing and getting worse")
    worse = page.worse_and_worsening(fake)
    assert worse["Indicator"].str.startswith("Smoking").all() and len(worse) == 1


def test_inequality_rows_become_a_category_table(tmp_path, data):
    rows, _ = fb.read_exports({"x": (data / INEQ, "")})
    meta = fb.infer_metadata(rows, {}, {})
    areas = pd.DataFrame(
        {
            "area_code": [ENGLAND],
            "area_name": ["England"],
            "area_type": ["england"],
            "parent_code": [""],
            "comparator_code": [""],
        }
    )
    from nhsbook.pipeline import published  # the values of a Fingertips book (was in fb)

    v = published._compare(
        published._limits(rows.assign(area_type="england"), meta.set_index("indicator_id")),
        areas,
        meta.set_index("indicator_id"),
    )
    table = fb.category_table(v, meta, ENGLAND)
    assert {"93014", "93982"} <= set(rows["indicator_id"])
    assert table["Category type"].nunique() >= 3
    assert set(table["Compared with overall"]) <= {
        "Better",
        "Similar",
        "Worse",
        "Higher",
        "Lower",
        "Not compared",
    }
    assert (table["Compared with overall"] != "Not compared").mean() > 0.8


# --- malformed exports ----------------------------------------------------------------------


def _small(tmp_path: Path, data: Path, edit=None, name: str = "export.csv") -> Path:
    """The first 40 rows of 93930 as published, edited (``edit(frame)``; row i is line
    i + 2 of the file)."""
    frame = pd.read_csv(data / AE, dtype=str, keep_default_na=False, nrows=40)
    if edit:
        frame = edit(frame)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_a_wrong_header_names_file_line_and_column(tmp_path, data):
    path = _small(tmp_path, data, lambda f: f.rename(columns={"Area Code": "AreaCode"}))
    with pytest.raises(fingertips.FingertipsFormatError, match=r"export\.csv: line 1.*Area Code"):
        fb.read_exports({"x": (path, "")})


def _set(row: int, column: str, value: str):
    def edit(f):
        f.loc[row, column] = value
        return f

    return edit


def test_text_in_numbers_names_file_line_and_column(tmp_path, data):
    path = _small(tmp_path, data, _set(4, "Value", "n/a"))
    with pytest.raises(
        fingertips.FingertipsFormatError, match=r"export\.csv: column 'Value', line\(s\) \[6\]"
    ):
        fb.read_exports({"x": (path, "")})


def test_a_blank_key_names_file_line_and_column(tmp_path, data):
    path = _small(tmp_path, data, _set(2, "Area Code", ""))
    with pytest.raises(
        fingertips.FingertipsFormatError, match=r"line\(s\) \[4\].*'Area Code'.*blank"
    ):
        fb.read_exports({"x": (path, "")})


def test_a_duplicated_key_with_other_figures_names_both_lines(tmp_path, data):
    def edit(f):
        extra = f.iloc[[6]].copy()
        extra["Count"] = str(int(float(extra["Count"].iloc[0])) + 1)
        return pd.concat([f, extra], ignore_index=True)

    path = _small(tmp_path, data, edit)
    with pytest.raises(
        fingertips.FingertipsFormatError,
        match=r"export\.csv: line 8; .*export\.csv: line 42.*given twice",
    ):
        fb.read_exports({"x": (path, "")})
    same = _small(
        tmp_path, data, lambda f: pd.concat([f, f.iloc[[6]]], ignore_index=True), name="same.csv"
    )
    rows, _ = fb.read_exports({"x": (same, "")})
    assert len(rows) == 40  # an identical repeat is read once


def test_unknown_codes_are_refused(tmp_path, data, root):
    """An area code that is no sub-ICB location or ICB of the practice map is refused naming
    the map file; an export whose Area Code is not a code fails the gate naming the line."""
    from nhsbook.validation import gate

    path = _small(tmp_path, data)
    book = tmp_path / "book.yml"
    book.write_text(
        f"name: test-ft-unknown\ntitle: t\nloader: fingertips\ndata: {book}\n"
        f"fingertips:\n  exports: [{path}]\n  area: ZZZ\n",
        encoding="utf-8",
    )
    cfg = load_book(str(book))
    with pytest.raises(fb.FingertipsBookError, match=r"'fingertips: area'.*ZZZ.*prac-map"):
        fb.load(cfg)

    bad = _small(tmp_path, data, _set(2, "Area Code", "<b>E99</b>"), name="bad.csv")
    report = gate.validate_datasets({"fingertips_export_bad": bad}, root=tmp_path)
    assert not report.ok
    where = [f.where() for f in report.failures]
    assert any("bad.csv" in w and "Area Code" in w and "4" in w for w in where), where


def test_book_options_are_checked(tmp_path):
    book = tmp_path / "book.yml"
    book.write_text(
        f"name: test-ft-opts\ntitle: t\nloader: fingertips\ndata: {book}\n"
        "fingertips:\n  exports: [no_such_export]\n  area: 15M\n  colour: red\n",
        encoding="utf-8",
    )
    with pytest.raises(fb.FingertipsBookError, match=r"unknown 'fingertips:' option.*colour"):
        fb.options(load_book(str(book)))
    book.write_text(book.read_text().replace("  colour: red\n", ""))
    with pytest.raises(fb.FingertipsBookError, match="neither a registry key"):
        fb.export_files(load_book(str(book)))


# --- nhsbook new ----------------------------------------------------------------------------


def test_nhsbook_new_writes_a_book_that_builds(tmp_path, shared):
    """A Fingertips book for another sub-ICB location (02Q, Bassetlaw: 8 practices) by its
    code alone: the file is written, and the whole book builds (gate, tables, pages, site)
    in a project root of its own."""
    from conftest import scratch_root
    from nhsbook.newbook import NewBookError, write_book

    with pytest.raises(NewBookError, match=r"unknown area code 'ZZZ'.*prac-map"):
        write_book("fingertips", "ZZZ", ["fingertips_91547_smoking_qof"], root=tmp_path)
    with pytest.raises(Exception, match="path separator"):
        write_book("fingertips", "../15M", ["fingertips_91547_smoking_qof"], root=tmp_path)
    scratch = scratch_root("test-ft-new")
    (scratch / "books" / "test-ft-new.yml").unlink(missing_ok=True)
    path = write_book(
        "fingertips",
        "02Q",
        ["fingertips_91547_smoking_qof", "fingertips_93930_ae_0_4_gp_pcn"],
        name="test-ft-new",
        root=scratch,
    )
    assert path == scratch / "books" / "test-ft-new.yml"
    with pytest.raises(NewBookError, match="exists"):
        write_book(
            "fingertips", "02Q", ["fingertips_91547_smoking_qof"], name="test-ft-new", root=scratch
        )
    cfg = load_book("test-ft-new", root=scratch)
    computed = compute_and_store(cfg)
    areas = computed["areas"]
    sub = areas.loc[areas["area_type"] == "ccg", "area_code"].tolist()
    assert sub and sub != [SUB_ICB]
    v = computed["values"]
    assert (v["area_code"].isin(sub) & v["value"].notna()).sum() >= 3
    env = {
        **os.environ,
        "NHSBOOK_ROOT": str(scratch),
        "NHSBOOK_MIRROR": os.environ.get("NHSBOOK_MIRROR", str(shared / "data")),
    }
    run = subprocess.run(
        [sys.executable, "-m", "nhsbook", "build", "--book", "test-ft-new"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    page = scratch / "book" / "_build" / "html" / "areas" / sub[0] / "jsna_profile.html"
    assert page.is_file(), page
    text = page.read_text(encoding="utf-8")
    import html

    assert all(html.escape(str(n), quote=False) in text for n in computed["metadata"]["name"])


# --- the built book -------------------------------------------------------------------------


def test_the_book_builds_with_trends_and_data_sources(built, tables):
    pcn = tables["areas"].query("area_type == 'pcn'")["area_code"].iloc[0]
    for code, nb in (
        (SUB_ICB, "jsna_profile"),
        (SUB_ICB, "overview"),
        (pcn, "jsna_profile"),
        (ENGLAND, "inequalities"),
    ):
        page = built / "areas" / code / f"{nb}.html"
        assert page.is_file(), page
    profile = (built / "areas" / SUB_ICB / "jsna_profile.html").read_text(encoding="utf-8")
    assert "Recent trend" in profile and "Compared as Fingertips compares" in profile
    assert "99.8%" in profile
    ineq = (built / "areas" / ENGLAND / "inequalities.html").read_text(encoding="utf-8")
    assert "Inequality breakdowns" in ineq and "deprived decile" in ineq
    sources = (built / "data_sources.html").read_text(encoding="utf-8")
    assert "Fingertips exports" in sources and "93930" in sources
