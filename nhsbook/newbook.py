"""``nhsbook new``: write a working book file for an analyst's own area.

``nhsbook new --loader fingertips --area 15M EXPORT…`` writes ``books/<name>.yml`` for a book
from Fingertips exports (registry keys of ``data/sources.yml``, files or folders) about a
sub-ICB location or ICB and its PCNs and practices (:mod:`nhsbook.io.fingertips_book`);
``nhsbook new --loader opendata --icb QJ2`` (or ``--sub-icb 15M``) writes an opendata ICB-mode
book (:mod:`nhsbook.io.opendata_icb`).  The code is checked before anything is written: it
must be a safe name (:func:`nhsbook.core.safepath.check_name`) and an ICB or sub-ICB location of the
NHS England practice map (registry ``gp_reg_practice_map_jul2026``); an unknown code is refused
naming the map file.  Each export must be a registry key or an existing file or folder whose
CSV files have a Fingertips header (:func:`nhsbook.io.fingertips.check_header`).  An existing
book file is not overwritten without ``force``.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import yaml

from nhsbook.config import sources
from nhsbook.config.book import project_root
from nhsbook.core.safepath import check_name

PAGES_FINGERTIPS = [
    {
        "part": "Sub-ICB location and primary care networks",
        "area_types": ["stp", "ccg", "pcn"],
        "notebooks": ["jsna_profile", "overview", "practice_variation"],
    },
    {"part": "Practices", "area_types": ["practice"], "notebooks": ["jsna_profile"]},
]
PAGES_OPENDATA = [
    {
        "part": "ICB, sub-ICB locations and primary care networks",
        "area_types": ["stp", "ccg", "pcn"],
        "notebooks": ["jsna_profile", "practice_variation", "overview", "population"],
    },
    {
        "part": "Practices",
        "area_types": ["practice"],
        "notebooks": ["jsna_profile", "practice_variation", "population"],
    },
]
TYPE_LABELS = {
    "region": "NHS region",
    "stp": "integrated care board",
    "ccg": "sub-ICB location",
    "pcn": "primary care network",
    "practice": "GP practice",
}


class NewBookError(ValueError):
    """The book cannot be written as asked; the message says which input and why."""


def _area(code: str, kind: str = "") -> tuple[str, str, str]:
    """``(ONS code, name, kind)`` of an ICB or sub-ICB location of the practice map, else
    :class:`NewBookError` naming the map file."""
    # lazy: keeps numpy,pandas off this module's import
    from nhsbook.io import current
    from nhsbook.io.opendata_icb import IcbSelectionError, select  # lazy: as above

    path = sources.locate("gp_reg_practice_map_jul2026")
    m = current.read_practice_map(path)
    code = code.upper()
    if not kind:
        kind = (
            "icb_code"
            if code.startswith("E54") or (len(code) == 3 and code.startswith("Q"))
            else "sub_icb_code"
        )
    try:
        rows, first = select(m, {kind: code}, path)
    except IcbSelectionError as exc:
        raise NewBookError(f"unknown area code {code!r}: {exc}") from None
    if kind == "icb_code":
        return first["ONS_ICB_CODE"], first["ICB_NAME"], kind
    return first["ONS_SUB_ICB_LOCATION_CODE"], first["SUB_ICB_LOCATION_NAME"], kind


def _check_export(item: str, root: Path) -> None:
    """A registry key, or a file / folder of files with a Fingertips header."""
    # lazy: keeps pandas off this module's import
    from nhsbook.io.fingertips import FingertipsFormatError, check_header

    if item in sources.load_registry():
        return
    path = Path(item) if Path(item).is_absolute() else root / item
    if path.is_dir():
        files = sorted([*path.glob("*.csv"), *path.glob("*.csv.gz")])
    elif path.is_file():
        files = [path]
    else:
        raise NewBookError(
            f"export {item!r} is neither a registry key (data/sources.yml) nor "
            "an existing file or folder"
        )
    if not files:
        raise NewBookError(f"export folder {path} holds no .csv or .csv.gz file")
    for f in files:
        opener = gzip.open if f.suffix == ".gz" else open
        try:
            with opener(f, "rt", encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(io.StringIO(fh.readline())), [])
        except (OSError, UnicodeDecodeError) as exc:
            raise NewBookError(f"{f}: cannot read the header ({exc})") from None
        try:
            check_header(header, f)
        except FingertipsFormatError as exc:
            raise NewBookError(str(exc)) from None


def write_book(
    loader: str,
    area: str,
    exports: list[str] | None = None,
    *,
    name: str | None = None,
    root: Path | None = None,
    force: bool = False,
    kind: str = "",
) -> Path:
    """Write ``books/<name>.yml`` and return its path (module docstring)."""
    root = Path(root) if root else project_root()
    check_name(area, "area code (--area / --icb / --sub-icb)")
    if loader not in ("fingertips", "opendata"):
        raise NewBookError(f"unknown loader {loader!r}: expected fingertips or opendata")
    if loader == "fingertips" and not exports:
        raise NewBookError(
            "--loader fingertips needs one or more exports (registry keys, "
            "files or folders of Fingertips CSV exports)"
        )
    ons, area_name, kind = _area(area, kind)
    name = name or f"{loader}-{area.lower()}"
    check_name(name, "book name (--name)")
    path = root / "books" / f"{name}.yml"
    if path.exists() and not force:
        raise NewBookError(f"{path} exists: choose another --name or give --force")
    what = "ICB" if kind == "icb_code" else "sub-ICB location"
    book = {
        "name": name,
        "title": f"{area_name} ({area.upper()})",
        "loader": loader,
        "data": f"books/{name}.yml",
        "synthetic": False,
    }
    if loader == "fingertips":
        for item in exports:
            _check_export(item, root)
        book["notice"] = (
            f"A book from Fingertips exports for the {what} {area_name} "
            f"({ons}), its primary care networks and practices. "
            "See [Data sources](data_sources.md)."
        )
        book["fingertips"] = {"exports": list(exports), "area": area.upper()}
        book["type_labels"] = {"england": "England", **TYPE_LABELS}
        book["pages"] = PAGES_FINGERTIPS
    else:
        book["notice"] = (
            f"A book from current open data for the {what} {area_name} ({ons}). "
            "See [Data sources](data_sources.md)."
        )
        book["opendata"] = {kind: area.upper()}
        book["population_comparator"] = {
            "name": "England (registered patients, July 2026)",
            "area_code": "E92000001",
        }
        book["type_labels"] = TYPE_LABELS
        book["pages"] = PAGES_OPENDATA
    text = (
        f"# Written by `nhsbook new --loader {loader}` for the {what} {area.upper()} "
        f"({ons}); edit freely.\n"
        + yaml.safe_dump(book, sort_keys=False, allow_unicode=True, width=100)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
