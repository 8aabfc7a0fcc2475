"""Thin notebooks (issue 21): a notebook holds its parameters, calls into nhsbook (a page
facade) and narrative; what it computes lives in the package, where it is tested and
computed once.  Every notebook's code cells together have at most :data:`MAX_LINES` lines
of code (blank lines and comments not counted) and no table operation of pandas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_LINES = 40
#: Table operations a notebook must leave to the package.
FORBIDDEN = re.compile(r"\.groupby\(|\.merge\(|\bpd\.merge\(|\.loc\[|\bpd\.")


def code_lines(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for line in "".join(cell["source"]).splitlines():
            if line.strip() and not line.strip().startswith("#"):
                lines.append(line)
    return lines


def test_every_notebook_is_found():
    assert len(NOTEBOOKS) >= 13


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_thin(path):
    lines = code_lines(path)
    assert len(lines) <= MAX_LINES, f"{path.name}: {len(lines)} lines of code (at most {MAX_LINES})"
    bad = [line.strip() for line in lines if FORBIDDEN.search(line)]
    assert not bad, f"{path.name}: table operations belong in nhsbook: {bad}"


def test_the_rule_finds_what_it_forbids(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": [
                    "x = df.groupby('a').sum()\n",
                    "# pd.merge in a comment is fine\n",
                    "y = pd.DataFrame()\n",
                    "z = t.loc[0]",
                ],
            },
            {"cell_type": "markdown", "source": ["pd.merge in narrative is fine"]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    lines = code_lines(path)
    assert len(lines) == 3
    assert [bool(FORBIDDEN.search(line)) for line in lines] == [True, True, True]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_readers_see_no_code(path):
    """Every code cell is hidden from the published page: ``remove-input`` (its outputs
    shown) or ``remove-cell`` (parameters and the nbval check cells)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    shown = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code"
        and not {"remove-input", "remove-cell"} & set(c["metadata"].get("tags", []))
    ]
    assert shown == [], f"{path.name}: code cells {shown} would be shown to readers"
    checks = [
        c
        for c in nb["cells"]
        if c["cell_type"] == "code" and "".join(c["source"]).startswith("# NBVAL_CHECK_OUTPUT")
    ]
    assert all("remove-cell" in c["metadata"].get("tags", []) for c in checks)
