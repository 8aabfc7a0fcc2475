"""The computed tables of a book, stored as parquet keyed by the checksum of their inputs.

``build/<book>/`` holds ``values.parquet`` (every indicator for every area, from
:func:`nhsbook.analysis.indicators.compute`), ``metadata.parquet``, ``areas.parquet`` and
``priorities.parquet`` (:mod:`nhsbook.pipeline.priorities`) and ``manifest.json`` with the sha256 of every input file.  :func:`load_computed` reuses them while
the inputs are unchanged and recomputes them otherwise, so a notebook opened by hand always sees
tables that match the data on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from nhsbook.analysis import disclosure, gp_spend, indicators, peers
from nhsbook.analysis.population import reference_population as read
from nhsbook.config import sources
from nhsbook.config.book import BookConfig
from nhsbook.core import page_inputs
from nhsbook.core.model import Tables
from nhsbook.io.loaders import loader_for
from nhsbook.pipeline import priorities, published

TABLES = (
    "values",
    "metadata",
    "areas",
    "population",
    "population_reference",
    "quintiles",
    "peer_variables",
    "peers",
    "peer_values",
    "priorities",
    "gp_spend",
)


def input_paths(cfg: BookConfig) -> dict[str, Path]:
    """The book's input files by dataset name (its loader's, :mod:`nhsbook.io.loaders`)."""
    return loader_for(cfg).dataset_paths(cfg)


def load_tables(cfg: BookConfig) -> Tables:
    """Read the book's inputs into the data model (its loader)."""
    return loader_for(cfg).load(cfg)


def inputs_checksum(cfg: BookConfig) -> dict[str, str]:
    """sha256 of every input file, by dataset name (missing files raise FileNotFoundError),
    and the registry checksum of the comparator population when it is available."""
    with page_inputs.untracked():  # checking the inputs is not reading them for a page
        sums = {name: sources.file_sha256(path) for name, path in sorted(input_paths(cfg).items())}
        source = _comparator_source(cfg)
        if source is not None:
            sums["population_comparator"] = sources.file_sha256(source)
    return sums


def _comparator_source(cfg: BookConfig) -> Path | None:
    """The comparator population's file, or None when not configured or not available
    (no mirror and not fetched: the population page then says so)."""
    key = cfg.population_comparator.get("source")
    if not key:
        return None
    try:
        return sources.locate(key)
    except sources.MissingSource:
        return None


def reference_population(cfg: BookConfig) -> pd.DataFrame:
    """The configured comparator population by sex and band (empty when unavailable)."""
    source = _comparator_source(cfg)
    empty = pd.DataFrame(
        {
            "name": pd.Series(dtype=str),
            "sex": pd.Series(dtype=str),
            "age_band": pd.Series(dtype=str),
            "population": pd.Series(dtype=float),
        }
    )
    if source is None:
        return empty
    ref = read(source, cfg.population_comparator.get("la_codes"))
    ref.insert(0, "name", str(cfg.population_comparator.get("name", source.stem)))
    return ref


def inequality_areas(cfg: BookConfig, areas: pd.DataFrame) -> list[str]:
    """Codes of the areas with an inequalities page (page sets running ``inequalities``,
    by area type or listed by code): their deprivation-quintile cells are published."""
    codes: list[str] = []
    for ps in cfg.page_sets:
        if "inequalities" not in ps.notebooks:
            continue
        codes += areas.loc[areas["area_type"].isin(ps.area_types), "area_code"].tolist()
        codes += [c for c, _ in ps.areas]
    return list(dict.fromkeys(codes))


