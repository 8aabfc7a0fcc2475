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
    """nhsbook's modules and sub-packages, one level down (``nhsbook.io``, ``nhsbook.charts``)."""
    out = set()
    for p in (ROOT / "nhsbook").rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts[:2]
        if parts[-1] not in ("__init__", "__main__"):
            out.add(".".join(parts))
    return out


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"]


@pytest.mark.parametrize("contract", contracts(), ids=lambda c: c["id"])
def test_every_module_is_placed_in_every_contract(contract):
    """Each module is a source or forbidden in each contract, or is of the core (which every
    layer may import)."""
    core = set(next(c for c in contracts() if c["id"] == "core")["source_modules"])
    listed = set(contract["source_modules"]) | set(contract["forbidden_modules"])
    assert modules() - listed - core == set(), "modules no contract places"
    assert listed - modules() == set(), "contracts name modules that do not exist"


def test_lint_imports_keeps_every_contract():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is not installed (the test extra)"
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"Contracts: {len(contracts())} kept, 0 broken." in done.stdout
