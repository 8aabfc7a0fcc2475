"""Local-authority books from the ONS series (loader ``ons_local``, books/derbyshire-county.yml):
the periods, the gate and the readers on bad inputs (each ONS layout), the county and its
districts, a second county by code, and the Derbyshire County book built once (site included)
in a copy of the project."""

from __future__ import annotations

import gzip
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from nhsbook.config.book import copy_project
from nhsbook.config import sources
from nhsbook.io import ons_local
from nhsbook.validation.gate import validate_datasets
from test_bad_inputs_current import _failure  # the corpus's own failure check

ROWS = 200
COUNTY, REGION, ENGLAND = "E10000007", "E12000004", "E92000001"
DERBYSHIRE_DISTRICTS = {
    "E07000032",
    "E07000033",
    "E07000034",
    "E07000035",
    "E07000036",
    "E07000037",
    "E07000038",
    "E07000039",
}


# --- periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, label",
    [
        ("2021-01-01T00:00:00/P3Y", "2021-23"),
        ("2001-01-01T00:00:00/P3Y", "2001-03"),
        ("2015-11-16T00:00:00/P1Y", "2015/16"),
        ("2021-08-01T00:00:00/P1Y", "2021/22"),
        ("1999-04-01T00:00:00/P1Y", "1999/00"),
        ("2023-01-01T00:00:00/P1Y", "2023"),
        ("2013", "2013"),
        (" 2013 ", "2013"),
    ],
)
def test_iso_interval_periods_become_the_publishers_labels(text, label):
    assert ons_local.period_label(text) == label


@pytest.mark.parametrize(
    "text",
    ["2021-01-01/P3Y", "2021-01-01T00:00:00/P0Y", "21", "2021-23", "2021-01-01T00:00:00/P3M", ""],
)
def test_other_periods_are_refused(text):
    with pytest.raises(ValueError, match="period"):
        ons_local.period_label(text)


# --- the gate and the readers on bad inputs --------------------------------------------------


@dataclass(frozen=True)
class Case:
    dataset: str  # dataset name (its suite: ons_local.SUITES)
    number: str  # a numeric column (header as published)
    code: str  # the area-code column
    bad_code: str  # a code no ONS geography has
    key: tuple[str, ...]  # the key columns

    def __str__(self) -> str:
        return self.dataset

    def read(self, path: Path):
        if self.dataset.startswith("els_"):
            return ons_local.read_series(path, self.dataset)
        real = {n: sources.locate(k) for n, k in ons_local.DATASETS.items()}
        if self.dataset == "ons_health_index_indicators":
            return ons_local.read_health_index(path, real["ons_health_index_scores"])
        return ons_local.read_health_index(real["ons_health_index_indicators"], path)


CASES = [
    Case(
        "els_cigarette_smokers",
        "Observation",
        "AREACD",
        "E99000001",
        ("AREACD", "Indicator", "Period"),
    ),
    Case("els_ncmp_reception", "Value", "AREACD", "X12000004", ("AREACD", "Indicator", "Period")),
    Case(
        "els_healthy_life_expectancy",
        "observation",
        "areacd",
        "E1000007",
        ("areacd", "indicator", "period"),
    ),
    Case(
        "ons_health_index_indicators",
        "value",
        "ltla21_code",
        "E10000007",
        ("ltla21_code", "year", "indicator"),
    ),
    Case(
        "ons_health_index_scores",
        "overall_score",
        "ltla21_code",
        "E12000004",
        ("ltla21_code", "year"),
    ),
]


def _head(case: Case) -> pd.DataFrame:
    path = sources.locate(ons_local.DATASETS[case.dataset])
    return pd.read_csv(path, dtype=str, keep_default_na=False, nrows=ROWS, encoding="utf-8-sig")


