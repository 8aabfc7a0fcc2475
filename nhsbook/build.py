"""The build: validate every input, compute once, run the notebooks per area, build the site.

1. **Validate** all inputs with the Great Expectations suites in ``expectations/``; on failure
   print the report and stop: nothing is computed, executed or published.
2. **Compute** every indicator for every area in one pass (:mod:`nhsbook.store`).
3. **Run** each page notebook through papermill for every area with a page, in parallel
   processes, writing ``book/areas/<code>/<notebook>.ipynb`` and each area's profile CSV.
4. **Site**: write the generated pages (areas index, validation report, data sources) and the
   table of contents, then build ``book/`` with jupyter-book into ``book/_build/html``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from . import indicators
from . import publish
from . import site as website
from .config import BookConfig, load_book
from .pages import esc
from .store import compute_and_store, input_paths

KERNEL = "python3"


class BuildFailed(RuntimeError):
    """A build step failed; the message says which and why."""


@dataclass
class BuildResult:
    site: Path
    pages: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _progress():
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=False)


def validate_inputs(cfg: BookConfig):
    """Run the validation gate for the book's inputs; returns the report."""
    from . import validate
    if cfg.loader == "embedded":
        return validate.validate_book(cfg.data)
    return validate.validate_datasets(input_paths(cfg))


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


#: Area codes become folder and file names: letters, digits, dot, dash and underscore only.
SAFE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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
            chosen = list(zip(sel["area_code"], sel["area_name"], sel["area_type"],
                              sel["parent_code"].fillna("")))
        else:
            chosen = [(code, name, "", "") for code, name in ps.areas]
        unsafe = [str(c) for c, *_ in chosen if not SAFE_CODE.match(str(c))]
        if unsafe:
            raise BuildFailed(f"page set {ps.part!r}: area code(s) {unsafe} are not safe as "
                              "folder names: use letters, digits, '.', '-' and '_' only")
        pages += [Page(ps.part, nb, str(code), str(name), str(kind), str(parent))
                  for code, name, kind, parent in chosen for nb in ps.notebooks]
    return pages


def run_notebook(notebook: str, area_code: str, area_name: str, book: str,
                 root: str) -> str:
    """Execute one notebook for one area with papermill; returns the output path."""
    import nbformat
    import papermill as pm

    root_path = Path(root)
    out_dir = root_path / "book" / "areas" / area_code
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{notebook}.ipynb"
    os.environ["NHSBOOK_ROOT"] = str(root_path)
    # the kernel inherits these: charts write their SVG and CSV beside the page (nhsbook.site)
    os.environ[website.PAGE_ENV] = f"{area_code}/{notebook}"
    os.environ[website.EXTRA_ENV] = str(root_path / "book" / "_extra")
    pm.execute_notebook(str(root_path / "notebooks" / f"{notebook}.ipynb"), str(out),
                        parameters={"area_code": area_code, "book": book},
                        kernel_name=KERNEL, cwd=str(out_dir), progress_bar=False,
                        log_output=False)
    nb = nbformat.read(out, as_version=4)
    for cell in nb.cells:  # papermill's injected parameters are not for readers
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            first, _, rest = cell.source.partition("\n")
            cell.source = f"# {esc(area_name)}: {first[2:].strip().lower()}\n{rest}"
            break
    nbformat.write(nb, out)
    return str(out)


def write_csvs(cfg: BookConfig, computed: dict[str, pd.DataFrame], codes: list[str]) -> None:
    """Each built area's profile table as ``_extra/data/<code>/profile.csv`` (suppressed)."""
    for code in codes:
        frames = []
        for profile in computed["metadata"]["profile"].unique():
            rows = indicators.profile_table(computed["values"], computed["metadata"], code,
                                            profile)
            table = indicators.display_table(rows)
            table.insert(0, "Profile", profile)
            table.insert(1, "Indicator ID", rows["indicator_id"].to_numpy())
            table.insert(2, "Area code", code)
            frames.append(table)
        folder = cfg.book_dir / "_extra" / "data" / code
        folder.mkdir(parents=True, exist_ok=True)
        pd.concat(frames, ignore_index=True).to_csv(folder / "profile.csv", index=False)


#: Contents captions of the hierarchy's area types.
TYPE_CAPTIONS = {"ccg": "CCG", "pcn": "Primary care networks", "locality": "Localities",
                 "practice": "Practices", "district": "Districts"}


def _caption(p: Page) -> str:
    """The contents part of a page: its area type for areas of the hierarchy (so that each
    area's chapter groups all its pages), the page set's part for areas listed by code."""
    return TYPE_CAPTIONS.get(p.area_type, p.area_type.title()) if p.area_type else p.part


