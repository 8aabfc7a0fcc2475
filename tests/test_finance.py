"""Finance chapter: seed tables transcribed exactly, the gate's reconciliations, forecasts,
allocations, the plan bridge, QIPP tracking and practice budgets."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhsbook.analysis import finance
from nhsbook.validation.gate import validate_book

SEED = "001_cdf91f15abb1e217.txt"


@pytest.fixture(scope="module")
def fin(root):
    return finance.load_dir(root / "data" / "default")


@pytest.fixture()
def data_copy(root, tmp_path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(root / "data" / "default", target)
    return target


def _edit(path: Path, row_id: str, column: str, value: str, **match: str) -> int:
    """Set ``column`` of the row with ``row_id`` (and ``match``) to ``value`` as text;
    returns the file line edited."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    line = 0
    for i, r in enumerate(rows[1:], start=2):
        rec = dict(zip(head, r))
        if rec.get("row_id") == row_id and all(rec.get(k) == v for k, v in match.items()):
            r[head.index(column)] = value
            line = i
            break
    assert line, f"no row {row_id} in {path}"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return line


def _failures(report, file_end: str):
    return [f for f in report.failures if f.file.endswith(file_end)]


# --- the seed tables, transcribed ----------------------------------------------------------


def _seed_numbers(shared: Path, seed: str, line: int) -> list[float]:
    text = (shared / "seeds" / seed).read_text(encoding="utf-8").split("\n")[line - 1]
    out = []
    for cell in text.split("\t"):
        cell = cell.strip().replace("£", "").replace(",", "")
        if not cell:
            continue
        neg = cell.startswith("(") and cell.endswith(")")
        try:
            v = float(cell.strip("()"))
        except ValueError:
            continue
        out.append(-v if neg else v)
    return out


def test_financial_position_equals_the_seed_after_the_documented_correction(fin, shared):
    pos = fin["finance_position"]
    for _, r in pos.iterrows():
        printed = _seed_numbers(shared, r["seed_file"], int(r["seed_line"]))
        stored = [
            r[c]
            for c in (
                "annual_budget",
                "budget_to_date",
                "expenditure_to_date",
                "variance_to_date",
                "forecast_variance",
            )
        ]
        if r["correction"]:
            # the one correction: Table 11 prints Budget to Date as "1,088,97"
            assert r["seed_line"] == 1222 and printed[1] == 108897 and stored[1] == 1088097
            assert "1,088,97" in r["correction"] and "1,088,097" in r["correction"]
            printed[1] = stored[1]
        assert printed == stored, f"line {r['seed_line']}"
    assert (pos["correction"] != "").sum() == 1


@pytest.mark.parametrize(
    "name,cols",
    [
        ("finance_uplift", ["city", "county", "total", "increase_pct"]),
        ("finance_plan", ["city", "county", "total"]),
    ],
)
def test_pct_tables_equal_the_seed(fin, shared, name, cols):
    for _, r in fin[name].iterrows():
        printed = _seed_numbers(shared, r["seed_file"], int(r["seed_line"]))
        stored = [r[c] for c in cols if not pd.isna(r[c])]
        assert printed == stored, f"{name} line {r['seed_line']}"


def test_ccg_baselines_and_qipp_equal_the_seed(fin, shared):
    for _, r in fin["finance_ccg_baselines"].iterrows():
        printed = _seed_numbers(shared, r["seed_file"], int(r["seed_line"]))
        stored = [r[c] for c in ("baseline", "growth", "reablement", "total") if not pd.isna(r[c])]
        assert printed == stored
    for _, r in fin["finance_qipp"].iterrows():
        printed = _seed_numbers(shared, r["seed_file"], int(r["seed_line"]))
        stored = [r[c] / 1000 for c in finance.TABLES["finance_qipp"].money]
        assert np.allclose(printed, stored), f"line {r['seed_line']}"


# --- the validation gate --------------------------------------------------------------------