def _write(frame: pd.DataFrame, case: Case, folder: Path) -> Path:
    """Written as published: gzipped, with a byte-order mark where the real file has one."""
    real = sources.locate(ons_local.DATASETS[case.dataset])
    opener = gzip.open if real.suffix == ".gz" else open
    with opener(real, "rb") as fh:
        bom = fh.read(3) == b"\xef\xbb\xbf"
    out = folder / real.name
    text = frame.to_csv(index=False)
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    if real.suffix == ".gz":
        out.write_bytes(gzip.compress(data))
    else:
        out.write_bytes(data)
    return out


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_clean_slice_passes(case, tmp_path):
    path = _write(_head(case), case, tmp_path)
    report = validate_datasets({case.dataset: path})
    assert report.ok, [f.where() for f in report.failures]
    assert len(case.read(path)) > 0


@pytest.mark.parametrize("case", CASES, ids=str)
def test_wrong_header(case, tmp_path):
    frame = _head(case).rename(columns={case.code: case.code + "_x"})
    path = _write(frame, case, tmp_path)
    report = validate_datasets({case.dataset: path})
    f = next(f for f in report.failures if f.expectation == "expect_table_columns_to_match_set")
    assert f.file.endswith(path.name) and case.code in " ".join(map(str, f.values)) + f.rule
    with pytest.raises(ValueError, match=rf"{re.escape(path.name)}, line 1 \(header\)"):
        case.read(path)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_text_in_numbers(case, tmp_path):
    frame = _head(case)
    frame.loc[7, case.number] = "12a"
    path = _write(frame, case, tmp_path)
    f = _failure(validate_datasets({case.dataset: path}), path, case.number)
    assert 7 + 2 in f.lines
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(path.name)}, line 9, column "
        rf"'{case.number}'",
    ):
        case.read(path)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_unknown_codes(case, tmp_path):
    frame = _head(case)
    frame.loc[11, case.code] = case.bad_code
    path = _write(frame, case, tmp_path)
    f = _failure(validate_datasets({case.dataset: path}), path, case.code)
    assert 11 + 2 in f.lines and {case.code: case.bad_code} in f.values
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(path.name)}, line 13, column "
        rf"'{case.code}': unknown area code",
    ):
        case.read(path)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_duplicated_keys(case, tmp_path):
    frame = _head(case)
    frame = pd.concat([frame, frame.iloc[[20]]], ignore_index=True)
    path = _write(frame, case, tmp_path)
    report = validate_datasets({case.dataset: path})
    assert not report.ok
    hits = [f for f in report.failures if set(f.columns) & set(case.key)]
    assert hits, [f.where() for f in report.failures]
    assert {20 + 2, len(frame) + 1} <= set(hits[0].lines)
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(path.name)}, lines 22 and "
        rf"{len(frame) + 1}: the key",
    ):
        case.read(path)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_blank_key(case, tmp_path):
    frame = _head(case)
    frame.loc[5, case.key[-1]] = ""
    path = _write(frame, case, tmp_path)
    f = _failure(validate_datasets({case.dataset: path}), path, case.key[-1])
    assert 5 + 2 in f.lines
    with pytest.raises(
        ValueError,
        match=rf"{re.escape(path.name)}, line 7, column "
        rf"'{case.key[-1]}': blank key",
    ):
        case.read(path)


def test_every_dataset_has_its_suite_and_registry_entry():
    from nhsbook.validation.gate import suite_for

    reg = sources.load_registry()
    for name, key in ons_local.DATASETS.items():
        assert key in reg and reg[key].licence == "OGL-3.0"
        assert suite_for(name) == ons_local.SUITES[name]
        assert (Path(__file__).parents[1] / "expectations" / f"{suite_for(name)}.json").is_file()


# --- the county, its districts and a second county -------------------------------------------


def _book(tmp_path: Path, root: Path, authority: str, name: str, region: str = "") -> Path:
    """A copy of books/derbyshire-county.yml for another authority, beside which its inputs
    may lie (the book file's folder is allowed); the caller removes its tables."""
    text = (root / "books" / "derbyshire-county.yml").read_text(encoding="utf-8")
    text = text.replace("name: derbyshire-county", f"name: {name}")
    text = text.replace("authority: E10000007", f"authority: {authority}")
    text = text.replace("  region: E12000004\n", f"  region: {region}\n" if region else "")
    path = tmp_path / f"{name}.yml"
    text = text.replace("data: books/derbyshire-county.yml", f"data: {path}")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def county(root):
    from nhsbook.config.book import load_book
    from nhsbook.pipeline.store import compute_and_store

    return compute_and_store(load_book("derbyshire-county", root=root))


