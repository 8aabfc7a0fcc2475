"""The warm-kernel papermill engine (nhsbook.build.engine): pages share a kernel but not state."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from papermill.exceptions import PapermillExecutionError

from nhsbook.build import engine, kernels

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("area_code = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _run(src: Path, out: Path, area: str, cwd: Path, **env: str):
    """Run ``src`` warm, with the page's NHSBOOK_* environment as the build sets it."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        pm.execute_notebook(
            str(src),
            str(out),
            parameters={"area_code": area},
            kernel_name="python3",
            cwd=str(cwd),
            progress_bar=False,
            engine_name=engine.ENGINE,
        )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nbformat.read(out, as_version=4)


def _streams(nb) -> str:
    return "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )


@pytest.fixture
def fresh_engine():
    engine._shutdown()
    yield
    engine._shutdown()


def test_state_does_not_leak_between_pages(tmp_path, fresh_engine):
    a = _notebook(
        tmp_path / "a.ipynb",
        "leaked = area_code * 2\nimport os\nprint(os.environ['NHSBOOK_PAGE'])",
        "from nhsbook.pages import renderer\nnext(renderer._counter); next(renderer._counter)",
    )
    b = _notebook(
        tmp_path / "b.ipynb",
        "import os\nprint('leaked' in globals(), os.environ['NHSBOOK_PAGE'], "
        "os.environ.get('NHSBOOK_ONLY_A'), os.path.basename(os.getcwd()))",
        "from nhsbook.pages import renderer\nprint('chart', next(renderer._counter))",
    )
    (tmp_path / "pa").mkdir()
    (tmp_path / "pb").mkdir()
    first = _run(
        a, tmp_path / "a.out.ipynb", "A", tmp_path / "pa", NHSBOOK_PAGE="A/a", NHSBOOK_ONLY_A="1"
    )
    pid = engine._warm.km.provisioner.process.pid
    second = _run(b, tmp_path / "b.out.ipynb", "B", tmp_path / "pb", NHSBOOK_PAGE="B/b")
    assert engine._warm.km.provisioner.process.pid == pid  # the same kernel ran both
    assert _streams(first).strip() == "A/a"
    # B: no name of A, B's page and folder, A's extra variable gone, charts numbered from 1
    assert _streams(second).split() == ["False", "B/b", "None", "pb", "chart", "1"]
    counts = [c.execution_count for c in second.cells if c.cell_type == "code"]
    assert counts[0] == 1  # a new session: execution counts restart


def test_errors_are_reported_and_the_next_page_runs(tmp_path, fresh_engine):
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('broken page ' + area_code)")
    dies = _notebook(tmp_path / "dies.ipynb", "import os\nos._exit(1)")
    good = _notebook(tmp_path / "good.ipynb", "print('ok', area_code)")
    with pytest.raises(PapermillExecutionError, match="broken page X"):
        _run(bad, tmp_path / "bad.out.ipynb", "X", tmp_path, NHSBOOK_PAGE="X/bad")
    assert "ok Y" in _streams(
        _run(good, tmp_path / "g1.ipynb", "Y", tmp_path, NHSBOOK_PAGE="Y/good")
    )
    pid = engine._warm.km.provisioner.process.pid
    with pytest.raises(Exception):
        _run(dies, tmp_path / "dies.out.ipynb", "Z", tmp_path, NHSBOOK_PAGE="Z/dies")
    out = _run(good, tmp_path / "g2.ipynb", "W", tmp_path, NHSBOOK_PAGE="W/good")
    assert "ok W" in _streams(out)
    assert engine._warm.km.provisioner.process.pid != pid  # a new kernel after the death


def _text_outputs(nb) -> list[str]:
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream":
                out.append(o["text"])
            data = o.get("data", {})
            if "text/markdown" in data:
                out.append(data["text/markdown"])
            elif "text/html" in data:
                html = re.sub(r"nhsbook-chart-\d+-\d+|T_[0-9a-f]{5}", "ID", data["text/html"])
                out.append(html)
    return out