def test_the_default_tables_pass_the_gate(root):
    report = validate_book(root / "data" / "default")
    assert report.ok, report.to_text()
    names = {d.name for d in report.datasets}
    assert {
        "finance_reconcile_position",
        "finance_reconcile_plan",
        "finance_reconcile_qipp",
        "finance_reconcile_practices",
        "performance_reconcile_ratings",
    } <= names


def test_gate_catches_table_11_as_printed(data_copy):
    path = data_copy / "finance" / "financial_position.csv"
    line = _edit(path, "total_revenue", "budget_to_date", "1,088,97", org_code="DERBYSHIRE-CLUSTER")
    report = validate_book(data_copy, root=data_copy.parent)
    assert not report.ok
    fails = _failures(report, "finance/financial_position.csv")
    recon = [
        f
        for f in fails
        if f.dataset == "finance_reconcile_position"
        and f.columns == ("budget_to_date",)
        and line in f.lines
    ]
    assert recon, report.to_text()
    assert "sum of budget_to_date over its lines" in recon[0].rule
    assert recon[0].values[0]["budget_to_date_expected"] == 1088097
    # the format rule names it too, and the variance identity breaks on the same line
    assert any(
        f.columns == ("budget_to_date",)
        and f.lines == [line]
        and f.expectation == "expect_column_values_to_match_regex"
        for f in fails
    )
    assert any(f.columns == ("variance_to_date",) and line in f.lines for f in fails)
    assert f"financial_position.csv, line {line}" in report.to_text()


def test_a_line_that_no_longer_adds_up_is_named(data_copy):
    path = data_copy / "finance" / "financial_position.csv"
    line = _edit(path, "prescribing", "annual_budget", "143430", org_code="5N6")
    report = validate_book(data_copy, root=data_copy.parent)
    fails = [
        f for f in _failures(report, "financial_position.csv") if f.columns == ("annual_budget",)
    ]
    assert fails and not report.ok
    total_line = line + 3  # the County's Total Revenue Expenditure row
    assert total_line in fails[0].lines
    assert fails[0].values[0]["row_id"] == "total_revenue"


