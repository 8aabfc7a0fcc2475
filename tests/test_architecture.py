"""The import contracts (issue 21): every module of nhsbook is placed in every contract of
``[tool.importlinter]`` (a new module cannot slip past them), and ``lint-imports`` (run by
``make test`` before the tests) keeps them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def modules() -> set[str]:
    """nhsbook's sub-packages and top-level modules, one level down (``nhsbook.io``,
    ``nhsbook.cli``)."""
    out = set()
    for p in (ROOT / "nhsbook").rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts[:2]
        if parts[-1] not in ("__init__", "__main__"):
            out.add(".".join(parts))
    return out


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def layer_modules(contract: dict) -> list[set[str]]:
    """The modules of each layer of a layers contract, top first."""
    return [
        {f"{c}.{m.strip()}" for m in layer.split("#")[0].replace("|", ":").split(":") if m.strip()}
        for layer in contract["layers"]
        for c in contract["containers"]
    ]


def test_every_module_is_in_one_layer():
    """The layers contract places every module of nhsbook in exactly one layer."""
    (layers,) = [c for c in contracts() if c["type"] == "layers"]
    placed = layer_modules(layers)
    every = [m for layer in placed for m in layer]
    assert len(every) == len(set(every)), "a module is in two layers"
    assert set(every) == modules() - {"nhsbook.__main__"}


def test_no_import_cycles():
    """No module imports, directly or through others, a module that imports it (the layers
    contract lets siblings of a layer import each other, so cycles are checked here), with
    the imports inside functions counted."""
    import grimp

    graph = grimp.build_graph("nhsbook", include_external_packages=False)
    edges = {
        (a, b)
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if a != b and not a.startswith(b + ".")
    }  # a package's __init__ aside
    cycles = sorted((a, b) for a, b in edges if graph.chain_exists(importer=b, imported=a))
    assert cycles == [], cycles


@pytest.mark.parametrize(
    "contract", [c for c in contracts() if c["type"] == "forbidden"], ids=lambda c: c["id"]
)
def test_every_module_is_placed_in_every_contract(contract):
    """Each sub-package is a source or forbidden in each contract, or lies below it: the core
    and the configuration, which every layer may import."""
    by_id = {c["id"]: c for c in contracts()}
    below = set(by_id["core"]["source_modules"]) | set(by_id["configuration"]["source_modules"])
    listed = set(contract["source_modules"]) | set(contract["forbidden_modules"])
    unplaced = modules() - listed - below
    assert unplaced == set(), "modules no contract places"
    assert listed - modules() == set(), "contracts name modules that do not exist"


def test_lint_imports_keeps_every_contract():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is not installed (the test extra)"
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"Contracts: {len(contracts())} kept, 0 broken." in done.stdout


def test_importing_nhsbook_installs_nothing():
    """No side effects on import: importing every module of nhsbook (as a page's kernel or
    the build does) installs no audit hook, no chart renderer and no display hook; the page
    facades and the build's engine install them (``pages.install_page_hooks``)."""
    code = "\n".join(
        [
            "import importlib, os, pkgutil",
            "os.environ['NHSBOOK_PAGE'] = 'AREA/page'   # as in a build's kernel",
            "import nhsbook",
            "for m in pkgutil.walk_packages(nhsbook.__path__, 'nhsbook.'):",
            "    if m.name not in ('nhsbook.__main__', 'nhsbook.build.sphinx_ext'):",
            "        importlib.import_module(m.name)",
            "import altair as alt",
            "from nhsbook.core import page_inputs",
            "print(page_inputs._installed, alt.renderers.active, 'nhsbook' in alt.renderers.names())",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "default", "False"]
    # ... and a facade installs them
    from nhsbook.core import page_inputs
    from nhsbook.pages import area as pages

    pages.install_page_hooks()
    assert page_inputs._installed


def test_one_loader_registry_and_no_branch_on_a_loader_name():
    """Everything that depends on a book's loader asks nhsbook.io.loaders; no module compares
    ``cfg.loader`` with a name."""
    import re
    from types import SimpleNamespace

    from nhsbook.io import loaders

    assert set(loaders.LOADERS) == {"embedded", "opendata", "ons_local", "fingertips"}
    for loader in loaders.LOADERS.values():
        assert callable(loader.dataset_paths) and callable(loader.load)
        assert callable(loader.sources_markdown)
    branches = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in (ROOT / "nhsbook").rglob("*.py")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.loader\s*[!=]=", line)
    ]
    assert branches == [], branches
    with pytest.raises(ValueError, match=r"books/x\.yml: unknown loader 'csv'; expected one of"):
        loaders.loader_for(SimpleNamespace(loader="csv", name="x", path="books/x.yml"))


def test_imports_inside_functions_are_only_the_marked_lazy_ones():
    """An nhsbook module imported inside a function hides a dependency from the reader: each
    one left keeps a heavy optional dependency off its module's import and says so with a
    ``# lazy:`` comment on its line or the line above (docs/architecture.md)."""
    import ast

    unmarked = []
    for path in sorted((ROOT / "nhsbook").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (
                    node.level > 0 or (node.module or "").startswith("nhsbook")
                ):
                    near = lines[node.lineno - 1] + lines[node.lineno - 2]
                    if "# lazy:" not in near:
                        unmarked.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unmarked == [], unmarked
