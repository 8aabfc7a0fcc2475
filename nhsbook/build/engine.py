"""A papermill engine that keeps one warm kernel per process.

Papermill's default engine starts a new kernel for every notebook (about 1.2 s) and the page
then imports pandas, Altair and nhsbook again (about 1.4 s).  A book runs the same few
notebooks for hundreds of areas, so :class:`WarmEngine` (registered with papermill as
``nhsbook``) starts one kernel per worker process, imports the heavy modules into it once,
and runs every later notebook of that process in the same kernel, each through papermill as
before (parameters injected, outputs and metadata written by papermill).

Between notebooks the kernel is returned to a fresh state by :func:`prepare_page`, run
silently before the first cell: the user namespace and the execution count are reset
(``InteractiveShell.reset(new_session=True)``), the page's ``NHSBOOK_*`` environment replaces
the previous page's, the working directory becomes the page's folder and per-page state of
nhsbook (chart numbering) starts again.  Imported modules and their data caches (the parquet
tables, boundaries) stay: that is the point.

The kernel is replaced after an error that killed it, after :data:`MAX_RUNS` notebooks, or
when its memory passes :data:`MAX_RSS_MIB`; it is shut down when the process exits
(``multiprocessing.util.Finalize`` for pool workers, ``atexit`` otherwise).  Set
``NHSBOOK_FRESH_KERNEL=1`` to run every notebook in a new kernel instead.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing.util
import os
from dataclasses import dataclass

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from nhsbook.build.kernels import PrivateKernelManager

#: Modules imported into a new kernel once, before its first notebook.
WARM_IMPORTS = (
    "pandas",
    "numpy",
    "altair",
    "IPython.display",
    "nhsbook.pages.area",
    "nhsbook.charts",
    "nhsbook.stats",
)
#: A kernel is replaced after this many notebooks ...
MAX_RUNS = 200
#: ... or when its resident memory passes this many MiB.
MAX_RSS_MIB = 2048
#: Environment variable that turns the warm kernel off (a new kernel per notebook).
FRESH_ENV = "NHSBOOK_FRESH_KERNEL"


@dataclass
class _Warm:
    km: object
    runs: int = 0
    #: the kernel's client, kept with its channels open from page to page (a new client
    #: costs a connection and a kernel_info round trip, about 0.1 s a page)
    kc: object = None


_warm: _Warm | None = None


def prepare_page(env: dict[str, str], cwd: str) -> None:
    """Run inside the kernel before a page: the page's ``NHSBOOK_*`` environment (variables
    of an earlier page that this page does not set are removed), its working directory, and
    nhsbook's per-page state."""
    for key in [k for k in os.environ if k.startswith("NHSBOOK_") and k not in env]:
        del os.environ[key]
    os.environ.update(env)
    os.chdir(cwd)
    from nhsbook.pages import renderer  # lazy: keeps pandas off this module's import
    from nhsbook.pages.area import install_page_hooks  # noqa: PLC0415 - in the kernel, not the build  # lazy: keeps altair,numpy,pandas,scipy,shapely off this module's import

    renderer.reset_page()
    install_page_hooks()  # the renderer, the record of reads, the tables' display hook


def _page_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("NHSBOOK_")}


def _warm_up() -> str:
    """The silent cell run once in a new kernel: the heavy imports, then ``gc.freeze()``.
    Freezing moves everything alive after the imports (pandas, Altair's schema, nhsbook) out
    of the collector's reach: the reset before every page collects garbage
    (``DisplayHook.flush``), and a full collection over those objects cost about 0.15 s a
    page; after the freeze it is about 0.04 s.  Frozen objects are still freed by reference
    counting; only cycles among them would stay, and modules are kept for the kernel's life
    anyway."""
    return "".join(f"import {m}\n" for m in WARM_IMPORTS) + "import gc\ngc.collect()\ngc.freeze()\n"


def _prelude(cwd: str) -> str:
    """The silent cell run before each page (see :func:`prepare_page`)."""
    return (
        "get_ipython().reset(new_session=True, aggressive=False)\n"
        "from nhsbook.build.engine import prepare_page as __nhsbook_prepare\n"
        f"__nhsbook_prepare({json.dumps(_page_env())}, {json.dumps(cwd)})\n"
        "del __nhsbook_prepare\n"
    )


class WarmClient(PapermillNotebookClient):
    """Papermill's client, with a silent preparation cell before the notebook's cells."""

    prelude: str = ""

    def papermill_execute_cells(self):
        if self.prelude:
            self._hidden(self.prelude)
        super().papermill_execute_cells()

    def _hidden(self, code: str) -> None:
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        reply = self.wait_for_reply(msg_id)
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(
                f"could not prepare the kernel for the page: "
                f"{content.get('ename')}: {content.get('evalue')}"
            )


def _shutdown() -> None:
    """Stop this process's warm kernel (if any) and its client."""
    global _warm
    if _warm is None:
        return
    km, kc, _warm = _warm.km, _warm.kc, None
    if kc is not None:
        with contextlib.suppress(Exception):  # channels already closed
            kc.stop_channels()
    try:
        km.shutdown_kernel(now=True)
    except Exception:  # already dead: nothing to stop
        pass


