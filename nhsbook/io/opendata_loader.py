"""The ``opendata`` loader: a book of one CCG (or every CCG) from the 2021-era open data
(:mod:`nhsbook.io.opendata`) or of an ICB or sub-ICB location from the current open data
(:mod:`nhsbook.io.opendata_icb`), chosen by the ``opendata:`` section of the book's own file
(``icb_code`` / ``sub_icb_code`` select the second).  The two importers share the CCG one's
helpers, so the choice is made here, above both, and neither imports the other's caller.
"""

from __future__ import annotations

from pathlib import Path

from nhsbook.core.model import Tables
from nhsbook.io import opendata, opendata_icb


def _icb(cfg) -> tuple[dict, Path] | None:
    """The ICB options of the book, or None for a CCG book."""
    path, raw = opendata.book_file(
        cfg,
        "opendata",
        opendata.OpenDataError,
        "'opendata: ccg_code: …' or 'opendata: icb_code: …'",
    )
    opts = raw.get("opendata") or {}
    return (opendata_icb.options(opts, path), path) if opendata.is_icb_options(opts) else None


def options(cfg) -> dict:
    """The book's ``opendata:`` options, checked (either kind)."""
    icb = _icb(cfg)
    return icb[0] if icb else opendata.options(cfg)


def is_icb(cfg) -> bool:
    """True for a book of an ICB or sub-ICB location (current open data)."""
    return _icb(cfg) is not None


def dataset_paths(cfg) -> dict[str, Path]:
    """The book's input files by dataset name."""
    icb = _icb(cfg)
    return opendata_icb.dataset_paths(cfg, icb[0]) if icb else opendata.dataset_paths(cfg)


def load(cfg) -> Tables:
    """The model's tables for the book."""
    icb = _icb(cfg)
    if icb:
        return opendata_icb.load(cfg, icb[0], opendata_icb.dataset_paths(cfg, icb[0]))
    return opendata.load(cfg)


def sources_markdown(cfg) -> list[str]:
    """The Data sources chapter's section on the book's inputs."""
    icb = _icb(cfg)
    return opendata_icb.sources_markdown(icb[0]) if icb else opendata.sources_markdown(cfg)