def test_undocumented_seed_difference_fails(data_copy):
    disc = data_copy / "finance" / "seed_discrepancies.csv"
    rows = [r for r in csv.reader(open(disc, encoding="utf-8")) if r[0] != "finance_position"]
    with open(disc, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    report = validate_book(data_copy, root=data_copy.parent)
    fails = [
        f
        for f in _failures(report, "financial_position.csv")
        if f.columns == ("forecast_variance",)
    ]
    assert fails, report.to_text()
    assert fails[0].values[0]["forecast_variance"] == 0
    assert fails[0].values[0]["forecast_variance_expected"] == -30


def test_plan_and_qipp_reconciliations(data_copy):
    plan = data_copy / "finance" / "financial_plan.csv"
    line = _edit(plan, "qipp_requirement", "total", "65173")
    qipp = data_copy / "finance" / "qipp_schemes.csv"
    ok_line = _edit(qipp, "transacted_nuh", "erewash", "711")  # within rounding
    bad_line = _edit(qipp, "transacted_ooh", "hardwick", "78")  # 10 out: fails
    report = validate_book(data_copy, root=data_copy.parent)
    plan_fails = _failures(report, "financial_plan.csv")
    assert any(f.columns == ("total",) and line in f.lines for f in plan_fails)
    assert any(f.columns == ("total",) and f.values[0]["row_id"] == "balance" for f in plan_fails)
    qfails = _failures(report, "qipp_schemes.csv")
    assert any(bad_line in f.lines for f in qfails)
    assert not any(ok_line in f.lines for f in qfails)


def test_synthetic_practices_must_reproduce_published_totals(data_copy):
    ledger = data_copy / "finance" / "practice_ledger_synthetic.csv"
    df = pd.read_csv(ledger, dtype=str)
    i = df.index[(df["practice_code"] == "DAC05") & (df["category"] == "acute")][0]
    df.loc[i, "actual_to_date"] = str(float(df.loc[i, "actual_to_date"]) + 50)
    df.to_csv(ledger, index=False, lineterminator="\n")
    report = validate_book(data_copy, root=data_copy.parent)
    fails = [f for f in report.failures if f.dataset == "finance_reconcile_practices"]
    assert fails and fails[0].file.endswith("pbc_published.csv")
    cats = {v["category"] for v in fails[0].values}
    assert cats == {"all", "acute"}


# --- methods ---------------------------------------------------------------------------------


def test_money_formatter():
    assert finance.money(1042468) == "1,042,468"
    assert finance.money(-4430.2) == "-4,430"
    assert finance.money(-0.2) == "0"
    assert finance.money(float("nan")) == "" and finance.money(None) == ""


def test_forecast_methods():
    # Table 11, total revenue expenditure at month 8
    a, b, s = 1630733.0, 1088097.0, 1088085.0
    assert finance.forecast_outturn(a, b, s, 8, "run_rate") == pytest.approx(s * 12 / 8)
    assert finance.forecast_outturn(a, b, s, 8, "profile") == pytest.approx(s * a / b)
    assert finance.forecast_outturn(a, b, s, 8, "budget_rest") == pytest.approx(a - 12)
    with pytest.raises(ValueError, match="month"):
        finance.forecast_outturn(a, b, s, 12)
    with pytest.raises(ValueError, match="unknown forecast method"):
        finance.forecast_outturn(a, b, s, 8, "guess")
    with pytest.raises(ValueError, match="non-zero"):
        finance.forecast_outturn(10.0, 0.0, 1.0, 6, "profile")


def test_trajectory_passes_the_published_points():
    t = finance.trajectory(1200.0, 700.0, 720.0, 6, reported_outturn=1250.0)
    budget = t[t["series"] == "Budget (cumulative)"].set_index("month")["amount"]
    assert budget[0] == 0 and budget[6] == 700 and budget[12] == 1200
    fc = t[t["series"] == "Forecast (run rate)"].set_index("month")["amount"]
    assert fc[6] == 720 and fc[12] == pytest.approx(1440)
    assert t[t["series"] == "Reported forecast outturn"]["amount"].tolist() == [1250.0]


def test_position_and_budget_to_forecast_waterfall(fin):
    pos = finance.position(fin, "DERBYSHIRE-CLUSTER")
    assert int(pos["month"].iloc[0]) == 8
    steps = finance.budget_to_forecast_steps(pos)
    assert steps["step"].iloc[0] == "Annual budget" and steps["end"].iloc[0] == 1630733
    assert steps["step"].iloc[-1] == "Forecast outturn" and steps["end"].iloc[-1] == 1630733
    gap = steps[steps["step"] == "Unreconciled difference in the seed"]["amount"]
    assert gap.tolist() == [-30.0]
    county = finance.budget_to_forecast_steps(finance.position(fin, "5N6"))
    assert "Unreconciled difference in the seed" not in set(county["step"])


def test_waterfall_refuses_a_bridge_that_does_not_add_up():
    steps = pd.DataFrame(
        {"step": ["a", "b", "c"], "amount": [10.0, -3.0, 8.0], "kind": ["start", "delta", "total"]}
    )
    with pytest.raises(ValueError, match="does not equal the running total"):
        finance.waterfall_frame(steps)


def test_plan_bridge_reproduces_the_qipp_requirement(fin):
    plan = fin["finance_plan"]
    assert finance.qipp_requirement(plan) == 65137
    assert finance.qipp_requirement(plan, "city") == 30637
    assert finance.qipp_requirement(plan, "county") == 34500
    bridge = finance.plan_bridge(plan)
    assert bridge["end"].iloc[0] == 46315
    before_qipp = bridge[bridge["step"] == "Control Total"]["running"].iloc[0]
    assert before_qipp == 46315 - 78920
    assert bridge["end"].iloc[-1] == 32532
    # the requirement printed equals the one rebuilt from the parts
    printed = plan.loc[plan["kind"] == "qipp", ["city", "county", "total"]].iloc[0].tolist()
    assert printed == [30637, 34500, 65137]


def test_allocation_uplift_reproduces_table_12(fin):
    t = fin["finance_uplift"].set_index("row_id")
    growth = finance.allocation_uplift(t.loc["baseline", ["city", "county"]].astype(float), 2.8)
    assert growth.tolist() == [12253, 31316] == t.loc["growth", ["city", "county"]].tolist()
    pinned = finance.allocation_uplift(pd.Series([1.0, 1.0, 1.0]), 50.0, total=2)
    assert pinned.sum() == 2


def test_share_uplift_adds_up_and_is_within_rounding_of_table_13(fin):
    t = fin["finance_ccg_baselines"]
    ccgs = t[t["parent_id"] == "total"].dropna(subset=["baseline"])
    share = finance.share_uplift(ccgs["baseline"], 43569)
    assert share.sum() == 43569
    assert (share - ccgs["growth"]).abs().max() <= 1


def test_qipp_tracking(fin):
    q = fin["finance_qipp"]
    track = finance.qipp_tracking(q)
    lines = q[~q["row_id"].str.endswith("total") & (q["row_id"] != "total")]
    assert track["planned"].sum() == lines["total"].sum()
    assert track["delivered"].sum() == lines.loc[lines["status"] == "transacted", "total"].sum()
    dh = track.set_index("scheme").loc["DH FT"]
    assert (dh["planned"], dh["delivered"], dh["rag"]) == (4600, 960, "Red")
    assert track.set_index("scheme").loc["NUH", "rag"] == "Green"
    assert track.set_index("scheme").loc["CRH FT", "rag"] == "Amber"
    hp = finance.qipp_tracking(q, "high_peak").set_index("scheme")
    assert hp.loc["Burton FT", "rag"] == "Grey"  # nothing planned for High Peak
    assert finance.rag(float("nan")) == "Grey" and finance.rag(0.49) == "Red"


def test_practice_budgets_per_capita_and_weighted():
    prac = pd.DataFrame({"list_size": [1000, 3000], "need_weight": [1.5, 0.5]})
    plain = finance.practice_budgets(prac, 400.0, weighted=False)
    assert plain.tolist() == [100.0, 300.0]
    weighted = finance.practice_budgets(prac, 400.0)
    assert weighted.tolist() == [200.0, 200.0]
    with pytest.raises(ValueError):
        finance.practice_budgets(prac.assign(list_size=0), 1.0)


def test_practice_position_reproduces_dacom_month_10(fin):
    pp = finance.practice_position(fin, "DACCOM")
    assert pp["practice_code"].nunique() == 19
    summary = finance.practice_summary(pp)
    assert summary["list_size"].sum() == 151822
    assert summary["annual_budget"].sum() == pytest.approx(124750)
    by_cat = pp.groupby("category")["variance_to_date"].sum()
    assert by_cat["acute"] == pytest.approx(-2400, abs=0.5)
    assert by_cat["prescribing"] == pytest.approx(952, abs=0.5)
    assert by_cat["provider_services"] == pytest.approx(898, abs=0.5)
    assert by_cat.sum() == pytest.approx(-347, abs=0.5)
    # run rate from month 10: forecast variance = variance to date × 12 / 10 (flat profile)
    assert pp["forecast_variance"].sum() == pytest.approx(by_cat.sum() * 1.2)
    assert (summary["freed_up"] == summary["forecast_variance"].clip(lower=0)).all()
    assert finance.practice_position(fin, "5N6").empty


def test_implied_budget(fin):
    assert finance.implied_budget(fin["finance_pbc_published"]) == 124750


def test_synthetic_practices_are_reproducible(root, tmp_path):
    (tmp_path / "finance").mkdir()
    shutil.copy(root / "data/default/finance/pbc_published.csv", tmp_path / "finance")
    for path in finance.write_synthetic(tmp_path):
        assert path.read_bytes() == (root / "data/default/finance" / path.name).read_bytes()


def test_unparsable_number_is_named(tmp_path, root):
    src = (root / "data/default/finance/baseline_uplift.csv").read_text(encoding="utf-8")
    path = tmp_path / "t.csv"
    path.write_text(src.replace("437613", "437,61x"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2, column city"):
        finance._read(path)


def test_finance_tables_by_organisation(fin):
    assert finance.uplift_for(fin, "5N7").iloc[:, 1].tolist() == [437613, 12253, 772, 450638]
    assert finance.uplift_for(fin, "E38000115").empty
    assert finance.ccg_baselines_for(fin, "E38000115")["Total"].tolist() == [379185]
    plan, col = finance.plan_for(fin, "5N6")
    assert col == "county" and plan.shape[1] == 2
    q, col = finance.qipp_for(fin, "E38000169")
    assert col == "southern_derbyshire"
    assert finance.qipp_for(fin, "DACCOM")[1] is None
    notes = finance.corrections(fin, "DERBYSHIRE-CLUSTER")
    assert len(notes) == 2


def test_finance_notebooks_run(root, tmp_path):
    """The finance and performance notebooks run for the cluster and for a CCG with little
    data (in a scratch copy of the book folder, so the site is untouched)."""
    papermill = pytest.importorskip("papermill")
    work = tmp_path / "root"
    work.mkdir()
    for name in ("_config.yml", "notebooks", "expectations", "nhsbook"):
        os.symlink(root / name, work / name)
    for name in ("books", "data"):  # copied: a book's paths must resolve inside its project
        shutil.copytree(root / name, work / name)
    (work / "book").mkdir()
    env = dict(os.environ)
    os.environ["NHSBOOK_ROOT"] = str(work)
    try:
        for nb, code in (
            ("finance", "DERBYSHIRE-CLUSTER"),
            ("finance", "DACCOM"),
            ("performance", "5N6"),
            ("finance", "HIGH-PEAK"),
        ):
            out = tmp_path / f"{nb}_{code}.ipynb"
            papermill.execute_notebook(
                str(root / "notebooks" / f"{nb}.ipynb"),
                str(out),
                parameters={"area_code": code, "book": "default"},
                kernel_name="python3",
                cwd=str(tmp_path),
                progress_bar=False,
            )
            text = out.read_text(encoding="utf-8")
            if code == "DERBYSHIRE-CLUSTER":
                assert "65,137" in text and "1,088,097" in text
                # the key messages open the page: position and forecast in £m, before the
                # first chart; no module names or seed lines in the reader's text
                cells = json.loads(text)["cells"]
                box = [
                    i
                    for i, c in enumerate(cells)
                    if "nhsbook-key-messages" in json.dumps(c.get("outputs", []))
                ]
                drawn = [
                    i
                    for i, c in enumerate(cells)
                    if any(  # a chart among its outputs
                        "".join(o.get("data", {}).get("text/plain", "")).startswith("alt.")
                        for o in c.get("outputs", [])
                    )
                ]
                assert box and drawn and box[0] < drawn[0]
                assert "Forecast outturn £1,630.7m" in text
                assert "nhsbook.analysis.finance." not in text and "seed 004 line" not in text
            if code == "DACCOM":
                assert "Synthetic data" in text
            if code == "HIGH-PEAK":
                # an empty section is left out, and said once
                outputs = json.dumps([c.get("outputs", []) for c in json.loads(text)["cells"]])
                assert "publish no financial position" in outputs
                assert "## Financial position" not in outputs
        assert (work / "book/_extra/data/DERBYSHIRE-CLUSTER/financial_plan.csv").is_file()
    finally:
        os.environ.clear()
        os.environ.update(env)
