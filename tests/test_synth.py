"""The seeded generator: deterministic, and calibrated to the seed's published figures."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from nhsbook.core.model import COUNT_METHODS
from nhsbook.synth import practices as synth


@pytest.fixture(scope="module")
def tables(root):
    return synth.generate(root / "data" / "default")


@pytest.fixture(scope="module")
def seed(root):
    return pd.read_csv(
        root / "data" / "default" / "seed_profile.csv", dtype={"indicator_id": str}
    ).set_index("indicator_id")


@pytest.fixture(scope="module")
def meta(root):
    return pd.read_csv(
        root / "data" / "default" / "indicators.csv", dtype={"indicator_id": str}
    ).set_index("indicator_id")


def test_same_seed_writes_the_committed_files_byte_for_byte(root, tmp_path):
    data = tmp_path / "default"
    shutil.copytree(root / "data" / "default", data, ignore=shutil.ignore_patterns("synthetic"))
    synth.write(data)
    for name in ("practices", "population", "practice_values"):
        ours = (data / "synthetic" / f"{name}.csv").read_bytes()
        committed = (root / "data" / "default" / "synthetic" / f"{name}.csv").read_bytes()
        assert ours == committed, f"{name}.csv differs from a fresh `nhsbook synth`"


def test_another_seed_gives_other_practices_with_the_same_totals(root):
    other = synth.generate(root / "data" / "default", seed=7)
    assert other["practices"]["list_size"].sum() == 288_000
    default = synth.generate(root / "data" / "default")
    assert not other["practices"]["list_size"].equals(default["practices"]["list_size"])


def test_practices_are_plainly_synthetic_and_add_up(tables):
    p = tables["practices"]
    assert len(p) == 38
    assert p["area_code"].str.fullmatch(r"SYN\d\d").all()
    assert p["area_name"].str.startswith("Synthetic practice").all()
    assert p["list_size"].sum() == 288_000
    assert p.groupby("parent_code").size().to_dict() == synth.LOCALITY_PRACTICES


def test_population_matches_list_sizes_and_seed_age_shares(tables):
    pop, p = tables["population"], tables["practices"]
    per_practice = pop.groupby("area_code")["population"].sum()
    assert per_practice.to_dict() == dict(zip(p["area_code"], p["list_size"]))
    band_start = pop["age_band"].str.extract(r"^(\d+)")[0].astype(int)
    total = pop["population"].sum()
    assert round(100 * pop.loc[band_start < 15, "population"].sum() / total, 1) == 15.4
    assert round(100 * pop.loc[band_start >= 75, "population"].sum() / total, 1) == 9.1


def test_counts_sum_to_the_seed_number_and_reproduce_its_rate(tables, seed, meta):
    v = tables["practice_values"]
    for ind, group in v.groupby("indicator_id"):
        m = meta.loc[ind]
        if m["method"] not in COUNT_METHODS:
            continue
        assert group["count"].sum() == seed.loc[ind, "ccg_count"], ind
        scale = m["reference_value"] if m["method"] == "isr" else m["multiplier"]
        value = group["count"].sum() / group["denominator"].sum() * scale
        assert synth.round_half_up(value, 1) == seed.loc[ind, "ccg_value"], ind


def test_worst_and_best_practices_equal_the_seed(tables, seed, meta):
    v = tables["practice_values"]
    for ind, group in v.groupby("indicator_id"):
        m = meta.loc[ind]
        if m["method"] in COUNT_METHODS:
            scale = m["reference_value"] if m["method"] == "isr" else m["multiplier"]
            values = group["count"] / group["denominator"] * scale
            # extremes must survive disclosure control: their counts are 0 or >= 5
            counts = group["count"].to_numpy()
        else:
            values = group["value"]
            counts = None
        rounded = np.array([synth.round_half_up(x, 1) for x in values])
        worst, best = seed.loc[ind, "worst_practice"], seed.loc[ind, "best_practice"]
        lo, hi = sorted((worst, best))
        assert rounded.min() == lo and rounded.max() == hi, ind
        if counts is not None:
            for target in (worst, best):
                hit = counts[rounded == target]
                assert ((hit == 0) | (np.abs(hit) >= 5)).any(), ind


def test_imd_score_weighted_mean_is_the_seed_value(tables):
    v = tables["practice_values"]
    imd = v[v["indicator_id"] == "C20"].merge(tables["practices"], on="area_code")
    mean = np.average(imd["value"], weights=imd["list_size"])
    assert synth.round_half_up(mean, 1) == 19.0


def test_age_group_parser():
    assert synth.age_bands_for("65+ yrs")[13:].sum() == 6
    assert synth.age_bands_for("<75 yrs").sum() == 15
    assert synth.age_bands_for("5-18 yrs")[1:4].tolist() == [1.0, 1.0, 0.8]
    assert synth.age_bands_for("1 yr")[0] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="cannot read the age group"):
        synth.age_bands_for("young people")
