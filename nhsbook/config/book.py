"""Where things are: the project root, book configurations and the build folders."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nhsbook.config import sources
from nhsbook.core import page_inputs
from nhsbook.core.safepath import check_name, check_path


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
    return Path(__file__).resolve().parents[2]


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
    #: What the set's areas are and where they come from (plain text, escaped when shown;
    #: the landing page explains each group of areas with it).
    about: str = ""


def _page_sets(raw: object, path: Path) -> tuple[PageSet, ...]:
    if raw is None:
        raw = [{"part": "Areas", "notebooks": ["jsna_profile"], "area_types": ["ccg", "locality"]}]
    if not isinstance(raw, list):
        raise ValueError(
            f"{path}: 'pages' must be a list of page sets "
            "(each with 'part', 'notebooks' and 'area_types' or 'areas')"
        )
    sets = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not item.get("notebooks"):
            raise ValueError(f"{path}: page set {i} needs 'notebooks'")
        explicit = item.get("areas") or {}
        if not isinstance(explicit, dict):
            raise ValueError(f"{path}: page set {i}: 'areas' maps area code to name")
        if not item.get("area_types") and not explicit:
            raise ValueError(f"{path}: page set {i} needs 'area_types' or 'areas'")
        if not isinstance(item["notebooks"], list):
            raise ValueError(f"{path}: page set {i}: 'notebooks' is a list of notebook names")
        for nb in item["notebooks"]:  # notebooks/<nb>.ipynb -> book/areas/<code>/<nb>.ipynb
            check_name(nb, f"page set {i}: notebook", path)
        for code in explicit:  # book/areas/<code>/
            check_name(code, f"page set {i}: area code", path)
        sets.append(
            PageSet(
                part=str(item.get("part", "Areas")),
                notebooks=tuple(item["notebooks"]),
                area_types=tuple(item.get("area_types") or ()),
                areas=tuple((str(k), str(v)) for k, v in explicit.items()),
                about=" ".join(str(item.get("about") or "").split()),
            )
        )
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
    #: Contents captions by area type, over :data:`nhsbook.build.book.TYPE_CAPTIONS` (e.g. an ICB
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
    #: Disclosure rule set (:data:`nhsbook.analysis.disclosure.RULES`): ``standard`` (counts 1-4
    #: suppressed) or ``nhs_digital`` (1-7 suppressed, others rounded to 5 below England).
    disclosure: str = "standard"
    #: Publish each page's notebook (``_sources/``, the theme's .ipynb download): off by
    #: default (``publish_notebooks: true`` in the book file turns it on); the pages and
    #: their CSV downloads are what readers need, the notebooks are in the repository.
    publish_notebooks: bool = False
    #: The PDF board reports (:mod:`nhsbook.build.report`): whether the book has them, the
    #: sections they carry (in report order) and the most pages a report may have.
    reports: bool = True
    report_sections: tuple[str, ...] = ()
    report_max_pages: int = 16

    def __post_init__(self) -> None:
        # the name becomes build/<name>/, build/jupyter-book/<name>/ and state file names
        check_name(self.name, "book name", self.path)

    @property
    def ref(self) -> str:
        """What :func:`load_book` needs to read this book again (the ``book`` parameter of
        its notebooks): its name when it is ``books/<name>.yml``, else its file's path."""
        if (
            self.path is None
            or self.path.resolve() == (self.root / "books" / f"{self.name}.yml").resolve()
        ):
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


#: What a copy of the project leaves out, by path: the top level's build outputs, virtual
#: environment, history and scratch notebooks, and the book's built pages ...
COPY_LEAVES_OUT = {
    ".": {".venv", "build", ".git", "work"},
    "book": {"_build", "areas", "_extra"},
}
#: ... and, anywhere, caches and install metadata.
COPY_LEAVES_OUT_ANYWHERE = ("*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis")


