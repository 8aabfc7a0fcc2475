"""Where the page notebooks run: a local process pool, or a Dask distributed cluster.

An :class:`Executor` takes the list of :class:`PageRun` and returns one :class:`PageOutcome`
per run.  Every run happens in :func:`execute_page`, which calls
:func:`run_notebook` with the page's deps file named in the environment
(:mod:`nhsbook.core.page_inputs`) and turns any failure into an outcome naming the area, the notebook and
the error (papermill's ``ename: evalue`` for an error raised in a cell), so one failing page
never hides the others: every run finishes, then the build lists every failure.

* :class:`LocalExecutor` (default): a :class:`concurrent.futures.ProcessPoolExecutor` with one
  worker per core.
* :class:`DaskExecutor` (``nhsbook build --scheduler tcp://host:port``): each page is one task
  (``pure=False``) submitted to a ``distributed.Client``.  Workers must import the same
  ``nhsbook`` and see the project root at the same path (a shared file system).
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

from nhsbook.build import testhook
from nhsbook.core import page_inputs
from nhsbook.core import safepath
from nhsbook.core.escape import markdown as esc
from nhsbook.pages import renderer as website

#: The Jupyter kernel every page runs in.
KERNEL = "python3"


@dataclass(frozen=True)
class PageRun:
    """One notebook run for one area (the arguments of ``run_notebook``) and its deps file."""

    notebook: str
    area_code: str
    area_name: str
    book: str
    root: str
    deps_file: str = ""
    deps_roots: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.notebook} for area {self.area_code}"


@dataclass(frozen=True)
class PageOutcome:
    """What one run produced: the page's path, or the error that stopped it."""

    run: PageRun
    output: str = ""
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error

    def __str__(self) -> str:
        return f"{self.run.label}: {self.error}" if self.error else f"{self.run.label}: ok"


def describe(exc: BaseException) -> str:
    """A failure in one line or a few: papermill's cell error as ``ename: evalue``."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return f"{type(exc).__name__}: {exc}"


def execute_page(run: PageRun) -> PageOutcome:
    """Run one page with its deps recorded; never raises (the outcome holds the error)."""

    t0 = time.perf_counter()
    if run.deps_file:
        Path(run.deps_file).parent.mkdir(parents=True, exist_ok=True)
        Path(run.deps_file).unlink(missing_ok=True)
        os.environ[page_inputs.DEPS_ENV] = run.deps_file
        os.environ[page_inputs.ROOTS_ENV] = os.pathsep.join(run.deps_roots)
    try:
        out = run_notebook(run.notebook, run.area_code, run.area_name, run.book, run.root)
        testhook.pause("notebooks")
        return PageOutcome(run, output=str(out), seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - every failure is reported with its page
        return PageOutcome(run, error=describe(exc), seconds=time.perf_counter() - t0)
    finally:
        os.environ.pop(page_inputs.DEPS_ENV, None)


Done = Callable[[PageOutcome], None]


class Executor(Protocol):
    """Runs pages; ``done`` is called as each finishes (progress)."""

    def map(self, runs: Sequence[PageRun], done: Done | None = None) -> list[PageOutcome]: ...


class LocalExecutor:
    """A local process pool, one worker per core unless ``workers`` says otherwise."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def map(self, runs: Sequence[PageRun], done: Done | None = None) -> list[PageOutcome]:
        if not runs:
            return []
        outcomes: list[PageOutcome] = []
        with ProcessPoolExecutor(max_workers=min(self.workers, len(runs))) as pool:
            futures = {pool.submit(execute_page, r): r for r in runs}
            for fut in as_completed(futures):
                try:
                    outcome = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. a worker killed (BrokenProcessPool)
                    outcome = PageOutcome(futures[fut], error=describe(exc))
                outcomes.append(outcome)
                if done:
                    done(outcome)
        return outcomes


class DaskExecutor:
    """A Dask distributed scheduler at ``address`` (e.g. ``tcp://127.0.0.1:8786``): one task
    per page, ``pure=False`` so a rebuild always runs again."""

    def __init__(self, address: str) -> None:
        self.address = address

    def map(self, runs: Sequence[PageRun], done: Done | None = None) -> list[PageOutcome]:
        if not runs:
            return []
        from distributed import Client
        from distributed import as_completed as completed

        outcomes: list[PageOutcome] = []
        with Client(self.address, set_as_default=False) as client:
            futures = {
                client.submit(
                    execute_page,
                    r,
                    pure=False,
                    key=f"page-{r.area_code}-{r.notebook}-{time.time_ns()}",
                ): r
                for r in runs
            }
            for fut in completed(list(futures), loop=client.loop):
                try:
                    outcome = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. a worker lost mid-task
                    outcome = PageOutcome(futures[fut], error=describe(exc))
                outcomes.append(outcome)
                if done:
                    done(outcome)
        return outcomes


def make_executor(scheduler: str | None = None, jobs: int | None = None) -> Executor:
    """Dask when a scheduler address is given, else the local process pool."""
    return DaskExecutor(scheduler) if scheduler else LocalExecutor(jobs)


@contextlib.contextmanager
def page_environment(
    root: Path, area_code: str, notebook: str, extra: Path | None = None
) -> Iterator[None]:
    """The environment a page's kernel inherits while it runs: the project
    (``NHSBOOK_ROOT``), the page (charts write their CSV and spec beside it,
    :mod:`nhsbook.pages.renderer`) and the folder of the site's extra files (``extra``, by
    default the project's ``book/_extra``).  They are the
    page's only while it runs, so a process that runs a page in its own process (one job, a
    test, a benchmark) does not go on as if it were drawing that page: the variables are
    restored as they were, set or unset."""
    values = {
        "NHSBOOK_ROOT": str(root),
        website.PAGE_ENV: f"{area_code}/{notebook}",
        website.EXTRA_ENV: str(extra if extra is not None else root / "book" / "_extra"),
    }
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_notebook(notebook: str, area_code: str, area_name: str, book: str, root: str) -> str:
    """Execute one notebook for one area with papermill; returns the output path."""
    import nbformat
    import papermill as pm

    # engine.ENGINE: papermill finds the engine by its entry point
    # lazy: keeps papermill off this module's import
    from nhsbook.build import engine

    root_path = Path(root)
    safepath.check_name(area_code, "area code")  # book/areas/<code>/<notebook>.ipynb
    safepath.check_name(notebook, "notebook")
    out_dir = root_path / "book" / "areas" / area_code
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{notebook}.ipynb"
    with page_environment(root_path, area_code, notebook):
        pm.execute_notebook(
            str(root_path / "notebooks" / f"{notebook}.ipynb"),
            str(out),
            parameters={"area_code": area_code, "book": book},
            kernel_name=KERNEL,
            cwd=str(out_dir),
            progress_bar=False,
            log_output=False,
            engine_name=engine.ENGINE,
        )
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