def _toc(pages: list[Page]) -> dict:
    """jupyter-book's table of contents: a part per area type (or listed page set), a chapter
    per area (its first page) with the area's other pages as sections."""
    parts: dict[str, dict[str, list[str]]] = {}
    for p in pages:
        parts.setdefault(_caption(p), {}).setdefault(p.area_code, []).append(p.file)
    chapters = [{"caption": part, "chapters": [
        {"file": files[0], **({"sections": [{"file": f} for f in files[1:]]}
                              if files[1:] else {})}
        for files in by_area.values()]} for part, by_area in parts.items()]
    return {"format": "jb-book", "root": "index", "parts": [
        {"caption": "Areas", "chapters": [{"file": "areas/index"}]}, *chapters,
        {"caption": "About this book", "chapters": [
            {"file": "methods"}, {"file": "data_sources"}, {"file": "validation"}]}]}


def area_tree(pages: list[Page], prefix: str) -> list[str]:
    """Nested Markdown list of every area with pages (CCG → localities → practices; listed
    areas after), each linking to all its pages; ``prefix`` is the path to ``areas/``."""
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
        links = ", ".join(f"[{_title(p.notebook)}]({prefix}{code}/{p.notebook}.ipynb)"
                          for p in ps)
        kind = ps[0].area_type or ps[0].part
        lines = [f"{'  ' * depth}- **{esc(ps[0].area_name)}** ({esc(kind)}, `{esc(code)}`): "
                 f"{links}"]
        for child in children.get(code, []):
            lines += item(child, depth + 1)
        return lines

    out: list[str] = []
    for code in roots:
        out += item(code, 0)
    return out


def _title(notebook: str) -> str:
    return notebook.replace("_", " ")


def write_generated_pages(cfg: BookConfig, pages: list[Page], csv_areas: set[str],
                          report_md: str) -> None:
    """Landing page, areas index, validation report, data sources and the table of contents."""
    book = cfg.book_dir
    (book / "areas").mkdir(parents=True, exist_ok=True)
    lines = ["# Areas", "", f"Every area of *{esc(cfg.title)}* and its pages. Profile tables "
             "download as CSV:", ""]
    lines += area_tree(pages, "")
    lines += ["", "## Profile tables as CSV", ""]
    lines += [f"- <a href=\"../data/{code}/profile.csv\">{esc(code)}</a>"
              for code in dict.fromkeys(p.area_code for p in pages) if code in csv_areas]
    (book / "areas" / "index.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    landing = (book / "_landing.md").read_text(encoding="utf-8")
    notice = cfg.notice
    if cfg.synthetic and not notice:  # a synthetic book always says so
        notice = f"> **Synthetic data.** {' '.join(cfg.synthetic_note.split())}"
    landing = landing.replace("{{book_notice}}", notice)
    landing += "\n## Areas in this book\n\n" + "\n".join(area_tree(pages, "areas/")) + "\n"
    (book / "index.md").write_text(landing, encoding="utf-8")
    (book / "validation.md").write_text("# Validation report\n\n" + report_md, encoding="utf-8")
    (book / "data_sources.md").write_text(data_sources_page(cfg), encoding="utf-8")
    (book / "_toc.yml").write_text(yaml.safe_dump(_toc(pages), sort_keys=False),
                                   encoding="utf-8")


def data_sources_page(cfg: BookConfig) -> str:
    """The Data sources chapter: the seed documents, the synthetic generator, the registry."""
    parts = ["# Data sources", ""]
    parts += (_embedded_sources(cfg) if cfg.loader == "embedded" else _opendata_sources(cfg))
    try:
        from . import sources
        parts += ["## Open data registry", "", sources.data_sources_markdown()]
    except (ImportError, AttributeError, FileNotFoundError) as exc:  # registry optional
        parts += [f"(The open-data registry could not be read: {esc(exc)})"]
    return "\n".join(parts) + "\n"


def _opendata_sources(cfg: BookConfig) -> list[str]:
    """The open-data book's inputs (:func:`nhsbook.io.opendata.sources_markdown`)."""
    from .io import opendata
    return opendata.sources_markdown(cfg)


def _embedded_sources(cfg: BookConfig) -> list[str]:
    """The embedded default: the seed documents' tables and the synthetic practices."""
    return [
        "## The embedded default", "",
        "The default book is built from figures published in the seed planning documents, "
        "transcribed into `data/default/` with the file and line of every figure:", "",
        "| File in `data/default/` | What it holds | Seed document |", "|---|---|---|",
        "| `seed_profile.csv` | JSNA adult (33) and child (20) profile 2012: CCG number and "
        "rate, cluster rate, worst and best practice | NHS North Derbyshire CCG, Clinical "
        "Commissioning Strategy 2013-2016 (`002_e967b0e31addb216.txt` lines 253-333) |",
        "| `population_projection.csv`, `population_growth.csv` | CCG population and 75+ "
        "projection 2011-2025 and growth rates | same document, lines 217-223 |",
        "| `population_structure.csv` | Under-15 and 75+ shares of the registered population "
        "| same document, line 203 |",
        "| `areas.csv` | CCG, its five localities, 38 practices, 288,000 patients | same "
        "document, line 120 |", "",
        "`data/default/synthetic/` holds **synthetic** practices made by `nhsbook synth` "
        f"(seeded; see the Methods chapter). {cfg.synthetic_note}", "",
    ]


def run_site(cfg: BookConfig, metadata: pd.DataFrame | None = None) -> Path:
    """Build ``book/`` with jupyter-book into a staging folder, scan it for disclosure, then
    publish it atomically as ``book/_build/html`` (:mod:`nhsbook.publish`); returns the
    published site folder.  Any failure leaves the previous site untouched."""
    staging = publish.staging_dir(cfg.root, cfg.name)
    try:
        exe = Path(sys.executable).parent / "jupyter-book"
        cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(cfg.book_dir),
               "--config", str(cfg.root / "_config.yml"),
               "--toc", str(cfg.book_dir / "_toc.yml"),
               "--path-output", str(staging), "--all", "-q"]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cfg.root)
        html = staging / "_build" / "html"
        if proc.returncode != 0 or not (html / "index.html").is_file():
            raise BuildFailed("jupyter-book build failed; the published site is unchanged:\n"
                              + proc.stdout[-4000:] + proc.stderr[-4000:])
        findings = publish.scan(html, metadata)
        if findings:
            shown = "\n".join(f"  {f}" for f in findings[:20])
            raise BuildFailed(f"disclosure check failed: {len(findings)} published cells "
                              f"show or imply a count from 1 to 4; nothing was published "
                              f"(the previous site is unchanged):\n{shown}")
        publish.swap(html, cfg.site_dir, cfg.root / "build" / "sites")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cfg.site_dir