def test_derbyshire_county_its_region_england_and_eight_districts(county):
    areas = county["areas"].set_index("area_code")
    assert areas.loc[COUNTY, "area_name"] == "Derbyshire"
    assert areas.loc[COUNTY, ["area_type", "parent_code", "comparator_code"]].tolist() == [
        "county",
        REGION,
        REGION,
    ]
    assert areas.loc[REGION, "area_name"] == "East Midlands"
    districts = areas[areas["area_type"] == "district"]
    assert set(districts.index) == DERBYSHIRE_DISTRICTS
    assert districts["parent_code"].eq(COUNTY).all()
    assert districts["comparator_code"].eq(ENGLAND).all()
    assert "Derbyshire Dales" in set(districts["area_name"])


def test_every_period_with_the_published_value_and_limits(county, shared):
    """The county's preventable CVD series: all 21 three-year periods 2001-03 … 2021-23,
    each value and limit exactly as published; significance from the published limits."""
    v = county["values"]
    cvd = v[(v["area_code"] == COUNTY) & (v["indicator_id"] == "ONS_CVD_PREVENTABLE")]
    assert len(cvd) == 21 and cvd["period"].min() == "2001-03"
    assert cvd["period"].max() == "2021-23"
    raw = pd.read_csv(
        shared
        / "data"
        / "current"
        / "indicators_ons"
        / "els_cardiovascular-mortality-considered-preventable-in-persons-a.csv.gz",
        encoding="utf-8-sig",
    )
    row = raw[(raw["AREACD"] == COUNTY) & (raw["Period"] == "2021-01-01T00:00:00/P3Y")].iloc[0]
    got = cvd[cvd["period"] == "2021-23"].iloc[0]
    assert got["value"] == pytest.approx(row["Observation"])
    assert got["lower_95"] == pytest.approx(row["Lower Confidence Interval (95%)"])
    assert got["upper_95"] == pytest.approx(row["Upper Confidence Interval (95%)"])
    region = raw[(raw["AREACD"] == REGION) & (raw["Period"] == row["Period"])].iloc[0]
    assert got["comparator_value"] == pytest.approx(region["Observation"])
    # the region lies above the county's upper limit and low is good (polarity -1)
    assert region["Observation"] > row["Upper Confidence Interval (95%)"]
    assert got["significance"] == "Better"
    smoking = v[(v["area_code"] == COUNTY) & (v["indicator_id"] == "ONS_SMOKING")]
    assert sorted(smoking["period"]) == [str(y) for y in range(2012, 2024)]


def test_health_index_for_districts_only_and_hle_for_the_county_only(county):
    v = county["values"]
    hi = v[v["indicator_id"].str.startswith("HI_")]
    assert set(hi["area_code"]) == DERBYSHIRE_DISTRICTS
    assert hi.groupby("area_code")["indicator_id"].nunique().eq(60).all()  # 56 + 4 scores
    assert sorted(hi["period"].unique()) == [str(y) for y in range(2015, 2022)]
    assert (hi["significance"] == "Not compared").all()  # no limits: never judged
    hle = v[v["indicator_id"].isin(["ONS_HLE_M", "ONS_HLE_F"])]
    assert set(hle["area_code"]) == {COUNTY, REGION, ENGLAND}
    assert set(hle["period"]) >= {"2011-13", "2021-23"}


def test_trends_rest_on_the_published_limits(root):
    from nhsbook.pages.area import TREND_BASIS, AreaPage

    page = AreaPage.load(COUNTY, "derbyshire-county")
    trends = page.trends().drop_duplicates("indicator_id").set_index("indicator_id")
    assert trends.loc["ONS_SMOKING", "trend_basis"] == TREND_BASIS["limits"]
    assert trends.loc["ONS_SMOKING", "trend"] != "Cannot be calculated"
    assert set(page.profiles(with_values=True)) == {"adult", "child"}
    assert "health_index" in page.profiles()
    district = AreaPage.load("E07000035", "derbyshire-county")  # Derbyshire Dales
    t = district.trends().drop_duplicates("indicator_id").set_index("indicator_id")
    assert t.loc["HI_OVERALL_SCORE", "trend_basis"] == TREND_BASIS["none"]
    assert not page.second_comparison().empty  # the county against England too