def test_a_real_page_is_the_same_warm_and_fresh(tmp_path, root, shared, fresh_engine, monkeypatch):
    """jsna_profile for a locality of the default book, run in a new kernel and then in a
    warm kernel that has already run another page, gives the same outputs."""
    monkeypatch.setenv("NHSBOOK_ROOT", str(root))
    monkeypatch.setenv("NHSBOOK_MIRROR", str(shared / "data"))
    src = root / "notebooks" / "jsna_profile.ipynb"
    outputs = []
    for mode, before in (("fresh", None), ("warm", "E38000115")):
        extra = tmp_path / mode
        (extra / "page").mkdir(parents=True)
        if mode == "fresh":
            monkeypatch.setenv(engine.FRESH_ENV, "1")
        else:
            monkeypatch.delenv(engine.FRESH_ENV)
            _run(
                src,
                extra / "before.ipynb",
                before,
                extra / "page",
                NHSBOOK_PAGE=f"{before}/jsna_profile",
                NHSBOOK_EXTRA=str(extra),
            )
        nb = _run(
            src,
            extra / "out.ipynb",
            "ND-DRO",
            extra / "page",
            NHSBOOK_PAGE="ND-DRO/jsna_profile",
            NHSBOOK_EXTRA=str(extra),
        )
        outputs.append(_text_outputs(nb))
        assert sorted(p.name for p in (extra / "charts" / "ND-DRO").iterdir()) == [
            "jsna_profile-1.csv",
            "jsna_profile-1.vl.json",
            "jsna_profile-2.csv",
            "jsna_profile-2.vl.json",
        ]
    assert outputs[0] == outputs[1] and len(outputs[0]) > 5


def test_an_output_that_shows_nothing_is_not_kept(tmp_path, fresh_engine):
    """``display(Markdown(""))`` (a page's optional line with nothing to say) would publish
    "<IPython.core.display.Markdown object>" as page text: the engine drops such outputs,
    warm and fresh, and keeps every output that shows something."""
    src = _notebook(
        tmp_path / "e.ipynb",
        "from IPython.display import HTML, Markdown, display\n"
        "display(Markdown(''))\ndisplay(HTML('  \\n'))\nMarkdown('')",
        "display(Markdown('**kept**'))\nprint('text')\n{'a': 1}",
    )
    for fresh in ("", "1"):
        env = {engine.FRESH_ENV: fresh} if fresh else {}
        nb = _run(src, tmp_path / f"e{fresh}.out.ipynb", "A", tmp_path, **env)
        empty, kept = nb.cells[-2].outputs, nb.cells[-1].outputs
        assert empty == [], empty
        assert [o.output_type for o in kept] == ["display_data", "stream", "execute_result"]
        assert kept[0].data["text/markdown"] == "**kept**"
        assert kept[2].data["text/plain"] == "{'a': 1}"  # plain text alone is kept


def test_drop_empty_outputs_counts_what_it_removes():
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ""},
            {
                "cell_type": "code",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "data": {"text/markdown": [], "text/plain": ["<M object>"]},
                    },
                    {
                        "output_type": "display_data",
                        "data": {"text/html": ["<b>x</b>"], "text/plain": ["<H>"]},
                    },
                    {"output_type": "error", "ename": "E", "evalue": "", "traceback": []},
                ],
            },
        ]
    }
    assert engine.drop_empty_outputs(nb) == 1
    assert [o["output_type"] for o in nb["cells"][1]["outputs"]] == ["display_data", "error"]


def test_papermill_finds_the_engine_by_its_entry_point():
    """The engine is declared in pyproject.toml (``papermill.engine``), not registered as a
    side effect of importing nhsbook.build.engine."""
    from importlib.metadata import entry_points

    from papermill.engines import papermill_engines

    (point,) = [e for e in entry_points(group="papermill.engine") if e.name == engine.ENGINE]
    assert point.value == "nhsbook.build.papermill_entry:WarmEngine"
    registered = papermill_engines.get_engine(engine.ENGINE)
    assert registered.execute_notebook == engine.WarmEngine.execute_notebook
    source = Path(engine.__file__).read_text(encoding="utf-8")
    assert "papermill_engines.register(" not in source


