"""Safe publishing: build the site aside, scan it for disclosure, then swap it in atomically.

1. jupyter-book writes the new site into ``build/staging/<book>-<pid>/`` — never over the
   published one.
2. :func:`scan` reads everything the new site publishes — each page's HTML tables, the data
   of every chart embedded in the pages, every CSV download and every notebook offered for
   download — and fails if any count from 1 to 4 is published, or a count from 1 to 4 can be
   derived from a published value and denominator (``count = value × denominator /
   multiplier``; for indirectly standardised ratios ``observed = value / reference ×
   expected``).
3. :func:`swap` publishes: ``book/_build/html`` is a symbolic link to the current site folder
   under ``build/sites/``; the new folder replaces it with one ``rename`` of a new link
   (atomic on POSIX), after which older site folders are removed — never the one the link
   points at, nor another running build's new site.  A build that fails or is killed at any
   step before the swap leaves the previous site exactly as it was; the next build removes
   what it left behind (:mod:`nhsbook.recovery`).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import testhook
from .pages import COUNT_COLUMNS
from .safepath import remove_tree

#: How a chart's data names an indicator, a value and a denominator.
_IND, _VAL, _DEN = ("indicator_id", "i"), ("value", "v"), ("denominator", "d")
_SPEC = re.compile(r"var spec = (\{.*?\}); var opts", re.S)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)


@dataclass(frozen=True)
class Finding:
    """One published cell that discloses a small number."""

    file: str
    where: str
    column: str
    value: object
    rule: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}, column {self.column!r} = {self.value!r} ({self.rule})"


class DisclosureError(RuntimeError):
    """The staged site publishes small numbers; the message lists them."""


def _count_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if any(w in str(c).lower() for w in COUNT_COLUMNS)]


def _numbers(col: pd.Series) -> pd.Series:
    text = col.astype(str).str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(text, errors="coerce")


def check_table(table: pd.DataFrame, file: str, where: str,
                metadata: pd.DataFrame | None = None) -> list[Finding]:
    """Small counts in count-like columns, and small counts implied by value × denominator
    (when the table names its indicator and ``metadata`` gives the method)."""
    found = []
    for col in _count_columns(table):
        nums = _numbers(table[col])
        for row in table.index[(nums >= 1) & (nums < 5)]:
            found.append(Finding(file, f"{where} row {row}", str(col), table.at[row, col],
                                 "count from 1 to 4"))
    found += _implied_counts(table, file, where, metadata)
    return found


def _pick(table: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in table.columns), None)


def _implied_counts(table: pd.DataFrame, file: str, where: str,
                    metadata: pd.DataFrame | None) -> list[Finding]:
    ind, val, den = _pick(table, _IND), _pick(table, _VAL), _pick(table, _DEN)
    if metadata is None or not (ind and val and den):
        return []
    meta = metadata.set_index("indicator_id")
    ids = table[ind].astype(str)
    known = ids.isin(meta.index)
    if not known.any():
        return []
    method = ids.map(meta["method"])
    mult = ids.map(meta["multiplier"]).astype(float)
    ref = ids.map(meta["reference_value"]).astype(float)
    value, denom = _numbers(table[val]), _numbers(table[den])
    implied = np.where(method.eq("isr"), value / ref * denom, value * denom / mult)
    implied = pd.Series(implied, index=table.index).round(6)
    bad = known & method.isin(["proportion", "crude_rate", "isr"]) & (implied >= 1) & \
        (implied < 4.5)
    return [Finding(file, f"{where} row {row}", f"{val}×{den}", round(float(implied[row]), 2),
                    "count from 1 to 4 derivable from value and denominator")
            for row in table.index[bad]]


def _chart_tables(html: str) -> list[tuple[str, pd.DataFrame]]:
    """Every dataset of every nhsbook chart embedded in a page (names as published, and as
    ``usermeta.csv_columns`` renames them)."""
    out = []
    for k, m in enumerate(_SPEC.finditer(html), 1):
        spec = json.loads(m.group(1).replace("<\\/", "</"))
        names = (spec.get("usermeta") or {}).get("csv_columns") or {}
        datasets = dict(spec.get("datasets") or {})
        if (spec.get("data") or {}).get("values"):
            datasets["data"] = spec["data"]["values"]
        for name, rows in datasets.items():
            table = pd.DataFrame(rows)
            renamed = table.rename(columns=names)
            # keep the short names too, for the value × denominator check
            out.append((f"chart {k} dataset {name}",
                        pd.concat([table, renamed.loc[:, ~renamed.columns.isin(table.columns)]],
                                  axis=1)))
    return out


_TABLE = re.compile(r"<table\b.*?</table>", re.S | re.I)
_THEAD = re.compile(r"<thead\b.*?</thead>", re.S | re.I)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S | re.I)
_CELL = re.compile(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def _cells(row: str) -> list[str]:
    return [" ".join(html_lib.unescape(_TAG.sub(" ", c)).split()) for c in _CELL.findall(row)]


def _html_tables(html: str) -> list[tuple[str, pd.DataFrame]]:
    """Every ``<table>`` of a page as a frame of cell texts (header: the last row of
    ``<thead>``, else the first row).  Scripts are dropped first (chart data is checked by
    :func:`_chart_tables`)."""
    out = []
    for k, table in enumerate(_TABLE.findall(_SCRIPT.sub("", html)), 1):
        head = _THEAD.search(table)
        head_rows = [_cells(r) for r in _ROW.findall(head.group(0))] if head else []
        body = table[head.end():] if head else table
        rows = [c for c in (_cells(r) for r in _ROW.findall(body)) if c]
        if head_rows:
            header = head_rows[-1]
        elif rows:
            header, rows = rows[0], rows[1:]
        else:
            continue
        if not rows:
            continue
        width = len(header)
        names = [h or f"column {i + 1}" for i, h in enumerate(header)]
        body_rows = [r[:width] + [""] * (width - len(r)) for r in rows]
        out.append((f"table {k}", pd.DataFrame(body_rows, columns=names)))
    return out


def _notebook_html(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            text = data.get("text/html")
            if text:
                parts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(parts)


def scan(site: Path, metadata: pd.DataFrame | None = None) -> list[Finding]:
    """Disclosure scan of a built site (see module docstring)."""
    found: list[Finding] = []
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(site))
        if path.suffix == ".csv":
            try:
                table = pd.read_csv(path, dtype=str, keep_default_na=False)
            except (pd.errors.EmptyDataError, pd.errors.ParserError):
                continue
            found += check_table(table, rel, "CSV", metadata)
        elif path.suffix in (".html", ".ipynb") and not rel.startswith(("_static", "genindex",
                                                                         "search")):
            html = (_notebook_html(path) if path.suffix == ".ipynb"
                    else path.read_text(encoding="utf-8"))
            if "<table" in html:
                for where, table in _html_tables(html):
                    found += check_table(table, rel, where, metadata)
            for where, table in _chart_tables(html):
                found += check_table(table, rel, where, metadata)
    return found


def staging_dir(root: Path, book: str) -> Path:
    """A fresh folder for one build's site."""
    folder = root / "build" / "staging" / f"{book}-{os.getpid()}-{int(time.time())}"
    if folder.exists():
        remove_tree(folder, root)
    folder.mkdir(parents=True)
    return folder


