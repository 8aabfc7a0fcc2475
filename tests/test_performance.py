"""Performance chapter: ratings and RAG, year-on-year change, SOP targets and trajectories,
and the gate's performance reconciliations."""

from __future__ import annotations

import csv
import shutil

import pandas as pd
import pytest

from nhsbook.analysis import performance
from nhsbook.validation.gate import validate_book


@pytest.fixture(scope="module")
def perf(root):
    return performance.load_dir(root / "data" / "default")


def test_ratings_equal_the_seed(perf, shared):
    lines = (shared / "seeds" / "001_cdf91f15abb1e217.txt").read_text(encoding="utf-8").split("\n")
    r = perf["performance_ratings"]
    for line, g in r.groupby("seed_line"):
        cells = [c.strip() for c in lines[int(line) - 1].split("\t")]
        assert g["indicator"].iloc[0] == cells[0]
        assert g["rating"].tolist() == cells[1:5]
    assert len(r) == 4 * (14 + 24)


def test_rag_of_ratings():
    assert [performance.rag_of(x) for x in ("ACHIEVED", "UNDER ACHIEVED", "FAIL", "N/A")] == [
        "Green",
        "Amber",
        "Red",
        "Grey",
    ]
    with pytest.raises(ValueError, match="unknown rating"):
        performance.rag_of("PASSED")


def test_rating_counts_match_the_seed_text(perf):
    c = performance.rating_counts(perf["performance_ratings"]).set_index(
        ["table", "year", "org_code"]
    )
    county = c.loc[("national_priorities", "2008/09", "5N6")]
    assert (county["achieved"], county["under_achieved"], county["failed"]) == (18, 3, 2)
    city = c.loc[("existing_commitments", "2008/09", "5N7")]
    assert (city["achieved"], city["under_achieved"], city["failed"]) == (13, 1, 0)


def test_year_on_year_change(perf):
    ch = performance.year_on_year(perf["performance_ratings"], "2007/08", "2008/09")
    row = ch[
        (ch["indicator"] == "Category B calls meeting 19 minute standard")
        & (ch["org_code"] == "5N6")
    ].iloc[0]
    assert row["change"] == "Improved"
    ae = ch[(ch["indicator"] == "Total time in A&E") & (ch["org_code"] == "5N6")].iloc[0]
    assert ae["change"] == "Declined"
    counts = performance.change_counts(ch).set_index(["table", "org_code"])
    ec = counts.loc[("existing_commitments", "5N6")]
    assert (ec["improved"], ec["declined"], ec["unchanged"]) == (1, 1, 9)
    assert ec["comparable"] == 11


def test_vital_signs_counts(perf):
    vs = perf["performance_vital_signs"].set_index(["tier", "org_code"])
    assert vs.loc[(2, "5N7"), ["improved", "declined", "unchanged"]].tolist() == [17, 6, 5]
    assert (vs["improved"] + vs["declined"] + vs["unchanged"] == vs["comparable"]).all()
    long = performance.tier_counts_long(vs.reset_index())
    assert set(long["change"]) == {"Improved", "Declined", "Unchanged"}


@pytest.mark.parametrize(
    "text,polarity,expected",
    [
        ("17", "low_is_good", ("<=", 17.0, "")),
        ("75%", "high_is_good", (">=", 75.0, "%")),
        ("<5%", "low_is_good", ("<", 5.0, "%")),
        ("23 weeks", "low_is_good", ("<=", 23.0, "weeks")),
        ("<4 hours", "low_is_good", ("<", 4.0, "hours")),
        ("411,766", "high_is_good", (">=", 411766.0, "")),
    ],
)
def test_parse_target(text, polarity, expected):
    t = performance.parse_target(text, polarity)
    assert (t.operator, t.value, t.unit) == expected


def test_parse_target_special_and_bad():
    assert performance.parse_target("n/a", "high_is_good") is None
    assert performance.parse_target("Improvement", "high_is_good").operator == "improvement"
    with pytest.raises(ValueError, match="not a number"):
        performance.parse_target("about 5", "high_is_good")


def test_every_sop_target_parses(perf):
    sop = perf["performance_sop_targets"]
    for t, p in zip(sop["target"], sop["polarity"]):
        performance.parse_target(t, p)
    table = performance.sop_table(perf, "5N6")
    assert len(table) == 44 and set(table["rag"]) == {"Grey"}  # the seed has no results


