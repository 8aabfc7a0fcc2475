"""``nhsbook open`` (nhsbook.lab): a page's notebook, parameterised for one area, that an
analyst reruns top to bottom in a plain kernel, before any build (issue 21)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nhsbook import lab
from nhsbook.core import safepath


def _sources(path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]


def test_the_copy_carries_the_parameters_under_work(root, computed):
    path = lab.parameterised_copy("jsna_profile", "E38000115", "default", force=True)
    assert path == root / "work" / "default" / "E38000115" / "jsna_profile.ipynb"
    cells = _sources(path)
    injected = [c for c in cells if c.startswith("# Parameters")]
    assert injected == ['# Parameters\narea_code = "E38000115"\nbook = "default"\n']
    # the rest is the notebook of notebooks/, unchanged
    original = _sources(root / "notebooks" / "jsna_profile.ipynb")
    assert [c for c in cells if c not in injected] == original
    # an analyst's edits are kept unless --force
    path.write_text(path.read_text().replace("Health profile", "My profile"))
    assert "My profile" in lab.parameterised_copy("jsna_profile", "E38000115").read_text()
    assert (
        "My profile"
        not in lab.parameterised_copy("jsna_profile", "E38000115", force=True).read_text()
    )
    assert "/work/" in (root / ".gitignore").read_text()


@pytest.mark.parametrize(
    "notebook,area,error",
    [
        ("nope", "E38000115", lab.OpenError),
        ("jsna_profile", "NOWHERE", lab.OpenError),
        ("../notebooks/jsna_profile", "E38000115", safepath.UnsafePath),
        ("jsna_profile", "../../etc", safepath.UnsafePath),
    ],
)
def test_unknown_or_unsafe_names_are_refused(notebook, area, error, computed):
    with pytest.raises(error):
        lab.parameterised_copy(notebook, area)


def test_the_command_writes_the_copy_and_says_how_to_open_it(root, computed):
    env = {**os.environ, "NHSBOOK_ROOT": str(root)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nhsbook",
            "open",
            "population",
            "--area",
            "ND-CHE",
            "--no-lab",
            "--force",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {root / 'work/default/ND-CHE/population.ipynb'}"
    bad = subprocess.run(
        [sys.executable, "-m", "nhsbook", "open", "population", "--area", "NOWHERE", "--no-lab"],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert bad.returncode == 2 and "is not in book 'default'" in bad.stderr


def test_a_copy_runs_in_a_plain_kernel_before_any_build(tmp_path, monkeypatch):
    """A fresh project (books, data, notebooks; no build/): the copy computes the book's
    tables itself and draws its page with Altair's own display.  The kernel has an analyst's
    environment: the project and the mirror, none of the variables a build gives its pages
    (another test of the session may have left one behind)."""
    import papermill as pm

    from conftest import scratch_root

    project = scratch_root("lab")
    subprocess.run(["rm", "-rf", str(project / "build"), str(project / "work")], check=True)
    for key in [k for k in os.environ if k.startswith("NHSBOOK_")]:
        if key not in ("NHSBOOK_MIRROR", "NHSBOOK_SHARED"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NHSBOOK_ROOT", str(project))
    path = lab.parameterised_copy("jsna_profile", "ND-CHE", "default", root=project)
    out = pm.execute_notebook(
        str(path),
        str(tmp_path / "run.ipynb"),
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    assert (project / "build" / "default" / "values.parquet").is_file()  # computed
    outputs = [o for c in out.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    charts = [o for o in outputs if str(o.get("data", {}).get("text/plain", "")).startswith("alt.")]
    assert charts and all("vegaEmbed" in o["data"]["text/html"] for o in charts)
    assert "Key messages" in json.dumps(outputs)


def test_a_book_given_by_its_file_is_the_book_the_copy_loads(root, computed, tmp_path):
    """``--book path/to/book.yml``: the notebook gets the path (its own book), not the name
    the file declares, which could be another book's."""
    book = tmp_path / "mine.yml"
    book.write_text((root / "books" / "default.yml").read_text(encoding="utf-8"), encoding="utf-8")
    path = lab.parameterised_copy("population", "ND-CHE", str(book), force=True)
    injected = [c for c in _sources(path) if c.startswith("# Parameters")]
    assert injected == [f'# Parameters\narea_code = "ND-CHE"\nbook = "{book}"\n']