def compute_and_store(cfg: BookConfig) -> dict[str, pd.DataFrame]:
    """Compute every table for the book in one pass and write them to ``cfg.cache_dir``."""
    try:
        disclosure.rule(cfg.disclosure)
    except ValueError as exc:
        raise ValueError(f"{cfg.path}: disclosure: {exc}") from None
    checksums = inputs_checksum(cfg)
    tables = load_tables(cfg)
    values = (published.compute if loader_for(cfg).values_published else indicators.compute)(tables)
    # disclosure control once for every area: deprivation quintiles of the inequality pages
    # join the hierarchy's sums, then primary and secondary suppression (nhsbook.analysis.disclosure)
    quintiles = disclosure.quintile_table(
        values, tables.metadata, tables.areas, inequality_areas(cfg, tables.areas)
    )
    values, quintiles = disclosure.protect(
        values, tables.metadata, tables.areas, quintiles, book_rule=cfg.disclosure
    )
    values = indicators.spread(
        values.drop(columns=list(indicators.SPREAD_COLUMNS)),
        tables.areas,
        tables.metadata.set_index("indicator_id"),
    )
    # similar-area peers of every sub-ICB location, ICB and district of England, and the
    # similar-10 value of the book's sub-ICB locations and ICB (empty for other books)
    peer_tables = peers.for_book(input_paths(cfg), tables.areas, tables.metadata)
    # spend on general practice and outcomes of every sub-ICB location and ICB against its
    # similar 10 (the current SPOT page; empty for books without the payments and outcomes)
    spend_tables = gp_spend.for_book(input_paths(cfg), peer_tables["peers"], cfg.disclosure)
    computed = {
        "values": values,
        "quintiles": quintiles,
        "metadata": tables.metadata,
        "areas": tables.areas,
        "population": tables.population,
        "population_reference": reference_population(cfg),
        **peer_tables,
        **spend_tables,
        # where the evidence points, for every area with pages (nhsbook.pipeline.priorities)
        "priorities": priorities.compute(cfg, values, tables.metadata, tables.areas),
    }
    cfg.cache_dir.mkdir(parents=True, exist_ok=True)
    for name, df in computed.items():
        path = cfg.cache_dir / f"{name}.parquet"
        # a table whose content is unchanged keeps its file, so pages reading only it are not
        # rebuilt when an unrelated input changes (nhsbook.build.incremental)
        if path.is_file():
            try:
                if pd.read_parquet(path).equals(df.reset_index(drop=True)):
                    continue
            except Exception:  # noqa: BLE001 - an unreadable table is rewritten
                pass
        df.to_parquet(path, index=False)
    (cfg.cache_dir / "manifest.json").write_text(
        json.dumps(
            {"book": cfg.name, "inputs": checksums, "code": sources.package_digest()}, indent=2
        ),
        encoding="utf-8",
    )
    return computed


def is_current(cfg: BookConfig) -> bool:
    """True when the stored tables were computed from the inputs now on disk by the code
    now installed (:func:`nhsbook.config.sources.package_digest`)."""
    manifest = cfg.cache_dir / "manifest.json"
    if not manifest.is_file() or not all(
        (cfg.cache_dir / f"{t}.parquet").is_file() for t in TABLES
    ):
        return False
    with page_inputs.untracked():
        stored = json.loads(manifest.read_text(encoding="utf-8"))
    return stored.get("code") == sources.package_digest() and stored.get(
        "inputs"
    ) == inputs_checksum(cfg)


#: The stored tables last read by this process: (cache folder, the files' stamps, tables).
_read: tuple[Path, tuple, dict[str, pd.DataFrame]] | None = None


def _stamps(cfg: BookConfig) -> tuple:
    """(name, size, mtime, inode) of the manifest and every stored table: any rewrite of
    them (:func:`compute_and_store` writes each file anew) changes it."""
    out = []
    for path in [
        cfg.cache_dir / "manifest.json",
        *(cfg.cache_dir / f"{t}.parquet" for t in TABLES),
    ]:
        st = path.stat()
        out.append((path.name, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def load_computed(cfg: BookConfig) -> dict[str, pd.DataFrame]:
    """The stored tables, recomputed first if the inputs changed since they were written.

    A process that draws many pages (a build's warm kernel) reads the files once while
    they stay the same (a page asks two or three times; reading all the tables costs about
    30 ms) and hands every caller its own copy, so a page that changes a table in place
    changes nothing for the next caller."""
    global _read
    if not is_current(cfg):
        return compute_and_store(cfg)
    for t in TABLES:  # pyarrow opens files natively: no audit event (nhsbook.core.page_inputs)
        page_inputs.record(cfg.cache_dir / f"{t}.parquet")
    stamps = _stamps(cfg)
    if _read is None or _read[:2] != (cfg.cache_dir, stamps):
        tables = {t: pd.read_parquet(cfg.cache_dir / f"{t}.parquet") for t in TABLES}
        _read = (cfg.cache_dir, stamps, tables)
    return {t: df.copy() for t, df in _read[2].items()}