def build(book: str = "default", *, jobs: int | None = None, site: bool = True,
          log=print) -> BuildResult:
    """The whole build (see module docstring); raises :class:`BuildFailed` on any failure."""
    cfg = load_book(book)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    report = validate_inputs(cfg)
    timings["validate"] = time.perf_counter() - t0
    if not report.ok:
        raise BuildFailed("input validation failed; nothing was built or published.\n\n" +
                          report.to_text())
    log(f"validated {len(report.datasets)} datasets in {timings['validate']:.1f} s")

    t0 = time.perf_counter()
    computed = compute_and_store(cfg)
    timings["compute"] = time.perf_counter() - t0
    log(f"computed {len(computed['values']):,} indicator values in {timings['compute']:.1f} s")

    tasks = plan_pages(cfg, computed["areas"])
    # areas of the hierarchy with pages get their profile table as CSV
    profile_codes = list(dict.fromkeys(p.area_code for p in tasks if p.area_type))
    website.write_vega_bundle(cfg.book_dir / "_static")
    for folder in (cfg.book_dir / "areas", cfg.book_dir / "_extra" / "data",
                   cfg.book_dir / "_extra" / "charts"):
        if folder.exists():
            shutil.rmtree(folder)
    t0 = time.perf_counter()
    workers = jobs or min(len(tasks), os.cpu_count() or 1)
    errors: list[str] = []
    pages: list[Path] = []
    with _progress() as progress, ProcessPoolExecutor(max_workers=workers) as pool:
        bar = progress.add_task("notebooks", total=len(tasks))
        futures = {pool.submit(run_notebook, p.notebook, p.area_code, p.area_name, cfg.ref,
                               str(cfg.root)): (p.notebook, p.area_code) for p in tasks}
        for fut in as_completed(futures):
            nb, code = futures[fut]
            try:
                pages.append(Path(fut.result()))
            except Exception as exc:  # report every failing area, not just the first
                errors.append(f"{nb} for area {code}: {type(exc).__name__}: {exc}")
            progress.advance(bar)
    timings["notebooks"] = time.perf_counter() - t0
    if errors:
        raise BuildFailed("notebook runs failed:\n" + "\n".join(errors))
    write_csvs(cfg, computed, profile_codes)
    write_generated_pages(cfg, tasks, set(profile_codes), report.to_markdown())
    log(f"ran {len(tasks)} notebooks in {timings['notebooks']:.1f} s")
    result = BuildResult(site=cfg.site_dir, pages=sorted(pages), timings=timings)
    if site:
        t0 = time.perf_counter()
        run_site(cfg, computed["metadata"])
        timings["site"] = time.perf_counter() - t0
        log(f"built the site in {timings['site']:.1f} s: {cfg.site_dir / 'index.html'}")
    return result
