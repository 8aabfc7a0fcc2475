"""Charts that fit their column and labels that read (no browser: the specs and helpers)."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import pytest

from nhsbook.charts import layout
from nhsbook.charts.spot import label_offsets
from nhsbook.charts.variation import FUNNEL_POSITIONS, funnel_position
from nhsbook.pages import renderer


def test_wrap_keeps_every_word_and_takes_at_most_the_lines_asked():
    name = (
        "Emergency admissions for acute conditions that should not usually require "
        "hospital admission (per 100,000)"
    )
    lines = layout.wrap(name, 30, lines=2)
    assert len(lines) == 2 and " ".join(lines) == name
    assert all(len(line) <= max(len(x) for x in lines) for line in lines)
    assert layout.wrap("Supercalifragilisticexpialidocious word", 10) == [
        "Supercalifragilisticexpialidocious",
        "word",
    ]  # a long word whole, never cut
    assert layout.wrap("", 10) == [""]


def test_wrap_expr_wraps_in_vega_as_in_python():
    """The Vega expression breaks a label where :func:`layout.wrap` does (vl-convert)."""
    import vl_convert as vlc

    names = [
        "Patients who had stopped smoking at 4 wk F/Up per 1000 population",
        "Short",
        "Contacts with CPN, Psychologist, OT, Physio, or Psychotherapist",
    ]
    chart = (
        alt.Chart(pd.DataFrame({"n": names, "i": range(3)}))
        .transform_calculate(lines=layout.wrap_expr(30, "datum.n"))
        .mark_text()
        .encode(y="i:O", text="lines:N")
    )
    svg = vlc.vegalite_to_svg(chart.to_dict())
    for name in names:
        for line in layout.wrap(name, 30):
            assert f">{line}<" in svg.replace("&amp;", "&"), line


def test_fit_declares_the_layout_and_keeps_other_usermeta():
    chart = (
        alt.Chart(pd.DataFrame({"a": [1]}))
        .mark_point()
        .properties(usermeta={"csv_columns": {"a": "A"}})
    )
    spec = layout.fit(chart, "grid", columns=2, chrome=60).to_dict()
    assert spec["usermeta"]["csv_columns"] == {"a": "A"}
    assert spec["usermeta"]["nhsbook"] == {"fit": "grid", "columns": 2, "chrome": 60}
    with pytest.raises(ValueError, match="unknown chart layout"):
        layout.fit(chart, "sideways")


def test_narrow_spec_is_altairs_conversion_of_the_narrow_chart():
    """Plain JSON datasets (the spine's) are copied without Altair's value-by-value
    conversion, any others converted by Altair: the stored spec is the same either way, and
    a copy (the narrow chart changed afterwards leaves it as it was)."""
    import numpy as np

    wide = alt.Chart(pd.DataFrame({"a": [1, 2]})).mark_bar().encode(x="a:Q")
    wide = layout.fit(wide.properties(description="Wide chart"), "x", max=500)
    named = alt.Chart(alt.NamedData(name="rows")).mark_point().encode(x="a:Q")
    inline = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule().encode(x="x:Q")
    plain = [{"a": 1, "b": "é", "c": None, "d": 1.5, "e": True}]
    for rows in (plain, [{"a": np.int64(1), "d": np.float64(1.5)}], None):
        props = {} if rows is None else {"datasets": {"rows": rows}}
        narrow = alt.LayerChart(layer=[named, inline], **props)
        want = narrow.to_dict(validate=False)
        got = layout.with_narrow(wide, narrow)
        spec = got.to_dict()  # validates
        assert spec["usermeta"]["nhsbook"] == {
            "fit": "x",
            "max": 500,
            "narrow": {**want, "description": "Wide chart"},
        }
        assert spec["description"] == "Wide chart" and spec["mark"]["type"] == "bar"
        if rows is not None:
            narrow.datasets["rows"][0]["a"] = 99
            assert got.usermeta["nhsbook"]["narrow"]["datasets"]["rows"][0]["a"] == 1
    assert "narrow" not in wide.usermeta["nhsbook"]  # the wide chart itself is unchanged
    assert layout.declare("grid", usermeta={"csv_columns": {}}, columns=2) == {
        "csv_columns": {},
        "nhsbook": {"fit": "grid", "columns": 2},
    }


def test_renderer_embeds_the_narrow_chart_once_and_sizes_from_the_figure():
    data = pd.DataFrame({"a": list(range(30))})
    wide = layout.fit(alt.Chart(data).mark_point().encode(x="a:Q"), "x")
    narrow = layout.fit(alt.Chart(data).mark_bar().encode(x="a:Q"), "x")
    html = renderer.render(layout.with_narrow(wide, narrow).to_dict())["text/html"]
    payload = json.loads(html.split("var spec = ", 1)[1].split("; var opts", 1)[0])
    meta = payload["usermeta"]["nhsbook"]
    assert meta["fit"] == "x" and meta["narrow"]["mark"]["type"] == "bar"
    assert meta["narrow"]["datasets"] == {}  # the same data, embedded once
    assert html.count(json.dumps(list(range(30)), separators=(",", ":"))) == 1
    assert "nhsbookChart(" in html and "getBoundingClientRect" not in html
    script = renderer.chart_script()  # _static/nhsbook-chart.js, every page
    assert "getBoundingClientRect" in script
    assert f"_static/{renderer.BUNDLE}" in script  # loaded by the chart, not by every page


def test_static_svg_is_the_wide_chart(tmp_path, monkeypatch):
    """The SVG a PDF report draws from a page's kept spec is the wide chart, drawn once
    (cached by the spec's content)."""
    from nhsbook.build import report

    monkeypatch.setenv(renderer.PAGE_ENV, "X1/page")
    monkeypatch.setenv(renderer.EXTRA_ENV, str(tmp_path))
    renderer.reset_page()
    data = pd.DataFrame({"a": [10, 20]})
    wide = alt.Chart(data).mark_point().encode(x="a:Q")
    narrow = alt.Chart(data).mark_bar().encode(x="a:Q")
    renderer.render(layout.with_narrow(wide, narrow).to_dict())
    path = report.chart_svg(tmp_path / "charts" / "X1" / f"page-1{renderer.SPEC_SUFFIX}", tmp_path)
    svg = path.read_text()
    assert "mark-symbol" in svg and "mark-rect" not in svg
    assert path.parent == tmp_path / report.SVG_CACHE
    mtime = path.stat().st_mtime_ns
    assert (
        report.chart_svg(tmp_path / "charts" / "X1" / f"page-1{renderer.SPEC_SUFFIX}", tmp_path)
        .stat()
        .st_mtime_ns
        == mtime
    )


@pytest.mark.parametrize(
    "flag, polarity, words",
    [
        ("High (0.001)", "low_is_good", "above the 99.8% limit: worse"),
        ("High (0.001)", "high_is_good", "above the 99.8% limit: better"),
        ("Low (0.001)", "high_is_good", "below the 99.8% limit: worse"),
        ("Low (0.001)", "low_is_good", "below the 99.8% limit: better"),
        ("High (0.001)", "no_judgement", "above the 99.8% limit (higher)"),
        ("Low (0.001)", "no_judgement", "below the 99.8% limit (lower)"),
        ("High (0.025)", "low_is_good", "within the 99.8% limits"),
        ("Not significant", "high_is_good", "within the 99.8% limits"),
        (None, "low_is_good", "within the 99.8% limits"),
    ],
)
def test_funnel_legend_follows_polarity(flag, polarity, words):
    assert funnel_position(flag, polarity) == words
    colour = FUNNEL_POSITIONS[words]
    if words.endswith("worse"):
        assert colour == "#C00000"
    if "(higher)" in words or "(lower)" in words:  # blues for no judgement
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert b > r and b > g


def test_spot_number_labels_never_overlap_at_any_width():
    """Ten programmes crowded near the centre: the labels' boxes stay apart at every plot
    width the page may draw, and clear of every point."""
    x = pd.Series([0.1, 0.15, 0.2, -0.1, 0.0, 0.05, -0.05, 0.12, 0.3, -0.2])
    y = pd.Series([0.0, 0.1, -0.1, 0.05, 0.0, -0.05, 0.12, 0.2, 0.1, -0.1])
    labels = [str(n) for n in range(1, 11)]
    offsets = label_offsets(x, y, labels, 3.0)
    for width in (240, 300, 500, 1000):
        scale = width / 6.0
        boxes = []
        for i, (dx, dy) in enumerate(offsets):
            cx, cy = (x[i] + 3) * scale + dx, (3 - y[i]) * scale + dy
            w, h = 0.62 * 11 * len(labels[i]) + 2, 13
            boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_waterfall_axis_shows_the_changes():
    """Budget to outturn: the axis starts near the levels the bridge reaches, not at £0."""
    from nhsbook.charts import waterfall

    steps = pd.DataFrame(
        {
            "order": [0, 1, 2, 3],
            "step": ["Budget", "Acute", "Prescribing", "Forecast outturn"],
            "kind": ["start", "delta", "delta", "total"],
            "amount": [1_630_733.0, 5_200.0, -2_100.0, 1_633_833.0],
            "start": [0.0, 1_630_733.0, 1_635_933.0, 0.0],
            "end": [1_630_733.0, 1_635_933.0, 1_633_833.0, 1_633_833.0],
            "running": [1_630_733.0, 1_635_933.0, 1_633_833.0, 1_633_833.0],
        }
    )
    spec = waterfall(steps, title="t", description="d").to_dict()
    y = spec["layer"][0]["encoding"]["y"]
    low, high = y["scale"]["domain"]
    assert 1_600_000 < low < 1_630_733 and high > 1_635_933
    assert "axis starts at" in y["title"]
    assert spec["usermeta"]["nhsbook"]["fit"] == "x"


def test_every_chart_function_declares_how_it_fits(tables):
    """The page charts carry a layout, so the renderer sizes them from their column."""
    from nhsbook.analysis import spine
    from nhsbook.charts import spine as spine_chart

    values, metadata, areas = tables
    spec = spine_chart(spine.spine_data(values, metadata, areas, "E38000115", "adult")).to_dict()
    meta = spec["usermeta"]["nhsbook"]
    assert meta["fit"] == "hconcat" and meta["narrow"]["usermeta"]["nhsbook"]["fit"] == "x"
    titles = [v["title"]["text"] for v in spec["hconcat"]]  # count, worst, best: the table
    assert titles == ["Indicator", "Value", "Comparator", "Worst ← range of practices → Best"]


@pytest.fixture(scope="module")
def tables(computed):
    return computed["values"], computed["metadata"], computed["areas"]


def test_publish_notebooks_is_a_yes_no_key(tmp_path):
    from nhsbook.config.book import load_book

    base = (layout_root() / "books" / "default.yml").read_text(encoding="utf-8")
    path = tmp_path / "book.yml"
    path.write_text(base + "\npublish_notebooks: true\n", encoding="utf-8")
    assert load_book(str(path), root=layout_root()).publish_notebooks is True
    path.write_text(base + "\npublish_notebooks: sometimes\n", encoding="utf-8")
    with pytest.raises(ValueError, match="publish_notebooks"):
        load_book(str(path), root=layout_root())


def layout_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def test_sphinx_config_drops_the_bundle_and_the_sources(monkeypatch):
    from types import SimpleNamespace

    from nhsbook.build import sphinx_ext

    config = SimpleNamespace(
        html_js_files=["nhsbook-vega.js", "other.js"],
        html_copy_source=True,
        html_show_sourcelink=True,
    )
    monkeypatch.setenv(sphinx_ext.PUBLISH_NOTEBOOKS_ENV, "0")
    sphinx_ext._config_inited(None, config)
    assert config.html_js_files == ["other.js"] and config.html_copy_source is False
    monkeypatch.setenv(sphinx_ext.PUBLISH_NOTEBOOKS_ENV, "1")
    sphinx_ext._config_inited(None, config)
    assert config.html_copy_source is True
    context = {"theme_secondary_sidebar_items": ["page-toc"]}
    sphinx_ext.full_width(None, "areas/X/jsna_profile", "page.html", context, None)
    assert context["theme_secondary_sidebar_items"] == []
    context = {"theme_secondary_sidebar_items": ["page-toc"]}
    sphinx_ext.full_width(None, "methods", "page.html", context, None)
    assert context["theme_secondary_sidebar_items"] == ["page-toc"]


def test_maps_name_their_places_and_say_polarity():
    """A map of LSOAs under locality outlines names the localities; a map of a few
    districts names them; an indicator map's legend says which way is better."""
    import geopandas as gpd
    from shapely.geometry import box

    from nhsbook.analysis.deprivation import MapClasses
    from nhsbook.charts import choropleth
    from nhsbook.charts.maps import MAX_PLACES

    def squares(names, size=0.1):
        return gpd.GeoDataFrame(
            {"code": [f"C{i}" for i in range(len(names))], "name": names},
            geometry=[
                box(-1.5 + i * size, 53.0, -1.5 + (i + 1) * size, 53.0 + size)
                for i in range(len(names))
            ],
            crs="EPSG:4326",
        )

    def named(chart) -> list[str]:
        spec = chart.to_dict()
        names = []
        for layer in spec["layer"]:
            mark = layer.get("mark")
            if mark == "text" or isinstance(mark, dict) and mark.get("type") == "text":
                values = layer["data"].get("values") or spec["datasets"][layer["data"]["name"]]
                names += [v["name"] for v in values]
        return sorted(set(names))

    lsoas = squares([f"LSOA {i}" for i in range(30)], 0.01)
    localities = squares(["Chesterfield", "Dronfield"], 0.15)
    data = pd.DataFrame(
        {"area_code": lsoas["code"], "area_name": lsoas["name"], "map_class": ["a"] * 30}
    )
    classes = MapClasses(labels=("a",), colours=("#123456",), assigned=data["map_class"])
    chart = choropleth(
        data,
        lsoas,
        classes=classes,
        outline=localities,
        legend_title="Value",
        polarity="low_is_good",
    )
    assert named(chart) == ["Chesterfield", "Dronfield"]  # not the 30 LSOAs
    assert "Value (lower is better)" in json.dumps(chart.to_dict())
    # a single outline is the area itself (named in the title): no names; a few filled
    # districts are named
    assert named(choropleth(data, lsoas, classes=classes, outline=squares(["Area"]))) == []
    districts = squares(["Amber Valley", "Bolsover", "Erewash"], 0.2)
    few = pd.DataFrame(
        {"area_code": districts["code"], "area_name": districts["name"], "map_class": ["a"] * 3}
    )
    assert named(
        choropleth(few, districts, classes=MapClasses(("a",), ("#123456",), few["map_class"]))
    ) == ["Amber Valley", "Bolsover", "Erewash"]
    assert MAX_PLACES < 30


def test_spot_quadrant_numbers_are_not_count_columns():
    """The disclosure scan reads count-like column names (``number``, ``count`` …) in every
    chart's data: the quadrant's point numbers must not look like counts."""
    from nhsbook.analysis import spot
    from nhsbook.charts import spot_quadrant
    from nhsbook.core.model import count_columns

    data = spot.load_book("default")
    chart = spot_quadrant(spot.quadrant_data(spot.spot_table(data, "E38000115")))
    for rows in chart.to_dict().get("datasets", {}).values():
        assert not count_columns(pd.DataFrame(rows).columns), list(rows[0])