def _rss_mib(km) -> float:
    """Resident memory of the kernel process (0 when unknown)."""
    try:
        pid = km.provisioner.process.pid
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (AttributeError, OSError, ValueError):
        pass
    return 0.0


def _kernel(kernel_name: str, cwd: str | None):
    """This process's warm kernel manager, started (and warmed) when needed."""
    global _warm
    if _warm is not None and (
        not _warm.km.is_alive() or _warm.runs >= MAX_RUNS or _rss_mib(_warm.km) > MAX_RSS_MIB
    ):
        _shutdown()
    if _warm is None:
        # nbclient polls an asynchronous client (a blocking one would hang on a dead kernel)
        # on private unix sockets: a TCP port can be taken between its choice and its bind
        km = PrivateKernelManager(
            kernel_name=kernel_name, client_class="jupyter_client.asynchronous.AsyncKernelClient"
        )
        stderr = _kernel_stderr()
        try:
            km.start_kernel(cwd=cwd, **stderr)
        finally:
            for fh in stderr.values():  # the kernel has its own copy
                fh.close()
        _warm = _Warm(km)
        if multiprocessing.parent_process() is not None:  # a pool worker leaves by os._exit
            multiprocessing.util.Finalize(None, _shutdown, exitpriority=10)
        else:
            atexit.register(_shutdown)
    return _warm


#: Set to ``1`` (``nhsbook build --verbose``) to let the kernels write to the build's
#: terminal; otherwise what a kernel writes to its stderr (ipykernel's transport warning on
#: every start, a crash's last words) goes to ``build/logs/kernels.log`` of the project.
VERBOSE_ENV = "NHSBOOK_VERBOSE"


def _kernel_stderr() -> dict:
    """``stderr=`` for a new kernel: the project's kernel log, unless verbose or outside a
    build (no ``NHSBOOK_ROOT``)."""
    root = os.environ.get("NHSBOOK_ROOT")
    if os.environ.get(VERBOSE_ENV) == "1" or not root:
        return {}
    from pathlib import Path

    log = Path(root) / "build" / "logs" / "kernels.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return {"stderr": open(log, "a", encoding="utf-8")}  # noqa: SIM115 - the kernel's


class WarmEngine(NBClientEngine):
    """Papermill engine ``nhsbook``: every notebook of a process runs in one warm kernel."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
        # papermill writes the whole output notebook before and after every cell (about
        # twenty writes, each validated, for one page); the page is written once, when
        # papermill completes it (``notebook_complete``, also after an error)
        nb_man.save = lambda **kwargs: None
        try:
            result = cls._execute(nb_man, kernel_name, **kwargs)
        finally:
            del nb_man.save  # the manager's own method again
        drop_empty_outputs(nb_man.nb)
        return result

    @classmethod
    def _execute(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        **kwargs,
    ):
        if os.environ.get(FRESH_ENV):
            return super().execute_managed_notebook(
                nb_man,
                kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                start_timeout=start_timeout,
                execution_timeout=execution_timeout,
                kernel_manager_class=PrivateKernelManager,
                **kwargs,
            )
        cwd = kwargs.get("cwd") or os.getcwd()
        warm = _kernel(kernel_name, cwd)
        first = warm.runs == 0
        kwargs = remove_args(["input_path", "timeout", "startup_timeout", "cwd"], **kwargs)
        client = WarmClient(
            nb_man,
            km=warm.km,
            **merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            ),
        )
        client.kc = warm.kc  # None on the first page: nbclient starts one, kept below
        client.prelude = (_warm_up() if first else "") + _prelude(cwd)
        warm.runs += 1
        try:
            return client.execute()
        finally:
            warm.kc = client.kc
            if not warm.km.is_alive():
                _shutdown()


def drop_empty_outputs(nb) -> int:
    """Remove the outputs that show nothing but an object's name: a ``Markdown("")`` or
    ``HTML("")`` (a page's optional line with nothing to say) is published with an empty
    ``text/markdown`` or ``text/html`` beside ``text/plain`` "<IPython.core.display.Markdown
    object>", and the book would print that repr as the page's text.  Returns how many
    outputs were removed."""
    removed = 0
    for cell in nb.get("cells", []):
        outputs = cell.get("outputs")
        if not outputs:
            continue
        kept = [o for o in outputs if not _shows_nothing(o)]
        removed += len(outputs) - len(kept)
        cell["outputs"] = kept
    return removed


def _shows_nothing(output) -> bool:
    if output.get("output_type") not in ("display_data", "execute_result"):
        return False
    rich = {m: d for m, d in (output.get("data") or {}).items() if m != "text/plain"}
    text = lambda d: "".join(d) if isinstance(d, list) else d  # noqa: E731
    return bool(rich) and all(
        isinstance(text(d), str) and not text(d).strip() for d in rich.values()
    )


#: The engine's name for ``papermill.execute_notebook(..., engine_name=ENGINE)``: papermill
#: registers :class:`WarmEngine` under it from the ``papermill.engine`` entry point of
#: ``pyproject.toml`` (importing this module registers nothing).
ENGINE = "nhsbook"
