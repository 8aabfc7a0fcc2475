"""The build: validate every input, compute once, run the notebooks per area, build the site.

1. **Validate** all inputs with the Great Expectations suites in ``expectations/``; on failure
   print the report and stop: nothing is computed, executed or published.  Skipped while the
   inputs and suites are those of the last passing gate.
2. **Compute** every indicator for every area in one pass (:mod:`nhsbook.pipeline.store`), unless the
   stored tables are current.
3. **Run** each page notebook through papermill for every area with a page, on an executor
   (:mod:`nhsbook.build.executor`: local processes or Dask), writing
   ``book/areas/<code>/<notebook>.ipynb``; only pages whose fingerprint changed run
   (:mod:`nhsbook.build.incremental`); then each area's profile CSV.
4. **Site**: write the generated pages (areas index, validation report, data sources) and the
   table of contents, then build ``book/`` with jupyter-book (incrementally, in
   ``build/jupyter-book/<book>/``), scan it and publish it as ``book/_build/html`` — skipped
   when nothing under ``book/`` changed since this book's site was published.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from nhsbook.analysis import indicators
from nhsbook.build import incremental as inc
from nhsbook.build import lock, publish, recovery, testhook
from nhsbook.build import report as board
from nhsbook.build.executor import KERNEL, Executor, PageRun, make_executor, run_notebook  # noqa: F401
from nhsbook.build.plan import SAFE_CODE, BuildFailed, Page, plan_pages  # noqa: F401 (the build's names)
from nhsbook.build.sphinx_ext import PUBLISH_NOTEBOOKS_ENV
from nhsbook.config import sources
from nhsbook.config.book import BookConfig, load_book
from nhsbook.core import escape, safepath
from nhsbook.core.escape import markdown as esc
from nhsbook.core.escape import markdown_code as esc_code
from nhsbook.io.loaders import loader_for
from nhsbook.pages import definitions, messages
from nhsbook.pages import renderer as website
from nhsbook.pipeline.store import compute_and_store, input_paths, is_current, load_computed
from nhsbook.validation import gate


@dataclass
class BuildResult:
    site: Path
    pages: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: Pages run by this build (the others were current), and whether the site was rebuilt.
    ran: list[Page] = field(default_factory=list)
    site_built: bool = False
    #: Reports made by this build (area code -> CPU seconds); the others were current.
    reports: dict[str, float] = field(default_factory=dict)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )


def validate_inputs(cfg: BookConfig):
    """Run the validation gate for the book's inputs; returns the report."""
    if loader_for(cfg).whole_book_gate:  # the seeds' reconciliations across its files
        return gate.validate_book(cfg.data)
    return gate.validate_datasets(input_paths(cfg))


def write_csvs(cfg: BookConfig, computed: dict[str, pd.DataFrame], codes: list[str]) -> None:
    """Each built area's profile table as ``_extra/data/<code>/profile.csv`` (suppressed)."""
    for code in codes:
        frames = []
        for profile in computed["metadata"]["profile"].unique():
            rows = indicators.profile_table(computed["values"], computed["metadata"], code, profile)
            table = indicators.display_table(rows)
            table.insert(0, "Profile", profile)
            table.insert(1, "Indicator ID", rows["indicator_id"].to_numpy())
            table.insert(2, "Area code", code)
            frames.append(table)
        table = escape.csv_frame(pd.concat(frames, ignore_index=True))  # formula guard
        inc.write_if_changed(
            cfg.book_dir / "_extra" / "data" / code / "profile.csv", table.to_csv(index=False)
        )


#: Contents captions of the hierarchy's area types.
TYPE_CAPTIONS = {
    "ccg": "CCG",
    "pcn": "Primary care networks",
    "locality": "Localities",
    "practice": "Practices",
    "district": "Districts",
}


def _caption(p: Page, captions: dict | None = None) -> str:
    """The contents part of a page: its area type for areas of the hierarchy (so that each
    area's chapter groups all its pages; a book's ``type_captions`` first), the page set's
    part for areas listed by code."""
    if not p.area_type:
        return p.part
    return {**TYPE_CAPTIONS, **(captions or {})}.get(p.area_type, p.area_type.title())


