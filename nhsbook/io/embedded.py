"""Loader for the embedded default book in ``data/default`` (seed transcriptions + synthetic).

The files are validated by :mod:`nhsbook.validation.gate` before this loader runs in a build; the
loader itself only reads and maps them onto the model's tables.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nhsbook.core.model import (
    AGE_COUNT_COLUMNS,
    AREA_COLUMNS,
    METADATA_COLUMNS,
    POPULATION_COLUMNS,
    VALUE_COLUMNS,
    Tables,
    coerce,
    empty_frame,
)
from nhsbook.io.catalogue import FINANCE_FILES, OPTIONAL_FILES, PERFORMANCE_FILES

#: Dataset name -> path inside the data directory (also the Great Expectations suite name).
DATASETS: dict[str, str] = {
    "indicators": "indicators.csv",
    "areas": "areas.csv",
    "seed_profile": "seed_profile.csv",
    "population_projection": "population_projection.csv",
    "population_growth": "population_growth.csv",
    "population_structure": "population_structure.csv",
    "practices": "synthetic/practices.csv",
    "population": "synthetic/population.csv",
    "practice_values": "synthetic/practice_values.csv",
    # Commissioning for Value (SPOT): reference data and the synthetic peer group
    "spot_programmes": "spot/programmes.csv",
    "spot_peer_group": "spot/peer_group.csv",
    "spot_spend": "spot/spend.csv",
    "spot_outcome_indicators": "spot/outcome_indicators.csv",
    "spot_outcomes": "spot/outcomes.csv",
    **FINANCE_FILES,  # finance chapter (nhsbook.io.catalogue)
    **PERFORMANCE_FILES,  # performance chapter
}


def dataset_paths(data_dir: Path) -> dict[str, Path]:
    """Every input file of the default book, by dataset name, and each optional one
    (:data:`nhsbook.io.catalogue.OPTIONAL_FILES`) the data folder has."""
    paths = {name: Path(data_dir) / rel for name, rel in DATASETS.items()}
    paths.update(
        {
            name: Path(data_dir) / rel
            for name, rel in OPTIONAL_FILES.items()
            if (Path(data_dir) / rel).is_file()
        }
    )
    return paths


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def load(data_dir: Path) -> Tables:
    """Read the default book's files into the model's :class:`~nhsbook.core.model.Tables`."""
    paths = dataset_paths(Path(data_dir))
    meta = _read(paths["indicators"])
    metadata = coerce(meta, METADATA_COLUMNS)
    metadata["reference_value"] = pd.to_numeric(meta["reference_value"].replace("", None))
    # optional per-indicator disclosure control (nhsbook.analysis.disclosure.indicator_rules)
    # and the reason for each polarity (the Definitions page states it)
    for col in ("disclosure", "suppress_below", "polarity_reason"):
        if col in meta.columns:
            metadata[col] = meta[col].to_numpy()

    areas = _read(paths["areas"])
    practices = _read(paths["practices"])
    all_areas = pd.concat([areas, practices], ignore_index=True)
    area_table = coerce(all_areas, AREA_COLUMNS)
    area_table["list_size"] = pd.to_numeric(all_areas["list_size"].replace("", None))
    area_table["synthetic"] = all_areas["area_code"].isin(practices["area_code"]).to_numpy()

    raw = _read(paths["practice_values"])
    raw = raw.replace("", None)
    kinds = dict(zip(area_table["area_code"], area_table["area_type"]))
    raw["area_type"] = raw["area_code"].map(kinds)
    by_id = metadata.set_index("indicator_id")
    raw["sex"] = raw["indicator_id"].map(by_id["sex"])
    raw["age"] = raw["indicator_id"].map(by_id["age"])
    values = coerce(raw, VALUE_COLUMNS)

    population = coerce(_read(paths["population"]), POPULATION_COLUMNS)
    seed = _read(paths["seed_profile"]).replace("", None)
    for col in ("ccg_count", "ccg_value", "cluster_value", "worst_practice", "best_practice"):
        seed[col] = pd.to_numeric(seed[col])
    published = published_values(seed, area_table)
    for col in ("period", "sex", "age"):
        published[col] = published["indicator_id"].map(by_id[col])
    return Tables(
        metadata=metadata,
        areas=area_table,
        values=values,
        age_counts=empty_frame(AGE_COUNT_COLUMNS),
        population=population,
        published=published,
    )


def published_values(seed: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """The seed's published CCG and cluster values as indicator-value rows.

    Cluster values are the CCG's comparator; CCG values are kept to check the computed ones
    and to supply the indicators whose practice data cannot be aggregated (life expectancy).
    """
    ccg = areas.loc[areas["area_type"] == "ccg", "area_code"].iloc[0]
    cluster = areas.loc[areas["area_type"] == "cluster", "area_code"].iloc[0]
    rows = []
    for _, r in seed.iterrows():
        note = f"Published: seed {r['seed_file']} line {r['seed_line']}"
        rows.append(
            {
                "indicator_id": r["indicator_id"],
                "area_code": ccg,
                "area_type": "ccg",
                "value": r["ccg_value"],
                "count": r["ccg_count"],
                "value_note": note,
            }
        )
        rows.append(
            {
                "indicator_id": r["indicator_id"],
                "area_code": cluster,
                "area_type": "cluster",
                "value": r["cluster_value"],
                "value_note": note,
            }
        )
    out = pd.DataFrame(rows)
    return coerce(out, VALUE_COLUMNS)


def sources_markdown(cfg) -> list[str]:
    """The Data sources chapter's part for the embedded default: the seed documents' tables
    and the synthetic practices."""
    return [
        "## The embedded default",
        "",
        "The default book is built from figures published in the seed planning documents, "
        "transcribed into `data/default/` with the file and line of every figure:",
        "",
        "| File in `data/default/` | What it holds | Seed document |",
        "|---|---|---|",
        "| `seed_profile.csv` | JSNA adult (33) and child (20) profile 2012: CCG number and "
        "rate, cluster rate, worst and best practice | NHS North Derbyshire CCG, Clinical "
        "Commissioning Strategy 2013-2016 (`002_e967b0e31addb216.txt` lines 253-333) |",
        "| `population_projection.csv`, `population_growth.csv` | CCG population and 75+ "
        "projection 2011-2025 and growth rates | same document, lines 217-223 |",
        "| `population_structure.csv` | Under-15 and 75+ shares of the registered population "
        "| same document, line 203 |",
        "| `areas.csv` | CCG, its five localities, 38 practices, 288,000 patients | same "
        "document, line 120 |",
        "",
        "`data/default/synthetic/` holds **synthetic** practices made by `nhsbook synth` "
        f"(seeded; see the Methods chapter). {cfg.synthetic_note}",
        "",
    ]