def test_a_second_county_by_code(tmp_path, root):
    """Nottinghamshire (E10000024) by its code alone: its seven districts, the East Midlands
    known without being named; a unitary authority needs its region."""
    from nhsbook.config.book import load_book
    from nhsbook.pipeline.store import compute_and_store

    path = _book(tmp_path, root, "E10000024", "test-ons-local-notts")
    try:
        cfg = load_book(str(path))
        computed = compute_and_store(cfg)
        areas = computed["areas"].set_index("area_code")
        assert areas.loc["E10000024", "area_name"] == "Nottinghamshire"
        assert areas.loc["E10000024", "parent_code"] == REGION
        districts = areas[areas["area_type"] == "district"]
        assert len(districts) == 7 and "Bassetlaw" in set(districts["area_name"])
        assert not (set(districts.index) & DERBYSHIRE_DISTRICTS)
        path.write_text(path.read_text().replace("E10000024", "E06000015"))
        with pytest.raises(ons_local.OnsLocalError, match="region"):
            ons_local.options(load_book(str(path)))
        path.write_text(path.read_text().replace("E06000015", "E07000032"))
        with pytest.raises(ons_local.OnsLocalError, match="upper-tier"):
            ons_local.options(load_book(str(path)))
    finally:
        path.unlink(missing_ok=True)
        shutil.rmtree(root / "build" / "test-ons-local-notts", ignore_errors=True)


# --- similar-area peers of the county and its districts (nhsbook.analysis.peers) ----------------------


def test_every_district_has_one_upper_tier_authority():
    """The ONS label point of each of England's 296 districts (May 2024) in one county
    boundary (December 2023), unitaries their own upper tier: 153 upper-tier authorities, 21
    counties holding the 164 two-tier districts (ONS's counts for 2024), Derbyshire's eight."""
    from nhsbook.io.lsoa21_attributes import read_upper_tier

    t = read_upper_tier(
        sources.locate("lad_may2024_boundaries"), sources.locate("ctyua_dec2023_boundaries")
    )
    assert len(t) == 296 and t["ltla24_code"].is_unique
    assert t["utla_code"].nunique() == 153
    two_tier = t[t["ltla24_code"].str.startswith("E07")]
    assert len(two_tier) == 164 and two_tier["utla_code"].str.startswith("E10").all()
    assert two_tier["utla_code"].nunique() == 21
    unitary = t[~t["ltla24_code"].str.startswith("E07")]
    assert (unitary["ltla24_code"] == unitary["utla_code"]).all()
    assert set(t.loc[t["utla_code"] == COUNTY, "ltla24_code"]) == DERBYSHIRE_DISTRICTS


def test_a_district_outside_every_county_is_refused(tmp_path):
    """A two-tier district whose label point is in no county fails, naming the file and the
    district."""
    import json

    from nhsbook.io.current import CurrentFormatError
    from nhsbook.io.lsoa21_attributes import read_upper_tier

    lad = json.loads(Path(sources.locate("lad_may2024_boundaries")).read_text(encoding="utf-8"))
    for f in lad["features"]:
        if f["properties"]["LAD24CD"] == "E07000035":
            f["properties"]["LONG"], f["properties"]["LAT"] = -30.0, 10.0  # the Atlantic
    bad = tmp_path / "lad.geojson"
    bad.write_text(json.dumps(lad), encoding="utf-8")
    with pytest.raises(
        CurrentFormatError,
        match=r"lad\.geojson: district E07000035 "
        r"\(Derbyshire Dales\).*0 counties",
    ):
        read_upper_tier(bad, sources.locate("ctyua_dec2023_boundaries"))


