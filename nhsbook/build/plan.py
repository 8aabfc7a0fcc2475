"""The plan of a book: every page (one notebook for one area, in one part), in
table-of-contents order, with the area codes checked as safe folder names.  The build runs
the plan (:mod:`nhsbook.build.book`) and the board reports follow it (:mod:`nhsbook.build.report`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nhsbook.config.book import BookConfig
from nhsbook.core import safepath
from nhsbook.pipeline.store import input_paths


class BuildFailed(RuntimeError):
    """A build step failed; the message says which and why."""


@dataclass(frozen=True)
class Page:
    """One notebook run for one area, in one part of the book."""

    part: str
    notebook: str
    area_code: str
    area_name: str
    area_type: str = ""
    parent_code: str = ""

    @property
    def file(self) -> str:
        """The page's path in the book, without suffix (for the table of contents)."""
        return f"areas/{self.area_code}/{self.notebook}"


#: Area codes become folder and file names: letters, digits, dot, dash and underscore only
#: (:data:`nhsbook.core.safepath.SAFE_NAME`, anchored ``\A…\Z``: ``SYN04\n`` is refused).
SAFE_CODE = safepath.SAFE_NAME


def _code_source(cfg: BookConfig, code: str) -> tuple[str | None, int | None]:
    """The input file and line holding the area code ``code`` as a whole CSV field (the
    first found), for error messages; ``(None, None)`` when no CSV input holds it."""
    import csv

    try:
        files = [p for p in input_paths(cfg).values() if Path(p).suffix == ".csv"]
    except Exception:  # noqa: BLE001 - the message is still clear without the file
        return None, None
    for file in files:
        try:
            with open(file, newline="", encoding="utf-8-sig", errors="replace") as fh:
                reader = csv.reader(fh)
                start = 1
                for row in reader:
                    if code in row:
                        return str(file), start
                    start = reader.line_num + 1
        except (OSError, csv.Error):
            continue
    return None, None


def _unsafe_codes(
    cfg: BookConfig, areas: pd.DataFrame, part: str, chosen: list[tuple]
) -> str | None:
    """The error message for the area codes of ``chosen`` that are not safe names (each
    with its row of the area table and the input file and line it came from)."""
    problems = []
    for code, name, kind, _ in chosen:
        if safepath.is_safe_name(code):
            continue
        file, line = _code_source(cfg, str(code))
        try:
            safepath.check_name(code, "area code", file, line)
        except safepath.UnsafePath as exc:
            rows = areas.index[areas["area_code"].astype(str) == str(code)].tolist()
            where = (
                f" (row {rows[0]} of the area table: {kind or 'area'} {str(name)!r})"
                if rows
                else f" ({str(name)!r})"
            )
            problems.append(f"{exc}{where}")
    if not problems:
        return None
    return (
        f"page set {part!r}: {len(problems)} area code(s) are not safe as folder "
        "names; nothing was built:\n" + "\n".join(f"  {p}" for p in problems[:10])
    )


def plan_pages(cfg: BookConfig, areas: pd.DataFrame) -> list[Page]:
    """Every page of the book in table-of-contents order (refusing area codes that are not
    safe as folder names, e.g. ``../x``)."""
    pages: list[Page] = []
    for ps in cfg.page_sets:
        if ps.area_types:
            order = {t: i for i, t in enumerate(ps.area_types)}
            sel = areas[areas["area_type"].isin(ps.area_types)].copy()
            sel["_order"] = sel["area_type"].map(order)
            sel = sel.sort_values(["_order", "area_name"])
            chosen = list(
                zip(
                    sel["area_code"],
                    sel["area_name"],
                    sel["area_type"],
                    sel["parent_code"].fillna(""),
                )
            )
        else:
            chosen = [(code, name, "", "") for code, name in ps.areas]
        unsafe = _unsafe_codes(cfg, areas, ps.part, chosen)
        if unsafe:
            raise BuildFailed(unsafe)
        pages += [
            Page(ps.part, nb, str(code), str(name), str(kind), str(parent))
            for code, name, kind, parent in chosen
            for nb in ps.notebooks
        ]
    return pages