def test_target_status():
    floor = performance.Target(">=", 75.0, "%")
    assert performance.target_status(76, floor) == "Green"
    assert performance.target_status(73, floor) == "Amber"
    assert performance.target_status(60, floor) == "Red"
    assert performance.target_status(None, floor) == "Grey"
    assert performance.target_status(3, performance.Target("<", 5.0, "%")) == "Green"
    assert performance.target_status(1, None) == "Grey"


def test_trajectory_and_run_rate():
    traj = performance.target_trajectory(12)
    assert traj["trajectory"].tolist() == list(map(float, range(1, 13)))
    acts = pd.DataFrame({"month": [1, 2, 3, 4], "actual": [1, 3, 0, 0.1]})
    res = performance.against_trajectory(acts, 12, "low_is_good")
    assert res["cumulative"].tolist() == pytest.approx([1, 4, 4, 4.1])
    # 4 against a ceiling of 2 (red), of 3 (33% over: red), 4.1 against 4 (within 5%: amber)
    assert res["rag"].tolist() == ["Green", "Red", "Red", "Amber"]
    assert res["forecast_year"].iloc[-1] == pytest.approx(4.1 * 12 / 4)
    with pytest.raises(ValueError, match="profile"):
        performance.target_trajectory(10, profile=[1, 2])


def test_optional_actuals_are_validated_and_rated(root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(root / "data" / "default", data)
    path = data / "performance" / "sop_actuals.csv"
    path.write_text(
        "org_code,ref,measure,period,month,actual\n"
        "5N6,HQU03_01,CAT A Response time within 8 Mins,2011-12,1,76.2\n",
        encoding="utf-8",
    )
    perf = performance.load_dir(data)
    row = performance.sop_table(perf, "5N6").set_index("ref").loc["HQU03_01"]
    assert row["rag"] == "Green" and row["latest_result"] == 76.2
    path.write_text(
        "org_code,ref,measure,period,month,actual\n"
        "5N6,HQU01,Incidence of MRSA bacteraemia - PCO,2011-12,13,2\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="month"):
        performance.load_dir(data)


def test_the_gate_validates_the_optional_actuals(root, tmp_path):
    """The monthly results are a dataset of the book when the file exists: the gate (not the
    notebook kernel) refuses a month 13 with file, line and column, and the build's inputs
    include the file (a new result rebuilds what shows it)."""
    from nhsbook.io import embedded
    from nhsbook.validation.gate import validate_book

    data = tmp_path / "data"
    shutil.copytree(root / "data" / "default", data)
    assert "performance_sop_actuals" not in embedded.dataset_paths(data)
    path = data / "performance" / "sop_actuals.csv"
    path.write_text(
        "org_code,ref,measure,period,month,actual\n"
        "5N6,HQU01,Incidence of MRSA bacteraemia - PCO,2011-12,13,2\n",
        encoding="utf-8",
    )
    assert embedded.dataset_paths(data)["performance_sop_actuals"] == path
    report = validate_book(data)
    assert not report.ok
    assert "performance/sop_actuals.csv, line 2, column month" in report.to_text()
    # read on its own, the file is still refused, naming line and column
    with pytest.raises(ValueError, match=r"sop_actuals\.csv: line 2, column 'month'"):
        performance.read_actuals(path)
    path.write_text(
        "org_code,ref,measure,period,month,actual\n"
        "5N6,HQU01,Incidence of MRSA bacteraemia - PCO,2011-12,3,two\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="actual"):
        performance.read_actuals(path)


def test_gate_checks_ratings_against_the_text(root, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(root / "data" / "default", data)
    ratings = data / "performance" / "ratings.csv"
    rows = list(csv.reader(open(ratings, encoding="utf-8")))
    for r in rows:
        if r[1] == "Stroke care" and r[2] == "2008/09" and r[3] == "5N6":
            r[4] = "FAIL"
    with open(ratings, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    vs = data / "performance" / "vital_signs.csv"
    text = vs.read_text(encoding="utf-8").replace(
        "5N7,2009/10 to 2010/11,28,17,6,5", "5N7,2009/10 to 2010/11,28,17,6,6"
    )
    vs.write_text(text, encoding="utf-8")
    report = validate_book(data, root=data.parent)
    assert not report.ok
    rating_fails = [f for f in report.failures if f.dataset == "performance_reconcile_ratings"]
    cols = {f.columns for f in rating_fails}
    assert ("achieved",) in cols and ("failed",) in cols
    assert all(f.file.endswith("rating_summary.csv") for f in rating_fails)
    vs_fails = [f for f in report.failures if f.dataset == "performance_reconcile_vital_signs"]
    assert vs_fails and vs_fails[0].columns == ("comparable",) and vs_fails[0].lines == [5]