#: A site folder under ``build/sites/``: ``site-<date>-<time>-<pid of its build>[-<n>]``.
_SITE = re.compile(r"site-\d{8}-\d{6}-(?P<pid>\d+)(?:-\d+)?")


def link_target(published: Path) -> Path | None:
    """The folder the published link ``book/_build/html`` points at (resolved, whether or not
    it exists), or ``None`` when ``published`` is not a link."""
    if not published.is_symlink():
        return None
    return (published.parent / os.readlink(published)).resolve()


def _new_site(sites: Path) -> Path:
    stem = f"site-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    target, n = sites / stem, 1
    while target.exists() or target.is_symlink():
        target, n = sites / f"{stem}-{n}", n + 1
    return target


def remove_old_sites(sites: Path, published: Path, keep: Path | None = None, *,
                     only_dead: bool = True) -> list[Path]:
    """Remove the site folders under ``sites`` that ``published`` does not point at (read
    now) and that are not ``keep``.  With ``only_dead`` (the default, as in :func:`swap`), a
    folder named after a build that is still running (``site-…-<pid>``, other than this
    process) is kept too: it may be another build's new site, about to be published.
    Returns what was removed."""
    from .lock import pid_alive

    if not sites.is_dir():
        return []
    current = link_target(published)
    keep_r = keep.resolve() if keep is not None else None
    removed = []
    for old in sorted(sites.iterdir()):
        resolved = old.resolve()
        if resolved in (current, keep_r):
            continue
        m = _SITE.fullmatch(old.name)
        if only_dead and m and int(m["pid"]) != os.getpid() and pid_alive(int(m["pid"])):
            continue
        if old.is_dir() and not old.is_symlink():
            remove_tree(old, sites.parent.parent, ignore_errors=True)  # <project>/build/sites
        else:
            old.unlink(missing_ok=True)
        removed.append(old)
    return removed


def swap(staged_html: Path, published: Path, sites: Path) -> Path:
    """Make ``published`` (a symlink) point at ``staged_html`` moved under ``sites``, in one
    atomic rename; then remove older sites.  Returns the new site folder.

    Never removes the folder ``published`` points at before the link points elsewhere, nor
    the new site of another build that is still running (:func:`remove_old_sites`); a
    dangling ``published`` link is simply replaced.  The new link is made as
    ``html.<pid>.new`` beside ``published`` (one per build, so two swaps never share it)."""
    if not (staged_html / "index.html").is_file():
        raise FileNotFoundError(f"{staged_html} has no index.html: not publishing it")
    sites.mkdir(parents=True, exist_ok=True)
    target = _new_site(sites)
    shutil.move(str(staged_html), target)   # a rename: staging and sites are both in build/
    published.parent.mkdir(parents=True, exist_ok=True)
    if published.exists() and not published.is_symlink():
        # a site from before safe publishing: keep it beside the new ones
        legacy, n = sites / "site-legacy", 1
        while legacy.exists():
            legacy, n = sites / f"site-legacy-{n}", n + 1
        shutil.move(str(published), legacy)
    link = published.with_name(f"{published.name}.{os.getpid()}.new")
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(target, published.parent))
    testhook.pause("swap")
    os.replace(link, published)
    remove_old_sites(sites, published, keep=target)
    return target
