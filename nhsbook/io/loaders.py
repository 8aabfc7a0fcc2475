"""The book loaders, behind one registry: a book file's ``loader:`` names one of
:data:`LOADERS`, and everything that depends on the loader asks :func:`loader_for` instead of
comparing names.

A loader has the same small interface (:class:`Loader`): the book's input files by dataset
name (which the validation gate checks and the pipeline fingerprints), the reading of those
files into the data model's tables, and the Data sources chapter's text about them.  Two
loaders differ beyond that, each said by a field rather than by a branch on its name: the
embedded default is gated as a whole book (its seed reconciliations span files), and a
Fingertips book's values are the exports' published figures, completed by
:func:`nhsbook.pipeline.published.compute` (the pipeline chooses by :attr:`Loader.values_published`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nhsbook.core.model import Tables
from nhsbook.io import embedded, fingertips_book, ons_local, opendata_loader


@dataclass(frozen=True)
class Loader:
    """One way of reading a book's published inputs into the data model."""

    name: str
    #: The book's input files by dataset name (also the Great Expectations suite names).
    dataset_paths: Callable[..., dict[str, Path]]
    #: The inputs read into the data model's tables.
    load: Callable[..., Tables]
    #: The Data sources chapter's lines about the inputs (markdown).
    sources_markdown: Callable[..., list[str]]
    #: The values are the inputs' published figures (:func:`nhsbook.pipeline.published.compute`), not
    #: computed from counts by :func:`nhsbook.analysis.indicators.compute`.
    values_published: bool = False
    #: The gate checks the book's data folder as a whole (``validate_book``), not file by file.
    whole_book_gate: bool = False


LOADERS: dict[str, Loader] = {
    "embedded": Loader(
        "embedded",
        lambda cfg: embedded.dataset_paths(cfg.data),
        lambda cfg: embedded.load(cfg.data),
        embedded.sources_markdown,
        whole_book_gate=True,
    ),
    "opendata": Loader(
        "opendata",
        opendata_loader.dataset_paths,
        opendata_loader.load,
        opendata_loader.sources_markdown,
    ),
    "ons_local": Loader(
        "ons_local", ons_local.dataset_paths, ons_local.load, ons_local.sources_markdown
    ),
    "fingertips": Loader(
        "fingertips",
        fingertips_book.dataset_paths,
        fingertips_book.load,
        fingertips_book.sources_markdown,
        values_published=True,
    ),
}


def loader_for(cfg) -> Loader:
    """The loader of a book (``cfg.loader``); ValueError naming the book file and the known
    loaders for any other name."""
    try:
        return LOADERS[cfg.loader]
    except KeyError:
        raise ValueError(
            f"{getattr(cfg, 'path', cfg.name)}: unknown loader {cfg.loader!r}; "
            f"expected one of {', '.join(LOADERS)}"
        ) from None
