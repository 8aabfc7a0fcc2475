"""Seeded generator of the default book's SPOT peer group (synthetic CCGs, spend, outcomes).

Seed ``002_e967b0e31addb216.txt`` (lines 344-363) shows North Derbyshire CCG's SPOT quadrant
chart against its ONS cluster, "Manufacturing Towns" (line 363), but the chart is an image: the
text gives no spend figures and names no programme.  What the text does say is that "we are
achieving better outcomes with a lower level of expenditure on many clinical programme areas"
(line 355) and that spend is the Department of Health's 2010/11 programme budgeting (line 376).
The CCG's JSNA profile (lines 253-333) publishes its outcome rates next to the cluster's.

So the default book's SPOT data are made here, labelled synthetic row by row, calibrated to
those facts:

* **Peer group**: the CCG (``E38000115``) and 15 synthetic CCGs, codes ``SYNCCG01`` ...
  ``SYNCCG15``, names "Synthetic peer CCG 01" ..., peer group "Manufacturing Towns".
  Weighted populations: the CCG's 288,000 registered patients (line 120) and peers' list sizes
  drawn uniformly from 150,000-450,000, each times a need index drawn from N(1, 0.04).
* **Outcomes**: the CCG's value of each outcome indicator is its *published* rate (not
  synthetic; ``outcome_indicators.csv`` maps each to a profile row and seed line).  The 15 peer
  values are drawn so that the mean of the 16 members equals the published *cluster* value
  exactly (the seed's cluster values are averages of member organisations, line 380) and the
  sample standard deviation of the 16 is ``OUTCOME_CV × cluster value`` (a plausible
  between-CCG spread).  So the CCG's outcome z-score is (CCG − cluster) ÷ SD, and its
  direction (better or worse than the cluster) is the published one.
* **Spend** (all synthetic, the CCG's too): for each of the 23 programmes a group mean spend per
  head (:data:`SPEND_PER_HEAD`, illustrative magnitudes, not national figures) and SD
  ``SPEND_CV`` × mean; the CCG's spend per head is placed at the z-score of
  :data:`CCG_SPEND_Z` (lower than its peers on most programmes where its published outcome is
  better, as line 355 says), and the peers are drawn so that the 16 members have exactly that
  mean and SD.  Spend is rounded to £1,000.

Peer values come from one ``numpy.random.Generator`` seeded by ``seed``: the same seed always
writes the same files, byte for byte (``python -m nhsbook.synth.spot``).

The calibration ("affine placement"): given the area's fixed value x₀, a target group mean m
and SD s over n = 16 members, draw e₁ … e₁₅ ~ N(0, 1), centre them, and set the peers to
``a + b·eᵢ`` with ``a = (16m − x₀)/15`` (so the mean of all 16 is m) and
``b = √((15s² − (x₀ − m)² − 15(a − m)²) / Σeᵢ²)`` (so the sample SD is s).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from nhsbook.config.book import load_book
from nhsbook.io import programme_budget as pb
from nhsbook.synth.practices import round_half_up

DEFAULT_SEED = 20120927
PEER_GROUP = "Manufacturing Towns"  # seed 002 line 363 (ONS cluster)
SPEND_YEAR = "2010/11"  # seed 002 line 376 (DH programme budgeting)
N_PEERS = 15
CCG_CODE = "E38000115"
SEED_FILE = "002_e967b0e31addb216.txt"

#: Illustrative group-mean spend per head (£, weighted population) by programme: magnitudes of
#: the order programme budgeting shows for English PCTs around 2010/11, chosen for the
#: synthetic peer group (not published figures).
SPEND_PER_HEAD: dict[str, float] = {
    "1": 28,
    "2": 105,
    "3": 22,
    "4": 48,
    "5": 225,
    "6": 60,
    "7": 65,
    "8": 28,
    "9": 8,
    "10": 135,
    "11": 78,
    "12": 48,
    "13": 80,
    "14": 28,
    "15": 85,
    "16": 70,
    "17": 62,
    "18": 58,
    "19": 18,
    "20": 20,
    "21": 40,
    "22": 32,
    "23": 300,
}
#: Between-CCG coefficient of variation of spend per head (synthetic).
SPEND_CV = 0.12
#: The CCG's spend z-score by programme (synthetic).  Negative (lower spend) on most
#: programmes, and on eight of the nine whose headline outcome the CCG publishes better than
#: the cluster (seed 002 line 355: "better outcomes with a lower level of expenditure on many
#: clinical programme areas"); higher on a few (line 355: "still scope for improving").
CCG_SPEND_Z: dict[str, float] = {
    "1": -0.6,
    "2": -0.8,
    "3": 0.2,
    "4": 1.1,
    "5": -0.5,
    "6": 0.4,
    "7": -0.3,
    "8": -0.2,
    "9": 0.1,
    "10": -1.2,
    "11": -0.9,
    "12": -0.4,
    "13": 0.6,
    "14": -0.1,
    "15": 0.8,
    "16": -0.7,
    "17": 0.3,
    "18": -1.0,
    "19": -0.4,
    "20": 0.5,
    "21": -0.2,
    "22": 0.3,
    "23": -0.5,
}
#: Between-CCG coefficient of variation of each outcome indicator (synthetic): wider for rare
#: events, narrow for coverage percentages close to their ceiling.
OUTCOME_CV: dict[str, float] = {
    "O01": 0.025,
    "O02": 0.08,
    "O03": 0.15,
    "O04": 0.05,
    "O05": 0.20,
    "O06": 0.20,
    "O07": 0.12,
    "O08": 0.15,
    "O09": 0.20,
    "O10": 0.20,
    "O11": 0.25,
    "O12": 0.12,
    "O13": 0.12,
    "O14": 0.20,
    "O15": 0.10,
}
NEED_SD = 0.04
LIST_SIZE_RANGE = (150_000, 450_000)


def place_peers(
    x0: float, mean: float, sd: float, n_peers: int, rng: np.random.Generator
) -> np.ndarray:
    """Peer values such that the ``n_peers + 1`` members (the area's ``x0`` and the peers)
    have exactly mean ``mean`` and sample SD ``sd`` (affine placement, module docstring).

    Raises ValueError when no such peers exist (|x0 − mean| too large for ``sd``).
    """
    n = n_peers + 1
    e = rng.standard_normal(n_peers)
    e = e - e.mean()
    a = (n * mean - x0) / n_peers
    rest = (n - 1) * sd**2 - (x0 - mean) ** 2 - n_peers * (a - mean) ** 2
    if rest <= 0:
        raise ValueError(
            f"cannot place {n_peers} peers around {x0} with mean {mean} and SD "
            f"{sd}: the area alone is too far from the mean"
        )
    b = math.sqrt(rest / float(np.sum(e**2)))
    return a + b * e


def _rounded_peers(
    x0: float, mean: float, sd: float, rng: np.random.Generator, digits: int
) -> np.ndarray:
    """:func:`place_peers` rounded to ``digits``, the rounding residual given to the peer
    nearest the mean so that the group mean stays exactly ``mean``."""
    peers = place_peers(x0, mean, sd, N_PEERS, rng)
    rounded = np.array([round_half_up(v, digits) for v in peers])
    residual = round((N_PEERS + 1) * mean - x0 - rounded.sum(), digits + 2)
    rounded[int(np.argmin(np.abs(peers - mean)))] += residual
    return np.round(rounded, digits)


def generate(data_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """The peer group, spend and outcome tables (not written)."""
    data_dir = Path(data_dir)
    spot_dir = data_dir / "spot"
    rng = np.random.default_rng(seed)
    areas = pd.read_csv(data_dir / "areas.csv", dtype=str, keep_default_na=False)
    ccg = areas[areas["area_code"] == CCG_CODE].iloc[0]
    seed_rows = pd.read_csv(
        data_dir / "seed_profile.csv", dtype=str, keep_default_na=False
    ).set_index("indicator_id")
    programmes = pb.read_programmes(spot_dir / "programmes.csv")
    indicators = pb.read_outcome_indicators(spot_dir / "outcome_indicators.csv", programmes)
    synthetic_source = f"synthetic (nhsbook.synth.spot, seed {seed})"

    # -- peer group and weighted populations
    codes = [f"SYNCCG{i:02d}" for i in range(1, N_PEERS + 1)]
    peer = pd.DataFrame(
        {
            "area_code": [CCG_CODE] + codes,
            "area_name": [ccg["area_name"]]
            + [f"Synthetic peer CCG {i:02d}" for i in range(1, N_PEERS + 1)],
            "peer_group": PEER_GROUP,
            "synthetic": ["false"] + ["true"] * N_PEERS,
            "source": [f"ONS GSS code; peer group (ONS cluster) from seed {SEED_FILE} line 363"]
            + [synthetic_source] * N_PEERS,
        }
    )
    lists = np.concatenate(
        [[float(ccg["list_size"])], np.round(rng.uniform(*LIST_SIZE_RANGE, N_PEERS), -2)]
    )
    need = np.clip(rng.normal(1.0, NEED_SD, N_PEERS + 1), 0.85, 1.15)
    weighted = np.round(lists * need).astype(int)

    # -- spend
    spend_rows = []
    top = programmes[programmes["parent_code"] == ""]
    for code in top["programme_code"]:
        mean = float(SPEND_PER_HEAD[code])
        sd = SPEND_CV * mean
        x0 = mean + CCG_SPEND_Z[code] * sd
        per_head = np.concatenate([[x0], place_peers(x0, mean, sd, N_PEERS, rng)])
        for area, pop, ph in zip(peer["area_code"], weighted, per_head):
            gbp = int(round_half_up(ph * pop / 1000.0, 0) * 1000)
            spend_rows.append(
                {
                    "area_code": area,
                    "year": SPEND_YEAR,
                    "programme_code": code,
                    "spend_gbp": gbp,
                    "weighted_population": int(pop),
                    "spend_per_head": f"{round_half_up(gbp / pop, 2):.2f}",
                    "synthetic": "true",
                    "source": synthetic_source,
                }
            )
    spend = pd.DataFrame(spend_rows)

    # -- outcomes: the CCG's published value, calibrated synthetic peers
    out_rows = []
    for _, ind in indicators.iterrows():
        seed_row = seed_rows.loc[ind["profile_indicator_id"]]
        x0, cluster = float(seed_row["ccg_value"]), float(seed_row["cluster_value"])
        line = seed_row["seed_line"]
        digits = max(len(seed_row["ccg_value"].partition(".")[2]), 1)
        peers = _rounded_peers(x0, cluster, OUTCOME_CV[ind["indicator_id"]] * cluster, rng, digits)
        upper = 100.0 if ind["unit"] == "%" else math.inf
        if (peers < 0).any() or (peers > upper).any():
            raise ValueError(f"{ind['indicator_id']}: synthetic peer values out of range: {peers}")
        out_rows.append(
            {
                "area_code": CCG_CODE,
                "indicator_id": ind["indicator_id"],
                "period": ind["period"],
                "value": seed_row["ccg_value"],
                "synthetic": "false",
                "source": f"seed {SEED_FILE} line {line} (CCG value)",
            }
        )
        for area, v in zip(codes, peers):
            out_rows.append(
                {
                    "area_code": area,
                    "indicator_id": ind["indicator_id"],
                    "period": ind["period"],
                    "value": f"{v:.{digits}f}",
                    "synthetic": "true",
                    "source": f"{synthetic_source}; peer-group mean = cluster value, "
                    f"seed {SEED_FILE} line {line}",
                }
            )
    outcomes = pd.DataFrame(out_rows)
    return {"peer_group": peer, "spend": spend, "outcomes": outcomes}


def write(data_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write ``spot/peer_group.csv``, ``spot/spend.csv`` and ``spot/outcomes.csv``."""
    tables = generate(data_dir, seed)
    paths = {}
    for name, frame in tables.items():
        path = Path(data_dir) / "spot" / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        paths[name] = path
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nhsbook.synth.spot [--seed N] [DATA_DIR]``: regenerate the SPOT peer group."""
    parser = argparse.ArgumentParser(
        prog="python -m nhsbook.synth.spot",
        description="Regenerate data/default/spot/ (synthetic).",
    )
    parser.add_argument("data_dir", nargs="?", default=None)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(list(argv) if argv is not None else None)
    data_dir = Path(args.data_dir) if args.data_dir else load_book("default").data
    for name, path in write(data_dir, args.seed).items():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