def _toc(pages: list[Page], captions: dict | None = None) -> dict:
    """jupyter-book's table of contents: a part per area type (or listed page set), a chapter
    per area (its first page) with the area's other pages as sections."""
    parts: dict[str, dict[str, list[str]]] = {}
    for p in pages:
        parts.setdefault(_caption(p, captions), {}).setdefault(p.area_code, []).append(p.file)
    chapters = [
        {
            "caption": part,
            "chapters": [
                {
                    "file": files[0],
                    **({"sections": [{"file": f} for f in files[1:]]} if files[1:] else {}),
                }
                for files in by_area.values()
            ],
        }
        for part, by_area in parts.items()
    ]
    return {
        "format": "jb-book",
        "root": "index",
        "parts": [
            {"caption": "Areas", "chapters": [{"file": "areas/index"}]},
            *chapters,
            {
                "caption": "About this book",
                "chapters": [
                    {"file": "methods"},
                    {"file": "data_sources"},
                    {"file": "definitions"},
                    {"file": "validation"},
                ],
            },
        ],
    }


def area_tree(
    pages: list[Page],
    prefix: str,
    headlines: dict[str, str] | None = None,
    reports: set[str] = frozenset(),
    to_root: str = "",
) -> list[str]:
    """Nested Markdown list of every area with pages (CCG → localities → practices; listed
    areas after), each linking to all its pages and to its PDF board report when it has one
    (``reports``); ``prefix`` is the path to ``areas/``, ``to_root`` to the site's root.
    ``headlines``: a one-line headline per area code (:func:`nhsbook.pages.messages.headline`,
    plain text), shown after the links."""
    by_area: dict[str, list[Page]] = {}
    for p in pages:
        by_area.setdefault(p.area_code, []).append(p)
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    for code, ps in by_area.items():
        parent = ps[0].parent_code
        if ps[0].area_type and parent in by_area:
            children.setdefault(parent, []).append(code)
        else:
            roots.append(code)

    def item(code: str, depth: int) -> list[str]:
        ps = by_area[code]
        links = ", ".join(f"[{_title(p.notebook)}]({prefix}{code}/{p.notebook}.ipynb)" for p in ps)
        if code in reports:
            links += f', <a href="{escape.html(board.href(code, to_root))}">board report (PDF)</a>'
        kind = ps[0].area_type or ps[0].part
        head = (headlines or {}).get(code, "")
        lines = [
            f"{'  ' * depth}- **{esc(ps[0].area_name)}** ({esc(kind)}, {esc_code(code)}): "
            f"{links}" + (f". {esc(head)}" if head else "")
        ]
        for child in children.get(code, []):
            lines += item(child, depth + 1)
        return lines

    out: list[str] = []
    for code in roots:
        out += item(code, 0)
    return out


def area_groups(cfg: BookConfig) -> list[str]:
    """What each group of areas is and where it comes from (the page sets' ``about``), one
    paragraph per contents part, before the list of areas; empty when no set says."""
    about: dict[str, list[str]] = {}
    for ps in cfg.page_sets:
        if ps.about and ps.about not in about.get(ps.part, []):
            about.setdefault(ps.part, []).append(ps.about)
    if not about:
        return []
    lines = [
        "Each area's one-line headline follows its pages. The groups of areas and "
        "where they come from:",
        "",
    ]
    lines += [
        f"- **{esc(part)}**: {' '.join(esc(t) for t in texts)}" for part, texts in about.items()
    ]
    return lines + [""]


def landing_headlines(
    cfg: BookConfig, pages: list[Page], computed: dict[str, pd.DataFrame] | None = None
) -> dict[str, str]:
    """Each area's headline (:func:`nhsbook.pages.messages.headline`) for the landing page."""
    tables = messages.load_tables(cfg, computed)
    return messages.headlines(tables, dict.fromkeys(p.area_code for p in pages))


def _title(notebook: str) -> str:
    return notebook.replace("_", " ")