def copy_project(root: Path, dest: Path) -> Path:
    """Copy the project at ``root`` to ``dest`` (a benchmark's or a test's scratch project)
    without its outputs (:data:`COPY_LEAVES_OUT`).  Names are left out where they are, not
    wherever they occur: a copy that dropped every folder called ``build`` lost the package's
    own ``nhsbook/build/``, and its processes then mixed the copy's code with the installed
    one (each computing a different code digest, so every process recomputed the tables)."""
    import fnmatch
    import shutil

    root = Path(root)

    def leave_out(folder: str, names: list[str]) -> set[str]:
        rel = Path(folder).relative_to(root).as_posix()
        out = set(COPY_LEAVES_OUT.get(rel, ())) & set(names)
        return out | {
            n for n in names for pat in COPY_LEAVES_OUT_ANYWHERE if fnmatch.fnmatch(n, pat)
        }

    shutil.copytree(root, dest, ignore=leave_out)
    return Path(dest)


#: Book files parsed by this process: path -> ((size, mtime, inode), parsed YAML).
_parsed: dict[Path, tuple[tuple[int, int, int], Any]] = {}


def _read_yaml(path: Path) -> Any:
    """The parsed book file, parsed once while the file stays the same (a page loads its
    book two or three times, 25 ms each); every caller gets its own copy.  The read is
    recorded for the page (:func:`nhsbook.core.page_inputs.record`) as if the file were
    opened."""
    st = path.stat()
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    hit = _parsed.get(path)
    if hit is None or hit[0] != stamp:
        hit = _parsed[path] = (stamp, yaml.safe_load(path.read_text(encoding="utf-8")))
    else:
        page_inputs.record(path)
    return copy.deepcopy(hit[1])


def load_book(name_or_path: str = "default", root: Path | None = None) -> BookConfig:
    """Read ``books/<name>.yml`` (or a path to such a file).

    Before anything is read, written or removed, every name and path of the book file is
    checked (:mod:`nhsbook.core.safepath`): ``name``, the notebooks and area codes of ``pages``
    and ``population_comparator: source`` must be safe names; ``data`` and the opendata
    ``directory`` and ``files`` paths must resolve inside the project, the mirror or the
    book file's own folder.  :class:`~nhsbook.core.safepath.UnsafePath` names the file and key."""
    root = Path(root) if root else project_root()
    path = Path(name_or_path)
    if path.suffix not in (".yml", ".yaml"):
        check_name(str(name_or_path), "book name (books/<name>.yml)")
        path = root / "books" / f"{name_or_path}.yml"
    elif not path.is_absolute():
        path = root / path
    if not path.is_file():
        known = sorted(p.stem for p in (root / "books").glob("*.yml"))
        raise FileNotFoundError(f"book configuration {path} not found (books: {known})")
    raw = _read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of book keys (name, title, loader, data, …)")
    missing = [k for k in ("name", "title", "loader", "data") if k not in raw]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    name = check_name(raw["name"], "'name'", path)
    roots = _allowed_roots(root, path)
    data = check_path(raw["data"], "'data'", base=root, roots=roots, file=path, allowed=ALLOWED)
    comparator = raw.get("population_comparator") or {}
    if not isinstance(comparator, dict):
        raise ValueError(f"{path}: 'population_comparator' maps name, source and la_codes")
    if "source" in comparator:  # a registry key (data/sources.yml)
        check_name(comparator["source"], "'population_comparator: source' (a registry key)", path)
    if str(raw["loader"]) == "opendata":
        _check_opendata_paths(raw, path, data, root, roots)
    return BookConfig(
        name=name,
        title=str(raw["title"]),
        loader=str(raw["loader"]),
        data=data,
        synthetic=bool(raw.get("synthetic", False)),
        synthetic_note=str(raw.get("synthetic_note", "")).strip(),
        page_sets=_page_sets(raw.get("pages"), path),
        root=root,
        population_comparator=dict(comparator),
        type_captions={str(k): str(v) for k, v in (raw.get("type_captions") or {}).items()},
        type_labels={str(k): str(v) for k, v in (raw.get("type_labels") or {}).items()},
        vintage=" ".join(str(raw.get("vintage") or "").split()),
        notice=str(raw.get("notice", "")).strip(),
        path=path,
        disclosure=str(raw.get("disclosure") or "standard").strip(),
        publish_notebooks=_flag(raw, "publish_notebooks", path),
        **_reports(raw.get("reports", True), path),
    )


