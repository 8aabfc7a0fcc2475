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