def write_generated_pages(
    cfg: BookConfig,
    pages: list[Page],
    csv_areas: set[str],
    report_md: str,
    computed: dict[str, pd.DataFrame] | None = None,
    reports: set[str] = frozenset(),
    headlines: dict[str, str] | None = None,
) -> None:
    """Landing page, areas index, validation report, data sources, definitions (of every
    indicator of ``computed["metadata"]``, default the stored tables') and the table of
    contents (areas with a PDF board report, ``reports``, link to it).  ``headlines``: each
    area's landing headline when the caller has them (:func:`landing_headlines`)."""
    book = cfg.book_dir
    lines = [
        "# Areas",
        "",
        f"Every area of *{esc(cfg.title)}* and its pages. Profile tables download as CSV:",
        "",
    ]
    lines += area_tree(pages, "", reports=reports, to_root="../")
    lines += ["", "## Profile tables as CSV", ""]
    lines += [
        f"- <a href=\"../data/{escape.html(code)}/profile.csv\">{esc(code)}</a>"
        for code in dict.fromkeys(p.area_code for p in pages)
        if code in csv_areas
    ]
    # written only when changed: the site step is skipped while nothing under book/ changed
    inc.write_if_changed(book / "areas" / "index.md", "\n".join(lines) + "\n")
    landing = (book / "_landing.md").read_text(encoding="utf-8")
    notice = cfg.notice
    if cfg.synthetic and not notice:  # a synthetic book always says so
        notice = f"> **Synthetic data.** {' '.join(cfg.synthetic_note.split())}"
    landing = landing.replace("{{book_notice}}", notice)
    landing += (
        "\n## Areas in this book\n\n"
        + "\n".join(
            area_groups(cfg)
            + area_tree(
                pages,
                "areas/",
                headlines if headlines is not None else landing_headlines(cfg, pages, computed),
                reports,
            )
        )
        + "\n"
    )
    if reports:
        landing += (
            "\n## Board reports\n\nEach area as an A4 PDF paper for boards and "
            "committees, rebuilt with every build: "
            + ", ".join(
                f'<a href="{escape.html(board.href(p.area_code, ""))}">{esc(p.area_name)}</a>'
                for p in {p.area_code: p for p in pages if p.area_code in reports}.values()
            )
            + ".\n"
        )
    inc.write_if_changed(book / "index.md", landing)
    inc.write_if_changed(book / "validation.md", "# Validation report\n\n" + report_md)
    inc.write_if_changed(book / "data_sources.md", data_sources_page(cfg))
    metadata = (computed if computed is not None else load_computed(cfg))["metadata"]
    inc.write_if_changed(book / f"{definitions.PAGE}.md", definitions.page_markdown(metadata, cfg))
    inc.write_if_changed(
        book / "_toc.yml", yaml.safe_dump(_toc(pages, cfg.type_captions), sort_keys=False)
    )


def data_sources_page(cfg: BookConfig) -> str:
    """The Data sources chapter: the book's inputs as its loader describes them (the seed
    documents and the synthetic generator, the open-data files, …), then the registry."""
    parts = ["# Data sources", ""]
    parts += loader_for(cfg).sources_markdown(cfg)
    try:
        parts += ["## Open data registry", "", sources.data_sources_markdown()]
    except (ImportError, AttributeError, FileNotFoundError) as exc:  # registry optional
        parts += [f"(The open-data registry could not be read: {esc(exc)})"]
    return "\n".join(parts) + "\n"


def jb_output(cfg: BookConfig) -> Path:
    """jupyter-book's persistent output folder for the book (its Sphinx environment lets a
    rebuild redo only the pages that changed)."""
    return cfg.root / "build" / "jupyter-book" / cfg.name


def unpublished(rel: str) -> bool:
    """Whether a file of ``book/_extra`` (path relative to it) stays out of the site: the
    chart specs the pages keep for the reports and the reports' drawings (``_config.yml``
    excludes them from Sphinx's copy)."""
    return rel.endswith(".vl.json") or rel.split("/", 1)[0] == "_svg"


