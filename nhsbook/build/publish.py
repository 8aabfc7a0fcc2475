"""Safe publishing: build the site aside, scan it for disclosure, then swap it in atomically.

1. jupyter-book writes the new site into ``build/staging/<book>-<pid>/`` — never over the
   published one.
2. :func:`scan` reads everything the new site publishes and fails if a count from 1 to
   ``threshold − 1`` (1–4 by default) is published, derivable, or recoverable:

   * **what it reads**: every CSV; every HTML table and the visible text of every page; the
     data of every chart embedded in a page; every SVG (its ``<text>``); every PDF (its text,
     through PDFium); every notebook offered for download (``_sources/**.ipynb``) with every
     output type — ``text/html`` (tables and charts), ``text/markdown`` (pipe tables and
     text), ``text/plain`` (a printed table is read as one), ``stream``, ``application/json``
     (records, and chart specs) and ``image/svg+xml`` — and the markdown sources of the pages;
   * **count columns** are those whose header has the role ``count`` in the data model
     (:data:`nhsbook.core.model.COLUMN_ROLES`: every header the book publishes, chart short names
     and ``usermeta.csv_columns`` renames included) — no list of words matched as
     substrings;
   * **implied counts**, for every count method, from the row's published numbers
     (:func:`nhsbook.build.audit.count_bounds`): ``value × denominator / multiplier``
     (proportions, crude rates, ratios), ``value / reference × expected`` (ISRs), and
     inversion of the published limits (Wilson; exact/Byar's Poisson; Dobson for DSRs);
   * **free text** (page text, markdown, plain text, streams, PDF, SVG text): a number from 1
     to ``threshold − 1`` is a count when it follows a count word (``count``, ``observed``,
     ``numerator``, ``number of …``, ``events``, ``deaths``: "Count: 3", "observed 2") or
     precedes an event noun ("3 deaths", "2 admissions"); statements of the rule itself
     ("counts from 1 to 4") are not counts.  In an SVG, the text of the data labels (vega's
     ``mark-text role-mark``) of a chart whose data carry a count column (its CSV
     companion's headers, by role) are counts too; axis ticks and legends are not;
   * **the differencing attack** (:mod:`nhsbook.build.audit`) over the published tables and the
     book's area hierarchy: a suppressed count recoverable as parent − siblings along any
     published hierarchy (practice → locality/PCN → CCG, deprivation quintiles), by linear
     programming over all of them, or by inverting published limits.
3. :func:`swap` publishes: ``book/_build/html`` is a symbolic link to the current site folder
   under ``build/sites/``; the new folder replaces it with one ``rename`` of a new link
   (atomic on POSIX), after which older site folders are removed — never the one the link
   points at, nor another running build's new site.  A build that fails or is killed at any
   step before the swap leaves the previous site exactly as it was; the next build removes
   what it left behind (:mod:`nhsbook.build.recovery`).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd

from nhsbook.build import audit, testhook
from nhsbook.build.lock import pid_alive
from nhsbook.build.sitefiles import (  # noqa: F401
    Finding,
    _file_parts,
    _html_tables,
    _markdown_tables,
    _plain_table,
    html_text,
    pdf_text,
    text_counts,
)
from nhsbook.core.model import count_columns
from nhsbook.core.safepath import remove_tree


class DisclosureError(RuntimeError):
    """The staged site publishes small numbers; the message lists them."""


#: Rule sets by name when :mod:`nhsbook.analysis.disclosure` does not define them: (smallest count
#: published, rounding base of published counts).
_RULE_SETS = {"standard": (5, 1), "nhs_digital": (8, 5)}


def _rule_set(name: object) -> tuple[int, int] | None:
    try:
        # the rule sets, where the book defines them
        # lazy: keeps scipy off this module's import
        from nhsbook.analysis.disclosure import RULES

        if str(name) in RULES:
            r = RULES[str(name)]
            return int(r.suppress_below), int(r.round_to or 1)
    except ImportError:
        pass
    return _RULE_SETS.get(str(name))


def book_threshold(cfg: object) -> int:
    """The smallest count a book publishes: its ``disclosure`` setting (a rule-set name,
    ``standard`` (5) / ``nhs_digital`` (8); a number; a mapping or object with
    ``threshold`` or ``suppress_below``); 5 when the book has none."""
    setting = getattr(cfg, "disclosure", None)
    if isinstance(setting, dict):
        setting = setting.get("threshold", setting.get("suppress_below", setting.get("rules")))
    elif setting is not None and hasattr(setting, "suppress_below"):
        setting = setting.suppress_below
    if isinstance(setting, (int, float)) and not isinstance(setting, bool):
        return int(setting)
    return (_rule_set(setting) or (5, 1))[0]


def book_rounding(cfg: object) -> int:
    """The base to which the book rounds published counts (5 for ``nhs_digital``; 1: exact)."""
    setting = getattr(cfg, "disclosure", None)
    if isinstance(setting, dict):
        return int(setting.get("round_to") or 1)
    if setting is not None and hasattr(setting, "round_to"):
        return int(setting.round_to or 1)
    return (_rule_set(setting) or (5, 1))[1]


def indicator_thresholds(metadata: pd.DataFrame | None, default: int) -> dict[str, int]:
    """Each indicator's smallest published count: the metadata's ``suppress_below`` (a
    number) or ``disclosure`` (a rule-set name) column where given, else ``default``."""
    if metadata is None:
        return {}
    out = {}
    for _, row in metadata.iterrows():
        t = default
        below = row.get("suppress_below")
        name = row.get("disclosure")
        if below is not None and not pd.isna(below) and str(below).strip():
            t = int(float(below))
        elif isinstance(name, str) and name.strip() and _rule_set(name.strip()):
            t = _rule_set(name.strip())[0]
        out[str(row["indicator_id"])] = t
    return out


def _numbers(col: pd.Series) -> pd.Series:
    text = col.astype(str).str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(text, errors="coerce")


def check_table(
    table: pd.DataFrame,
    file: str,
    where: str,
    metadata: pd.DataFrame | None = None,
    threshold: int = 5,
    resolver: "audit.Resolver | None" = None,
    implied: list | None = None,
) -> list[Finding]:
    """Small counts in count columns (by role, :func:`nhsbook.core.model.count_columns`), and
    small counts implied by a row's published numbers (when the table names its indicator
    and ``metadata`` gives the method; see :func:`nhsbook.build.audit.count_bounds`).  ``implied``:
    those bounds when the caller has them already (:func:`nhsbook.build.audit.read_table`)."""
    found = []
    for col in count_columns(table.columns):
        nums = _numbers(table[col])
        for row in table.index[(nums >= 1) & (nums < threshold)]:
            found.append(
                Finding(
                    file,
                    f"{where} row {row}",
                    str(col),
                    table.at[row, col],
                    f"count from 1 to {threshold - 1}",
                )
            )
    if implied is None and (metadata is not None or resolver is not None):
        res = resolver or audit.Resolver(metadata, None)
        implied = list(audit.implied_counts(table, res))
    return found + _implied_findings(table, file, where, implied or [], threshold)


def _implied_findings(
    table: pd.DataFrame, file: str, where: str, implied: list, threshold: int
) -> list[Finding]:
    found = []
    for row, ind, lo, hi, how in implied:
        if not math.isfinite(hi):
            continue
        lo_i, hi_i = math.ceil(lo - 1e-6), math.floor(hi + 1e-6)
        if 1 <= lo_i and hi_i <= threshold - 1:
            value = lo_i if lo_i == hi_i else f"{lo_i}..{hi_i}"
            found.append(
                Finding(
                    file,
                    f"{where} row {table.index[row]}",
                    how,
                    value,
                    f"count from 1 to {threshold - 1} derivable from {how} (indicator {ind})",
                )
            )
    return found


def scan(
    site: Path,
    metadata: pd.DataFrame | None = None,
    *,
    areas: pd.DataFrame | None = None,
    threshold: int = 5,
    rounding: int = 1,
) -> list[Finding]:
    """Disclosure scan of a built site (see module docstring).  Without ``metadata`` only
    published counts are checked; with ``metadata`` and ``areas`` (the book's computed area
    hierarchy) the differencing attack of :mod:`nhsbook.build.audit` runs too."""
    found: list[Finding] = []
    res = audit.Resolver(metadata, areas) if metadata is not None else None
    kn = audit.Knowledge() if (res is not None and areas is not None) else None
    # lazy: keeps scipy off this module's import
    from nhsbook.analysis.views import deprivation_indicator

    dep = deprivation_indicator(metadata) if metadata is not None and "name" in metadata else None
    files = [p for p in sorted(site.rglob("*")) if p.is_file()]
    # charts whose data carry a count column (their SVG data labels are counts)
    count_charts = set()
    for p in files:
        if p.suffix == ".csv" and p.with_suffix(".svg").is_file():
            with open(p, encoding="utf-8", errors="replace") as fh:
                head = fh.readline()
            try:
                header = pd.read_csv(pd.io.common.StringIO(head), nrows=0).columns
            except (pd.errors.EmptyDataError, pd.errors.ParserError):
                continue
            if count_columns(header):
                count_charts.add(str(p.relative_to(site).with_suffix("")))
    for path in files:
        rel = str(path.relative_to(site))
        if rel.startswith(("_static", "genindex", "search", "objects.inv")):
            continue
        page_html = ""
        if rel.startswith("_sources/") and path.suffix == ".ipynb":
            built = site / Path(rel[len("_sources/") :]).with_suffix(".html")
            page_html = (
                built.read_text(encoding="utf-8", errors="replace") if built.is_file() else ""
            )
        tables, texts, svg_found = _file_parts(path, rel, threshold, count_charts, page_html)
        found += svg_found
        page = audit.page_area(rel)
        # the attacker reads each publication once: the page (its tables and embedded chart
        # data) rather than the chart's CSV copy and the downloadable notebook's copy
        attack_reads = (
            kn is not None
            and not rel.startswith("_sources")
            and not (rel.startswith("charts/") and path.suffix == ".csv")
        )
        for where, table in tables:
            implied = None
            if res is not None:
                implied = audit.read_table(
                    kn if attack_reads else None,
                    table,
                    f"{rel} {where}".strip(),
                    page,
                    res,
                    dep,
                    rounding,
                )
            found += check_table(table, rel, where, threshold=threshold, implied=implied)
        for where, text in texts:
            for snip in text_counts(text, threshold):
                found.append(
                    Finding(rel, where, "text", snip, f"count from 1 to {threshold - 1} in text")
                )
    if kn is not None:
        per = indicator_thresholds(metadata, threshold)
        for r in audit.attack(kn, audit.site_groups(kn, areas), threshold, per):
            found.append(
                Finding(
                    r.files[0] if r.files else "",
                    f"indicator {r.indicator_id} ({r.period}), area {r.area}",
                    "count",
                    r.value if r.value is not None else f"{r.lo}..{r.hi}",
                    f"suppressed count recoverable: {r.how}; from {', '.join(r.files[:4])}",
                )
            )
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


def remove_old_sites(
    sites: Path, published: Path, keep: Path | None = None, *, only_dead: bool = True
) -> list[Path]:
    """Remove the site folders under ``sites`` that ``published`` does not point at (read
    now) and that are not ``keep``.  With ``only_dead`` (the default, as in :func:`swap`), a
    folder named after a build that is still running (``site-…-<pid>``, other than this
    process) is kept too: it may be another build's new site, about to be published.
    Returns what was removed."""

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
    shutil.move(str(staged_html), target)  # a rename: staging and sites are both in build/
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
