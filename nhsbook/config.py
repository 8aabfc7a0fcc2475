"""Where things are: the project root, book configurations and the build folders."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml


def project_root() -> Path:
    """The repository root: ``NHSBOOK_ROOT``, else the nearest folder above the working
    directory holding ``books/`` and ``_config.yml``, else the folder above the package."""
    env = os.environ.get("NHSBOOK_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "books").is_dir() and (folder / "_config.yml").is_file():
            return folder
    return Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PageSet:
    """A group of pages: the notebooks run for each of a set of areas, shown as one part of
    the book's table of contents.

    Areas come either from the computed area hierarchy by type (``area_types``) or are listed
    explicitly as ``(code, name)`` pairs (``areas``: organisations outside the indicator
    hierarchy, such as the PCTs of the finance chapter).  Every notebook receives the
    parameters ``area_code`` and ``book``.
    """

    part: str
    notebooks: tuple[str, ...]
    area_types: tuple[str, ...] = ()
    areas: tuple[tuple[str, str], ...] = ()


def _page_sets(raw: object, path: Path) -> tuple[PageSet, ...]:
    if raw is None:
        raw = [{"part": "Areas", "notebooks": ["jsna_profile"], "area_types": ["ccg", "locality"]}]
    if not isinstance(raw, list):
        raise ValueError(f"{path}: 'pages' must be a list of page sets "
                         "(each with 'part', 'notebooks' and 'area_types' or 'areas')")
    sets = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not item.get("notebooks"):
            raise ValueError(f"{path}: page set {i} needs 'notebooks'")
        explicit = item.get("areas") or {}
        if not isinstance(explicit, dict):
            raise ValueError(f"{path}: page set {i}: 'areas' maps area code to name")
        if not item.get("area_types") and not explicit:
            raise ValueError(f"{path}: page set {i} needs 'area_types' or 'areas'")
        sets.append(PageSet(part=str(item.get("part", "Areas")),
                            notebooks=tuple(item["notebooks"]),
                            area_types=tuple(item.get("area_types") or ()),
                            areas=tuple((str(k), str(v)) for k, v in explicit.items())))
    return tuple(sets)


@dataclass(frozen=True)
class BookConfig:
    """One book (``books/<name>.yml``): its data, whether it is synthetic, and its pages."""

    name: str
    title: str
    loader: str
    data: Path
    synthetic: bool
    synthetic_note: str
    page_sets: tuple[PageSet, ...]
    root: Path = field(default_factory=project_root)
    #: Optional comparator population for the top area's pyramid: ``name``, ``source`` (a
    #: registry key of an ONS SAPE single-year file) and ``la_codes``.
    population_comparator: dict = field(default_factory=dict)
    #: Contents captions by area type, over :data:`nhsbook.build.TYPE_CAPTIONS` (e.g. an ICB
    #: book: ``stp: Integrated care board``, ``ccg: Sub-ICB locations``).
    type_captions: dict = field(default_factory=dict)
    #: Area type names in page headers (e.g. ``ccg: sub-ICB location``); default the type.
    type_labels: dict = field(default_factory=dict)
    #: The data vintage every page states (e.g. "QOF 2024-25; registrations July 2026").
    vintage: str = ""
    #: Markdown shown at the top of the landing page (e.g. the synthetic-data notice).
    notice: str = ""
    #: The configuration file the book was read from.
    path: Path | None = None

    @property
    def ref(self) -> str:
        """What :func:`load_book` needs to read this book again (the ``book`` parameter of
        its notebooks): its name when it is ``books/<name>.yml``, else its file's path."""
        if self.path is None or self.path.resolve() == (
                self.root / "books" / f"{self.name}.yml").resolve():
            return self.name
        return str(self.path.resolve())

    @property
    def page_area_types(self) -> tuple[str, ...]:
        """Area types of the hierarchy that have pages, in the order the page sets name them."""
        seen: dict[str, None] = {}
        for ps in self.page_sets:
            seen.update(dict.fromkeys(ps.area_types))
        return tuple(seen)

    @property
    def cache_dir(self) -> Path:
        """Computed tables for this book (parquet)."""
        return self.root / "build" / self.name

    @property
    def book_dir(self) -> Path:
        return self.root / "book"

    @property
    def site_dir(self) -> Path:
        return self.book_dir / "_build" / "html"


def load_book(name_or_path: str = "default", root: Path | None = None) -> BookConfig:
    """Read ``books/<name>.yml`` (or a path to such a file)."""
    root = Path(root) if root else project_root()
    path = Path(name_or_path)
    if path.suffix not in (".yml", ".yaml"):
        path = root / "books" / f"{name_or_path}.yml"
    elif not path.is_absolute():
        path = root / path
    if not path.is_file():
        known = sorted(p.stem for p in (root / "books").glob("*.yml"))
        raise FileNotFoundError(f"book configuration {path} not found (books: {known})")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [k for k in ("name", "title", "loader", "data") if k not in raw]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    return BookConfig(
        name=str(raw["name"]), title=str(raw["title"]), loader=str(raw["loader"]),
        data=(root / raw["data"]).resolve(), synthetic=bool(raw.get("synthetic", False)),
        synthetic_note=str(raw.get("synthetic_note", "")).strip(),
        page_sets=_page_sets(raw.get("pages"), path), root=root,
        population_comparator=dict(raw.get("population_comparator") or {}),
        type_captions={str(k): str(v) for k, v in (raw.get("type_captions") or {}).items()},
        type_labels={str(k): str(v) for k, v in (raw.get("type_labels") or {}).items()},
        vintage=" ".join(str(raw.get("vintage") or "").split()),
        notice=str(raw.get("notice", "")).strip(), path=path)