def _prune_extra(html: Path, extra: Path) -> None:
    """Remove files of ``html`` copied from ``book/_extra`` earlier that ``_extra`` no longer
    holds or no longer publishes (Sphinx copies extra files but never deletes them)."""
    if not extra.is_dir():
        return
    for top in extra.iterdir():
        if not top.is_dir() or not (html / top.name).is_dir():
            continue
        for path in list((html / top.name).rglob("*")):
            rel = path.relative_to(html)
            if path.is_file() and (unpublished(rel.as_posix()) or not (extra / rel).is_file()):
                path.unlink()
        for folder in sorted((p for p in (html / top.name).rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any((html / top.name).iterdir()):
            (html / top.name).rmdir()


def run_site(
    cfg: BookConfig,
    metadata: pd.DataFrame | None = None,
    *,
    full: bool = False,
    areas: pd.DataFrame | None = None,
) -> Path:
    """Build ``book/`` with jupyter-book into its persistent output folder (incrementally
    unless ``full``), copy the site to a staging folder, scan it for disclosure, then publish
    it atomically as ``book/_build/html`` (:mod:`nhsbook.build.publish`); returns the published site
    folder.  Any failure leaves the previous site untouched."""
    out = jb_output(cfg)
    # a jupyter-book run that did not finish (killed) leaves a Sphinx environment whose
    # incremental rebuild would index only the changed pages: start from scratch then
    full = full or recovery.is_incomplete(out)
    if full and out.exists():
        safepath.remove_tree(out, cfg.root)
    recovery.mark_incomplete(out)
    # jupyter-book's command line, with Sphinx in one process per core (its own has no -j)
    cmd = [
        sys.executable,
        "-m",
        "nhsbook.build.jupyter_book_entry",
        "build",
        str(cfg.book_dir),
        "--config",
        str(cfg.root / "_config.yml"),
        "--toc",
        str(cfg.book_dir / "_toc.yml"),
        "--path-output",
        str(out),
        "-q",
        *(["--all"] if full else []),
    ]
    # jupyter-book keeps the project lock if this build dies while it runs (nhsbook.build.lock)
    env = {**os.environ, PUBLISH_NOTEBOOKS_ENV: "1" if cfg.publish_notebooks else "0"}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=cfg.root, env=env, pass_fds=lock.held_fds(cfg.root)
    )
    html = out / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").is_file():
        safepath.remove_tree(out, cfg.root, ignore_errors=True)  # the next build starts afresh
        raise BuildFailed(
            "jupyter-book build failed; the published site is unchanged:\n"
            + proc.stdout[-4000:]
            + proc.stderr[-4000:]
        )
    recovery.clear_incomplete(out)
    _prune_extra(html, cfg.book_dir / "_extra")
    staging = publish.staging_dir(cfg.root, cfg.name)
    try:
        staged = staging / "html"
        shutil.copytree(html, staged, symlinks=True, copy_function=testhook.copy2)
        threshold = publish.book_threshold(cfg)
        findings = publish.scan(
            staged, metadata, areas=areas, threshold=threshold, rounding=publish.book_rounding(cfg)
        )
        if findings:
            shown = "\n".join(f"  {f}" for f in findings[:20])
            raise BuildFailed(
                f"disclosure check failed: {len(findings)} published cells "
                f"show, imply or let an attacker recover a count from 1 to "
                f"{threshold - 1}; nothing was published "
                f"(the previous site is unchanged):\n{shown}"
            )
        publish.swap(staged, cfg.site_dir, cfg.root / "build" / "sites")
    finally:
        safepath.remove_tree(staging, cfg.root, ignore_errors=True)
    return cfg.site_dir


#: A chart's files: ``<notebook>-<n>.csv|vl.json`` under ``_extra/charts/<area>/`` (and the
#: ``.svg`` an older build drew for every chart, removed with them).
CHART = re.compile(r"^(?P<notebook>.+)-\d+\.(svg|csv|vl\.json)$")


def _page_id(p: Page) -> str:
    return f"{p.area_code}/{p.notebook}"


def _remove_page_outputs(cfg: BookConfig, page_id: str, state: inc.PageState) -> None:
    """Delete a page's notebook and chart files (before it re-runs, or when it is no longer
    planned)."""
    code, notebook = page_id.split("/", 1)
    page = cfg.book_dir / "areas" / code / f"{notebook}.ipynb"
    charts = cfg.book_dir / "_extra" / "charts" / code
    wrote = [Path(f) for f in state.pages.get(page_id, {}).get("wrote", [])]
    outside = [str(f) for f in [page, charts] if not safepath.inside(f, cfg.book_dir)] + [
        str(f)
        for f in wrote
        if not safepath.inside(f, cfg.book_dir, cfg.root / "build", sources.cache_dir())
    ]
    if outside:  # only a hand-edited (or planted) state file can name these
        raise BuildFailed(
            f"{inc.state_dir(cfg.root) / 'pages.json'}: page {page_id!r} names "
            f"files outside the book and build folders ({outside[:3]}); "
            "nothing was deleted: remove that state file and build again"
        )
    page.unlink(missing_ok=True)
    if charts.is_dir():
        for f in charts.iterdir():
            m = CHART.match(f.name)
            if m and m["notebook"] == notebook:
                f.unlink()
    for f in wrote:
        f.unlink(missing_ok=True)


def _remove_stale(
    cfg: BookConfig, planned: set[str], profile_codes: set[str], state: inc.PageState
) -> None:
    """Remove pages, charts and profile CSVs that the book no longer plans."""
    book = cfg.book_dir
    found = {f"{nb.parent.name}/{nb.stem}" for nb in (book / "areas").glob("*/*.ipynb")}
    for f in (book / "_extra" / "charts").glob("*/*"):
        m = CHART.match(f.name)
        found.add(f"{f.parent.name}/{m['notebook'] if m else f.name}")
    for page_id in sorted((found | set(state.pages)) - planned):
        _remove_page_outputs(cfg, page_id, state)
        state.pages.pop(page_id, None)
    # profile tables of areas no longer built (files pages wrote there are removed with
    # the page, from its record)
    for csv in (book / "_extra" / "data").glob("*/profile.csv"):
        if csv.parent.name not in profile_codes:
            csv.unlink()
    for parent in (book / "areas", book / "_extra" / "charts", book / "_extra" / "data"):
        for folder in parent.glob("*"):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def _deps_roots(cfg: BookConfig) -> tuple[str, ...]:
    """Where a page's inputs live (nhsbook.core.page_inputs): data, computed tables, mirror, cache and
    the book's _extra folder (its outputs)."""
    roots = [cfg.data, cfg.cache_dir, sources.cache_dir(), cfg.book_dir / "_extra"]
    mirror = sources.mirror_dir()
    if mirror is not None:
        roots.append(mirror)
    return tuple(str(Path(r).resolve()) for r in roots)


def build(
    book: str = "default",
    *,
    jobs: int | None = None,
    site: bool = True,
    scheduler: str | None = None,
    executor: Executor | None = None,
    force: bool = False,
    wait: float | None = None,
    log=print,
) -> BuildResult:
    """The whole build (see module docstring), redoing only what changed since the last
    build (:mod:`nhsbook.build.incremental`; ``force`` redoes everything).  Pages run on
    ``executor``, else a Dask cluster at ``scheduler``, else a local process pool of ``jobs``
    workers (:mod:`nhsbook.build.executor`).  Raises :class:`BuildFailed` on any failure.

    The whole build holds the project lock (:mod:`nhsbook.build.lock`): while another build holds
    it this one waits (``wait``: ``None`` without limit, ``0`` not at all, else up to that
    many seconds) and raises :class:`nhsbook.build.lock.LockBusy` if it does not get it.  Under
    the lock it first removes what a killed build left (:mod:`nhsbook.build.recovery`)."""
    cfg = load_book(book)
    with lock.hold(cfg.root, cfg.name, wait=wait, log=log):
        cleaned = recovery.clean_leftovers(cfg.root, cfg.site_dir)
        if cleaned:
            log(cleaned)
        return _build_locked(
            cfg, jobs=jobs, site=site, scheduler=scheduler, executor=executor, force=force, log=log
        )


def _build_locked(
    cfg: BookConfig,
    *,
    jobs: int | None,
    site: bool,
    scheduler: str | None,
    executor: Executor | None,
    force: bool,
    log,
) -> BuildResult:
    """:func:`build`'s steps, with the project lock held."""
    timings: dict[str, float] = {}
    digests = inc.Digests(cfg.root)

    t0 = time.perf_counter()
    gate_key = inc.gate_key(cfg, input_paths(cfg), digests)
    report = None if force else inc.cached_gate(cfg, gate_key)
    gate_ran = report is None
    if report is None:
        report = validate_inputs(cfg)
    timings["validate"] = time.perf_counter() - t0
    if not report.ok:
        raise BuildFailed(
            "input validation failed; nothing was built or published.\n\n" + report.to_text()
        )
    log(
        f"validated {len(report.datasets)} datasets in {timings['validate']:.1f} s"
        + ("" if gate_ran else " (unchanged since the last passing gate)")
    )

    t0 = time.perf_counter()
    current = not force and is_current(cfg)
    computed = load_computed(cfg) if current else compute_and_store(cfg)
    if gate_ran:
        inc.keep_gate(cfg, gate_key, report)
    timings["compute"] = time.perf_counter() - t0
    log(
        f"{'loaded' if current else 'computed'} {len(computed['values']):,} indicator values "
        f"in {timings['compute']:.1f} s"
    )
    from nhsbook.pipeline import national  # lazy: keeps geopandas off this module's import

    if national.applies(cfg):  # every sub-ICB location and ICB, once, before the pages
        t0 = time.perf_counter()
        national.table(cfg)
        timings["national"] = time.perf_counter() - t0

    tasks = plan_pages(cfg, computed["areas"])
    # areas of the hierarchy with pages get their profile table as CSV
    profile_codes = list(dict.fromkeys(p.area_code for p in tasks if p.area_type))
    website.write_vega_bundle(cfg.book_dir / "_static")
    state = inc.PageState.load(cfg.root)
    if force or not (inc.state_dir(cfg.root) / "pages.json").is_file():
        # no record of what book/ holds: start from empty folders
        state.pages.clear()
        for folder in (
            cfg.book_dir / "areas",
            cfg.book_dir / "_extra" / "data",
            cfg.book_dir / "_extra" / "charts",
        ):
            if folder.exists():
                safepath.remove_tree(folder, cfg.root)
    _remove_stale(cfg, {_page_id(p) for p in tasks}, set(profile_codes), state)

    package = sources.package_digest()
    book_param = str(getattr(cfg, "ref", cfg.name))
    roots = _deps_roots(cfg)
    fallback = [str(p) for p in input_paths(cfg).values()] + [
        str(cfg.cache_dir / f"{t}.parquet") for t in computed
    ]
    todo: dict[str, tuple[Page, str]] = {}
    for p in tasks:
        pid = _page_id(p)
        params = {
            "notebook": p.notebook,
            "area_code": p.area_code,
            "area_name": p.area_name,
            "book": book_param,
        }
        key = inc.page_key(
            cfg, cfg.root / "notebooks" / f"{p.notebook}.ipynb", params, package, digests
        )
        out = cfg.book_dir / "areas" / p.area_code / f"{p.notebook}.ipynb"
        if not state.is_fresh(pid, key, out, digests):
            todo[pid] = (p, key)
    for pid in todo:
        _remove_page_outputs(cfg, pid, state)
        state.pages.pop(pid, None)
    runs = [
        PageRun(
            p.notebook,
            p.area_code,
            p.area_name,
            book_param,
            str(cfg.root),
            str(state.deps_file(pid)),
            roots,
        )
        for pid, (p, _) in todo.items()
    ]

    t0 = time.perf_counter()
    runner = executor or make_executor(scheduler, jobs)
    errors: list[str] = []
    pages: list[Path] = []
    try:
        with _progress() as progress:
            bar = progress.add_task("notebooks", total=len(runs))
            outcomes = runner.map(runs, lambda _: progress.advance(bar))
        for o in outcomes:
            pid = f"{o.run.area_code}/{o.run.notebook}"
            if o.ok:
                pages.append(Path(o.output))
                state.record(pid, todo[pid][1], cfg.book_dir / "_extra", digests, fallback)
            else:  # every failing page, each with its area and notebook
                errors.append(str(o))
    finally:
        state.save()
        digests.save()
    timings["notebooks"] = time.perf_counter() - t0
    if errors:
        raise BuildFailed(
            f"{len(errors)} of {len(runs)} notebook runs failed; nothing was "
            "published:\n" + "\n".join(sorted(errors))
        )
    log(
        f"ran {len(runs)} of {len(tasks)} notebooks in {timings['notebooks']:.1f} s "
        f"({len(tasks) - len(runs)} unchanged)"
    )
    # the profile CSVs and the landing page's headlines are made from the computed tables
    # alone: while those, the book file and the package are unchanged, they are not made again
    memo_file = inc.state_dir(cfg.root) / f"generated-{cfg.name}.json"
    memo = {} if force else inc.load_json(memo_file, {})
    manifest = cfg.cache_dir / "manifest.json"
    tables_key = inc.hash_of(
        package,
        digests(manifest) if manifest.is_file() else "",
        inc.book_digest(cfg),
        sorted(profile_codes),
    )
    csvs = [cfg.book_dir / "_extra" / "data" / c / "profile.csv" for c in profile_codes]
    if memo.get("csvs") != tables_key or not all(p.is_file() for p in csvs):
        write_csvs(cfg, computed, profile_codes)
        memo["csvs"] = tables_key
    heads_key = inc.hash_of(tables_key, [p.area_code for p in tasks])
    if (memo.get("headlines") or {}).get("key") != heads_key:
        memo["headlines"] = {"key": heads_key, "values": landing_headlines(cfg, tasks, computed)}
    inc.write_json(memo_file, memo)
    t0 = time.perf_counter()
    try:
        made = board.build_reports(cfg, computed, digests, log, force=force)
    except board.ReportError as exc:
        raise BuildFailed(f"{exc}; nothing was published") from None
    finally:
        digests.save()
    timings["reports"] = time.perf_counter() - t0
    write_generated_pages(
        cfg,
        tasks,
        set(profile_codes),
        report.to_markdown(),
        computed,
        set(board.report_codes(cfg, computed["areas"])),
        headlines=memo["headlines"]["values"],
    )
    ran = [todo[pid][0] for pid in todo]
    result = BuildResult(
        site=cfg.site_dir, pages=sorted(pages), timings=timings, ran=ran, reports=made
    )
    if site:
        t0 = time.perf_counter()
        site_state_file = inc.state_dir(cfg.root) / f"site-{cfg.name}.json"
        kept = inc.load_json(site_state_file, {})
        key = inc.site_key(cfg, package)
        link = os.readlink(cfg.site_dir) if cfg.site_dir.is_symlink() else None
        docs = sorted(_page_id(p) for p in tasks)
        if (
            not force
            and kept.get("key") == key
            and link
            and kept.get("link") == link
            and (cfg.site_dir / "index.html").is_file()
        ):
            log("the site is current: nothing to publish")
        else:
            # a changed table of contents changes every page's navigation, which Sphinx
            # does not rewrite in unchanged pages: build from scratch then
            toc = inc.hash_of((cfg.book_dir / "_toc.yml").read_text(encoding="utf-8"))
            full = force or kept.get("toc") != toc or not set(kept.get("docs", [])) <= set(docs)
            run_site(cfg, computed["metadata"], full=full, areas=computed["areas"])
            inc.write_json(
                site_state_file,
                {"key": key, "link": os.readlink(cfg.site_dir), "docs": docs, "toc": toc},
            )
            result.site_built = True
            timings["site"] = time.perf_counter() - t0
            log(f"built the site in {timings['site']:.1f} s: {cfg.site_dir / 'index.html'}")
    return result
