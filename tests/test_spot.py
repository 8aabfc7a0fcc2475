"""Commissioning for Value: SPOT z-scores, quadrants, ranking, charts, importer, synthetic peer
group, validation and locality packs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhsbook.analysis import spot, variation
from nhsbook.charts import relative_to_ccg, spot_quadrant, zscore_bars
from nhsbook.io import programme_budget as pb
from nhsbook.pages.area import COUNT_COLUMNS, disclosive_cells
from nhsbook.synth import spot as synth_spot

CCG = "E38000115"
SPOT_DIR = Path(__file__).resolve().parents[1] / "data" / "default" / "spot"


# --- a hand-computed example -----------------------------------------------------------------


def _tiny(spend_a: float = 10.0, outcome_a: float = 5.0) -> spot.SpotData:
    """Area A and peers B, C, D; one programme ("10") with spend per head A, 12, 14, 16 and a
    low-is-good outcome A, 7, 9, 11; a second programme ("2") with no outcome."""
    programmes = pd.DataFrame(
        {
            "programme_code": ["2", "10"],
            "programme_name": ["Cancers and tumours", "Problems of circulation"],
            "short_name": ["Cancers", "Circulation"],
            "parent_code": "",
            "source": "",
        }
    )
    peers = pd.DataFrame(
        {
            "area_code": list("ABCD"),
            "area_name": list("ABCD"),
            "peer_group": "G",
            "synthetic": False,
            "source": "",
        }
    )
    per_head = {"10": [spend_a, 12, 14, 16], "2": [20, 20, 26, 30]}
    rows = [
        {
            "area_code": a,
            "year": "2010/11",
            "programme_code": p,
            "spend_gbp": v * 1000,
            "weighted_population": 1000.0,
            "spend_per_head": v,
            "synthetic": False,
            "source": "",
        }
        for p, vs in per_head.items()
        for a, v in zip("ABCD", vs)
    ]
    spend = pd.DataFrame(rows)
    inds = pd.DataFrame(
        {
            "indicator_id": ["X1"],
            "indicator_name": ["Mortality"],
            "programme_code": ["10"],
            "polarity": ["low_is_good"],
            "unit": [""],
            "period": ["2012"],
            "headline": [True],
            "profile_indicator_id": [""],
            "source": [""],
        }
    )
    outcomes = pd.DataFrame(
        {
            "area_code": list("ABCD"),
            "indicator_id": "X1",
            "period": "2012",
            "value": [outcome_a, 7, 9, 11],
            "synthetic": False,
            "source": "",
        }
    )
    return spot.SpotData(programmes, peers, spend, inds, outcomes)


def test_zscores_match_a_hand_computation_with_the_area_in_the_peer_set():
    # peers A..D = 10, 12, 14, 16: mean 13, sample SD sqrt(20/3) = 2.58199
    table = spot.spot_table(_tiny(), "A").set_index("programme_code")
    sd = math.sqrt(20 / 3)
    assert table.at["10", "peer_spend_per_head"] == pytest.approx(13.0)
    assert table.at["10", "peer_spend_sd"] == pytest.approx(sd)
    assert table.at["10", "n_peers"] == 4
    assert table.at["10", "spend_z"] == pytest.approx(-3 / sd)
    # outcome 5 against 5, 7, 9, 11 (mean 8): z = -3 / 2.582; low is good -> +1.162 (better)
    assert table.at["10", "outcome_z"] == pytest.approx(3 / sd)
    assert table.at["10", "quadrant"] == spot.LOWER_BETTER
    assert table.at["10", "opportunity"] == pytest.approx(-6 / sd)


def test_zscores_with_the_area_left_out_of_the_peers():
    # peers B..D = 12, 14, 16: mean 14, SD 2 -> z = (10 - 14) / 2 = -2 exactly
    table = spot.spot_table(_tiny(), "A", include_area=False).set_index("programme_code")
    assert table.at["10", "spend_z"] == pytest.approx(-2.0)
    assert table.at["10", "n_peers"] == 3
    assert table.at["10", "outcome_z"] == pytest.approx(2.0)  # (5 - 9) / 2, turned
    assert bool(table.at["10", "investigate"])  # |z| >= 2
    assert table.at["10", "spend_band"] == "beyond ±2"


def test_high_is_good_outcomes_keep_their_sign():
    z = spot.better_up(pd.Series([1.5, 1.5]), pd.Series(["high_is_good", "low_is_good"]))
    assert z.tolist() == [1.5, -1.5]
    with pytest.raises(ValueError, match="polarity"):
        spot.better_up(pd.Series([1.0]), pd.Series(["no_judgement"]))


def test_quadrant_assignment_including_the_boundaries_and_missing_values():
    got = spot.classify(
        pd.Series([1.2, -0.4, 0.3, -2.5, 0.0, np.nan, 1.0]),
        pd.Series([-0.7, -1.1, 2.2, 0.1, 0.0, 1.0, np.nan]),
    )
    assert got.tolist() == [
        spot.HIGHER_WORSE,
        spot.LOWER_WORSE,
        spot.HIGHER_BETTER,
        spot.LOWER_BETTER,
        spot.HIGHER_BETTER,
        spot.NOT_CLASSIFIED,
        spot.NOT_CLASSIFIED,
    ]


def test_bands_use_the_seed_threshold_of_two():
    assert spot.INVESTIGATE_Z == 2.0 and spot.EXPLORE_Z == 1.0
    got = spot.band(pd.Series([2.0, -2.01, 1.99, -1.0, 0.99, np.nan]))
    assert got.tolist() == ["beyond ±2", "beyond ±2", "±1 to ±2", "±1 to ±2", "within ±1", ""]


def test_ranking_puts_high_spend_poor_outcome_first_and_unmeasured_programmes_last():
    table = pd.DataFrame(
        {
            "programme_code": list("abcde"),
            "spend_z": [-1.0, 1.5, 0.5, 2.5, -0.5],
            "outcome_z": [1.0, -1.0, 0.5, np.nan, -2.0],
        }
    )
    table["opportunity"] = table["spend_z"] - table["outcome_z"]
    ranked = spot.rank_opportunities(table)
    # b: 2.5, e: 1.5, c: 0.0, a: -2.0, then d (no outcome)
    assert ranked["programme_code"].tolist() == ["b", "e", "c", "a", "d"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]


def test_programmes_without_an_outcome_are_listed_but_not_classified():
    table = spot.spot_table(_tiny(), "A").set_index("programme_code")
    assert table.at["2", "quadrant"] == spot.NOT_CLASSIFIED
    assert table.at["2", "rank"] == 2
    assert "2" not in set(spot.quadrant_data(table.reset_index())["programme"])


def test_an_area_outside_every_peer_group_is_refused():
    with pytest.raises(KeyError, match="peer group"):
        spot.spot_table(_tiny(), "Z")


# --- the default peer group reproduces the seed ---------------------------------------------


@pytest.fixture(scope="module")
def data() -> spot.SpotData:
    return spot.load(SPOT_DIR)


@pytest.fixture(scope="module")
def table(data) -> pd.DataFrame:
    return spot.spot_table(data, CCG)


def test_default_has_the_23_programme_budgeting_categories(data):
    top = data.programmes[data.programmes["parent_code"] == ""]
    assert top["programme_code"].tolist() == [str(i) for i in range(1, 24)]
    names = dict(zip(top["programme_code"], top["programme_name"]))
    assert names["2"] == "Cancers and tumours" and names["10"] == "Problems of circulation"
    assert names["5"] == "Mental health disorders" and names["11"].endswith("respiratory system")
    assert data.programmes.set_index("programme_code").at["17b", "parent_code"] == "17"
    assert (data.programmes["source"] != "").all()


def test_peer_group_is_manufacturing_towns_with_labelled_synthetic_peers(data):
    peers = data.peer_group
    assert set(peers["peer_group"]) == {"Manufacturing Towns"}  # seed 002 line 363
    ccg = peers[peers["area_code"] == CCG].iloc[0]
    assert ccg["area_name"] == "NHS North Derbyshire CCG" and not ccg["synthetic"]
    synth = peers[peers["synthetic"]]
    assert len(synth) == 15 and synth["area_code"].str.fullmatch(r"SYNCCG\d\d").all()
    assert synth["area_name"].str.startswith("Synthetic peer CCG").all()
    assert data.spend["synthetic"].all()  # no spend is published
    assert not data.outcomes.loc[data.outcomes["area_code"] == CCG, "synthetic"].any()
    assert data.outcomes.loc[data.outcomes["area_code"] != CCG, "synthetic"].all()


def test_outcomes_are_calibrated_to_the_published_ccg_and_cluster_values(root, data):
    seed = pd.read_csv(
        root / "data" / "default" / "seed_profile.csv", dtype={"indicator_id": str}
    ).set_index("indicator_id")
    z = spot.outcome_zscores(data, CCG).set_index("indicator_id")
    for ind, row in data.outcome_indicators.set_index("indicator_id").iterrows():
        pub = seed.loc[row["profile_indicator_id"]]
        assert z.at[ind, "value"] == pytest.approx(pub["ccg_value"])  # published
        assert z.at[ind, "peer_mean"] == pytest.approx(pub["cluster_value"], abs=1e-9)
        expected = (pub["ccg_value"] - pub["cluster_value"]) / (
            synth_spot.OUTCOME_CV[ind] * pub["cluster_value"]
        )
        if row["polarity"] == "low_is_good":
            expected = -expected
        assert z.at[ind, "outcome_z"] == pytest.approx(expected, abs=0.03)
        assert np.sign(round(z.at[ind, "outcome_z"], 6)) == np.sign(round(expected, 6))


def test_ccg_position_reproduces_seed_line_355(table):
    # "better outcomes with a lower level of expenditure on many clinical programme areas"
    counts = spot.quadrant_counts(table)
    assert counts[spot.LOWER_BETTER] == 8
    assert counts[spot.HIGHER_WORSE] == 1 and counts[spot.NOT_CLASSIFIED] == 13
    spend = table.set_index("programme_code")["spend_z"]
    for code, target in synth_spot.CCG_SPEND_Z.items():
        assert spend[code] == pytest.approx(target, abs=0.01)
    assert table.iloc[0]["quadrant"] == spot.HIGHER_WORSE  # ranked first
    assert table.iloc[0]["short_name"] == "Endocrine"


def test_generator_rewrites_the_committed_files_byte_for_byte(root, tmp_path):
    data_dir = tmp_path / "default"
    (data_dir / "spot").mkdir(parents=True)
    for name in ("areas.csv", "seed_profile.csv"):
        shutil.copy(root / "data" / "default" / name, data_dir / name)
    for name in ("programmes.csv", "outcome_indicators.csv"):
        shutil.copy(SPOT_DIR / name, data_dir / "spot" / name)
    synth_spot.write(data_dir)
    for name in ("peer_group", "spend", "outcomes"):
        ours = (data_dir / "spot" / f"{name}.csv").read_bytes()
        assert ours == (SPOT_DIR / f"{name}.csv").read_bytes(), f"{name}.csv differs"
    synth_spot.write(data_dir, seed=1)
    assert (data_dir / "spot" / "spend.csv").read_bytes() != (SPOT_DIR / "spend.csv").read_bytes()


def test_place_peers_hits_the_target_mean_and_sd_exactly():
    peers = synth_spot.place_peers(57.9, 64.2, 7.7, 15, np.random.default_rng(0))
    members = np.concatenate([[57.9], peers])
    assert members.mean() == pytest.approx(64.2)
    assert members.std(ddof=1) == pytest.approx(7.7)
    with pytest.raises(ValueError, match="too far"):
        synth_spot.place_peers(100.0, 0.0, 1.0, 15, np.random.default_rng(0))


# --- charts ----------------------------------------------------------------------------------


def _layers(spec: dict) -> list[dict]:
    return spec["layer"]


def _data(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def test_quadrant_chart_spec(table):
    chart = spot_quadrant(
        spot.quadrant_data(table), area_name="North Derbyshire", peer_group="Manufacturing Towns"
    )
    spec = chart.to_dict()
    plot, key = spec["vconcat"]  # the quadrant, then the key of its numbered points
    layers = plot["layer"]
    marks = [(l["mark"]["type"] if isinstance(l["mark"], dict) else l["mark"]) for l in layers]
    assert marks.count("rect") == 3 and "circle" in marks and marks.count("text") == 3
    # shading: the four quadrants, coloured by fill with no legend
    shade = next(l for l in layers if l["mark"]["type"] == "rect" and "color" in l["encoding"])
    assert {r["quadrant"] for r in _data(spec, shade)} == set(spot.QUADRANTS)
    # the ±2 box solid, the ±1 box dotted
    boxes = [
        l
        for l in layers
        if l["mark"]["type"] == "rect"
        and l["mark"].get("fill") is None
        and "color" not in l["encoding"]
    ]
    spans = {(_data(spec, b)[0]["lo"], _data(spec, b)[0]["hi"]): b["mark"] for b in boxes}
    assert "strokeDash" not in spans[(-2.0, 2.0)] and spans[(-1.0, 1.0)]["strokeDash"]
    # points: labelled programmes at (spend z, outcome z), sized by spend, on a symmetric scale
    pts = next(l for l in layers if l["mark"]["type"] == "circle")
    assert pts["encoding"]["x"]["field"] == "spend_z"
    assert pts["encoding"]["y"]["field"] == "outcome_z"
    assert pts["encoding"]["size"]["field"] == "spend_m"
    dom = pts["encoding"]["x"]["scale"]["domain"]
    assert dom[0] == -dom[1] and dom[1] >= 3
    labels = [
        l
        for l in layers
        if l["mark"]["type"] == "text" and l["encoding"]["text"]["field"] == "point"
    ]
    assert len(labels) == 1
    keyed = {r["key"] for r in _data(spec, key)}
    assert {f"{r['point']}  {r['programme_name']}" for r in _data(spec, labels[0])} == keyed
    rows = _data(spec, pts)
    assert len(rows) == 10 and {r["programme"] for r in rows} >= {"Circulation", "Cancers"}
    assert "Spend and outcome for North Derbyshire" in spec["title"]["text"]
    assert "10 programme budgeting categories" in spec["description"]
    # no count-like fields in the embedded data
    for data in spec["datasets"].values():
        for row in data:
            assert not any(w in k.lower() for k in row for w in COUNT_COLUMNS)


def test_zscore_bar_chart_spec(data):
    bars = spot.zscore_bar_data(data, CCG, "outcome")
    assert len(bars) == 15 and (bars["z"] >= -3).all()
    spec = zscore_bars(bars, title="Outcomes").to_dict()
    layers = _layers(spec)
    assert layers[0]["mark"]["type"] == "bar" and layers[0]["encoding"]["x"]["field"] == "z"
    rules = {tuple(sorted(r["z"] for r in _data(spec, l))): l["mark"] for l in layers[1:]}
    assert rules[(-1.0, 1.0)]["strokeDash"] and "strokeDash" not in rules[(-2.0, 2.0)]
    assert (0.0,) in rules
    retinopathy = bars.set_index("label").loc[
        "Access to non-cancer screening programmes: Diabetic retinopathy"
    ]
    assert retinopathy["z"] < 0 and retinopathy["direction"] == "worse"
    spend = spot.zscore_bar_data(data, CCG, "spend")
    assert len(spend) == 23 and set(spend["direction"]) == {"higher", "lower"}
    with pytest.raises(ValueError, match="measure"):
        spot.zscore_bar_data(data, CCG, "cost")


def test_charts_refuse_data_of_the_wrong_shape():
    with pytest.raises(ValueError, match="quadrant_data"):
        spot_quadrant(pd.DataFrame({"spend_z": [1.0]}))
    with pytest.raises(ValueError, match="zscore_bar_data"):
        zscore_bars(pd.DataFrame({"z": [1.0]}), title="x")
    with pytest.raises(ValueError, match="relative_data"):
        relative_to_ccg(pd.DataFrame({"relative": [1.0]}))


# --- importer --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def programmes() -> pd.DataFrame:
    return pb.read_programmes(SPOT_DIR / "programmes.csv")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_wide_programme_budgeting_layout_in_thousands_equals_the_long_layout(tmp_path, programmes):
    wide = _write(
        tmp_path / "wide.csv",
        "Org Code,Org Name,Weighted Population,Programme 02 Cancers & Tumours (£000s),"
        "10 Problems of circulation (£000s),17b Renal (£000s)\n"
        "Q1,One,\"200,000\",\"21,000\",27000.5,4000\n"
        "Q2,Two,100000,9000,14000,1500\n",
    )
    long = _write(
        tmp_path / "long.csv",
        "area_code,year,programme_code,spend_gbp,weighted_population\n"
        "Q1,2010/11,02,21000000,200000\nQ1,2010/11,10,27000500,200000\n"
        "Q1,2010/11,17b,4000000,200000\nQ2,2010/11,2,9000000,100000\n"
        "Q2,2010/11,10,14000000,100000\nQ2,2010/11,17B,1500000,100000\n",
    )
    a = pb.read_spend(wide, programmes, year="2010/11")
    b = pb.read_spend(long, programmes)
    key = ["area_code", "programme_code"]
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        a[key + ["year", "spend_gbp", "spend_per_head"]],
        b[key + ["year", "spend_gbp", "spend_per_head"]],
    )
    assert a.set_index(key).loc[("Q1", "2"), "spend_per_head"] == pytest.approx(105.0)


@pytest.mark.parametrize(
    "body, where, what",
    [
        ("Q1,2010/11,2,12x,1000\n", "line 2, column spend_gbp", "expected a number, found '12x'"),
        ("Q1,2010/11,2,*,1000\n", "line 2, column spend_gbp", "found '*'"),
        ("Q1,2010/11,2,inf,1000\n", "line 2, column spend_gbp", "expected a number"),
        ("Q1,2010/11,2,-5,1000\n", "line 2, column spend_gbp", "expected a number >= 0"),
        ("Q1,2010/11,99,5,1000\n", "line 2, column programme_code", "found '99'"),
        ("Q1,2010/11,2,5,0\n", "line 2, column weighted_population", "above 0"),
        (
            "Q1,2010/11,2,5,1000\n\nQ1,2010/11,2,6,1000\n",
            "line 4, column area_code, year, programme_code",
            "first on line 2",
        ),
        ("Q1,2010/11,2,5\n", "line 2", "expected 5 fields"),
    ],
)
def test_spend_import_errors_name_the_line_and_column(tmp_path, programmes, body, where, what):
    path = _write(
        tmp_path / "spend.csv",
        "area_code,year,programme_code,spend_gbp,weighted_population\n" + body,
    )
    with pytest.raises(pb.ProgrammeBudgetError) as err:
        pb.read_spend(path, programmes)
    assert str(err.value).startswith(f"spend.csv, {where}: ")
    assert what in str(err.value)


def test_spend_per_head_must_agree_with_spend_and_population(tmp_path, programmes):
    path = _write(
        tmp_path / "spend.csv",
        "area_code,year,programme_code,spend_gbp,weighted_population,spend_per_head\n"
        "Q1,2010/11,2,100000,1000,100.00\nQ1,2010/11,10,100000,1000,101.00\n",
    )
    with pytest.raises(
        pb.ProgrammeBudgetError,
        match=r"line 3, column spend_per_head: "
        r"expected .* = 100.00, found 101.00",
    ):
        pb.read_spend(path, programmes)


def test_missing_columns_and_unknown_programme_headers_are_refused(tmp_path, programmes):
    path = _write(tmp_path / "s.csv", "area_code,programme_code,spend_gbp\nQ1,2,5\n")
    with pytest.raises(
        pb.ProgrammeBudgetError,
        match="line 1, column weighted_population, year: expected the column",
    ):
        pb.read_spend(path, programmes)
    path = _write(
        tmp_path / "w.csv", "Area Code,Year,Weighted Population,24 Unknown\nQ1,2010/11,1000,5\n"
    )
    with pytest.raises(pb.ProgrammeBudgetError, match="line 1, column 24 Unknown"):
        pb.read_spend(path, programmes)


def test_outcome_and_indicator_import(tmp_path, programmes):
    inds = _write(
        tmp_path / "i.csv",
        "indicator_id,indicator_name,programme_code,polarity,"
        "headline\nM1,Mortality,10,low_is_good,true\nM2,Other,10,no_judgement,false\n",
    )
    with pytest.raises(
        pb.ProgrammeBudgetError,
        match="i.csv, line 3, column polarity: expected one of high_is_good",
    ):
        pb.read_outcome_indicators(inds, programmes)
    inds = _write(
        tmp_path / "i.csv",
        "indicator_id,indicator_name,programme_code,polarity,"
        "headline\nM1,Mortality,10,low_is_good,true\nM2,Other,10,low_is_good,yes\n",
    )
    with pytest.raises(
        pb.ProgrammeBudgetError, match="line 3, column headline: expected at most one headline"
    ):
        pb.read_outcome_indicators(inds, programmes)
    inds = _write(
        tmp_path / "i.csv",
        "indicator_id,indicator_name,programme_code,polarity\nM1,Mortality,10,low_is_good\n",
    )
    meta = pb.read_outcome_indicators(inds, programmes)
    # a Fingertips-style export: Area Code, Indicator ID, Time period, Value
    out = _write(
        tmp_path / "o.csv",
        "\ufeffIndicator ID,Area Code,Time period,Value\nM1,Q1,2012,\"1,057.5\"\nM1,Q2,2012,900\n",
    )
    got = pb.read_outcomes(out, meta)
    assert got["value"].tolist() == [1057.5, 900.0] and got["area_code"].tolist() == ["Q1", "Q2"]
    bad = _write(tmp_path / "o.csv", "Indicator ID,Area Code,Time period,Value\nM9,Q1,2012,1\n")
    with pytest.raises(pb.ProgrammeBudgetError, match="line 2, column indicator_id"):
        pb.read_outcomes(bad, meta)


def test_non_utf8_file_is_refused(tmp_path, programmes):
    path = tmp_path / "s.csv"
    path.write_bytes(
        "area_code,year,programme_code,spend_gbp,weighted_population\n"
        "Q1,2010/11,2,£5,1000\n".encode("cp1252")
    )
    with pytest.raises(pb.ProgrammeBudgetError, match="expected UTF-8"):
        pb.read_spend(path, programmes)


# --- validation gate -------------------------------------------------------------------------


def test_spot_suites_are_registered_and_pass_on_the_default(root):
    from nhsbook.io.embedded import DATASETS
    from nhsbook.validation import gate

    for name in spot.FILES:
        assert DATASETS[name] == f"spot/{spot.FILES[name]}"
        assert (root / "expectations" / f"{name}.json").is_file()
    for name in spot.RECONCILIATIONS:
        assert name in gate.RECONCILIATIONS
        suite = json.loads((root / "expectations" / f"{name}.json").read_text())
        assert suite["meta"]["nhsbook"]["anchor"] in spot.FILES


def test_gate_names_the_broken_spot_rows(root, tmp_path):
    from nhsbook.validation.gate import validate_book

    data = tmp_path / "default"
    shutil.copytree(root / "data" / "default", data)
    spend = (data / "spot" / "spend.csv").read_text().splitlines()
    cells = spend[2].split(",")
    cells[5] = f"{float(cells[5]) + 2:.2f}"  # spend_per_head no longer agrees
    spend[2] = ",".join(cells)
    spend[3] = spend[3].replace("SYNCCG02", "SYNCCG99", 1)  # an area outside the peer group
    (data / "spot" / "spend.csv").write_text("\n".join(spend) + "\n")
    report = validate_book(data, root=data)
    assert not report.ok
    found = {(f.dataset, tuple(f.lines)): f for f in report.failures}
    assert ("spot_reconcile_spend", (3,)) in found
    assert "spend_per_head" in found[("spot_reconcile_spend", (3,))].rule
    assert ("spot_reconcile_spend", (4,)) in found
    assert "peer_group.csv" in found[("spot_reconcile_spend", (4,))].rule
    cover = [f for f in report.failures if f.dataset == "spot_reconcile_coverage"]
    assert cover and cover[0].values[0]["area_code"] == "SYNCCG02"


# --- locality packs --------------------------------------------------------------------------

LOCALITIES = ["ND-CHE", "ND-DRO", "ND-HPK", "ND-NDA", "ND-NEA"]


@pytest.mark.parametrize("code", LOCALITIES)
def test_locality_pack_lists_significant_differences_from_the_ccg(computed, code):
    values, meta, areas = computed["values"], computed["metadata"], computed["areas"]
    pack = spot.locality_pack(values, meta, areas, code)
    assert pack.ccg == CCG and not pack.england
    mine = values[values["area_code"] == code].set_index("indicator_id")
    worse = set(pack.worse()["indicator_id"])
    expected = {
        i
        for i, r in mine.iterrows()
        if r["significance"] in ("Worse", "Worst") and not (1 <= r["count"] <= 4)
    }
    assert worse == expected and worse
    better = pack.better()
    assert (better["Locality vs CCG"].isin(spot.BETTER)).all()
    # practice outliers are exactly the funnel outliers of the locality's practices
    pts = variation.practice_points(
        values, meta, areas, variation.practices_below(areas, code), CCG
    )
    pd.testing.assert_frame_equal(pack.practice_outliers, variation.outliers(pts))
    assert set(pack.practice_outliers["Practice code"]) <= set(
        areas.loc[areas["parent_code"] == code, "area_code"]
    )
    # nothing published from the pack carries a count
    assert not disclosive_cells(spot.pack_table(pack.rows))
    assert not any(w in c.lower() for c in spot.relative_data(pack).columns for w in COUNT_COLUMNS)


def test_locality_pack_compares_with_england_when_england_values_exist(computed):
    values, meta, areas = computed["values"], computed["metadata"], computed["areas"]
    ccg = values[values["area_code"] == CCG].copy()
    england = ccg.assign(area_code="E92000001", area_type="england")
    # England just above the CCG's upper limit on A26 (low is good: the CCG is better)
    england.loc[england["indicator_id"] == "A26", "value"] = (
        ccg.loc[ccg["indicator_id"] == "A26", "upper_95"].to_numpy() + 1
    )
    pack = spot.locality_pack(pd.concat([values, england]), meta, areas, "ND-CHE")
    assert pack.england
    row = pack.rows.set_index("indicator_id").loc["A26"]
    assert row["CCG vs England"] == "Better"
    assert row["England value"] == pytest.approx(
        float(ccg.loc[ccg["indicator_id"] == "A26", "upper_95"].iloc[0]) + 1
    )


def test_locality_pack_refuses_an_area_that_is_not_a_locality(computed):
    with pytest.raises(KeyError, match="not a locality"):
        spot.locality_pack(computed["values"], computed["metadata"], computed["areas"], CCG)


def test_relative_chart_spec(computed):
    pack = spot.locality_pack(computed["values"], computed["metadata"], computed["areas"], "ND-NDA")
    rel = spot.relative_data(pack)
    row = pack.rows.set_index("Indicator").loc[rel["indicator"].iloc[0]]
    assert rel["relative"].iloc[0] == pytest.approx(
        round(100 * row["Locality value"] / row["CCG value"], 1)
    )
    spec = relative_to_ccg(rel, locality="North Dales").to_dict()
    kinds = [l["mark"]["type"] for l in spec["layer"]]
    assert kinds == ["rule", "rule", "circle"]
    assert spec["layer"][2]["encoding"]["color"]["field"] == "significance"
    assert "North Dales" in spec["description"]


# --- notebooks -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, area", [("spot", CCG), ("locality_pack", "ND-CHE")])
def test_notebooks_are_parameterised_pages(root, name, area):
    nb = json.loads((root / "notebooks" / f"{name}.ipynb").read_text())
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and f'area_code = "{area}"' in "".join(params[0]["source"])
    code = [c for c in cells if c["cell_type"] == "code" and c not in params]
    assert all(set(c["metadata"]["tags"]) & {"remove-input", "remove-cell"} for c in code)


def test_page_tables_escape_names_and_keep_numbers_readable():
    from nhsbook.pages.tables import table  # what notebooks/spot.ipynb shows the table with

    html = table(
        pd.DataFrame(
            {
                "Indicator": ["<b>x</b> & y"],
                "Value": [1234.5678],
                "Rank": [3],
                "Spend per head (£)": [54.34],
            }
        ),
        formats={"Spend per head (£)": 0},
    ).data
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in html and "<b>x" not in html
    # the book's number format (nhsbook.core.fmt): 1 decimal, whole pounds per head
    assert "1,234.6" in html and ">3<" in html and ">54<" in html and "54.34" not in html


def test_summary_names_the_higher_spend_worse_outcome_programmes(table):
    text = spot.summary_markdown(table, "North Derbyshire", "Manufacturing Towns")
    assert "8 lower spend, better outcome" in text
    assert "No programme of North Derbyshire lies beyond ±2" in text
    assert "Endocrine (spend z +1.10, outcome z -0.92)" in text