def test_county_peers_recompute_from_the_raw_files(county, current):
    """Derbyshire's ten peers among England's 153 counties and unitaries: the variables from
    the raw files (IMD 2025 by LSOA weighted by Census 2021 residents, % rural, Census ages,
    size), standardised by hand, give each distance, and they are the ten nearest."""
    import numpy as np

    from nhsbook.io.lsoa21_attributes import read_upper_tier

    imd = pd.read_csv(current / "imd" / "imd2025_england_lsoa21.csv.gz")
    ruc = pd.read_csv(current / "geography" / "ruc21_lsoa21_ew.csv.gz")
    look = pd.read_csv(current / "geography" / "lsoa21_ward24_ltla24_ew.csv.gz")
    census = pd.read_csv(
        current / "population" / "census2021_TS007A_age_5yr_lsoa21_ew_nomis.csv.gz", skiprows=5
    )
    census = census.dropna(subset=["mnemonic"]).rename(columns={"mnemonic": "lsoa21_code"})
    young = [c for c in census.columns if c.startswith("Aged")][:3]
    old = [c for c in census.columns if c.startswith("Aged")][13:]
    assert young[0].startswith("Aged 4 years and under") and "85 years and over" in old[-1]
    upper = read_upper_tier(
        sources.locate("lad_may2024_boundaries"), sources.locate("ctyua_dec2023_boundaries")
    )
    lsoa = (
        look[["lsoa21_code", "ltla24_code"]]
        .merge(upper, on="ltla24_code")
        .merge(imd[["lsoa21_code", "IMD_score"]], on="lsoa21_code")
        .merge(ruc[["lsoa21_code", "ruc"]], on="lsoa21_code")
        .merge(census, on="lsoa21_code")
    )
    lsoa["young"], lsoa["old"] = lsoa[young].sum(axis=1), lsoa[old].sum(axis=1)
    g = lsoa.assign(
        sw=lsoa["IMD_score"] * lsoa["Total"], rp=lsoa["Total"] * (lsoa["ruc"] == "Rural")
    ).groupby("utla_code")
    s = g[["sw", "rp", "Total", "young", "old"]].sum()
    raw = pd.DataFrame(
        {
            "imd_score": s["sw"] / s["Total"],
            "pct_under_15": 100 * s["young"] / s["Total"],
            "pct_65_plus": 100 * s["old"] / s["Total"],
            "pct_rural": 100 * s["rp"] / s["Total"],
            "log_population": np.log10(s["Total"]),
        }
    )
    assert len(raw) == 153
    z = (raw - raw.mean()) / raw.std(ddof=1)
    w = pd.Series(
        {
            "imd_score": 1,
            "pct_under_15": 0.5,
            "pct_65_plus": 0.5,
            "pct_rural": 1,
            "log_population": 1,
        }
    )
    p = county["peers"]
    mine = p[p["area_code"] == COUNTY].sort_values("rank")
    assert mine["family"].eq("county").all() and len(mine) == 10
    for code, d in zip(mine["peer_code"], mine["distance"]):
        assert d == pytest.approx(
            float(np.sqrt((w * (z.loc[COUNTY] - z.loc[code]) ** 2).sum())), rel=1e-9
        )
    everyone = np.sqrt(((z - z.loc[COUNTY]) ** 2 * w).sum(axis=1)).drop(COUNTY)
    assert mine["peer_code"].tolist() == everyone.nsmallest(10).index.tolist()
    # every district of the county has ten district peers
    dist = p[p["area_code"].isin(DERBYSHIRE_DISTRICTS)]
    assert dist["family"].eq("district").all() and dist.groupby("area_code").size().eq(10).all()


