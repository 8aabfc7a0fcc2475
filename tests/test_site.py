"""The site machinery without a browser: chart renderer, vega bundle, page post-processing."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import pytest

from nhsbook.build.sphinx_ext import dedupe_inline_scripts
from nhsbook.pages import renderer


def _chart(df: pd.DataFrame) -> dict:
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(x="n:Q", y="name:N")
        .properties(title="A title", description="Two bars.")
        .to_dict()
    )


def test_renderer_writes_an_accessible_figure_with_svg_and_csv(tmp_path, monkeypatch):
    """The figure offers the chart as SVG (drawn by vega in the browser) and its data as
    CSV; beside the CSV the spec the reports draw from, and no SVG file of its own."""
    monkeypatch.setenv(renderer.PAGE_ENV, "AREA1/page")
    monkeypatch.setenv(renderer.EXTRA_ENV, str(tmp_path))
    spec = _chart(pd.DataFrame({"name": ["a", "b"], "n": [10, 20]}))
    html = renderer.render(spec)["text/html"]
    assert '<figure class="nhsbook-chart" aria-label="A title. Two bars.">' in html
    assert "<figcaption>Two bars." in html and "nhsbookChart(" in html
    assert "vegaEmbed(" in renderer.chart_script()  # the machinery every page loads, once
    assert "cdn." not in html and "https://" not in html.split("var spec")[0]
    csv_file = next((tmp_path / "charts" / "AREA1").glob("page-*.csv"))
    csv = pd.read_csv(csv_file)
    assert csv.to_dict("list") == {"name": ["a", "b"], "n": [10, 20]}
    assert f'href="../../charts/AREA1/{csv_file.name}" download' in html
    assert f'class="nhsbook-svg" data-file="AREA1-{csv_file.stem}.svg"' in html
    assert "view.toSVG()" in renderer.chart_script() and "view.toSVG()" not in html
    kept = json.loads(csv_file.with_name(csv_file.stem + renderer.SPEC_SUFFIX).read_text())
    assert kept["title"] == "A title" and not list(tmp_path.rglob("*.svg"))


def test_renderer_refuses_charts_carrying_small_counts(tmp_path, monkeypatch):
    monkeypatch.setenv(renderer.PAGE_ENV, "AREA1/page")
    monkeypatch.setenv(renderer.EXTRA_ENV, str(tmp_path))
    spec = _chart(pd.DataFrame({"name": ["a", "b"], "n": [10, 20], "count": [3, 12]}))
    with pytest.raises(ValueError, match="counts from 1 to 4"):
        renderer.render(spec)


def test_chart_table_uses_usermeta_column_names():
    spec = (
        alt.Chart(pd.DataFrame({"v": [1.0], "c": ["7"]}))
        .mark_point()
        .encode(x="v:Q")
        .properties(usermeta={"csv_columns": {"v": "value", "c": "count"}})
        .to_dict()
    )
    assert list(renderer.chart_table(spec).columns) == ["value", "count"]


def test_renderer_escapes_script_breaking_text(tmp_path, monkeypatch):
    monkeypatch.delenv(renderer.PAGE_ENV, raising=False)
    spec = _chart(pd.DataFrame({"name": ["</script><script>alert(1)</script>"], "n": [10]}))
    html = renderer.render(spec)["text/html"]
    assert "</script><script>alert(1)" not in html


def test_vega_bundle_is_local_and_scoped(tmp_path):
    path = renderer.write_vega_bundle(tmp_path)
    text = path.read_text()
    assert text.startswith("(function () {") and "window.vegaEmbed" in text
    assert len(text) > 500_000
    assert renderer.write_vega_bundle(tmp_path) == path  # reused while the version is the same
    # the chart machinery beside it: each page loads it once instead of every chart
    # carrying a copy (issue 26)
    assert (tmp_path / renderer.CHART_SCRIPT).read_text() == renderer.chart_script()


def test_chart_data_are_packed_as_columns_and_restored_exactly():
    """Tables travel as columns (a column of few values as levels and codes) and come back
    as the same rows: types kept (True is not 1), nested cells (geometry) and rows of other
    shapes left alone (issue 26)."""
    rows = [
        {"area": "Chesterfield", "v": 1.5, "flag": True, "n": 1, "g": {"t": [1, 2]}, "s": None}
        for _ in range(5)
    ] + [{"area": "Dronfield", "v": 2.0, "flag": False, "n": 1, "g": {"t": [3]}, "s": "x"}]
    spec = {
        "datasets": {"d1": rows, "odd": [{"a": 1}, {"b": 2}], "empty": []},
        "layer": [
            {
                "transform": [
                    {
                        "lookup": "a",
                        "from": {"data": {"values": rows}, "key": "area", "fields": ["v"]},
                    }
                ]
            }
        ],
        "axis": {"values": [1, 2, 3]},
    }
    packed = renderer.pack_data(spec)
    columns = packed["datasets"]["d1"][renderer.TABLE]
    assert columns["area"] == {"levels": ["Chesterfield", "Dronfield"], "codes": [0, 0, 0, 0, 0, 1]}
    assert columns["g"] == [r["g"] for r in rows]
    assert packed["datasets"]["odd"] == spec["datasets"]["odd"]
    assert packed["axis"] == spec["axis"]
    assert renderer.TABLE in packed["layer"][0]["transform"][0]["from"]["data"]["values"]
    back = renderer.unpack_data(json.loads(json.dumps(packed)))
    assert back == spec
    assert [type(r["n"]) for r in back["datasets"]["d1"]] == [int] * 6
    assert [type(r["flag"]) for r in back["datasets"]["d1"]] == [bool] * 6
    assert len(json.dumps(packed)) < len(json.dumps(spec))


def test_dedupe_inline_scripts_keeps_first_copy_in_head_only():
    page = (
        "<head>\n<script>const A = 1;</script>\n<script src='x.js'></script>\n"
        "<script>const A = 1;</script>\n</head>\n<body>\n<script>const A = 1;</script>\n"
        "</body>"
    )
    out = dedupe_inline_scripts(page)
    head, body = out.split("</head>")
    assert head.count("const A = 1;") == 1 and "x.js" in head
    assert body.count("const A = 1;") == 1


def test_the_site_is_built_by_sphinx_in_parallel_processes(tmp_path, root):
    """Issue 26: jupyter-book's command line has no ``-j``; nhsbook's entry point runs it
    with Sphinx's parallel jobs, and the extensions jupyter-book loads that do not say
    whether they are parallel-safe (but are) are declared so: otherwise Sphinx warns and
    reads the whole book in one process."""
    import os
    import re
    import subprocess
    import sys

    from nhsbook.build import jupyter_book_entry, sphinx_ext

    book = tmp_path / "book"
    book.mkdir()
    pages = [f"page{i}" for i in range(8)]
    (book / "index.md").write_text("# Index\n", encoding="utf-8")
    for p in pages:
        (book / f"{p}.md").write_text(f"# Page {p}\n\nText of {p}.\n", encoding="utf-8")
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n" + "".join(f"- file: {p}\n" for p in pages),
        encoding="utf-8",
    )
    config = tmp_path / "_config.yml"
    config.write_text(
        "title: t\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: 'off'\n"
        "sphinx:\n  extra_extensions: [nhsbook.build.sphinx_ext]\n",
        encoding="utf-8",
    )
    env = {**os.environ, jupyter_book_entry.JOBS_ENV: "2"}
    cmd = [sys.executable, "-m", "nhsbook.build.jupyter_book_entry", "build", str(book)]
    cmd += ["--config", str(config), "--toc", str(book / "_toc.yml")]
    cmd += ["--path-output", str(tmp_path / "out")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert (tmp_path / "out" / "_build" / "html" / "page7.html").is_file()
    # Sphinx reads and writes in chunks of pages ("index .. page2") only in parallel
    assert re.search(r"reading sources\.\.\. .* \.\. ", out), out[-3000:]
    assert re.search(r"writing output\.\.\. .* \.\. ", out), out[-3000:]
    assert "serial" not in out and "does not declare" not in out, out[-3000:]
    assert {"sphinx_multitoc_numbering", "sphinx_jupyterbook_latex"} == set(
        sphinx_ext.PARALLEL_SAFE
    )
