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
class BookConfig:
    """One book (``books/<name>.yml``): its data, whether it is synthetic, and its pages."""

    name: str
    title: str
    loader: str
    data: Path
    synthetic: bool
    synthetic_note: str
    page_area_types: tuple[str, ...]
    notebooks: tuple[str, ...]
    root: Path = field(default_factory=project_root)

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
    pages = raw.get("pages") or {}
    return BookConfig(
        name=str(raw["name"]), title=str(raw["title"]), loader=str(raw["loader"]),
        data=(root / raw["data"]).resolve(), synthetic=bool(raw.get("synthetic", False)),
        synthetic_note=str(raw.get("synthetic_note", "")).strip(),
        page_area_types=tuple(pages.get("area_types", ["ccg", "locality"])),
        notebooks=tuple(pages.get("notebooks", ["jsna_profile"])), root=root)