def test_similar_10_mean_recomputes_from_the_raw_els_file(county, current):
    """Smoking 2023: the mean of the ten peers' published values, straight from the ONS file;
    no limits of its own; Derbyshire compared with it by its own published 95% limits."""
    from nhsbook.analysis import peers

    raw = pd.read_csv(
        current / "indicators_ons" / "els_cigarette-smokers.csv.gz",
        encoding="utf-8-sig",
        dtype={"Period": str},
    )
    p = county["peers"]
    group = p.loc[p["area_code"] == COUNTY, "peer_code"]
    rows = raw[raw["AREACD"].isin(group) & (raw["Period"] == "2023")]
    pv = county["peer_values"]
    row = pv[
        (pv["area_code"] == COUNTY)
        & (pv["indicator_id"] == "ONS_SMOKING")
        & (pv["period"] == "2023")
    ].iloc[0]
    assert row["n_peers"] == rows["Observation"].notna().sum() >= peers.MIN_PEERS
    assert row["value"] == pytest.approx(rows["Observation"].mean())
    assert pd.isna(row["lower_95"]) and pd.isna(row["count"])
    comp = peers.compare_with_peers(county["values"], pv, county["metadata"], COUNTY)
    smk = comp[comp["indicator_id"] == "ONS_SMOKING"].iloc[0]
    own = raw[(raw["AREACD"] == COUNTY) & (raw["Period"] == "2023")].iloc[0]
    low, up = own["Lower Confidence Interval (95%)"], own["Upper Confidence Interval (95%)"]
    assert smk["period"] == "2023"
    assert smk["peer_significance"] == (
        "Similar" if low <= row["value"] <= up else "Better" if up < row["value"] else "Worse"
    )
    # a period where fewer than MIN_PEERS peers have a value has no similar-10 value
    few = peers.peer_mean_values(
        *ons_local.england_rows(ons_local.dataset_paths(None)),
        county["areas"],
        p,
        county["metadata"],
        min_peers=11,
    )
    assert few.empty


# --- the book, built once --------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(root, tmp_path_factory):
    """books/derbyshire-county.yml built (gate, tables, 10 pages, site) in a copy of the
    project, so the project's own book/ is untouched."""
    from nhsbook.build.book import build

    dest = tmp_path_factory.mktemp("la") / "proj"
    copy_project(root, dest)
    mp = pytest.MonkeyPatch()
    mp.setenv("NHSBOOK_ROOT", str(dest))
    result = build("derbyshire-county", jobs=2, log=lambda *_: None)
    yield dest / "book" / "_build" / "html", result
    mp.undo()


def test_the_county_book_builds_with_every_page(built):
    html, result = built
    assert result.site_built
    pages = {f"{p.area_code}/{p.notebook}" for p in result.ran}
    assert pages == {
        f"{COUNTY}/jsna_profile",
        f"{COUNTY}/overview",
        f"{COUNTY}/peers",
        *(f"{d}/jsna_profile" for d in DERBYSHIRE_DISTRICTS),
        *(f"{d}/peers" for d in DERBYSHIRE_DISTRICTS),
    }
    county = (html / "areas" / COUNTY / "jsna_profile.html").read_text(encoding="utf-8")
    assert "East Midlands" in county and "Compared with England" in county
    assert "published 95% limits" in county
    overview = (html / "areas" / COUNTY / "overview.html").read_text(encoding="utf-8")
    assert "Derbyshire Dales" in overview and "Overview" in overview
    sources_page = (html / "data_sources.html").read_text(encoding="utf-8")
    assert "ons_health_index_indicators" in sources_page and "ons_els_hle" in sources_page
    # the similar-areas page: key messages first, the ten peers, the similar-10 mean
    similar = (html / "areas" / COUNTY / "peers.html").read_text(encoding="utf-8")
    assert similar.index("nhsbook-key-messages") < similar.index('id="the-ten-most-similar-areas"')
    assert "Suffolk" in similar and "mean of the peers" in similar
    assert "Similar 10 lower 95% CI" not in similar  # a mean of published values has none
    assert "Compared with similar 10" in county


def test_every_indicator_link_of_the_county_book_has_its_definition(built):
    html, _ = built
    from nhsbook.pages import definitions

    anchors = definitions.anchors_of(html / "definitions.html")
    assert len(anchors) == 68  # 8 series (HLE by sex) + 56 Health Index + 4 scores
    links = definitions.site_links(html)
    assert links and not definitions.broken_links(html)
    shown = {a for _, a in links}
    assert {"def-ONS_SMOKING", "def-ONS_HLE_M", "def-HI_OVERALL_SCORE"} <= shown