def test_kernels_listen_on_private_unix_sockets(tmp_path, fresh_engine):
    """A TCP port chosen for a kernel can be taken before the kernel binds it ("Address already
    in use", then "Kernel died before replying to kernel_info": a CI run failed so).  Every
    kernel of a build, warm or fresh, listens on unix sockets in a folder of its process's
    own, which no other kernel or user can take."""
    src = _notebook(
        tmp_path / "k.ipynb",
        "from ipykernel.kernelapp import IPKernelApp\n"
        "app = IPKernelApp.instance()\nprint(app.transport, app.ip)",
    )
    for fresh in ("", "1"):
        env = {engine.FRESH_ENV: fresh} if fresh else {}
        nb = _run(src, tmp_path / f"k{fresh}.out.ipynb", "A", tmp_path, **env)
        transport, ip = _streams(nb).split()
        assert transport == "ipc", fresh
        folder = Path(ip).parent
        assert folder == Path(kernels.socket_folder())
        assert folder.stat().st_mode & 0o077 == 0  # this user's only
    a, b = kernels.PrivateKernelManager(), kernels.PrivateKernelManager()
    assert a.transport == b.transport == "ipc" and a.ip != b.ip
    assert len(os.fsencode(a.ip)) + len("-99999") < 107  # a unix socket path's limit


def test_nbval_kernels_are_private_too():
    """``pytest -p nhsbook.build.kernels`` (the Makefile's nbval run) gives nbval the same kernels."""
    nbval_kernel = pytest.importorskip("nbval.kernel")
    before = nbval_kernel.KernelManager
    try:
        kernels.pytest_configure(None)
        assert nbval_kernel.KernelManager is kernels.PrivateKernelManager
    finally:
        nbval_kernel.KernelManager = before
    assert "-p nhsbook.build.kernels" in (Path(__file__).parents[1] / "Makefile").read_text()


def test_a_warm_kernel_keeps_its_client_writes_a_page_once_and_freezes_its_imports(
    tmp_path, fresh_engine, monkeypatch
):
    """Issue 26: per page, the warm engine neither connects a new client (about 0.1 s) nor
    writes the output notebook around every cell (papermill's default, about twenty
    validated writes a page), and a new kernel freezes what its imports made, so the reset
    before every page does not collect garbage over pandas and Altair (0.15 s a page)."""
    import papermill.iorw

    writes: list[str] = []
    real = papermill.iorw.write_ipynb
    monkeypatch.setattr(
        papermill.iorw,
        "write_ipynb",
        lambda nb, path, **kw: (writes.append(path), real(nb, path, **kw)),
    )
    cells = ["import gc\nprint(gc.get_freeze_count() > 10000)", "x = 1", "y = 2", "z = 3"]
    src = _notebook(tmp_path / "p.ipynb", *cells)
    (tmp_path / "w").mkdir()
    first = _run(src, tmp_path / "p1.ipynb", "A", tmp_path / "w")
    client = engine._warm.kc
    assert client is not None and client.channels_running
    second = _run(src, tmp_path / "p2.ipynb", "B", tmp_path / "w")
    assert engine._warm.kc is client  # the same client, channels still open
    assert _streams(first).strip() == _streams(second).strip() == "True"
    # papermill writes a page when it starts and when it completes, not around each cell
    assert writes.count(str(tmp_path / "p2.ipynb")) <= 2, writes


def test_a_failing_page_is_still_written_whole_with_its_error(tmp_path, fresh_engine):
    """Writing a page once at the end must still write a page that failed: its cells up to
    the error, the error itself, and papermill's error banner."""
    src = _notebook(tmp_path / "f.ipynb", "print('before')", "1 / 0", "print('after')")
    (tmp_path / "w").mkdir()
    out = tmp_path / "f.out.ipynb"
    with pytest.raises(PapermillExecutionError):
        _run(src, out, "A", tmp_path / "w")
    nb = nbformat.read(out, as_version=4)
    assert "before" in _streams(nb) and "after" not in _streams(nb)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert [e["ename"] for e in errors] == ["ZeroDivisionError"]