def _flag(raw: dict, key: str, path: Path) -> bool:
    """A yes/no key of the book file (absent: no); anything but true/false is an error."""
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{path}: '{key}' is true or false, not {value!r}")
    return value


#: The sections of an area's PDF board report (:mod:`nhsbook.build.report`), in their order; a
#: book chooses among them (``reports: sections:``).
SECTIONS: tuple[str, ...] = (
    "messages",
    "evidence",
    "spine",
    "population",
    "variation",
    "spot",
    "finance",
    "sources",
)


#: Where a book's reports are published in its site (``reports/<area code>.pdf``).
REPORTS_FOLDER = "reports"


def has_report(cfg: "BookConfig", area_type: str) -> bool:
    """Whether an area of ``area_type`` has a PDF board report in the book."""
    return bool(cfg.reports) and area_type in cfg.page_area_types


def report_href(code: str, to_root: str) -> str:
    """The link to an area's report from a page ``to_root`` below the site's root
    (e.g. ``../../``)."""
    return f"{to_root}{REPORTS_FOLDER}/{code}.pdf"


def _reports(raw: object, path: Path) -> dict:
    """The book's ``reports`` key: ``false`` (no reports), ``true`` (every section) or a
    mapping with ``sections`` (a list of :data:`SECTIONS`, in any order: reports keep their
    own order) and ``max_pages``."""
    if isinstance(raw, bool):
        return {"reports": raw, "report_sections": SECTIONS}
    if not isinstance(raw, dict):
        raise ValueError(
            f"{path}: 'reports' is true, false or a mapping with 'sections' "
            f"and 'max_pages', got {raw!r}"
        )
    unknown = sorted(set(raw) - {"sections", "max_pages", "enabled"})
    if unknown:
        raise ValueError(
            f"{path}: reports: unknown keys {unknown} (known: enabled, sections, max_pages)"
        )
    sections = raw.get("sections", list(SECTIONS))
    if not isinstance(sections, list) or not set(map(str, sections)) <= set(SECTIONS):
        raise ValueError(
            f"{path}: reports: sections must be a list of {list(SECTIONS)}, got {sections!r}"
        )
    pages = raw.get("max_pages", 16)
    if not isinstance(pages, int) or isinstance(pages, bool) or pages < 1:
        raise ValueError(
            f"{path}: reports: max_pages must be a whole number of at least 1, got {pages!r}"
        )
    return {
        "reports": bool(raw.get("enabled", True)),
        "report_sections": tuple(s for s in SECTIONS if s in sections),
        "report_max_pages": pages,
    }


#: Where a book's paths may lead (:func:`_allowed_roots`), for error messages.
ALLOWED = "the project, the mirror or the book file's folder"


def _allowed_roots(root: Path, book_file: Path) -> list[Path | None]:
    """Where a book's paths may point: the project, the open-data mirror (``NHSBOOK_MIRROR``
    or ``_config.yml``) and the folder of the book file itself (a book kept outside the
    project, given by path, keeps its inputs beside it)."""
    return [root, sources.mirror_dir(), book_file.parent]


def _check_opendata_paths(
    raw: dict, path: Path, data: Path, root: Path, roots: list[Path | None]
) -> None:
    """The ``opendata: directory`` and ``files`` paths of an opendata book (read from the
    file ``data`` names: normally the book file itself) resolve inside ``roots``; other
    mistakes of the section are reported by :func:`nhsbook.io.opendata_loader.options`."""
    if data.resolve() != path.resolve():
        if data.suffix not in (".yml", ".yaml") or not data.is_file():
            return  # opendata.options() says what 'data' must be
        raw, path = yaml.safe_load(data.read_text(encoding="utf-8")) or {}, data
    opts = raw.get("opendata") if isinstance(raw, dict) else None
    if not isinstance(opts, dict):
        return
    if opts.get("directory"):
        check_path(
            opts["directory"],
            "'opendata: directory'",
            base=root,
            roots=roots,
            file=path,
            allowed=ALLOWED,
        )
    files = opts.get("files")
    if isinstance(files, dict):
        for dataset, value in files.items():
            check_path(
                value,
                f"'opendata: files: {dataset}'",
                base=root,
                roots=roots,
                file=path,
                allowed=ALLOWED,
            )
